"""HTTP(S) file transfers for Download and Upload, without blocking the loop.

``FileGet`` downloads one URL into an open file descriptor. The short
phases (DNS, TCP connect, TLS handshake, request, response headers) wait
on the socket with ``Loop.wait_io`` under a deadline, so the loop's
nested-safe listeners keep being served. The body, which is the long part,
is read from a loop reader (``add_reader(..., nested=True)``) one chunk at
a time straight into the file: memory does not grow with the file size,
timers and sessions run while it downloads, and a stall timer ends a
transfer that stops moving. ``on_done(code, reason)`` is called once with
0 or the CWMP fault code of the failure.

``put_file`` uploads a file with PUT (or POST) in the same wait_io style.

Failures map onto TR-069's transfer fault codes:

- 9012: the server refused the credentials (401 after answering the
  challenge, 403, or a challenge we will not answer);
- 9015: the server cannot be reached (DNS, TCP, TLS handshake or
  certificate failure, no answer);
- 9016: the server answered but will not give the file (404 and other
  4xx/5xx statuses);
- 9017: the body ended early, stalled, exceeded a limit or did not fit on
  disk;
- 9010: anything else (bad HTTP, too many redirects).
"""

import errno
import os
import socket
from urllib.parse import urlsplit

from rocket.net.digest import Authenticator, AuthError
from rocket.net.httpresp import END, HttpError, ResponseReader, TooLarge, redirect_target
from rocket.base.log import clean_url as safe_url  # a URL fit for logs

CHUNK = 256 * 1024
MAX_REDIRECTS = 5
PER_CALLBACK = 4 * 1024 * 1024  # bytes read before giving the loop a turn


class FetchError(Exception):
    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Conn:
    """One HTTP/1.1 connection with deadline-bounded blocking-style helpers."""

    def __init__(self, loop, url, tls_factory, timeout):
        self.loop = loop
        self.timeout = timeout
        p = urlsplit(url)
        self.https = p.scheme == "https"
        self.host = p.hostname or ""
        try:
            self.port = p.port or (443 if self.https else 80)
        except ValueError:
            raise FetchError(9010, "bad port in URL") from None
        self.target = (p.path or "/") + ("?" + p.query if p.query else "")
        self.sock = None
        self._connect(tls_factory)

    def _deadline(self):
        return self.loop.clock() + self.timeout

    def _connect(self, tls_factory):
        import ssl
        deadline = self._deadline()
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        except OSError as e:
            raise FetchError(9015, "cannot resolve %s: %s" % (self.host, e.strerror or e)) from None
        err = "no address"
        for fam, typ, proto, _, addr in infos:
            s = socket.socket(fam, typ, proto)
            s.setblocking(False)
            try:
                s.connect(addr)
            except BlockingIOError:
                pass
            except OSError as e:
                s.close()
                err = e.strerror or str(e)
                continue
            if not self.loop.wait_io(s, True, deadline):
                s.close()
                raise FetchError(9015, "connect to %s timed out" % self.host)
            code = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                s.close()
                err = os.strerror(code)
                continue
            self.sock = s
            break
        if self.sock is None:
            raise FetchError(9015, "cannot connect to %s: %s" % (self.host, err))
        if not self.https:
            return
        try:
            self.sock = tls_factory().wrap_socket(self.sock, server_hostname=self.host,
                                                  do_handshake_on_connect=False)
        except (OSError, ValueError) as e:
            self.close()
            raise FetchError(9015, "TLS setup failed: %s" % e) from None
        while True:
            try:
                self.sock.do_handshake()
                return
            except ssl.SSLWantReadError:
                ok = self.loop.wait_io(self.sock, False, deadline)
            except ssl.SSLWantWriteError:
                ok = self.loop.wait_io(self.sock, True, deadline)
            except (ssl.SSLError, ssl.CertificateError, OSError) as e:
                self.close()
                raise FetchError(9015, "TLS handshake with %s failed: %s"
                                 % (self.host, getattr(e, "reason", None) or e)) from None
            if not ok:
                self.close()
                raise FetchError(9015, "TLS handshake with %s timed out" % self.host)

    def send(self, data):
        import ssl
        view = memoryview(data)
        deadline = self._deadline()
        while view:
            try:
                n = self.sock.send(view)
                view = view[n:]
                continue
            except (BlockingIOError, ssl.SSLWantWriteError):
                ok = self.loop.wait_io(self.sock, True, deadline)
            except ssl.SSLWantReadError:
                ok = self.loop.wait_io(self.sock, False, deadline)
            except OSError as e:
                raise FetchError(9015, "sending to %s failed: %s" % (self.host, e.strerror or e)) from None
            if not ok:
                raise FetchError(9017, "sending to %s timed out" % self.host)

    def recv(self, n, code=9017):
        """Some bytes (b"" at EOF), waiting up to the timeout."""
        import ssl
        deadline = self._deadline()
        while True:
            try:
                return self.sock.recv(n)
            except (BlockingIOError, ssl.SSLWantReadError):
                ok = self.loop.wait_io(self.sock, False, deadline)
            except ssl.SSLWantWriteError:
                ok = self.loop.wait_io(self.sock, True, deadline)
            except OSError as e:
                raise FetchError(code, "reading from %s failed: %s" % (self.host, e.strerror or e)) from None
            if not ok:
                raise FetchError(code, "no answer from %s within %d s" % (self.host, self.timeout))

    def read_head(self, no_body=False):
        """The answer's Head; ``self.reader`` keeps what follows it."""
        r = self.reader = ResponseReader(no_body=no_body)
        while True:
            try:
                ev = r.next_event()
            except HttpError as e:
                raise FetchError(9017 if r._eof else 9010, "bad HTTP answer: %s" % e) from None
            if ev is not None:
                return ev
            data = self.recv(65536, code=9017 if r.started else 9015)
            if data:
                r.feed(data)
            elif not r.started:
                raise FetchError(9015, "connection closed before the response header")
            else:
                r.eof()

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None


