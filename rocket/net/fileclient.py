"""HTTP(S) file transfers for Download and Upload, without blocking the loop.

``FileGet`` downloads one URL into an open file descriptor. The short
phases (DNS, TCP connect, TLS handshake, request, response headers) are
the shared HTTP client's (httpclient.py, also the ACS session's: same
redirects, authentication, TLS settings and limits), every wait through
the loop under a deadline, so nested-safe listeners and timers keep being
served. The body, which is the long part,
is read from a loop reader (``add_reader(..., nested=True)``) one chunk at
a time straight into the file: memory does not grow with the file size,
timers and sessions run while it downloads, and a stall timer ends a
transfer that stops moving. ``on_done(code, reason)`` is called once with
0 or the CWMP fault code of the failure.

``FilePut`` uploads a file with PUT (or POST) through the same client,
the body written from a loop writer callback in the same way.

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
from urllib.parse import urlsplit

from rocket.net.httpclient import Client, Failure
from rocket.net.httpresp import END, HttpError, ResponseReader, TooLarge
from rocket.base.log import clean_url as safe_url  # a URL fit for logs

CHUNK = 256 * 1024
PER_CALLBACK = 4 * 1024 * 1024  # bytes read before giving the loop a turn


class FetchError(Exception):
    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code
        self.reason = reason


_CODES = {"config": 9015, "resolve": 9015, "connect": 9015, "tls": 9015, "timeout": 9015,
          "closed": 9015, "protocol": 9010, "too-large": 9017, "auth": 9012, "redirect": 9010,
          "policy": 9001}


_tls = [None, None]  # the configuration and the TLS context made from it


def config_tls(cfg):
    """The TLS context of file transfers: the ACS's trust settings ([acs]
    ca_file, client_cert, client_key, insecure), made once per configuration."""
    if _tls[0] is not cfg:
        from rocket.net.httpclient import tls_context
        _tls[:] = [cfg, tls_context(cfg.get("acs", "ca_file"), cfg.get("acs", "client_cert"),
                                    cfg.get("acs", "client_key"), cfg.bool("acs", "insecure"))]
    return _tls[1]


def _status_fault(status, url):
    if status in (401, 403, 407):
        return FetchError(9012, "file server refused the credentials (HTTP %d)" % status)
    return FetchError(9016, "file server answered HTTP %d for %s" % (status, safe_url(url)))


def exchange(loop, url, method, username, password, tls_factory, timeout, allow_basic_http,
             body_source=None, extra_headers=(), allowed=None, resolver=None):
    """Send one request through the shared client (httpclient.Client: one
    auth challenge answered, redirects followed, credentials kept to their
    origin). ``body_source`` is None or a callable returning (length,
    iterator of bytes) so the body can be sent again after a 401.
    ``allowed`` (the owner policy) is asked about every URL before it is
    contacted, the first one and each redirect: False is fault 9001.
    Returns the Connection of a 2xx answer (``conn.reader`` goes on with
    the body); raises FetchError."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise FetchError(9010, "unsupported URL scheme %r" % urlsplit(url).scheme[:16])
    c = Client(loop, url, username, password, tls_factory, timeout, allow_basic_http,
               resolver=resolver, keep_alive=False, same_origin_credentials=True)
    try:
        head = c.request(method, body_source, [("Accept-Encoding", "identity")] + list(extra_headers),
                         allowed=allowed)
    except Failure as e:
        c.close()
        raise FetchError(_CODES.get(e.kind, 9010), e.reason) from None
    if not 200 <= head.status < 300:
        c.close()
        raise _status_fault(head.status, c.url)
    return c.conn


class _Stream:
    """What FileGet and FilePut share: the connection watched from the loop,
    a stall timer, and ``on_done(code, reason)`` called exactly once."""

    def __init__(self, loop, on_done, timeout):
        self.loop = loop
        self.on_done = on_done
        self.timeout = timeout
        self.conn = None
        self.done = False
        self._stall = None
        self._last = 0

    def cancel(self, code=9017, reason="cancelled"):
        self._finish(code, reason)

    def _watch(self, write, callback):
        """Call ``callback`` whenever the connection is readable (or writable)."""
        self.loop.remove(self.conn.sock)
        (self.loop.add_writer if write else self.loop.add_reader)(self.conn.sock, callback, nested=True)
        self._last = self.loop.clock()
        if self._stall is None:
            self._stall = self.loop.call_later(self.timeout, self._check_stall, "transfer-stall")

    def _check_stall(self):
        self._stall = None
        if self.done:
            return
        idle = self.loop.clock() - self._last
        if idle >= self.timeout:
            self._finish(*self._stalled())
            return
        self._stall = self.loop.call_later(self.timeout - idle, self._check_stall, "transfer-stall")

    def _close(self):
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        if self.conn is not None:
            if self.conn.sock is not None:
                self.loop.remove(self.conn.sock)
            self.conn.close()
            self.conn = None

    def _finish(self, code, reason):
        if self.done:
            return
        self.done = True
        self._close()
        self.on_done(code, reason)


class FileGet(_Stream):
    """Download ``url`` into the file descriptor ``fd`` (see module doc).

    ``start()`` does the header phase and raises FetchError on failure; then
    the body arrives from the loop and ``on_done(code, reason)`` is called
    exactly once.
    """

    def __init__(self, loop, url, fd, on_done, username="", password="", tls_factory=None,
                 timeout=30, allow_basic_http=False, max_size=0, allowed=None, resolver=None):
        super().__init__(loop, on_done, timeout)
        self.url, self.fd, self.username, self.password = url, fd, username, password
        self.tls_factory, self.allow_basic_http, self.max_size = tls_factory, allow_basic_http, max_size
        self.allowed, self.resolver = allowed, resolver
        self.received = 0
        self._buf = bytearray(CHUNK)

    def start(self):
        self.conn = exchange(
            self.loop, self.url, "GET", self.username, self.password, self.tls_factory,
            self.timeout, self.allow_basic_http, allowed=self.allowed, resolver=self.resolver)
        self.conn.reader.max_body = self.max_size
        self.conn.sock.setblocking(False)
        self._drain()
        if not self.done:
            self._watch(False, self._on_readable)

    def _stalled(self):
        return 9017, "no data for %d s after %d bytes" % (self.timeout, self.received)

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


