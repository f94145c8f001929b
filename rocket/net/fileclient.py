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

``put_file`` uploads a file with PUT (or POST) through the same client.

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
from rocket.net.httpresp import END, HttpError, TooLarge
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


class FileGet:
    """Download ``url`` into the file descriptor ``fd`` (see module doc).

    ``start()`` does the header phase and raises FetchError on failure; then
    the body arrives from the loop and ``on_done(code, reason)`` is called
    exactly once.
    """

    def __init__(self, loop, url, fd, on_done, username="", password="", tls_factory=None,
                 timeout=30, allow_basic_http=False, max_size=0, allowed=None, resolver=None):
        self.loop = loop
        self.resolver = resolver
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
        self.conn = exchange(
            self.loop, self.url, "GET", self.username, self.password, self.tls_factory,
            self.timeout, self.allow_basic_http, allowed=self.allowed, resolver=self.resolver)
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
             content_type="application/octet-stream", allowed=None, resolver=None):
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
        conn = exchange(loop, url, method, username, password, tls_factory, timeout,
                        allow_basic_http, body, [("Content-Type", content_type)], allowed, resolver)
    except FetchError as e:
        if e.code in (9016, 9017, 9010):
            raise FetchError(9011, e.reason) from None
        raise
    status = conn.reader.head.status
    conn.close()
    return status