def _request_head(method, conn, url, auth, extra, length):
    lines = ["%s %s HTTP/1.1" % (method, conn.target),
             "Host: %s" % (conn.host if conn.port in (80, 443) else "%s:%d" % (conn.host, conn.port)),
             "User-Agent: rocket", "Accept-Encoding: identity", "Connection: close"]
    if length is not None:
        lines.append("Content-Length: %d" % length)
    for k, v in extra:
        lines.append("%s: %s" % (k, v))
    if auth is not None:
        h = auth.header(method, conn.target)
        if h:
            lines.append("Authorization: " + h)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _status_fault(status, url):
    if status in (401, 403, 407):
        return FetchError(9012, "file server refused the credentials (HTTP %d)" % status)
    return FetchError(9016, "file server answered HTTP %d for %s" % (status, safe_url(url)))


def exchange(loop, url, method, username, password, tls_factory, timeout, allow_basic_http,
             body_source=None, extra_headers=(), allowed=None):
    """Send one request (answering one auth challenge, following redirects).

    ``body_source`` is None or a callable returning (length, iterator of
    bytes) so the body can be sent again after a 401. ``allowed`` (the
    owner policy) is asked about every URL before it is contacted, the
    first one and each redirect: False is fault 9001. Returns
    (conn, head) for a 2xx answer (``conn.reader`` goes on with the body);
    raises FetchError.
    """
    auth = Authenticator(username, password) if (username or password) else None
    redirects = 0
    tried_auth = False
    while True:
        scheme = urlsplit(url).scheme
        if scheme not in ("http", "https"):
            raise FetchError(9010, "unsupported URL scheme %r" % scheme[:16])
        if allowed is not None and not allowed(url):
            raise FetchError(9001, "%s refused by the owner policy" % safe_url(url))
        conn = _Conn(loop, url, tls_factory, timeout)
        try:
            length, chunks = body_source() if body_source else (None, ())
            conn.send(_request_head(method, conn, url, auth, extra_headers, length))
            try:
                for chunk in chunks:
                    conn.send(chunk)
            except FetchError as e:
                # A server may answer (401, 413...) and close before taking the
                # whole body: its answer says more than the failed send.
                try:
                    head = conn.read_head()
                except FetchError:
                    raise e from None
            else:
                head = conn.read_head()
        except Exception:
            conn.close()
            raise
        status = head.status
        if 200 <= status < 300:
            return conn, head
        conn.close()
        if status == 401 and auth is not None and not tried_auth:
            tried_auth = True
            auth.allow_basic = allow_basic_http or scheme == "https"
            try:
                auth.challenge(head.get("www-authenticate"))
            except AuthError as e:
                raise FetchError(9012, "cannot authenticate to the file server: %s" % e) from None
            continue
        if status in (301, 302, 303, 307, 308) and head.get("location"):
            redirects += 1
            if redirects > MAX_REDIRECTS:
                raise FetchError(9010, "more than %d redirects" % MAX_REDIRECTS)
            new = redirect_target(url, head.get("location"))
            if new is None:
                raise FetchError(9010, "malformed redirect Location %r" % head.get("location")[:80])
            if scheme == "https" and not new.startswith("https:"):
                raise FetchError(9010, "refusing a redirect from https to %s" % urlsplit(new).scheme[:16])
            if urlsplit(new).netloc != urlsplit(url).netloc:
                auth = None  # credentials go to the server they were given for only
            elif auth is not None:
                auth = Authenticator(username, password)
            tried_auth = False
            url = new
            if status == 303:
                method, body_source = "GET", None
            continue
        raise _status_fault(status, url)