def _put_fault(code, reason):
    """An upload's fault: the server's refusals and broken answers are 9011."""
    return FetchError(9011 if code in (9016, 9017, 9010) else code, reason)


class FilePut(_Stream):
    """Upload the file at ``path`` with PUT (or POST) through the shared
    client. ``start()`` connects and sends the request's head (FetchError on
    failure); the body is then written from a loop writer callback, at most
    CHUNK bytes read from the file at a time, and the answer's head read
    from a loop reader; ``on_done(code, reason)`` is called exactly once.
    A 401 answered or a redirect sends the whole request again (the file
    from its start); a server that answers before taking the whole body
    (401, 413...) is heard. HTTP errors are 9011.
    """

    def __init__(self, loop, url, path, method, on_done, username="", password="", tls_factory=None,
                 timeout=30, allow_basic_http=False, content_type="application/octet-stream",
                 allowed=None, resolver=None):
        super().__init__(loop, on_done, timeout)
        self.client = Client(loop, url, username, password, tls_factory, timeout, allow_basic_http,
                             resolver=resolver, keep_alive=False, same_origin_credentials=True)
        self.path, self.method, self.content_type, self.allowed = path, method, content_type, allowed
        self.sent = self.left = 0
        self.file = None
        self._out = b""
        self._send_error = None

    def start(self):
        if urlsplit(self.client.url).scheme not in ("http", "https"):
            raise FetchError(9010, "unsupported URL scheme %r" % urlsplit(self.client.url).scheme[:16])
        self.client.begin()
        self._request()

    def _stalled(self):
        return 9015, "no progress for %d s after %d bytes sent" % (self.timeout, self.sent)

    def _request(self):
        c = self.client
        body = self.method != "GET"
        try:
            c.check(self.allowed)
            self.left = os.path.getsize(self.path) if body else 0
            headers = [("Accept-Encoding", "identity")]
            if body:
                headers.append(("Content-Type", self.content_type))
            self.conn = c.send_head(self.method, self.left if body else None, headers)
        except Failure as e:
            raise _put_fault(_CODES.get(e.kind, 9010), e.reason) from None
        except OSError as e:
            raise FetchError(9011, "cannot read the file: %s" % (e.strerror or e)) from None
        self.conn.reader = ResponseReader()
        self.sent = 0
        self._out = b""
        self._send_error = None
        if self.left:
            self.file = open(self.path, "rb")
            self._watch(True, self._on_writable)
        else:
            self._watch(False, self._on_readable)

    def _close(self):
        if self.file is not None:
            self.file.close()
            self.file = None
        self.client.close()
        super()._close()

    def _on_writable(self):
        import ssl
        sent = 0
        while not self.done and sent < PER_CALLBACK:
            if not self._out:
                if not self.left:
                    self._watch(False, self._on_readable)  # the whole body is out: the answer
                    return
                try:
                    self._out = memoryview(self.file.read(min(CHUNK, self.left)))
                except OSError as e:
                    self._finish(9011, "cannot read the file: %s" % (e.strerror or e))
                    return
                if not self._out:
                    self._finish(9011, "the file shrank while it was sent")
                    return
            try:
                n = self.conn.sock.send(self._out)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except OSError as e:
                # A server may answer (401, 413...) and close before taking the
                # whole body: its answer says more than the failed send.
                self._send_error = "sending to the file server failed after %d bytes: %s" % (
                    self.sent, e.strerror or e)
                self._watch(False, self._on_readable)
                return
            self._out = self._out[n:]
            self.left -= n
            self.sent += n
            sent += n
            self._last = self.loop.clock()

    def _on_readable(self):
        import ssl
        try:
            data = self.conn.sock.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except OSError as e:
            data = None
            self._send_error = self._send_error or "reading the answer failed: %s" % (e.strerror or e)
        r = self.conn.reader
        try:
            if data:
                self._last = self.loop.clock()
                r.feed(data)
            elif r.started:
                r.eof()
            head = r.next_event()
        except HttpError as e:
            self._finish(9011, "bad HTTP answer: %s" % e)
            return
        if head is None:
            if not data:
                self._finish(9015, self._send_error or "the file server closed the connection without answering")
            return
        self.loop.remove(self.conn.sock)  # before the client may close it
        self._answer(head)

    def _answer(self, head):
        try:
            again = self.client.follow(head)
        except Failure as e:
            self._finish(_put_fault(_CODES.get(e.kind, 9010), e.reason).code, e.reason)
            return
        if again is None:
            if 200 <= head.status < 300:
                self._finish(0, "")
            else:
                e = _status_fault(head.status, self.client.url)
                self._finish(_put_fault(e.code, e.reason).code, e.reason)
            return
        if again == "GET":
            self.method = "GET"
        self.conn = None
        if self.file is not None:
            self.file.close()
            self.file = None
        # sent again from the top of the loop: its connect never holds up a session
        self.loop.call_later(0, self._resend, "transfer-resend")

    def _resend(self):
        if not self.done:
            try:
                self._request()
            except FetchError as e:
                self._finish(e.code, e.reason)