class FileGet:
    """Download ``url`` into the file descriptor ``fd`` (see module doc).

    ``start()`` does the header phase and raises FetchError on failure; then
    the body arrives from the loop and ``on_done(code, reason)`` is called
    exactly once.
    """

    def __init__(self, loop, url, fd, on_done, username="", password="", tls_factory=None,
                 timeout=30, allow_basic_http=False, max_size=0, allowed=None):
        self.loop = loop
        self.allowed = allowed
        self.url = url
        self.fd = fd
        self.on_done = on_done
        self.username = username
        self.password = password
        self.tls_factory = tls_factory
        self.timeout = timeout
        self.allow_basic_http = allow_basic_http
        self.max_size = max_size
        self.conn = None
        self.received = 0
        self.done = False
        self._stall = None
        self._last = 0
        self._buf = bytearray(CHUNK)

    def start(self):
        self.conn, head = exchange(
            self.loop, self.url, "GET", self.username, self.password, self.tls_factory,
            self.timeout, self.allow_basic_http, allowed=self.allowed)
        self.conn.reader.max_body = self.max_size
        self.conn.sock.setblocking(False)
        self._last = self.loop.clock()
        self._drain()
        if self.done:
            return
        self.loop.add_reader(self.conn.sock, self._on_readable, nested=True)
        self._stall = self.loop.call_later(self.timeout, self._check_stall, "transfer-stall")

    def cancel(self, code=9017, reason="cancelled"):
        self._finish(code, reason)

    # ------------------------------------------------------------- body
    def _drain(self):
        """Hand every body piece the reader has to the file; finish at the end."""
        r = self.conn.reader
        while not self.done:
            try:
                ev = r.next_event()
            except TooLarge:
                self._finish(9017, "file exceeds the limit of %d bytes" % self.max_size)
                return
            except HttpError as e:
                self._finish(9017, "after %d bytes: %s" % (self.received, e))
                return
            if ev is None:
                return
            if ev is END:
                self._finish(0, "")
                return
            self._write(ev)

    def _write(self, data):
        self.received += len(data)
        view = memoryview(data)
        try:
            while view:
                n = os.write(self.fd, view)
                view = view[n:]
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                self._finish(9017, "disk full after %d bytes" % self.received)
            else:
                self._finish(9017, "cannot write the file: %s" % (e.strerror or e))

    def _on_readable(self):
        import ssl
        got = 0
        sock = self.conn.sock
        buf = self._buf
        while not self.done:
            try:
                n = sock.recv_into(buf)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except OSError as e:
                self._finish(9017, "connection failed after %d bytes: %s" % (self.received, e.strerror or e))
                return
            if n == 0:
                self.conn.reader.eof()
            else:
                self._last = self.loop.clock()
                self.conn.reader.feed(memoryview(buf)[:n])
            self._drain()
            if n == 0:
                self._finish(9017, "connection closed after %d bytes" % self.received)
                return
            got += n
            if got >= PER_CALLBACK:
                # TLS may hold decrypted bytes the selector cannot see: come back soon.
                self.loop.call_later(0, self._resume, "transfer-resume")
                return

    def _resume(self):
        if not self.done:
            self._on_readable()

    def _check_stall(self):
        self._stall = None
        if self.done:
            return
        idle = self.loop.clock() - self._last
        if idle >= self.timeout:
            self._finish(9017, "no data for %d s after %d bytes" % (self.timeout, self.received))
            return
        self._stall = self.loop.call_later(self.timeout - idle, self._check_stall, "transfer-stall")

    def _finish(self, code, reason):
        if self.done:
            return
        self.done = True
        if self._stall is not None:
            self._stall.cancel()
        if self.conn is not None:
            self.loop.remove_reader(self.conn.sock)
            self.conn.close()
        self.on_done(code, reason)


def put_file(loop, url, path, method, username, password, tls_factory, timeout, allow_basic_http,
             content_type="application/octet-stream", allowed=None):
    """Upload the file at ``path``; raises FetchError (9011 for HTTP errors)."""
    size = os.path.getsize(path)

    def body():
        def chunks():
            with open(path, "rb") as f:
                while True:
                    b = f.read(CHUNK)
                    if not b:
                        return
                    yield b
        return size, chunks()

    try:
        conn, head = exchange(loop, url, method, username, password, tls_factory,
                                               timeout, allow_basic_http, body,
                                               [("Content-Type", content_type)], allowed)
    except FetchError as e:
        if e.code in (9016, 9017, 9010):
            raise FetchError(9011, e.reason) from None
        raise
    conn.close()
    return head.status
