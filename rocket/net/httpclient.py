"""The one HTTP/1.1 client: the ACS session and file transfers both use it.

What it is for: connecting (name resolution, TCP, TLS), writing a request,
reading the answer's head and body, answering an authentication challenge
(Basic, Digest), following redirects, keeping cookies, and every limit and
deadline of that, in one place. What it is not: the CWMP rules of the
session (acsclient.py: SOAP headers, only the Inform may be redirected) or
of transfers (fileclient.py: fault codes, streaming into a file).

Rules:
- Nothing blocks the loop. Names go to the stub resolver (resolver.py),
  the connect, the TLS handshake (non-blocking ``SSLSocket.do_handshake``
  with WANT_READ/WANT_WRITE), every send and every receive wait in
  ``Loop.wait_io`` under the exchange's deadline, so nested-safe listeners
  and timers are served meanwhile. Several addresses share the connect
  deadline (the last one gets what is left).
- The request is formatted by ``http.client`` (the design card's ACS
  client; it checks header names and values and builds Host): a fresh
  ``HTTPConnection`` per request whose ``sock`` is a writer that sends
  through the loop. The answer is read by our sans-I/O
  ``httpresp.ResponseReader`` from bytes received through the loop, never
  by http.client's framing code, which turns a ``-1`` chunk size into a
  read to the end of the stream; so every body limit holds for every
  framing, a short body is an error and 1xx answers are skipped.
- A 401 is answered once per request; a second one is a failure. A
  redirect goes through ``redirect_target`` (a malformed Location is one
  clear failure), at most 5, never from https to http; across origins the
  credentials are dropped (``same_origin_credentials``) or kept but only
  sent when the new server asks (the ACS).
- A kept-alive connection the server closed before answering is reopened
  once; a fresh one that fails is a failure.

Failures are ``Failure(kind, reason)``; ``kind`` is one of config,
resolve, connect, tls, timeout, closed, protocol, too-large, auth,
redirect, policy; the callers map kinds to their own errors.
"""

import os
import socket
from urllib.parse import urlsplit

from rocket.base.log import clean_url, log
from rocket.net.digest import Authenticator, AuthError
from rocket.net.httpresp import END, Gunzip, HttpError, ResponseReader, TooLarge, redirect_target
from rocket.net.resolver import ResolveError, default_resolver

PORTS = {"http": 80, "https": 443}
MAX_REDIRECTS = 5



def tls_name(host):
    """The server name for TLS (SNI and the certificate check). An ASCII name
    goes as bytes: given a str, ssl encodes it with the idna codec, which
    pulls in ``encodings.idna``, ``stringprep`` and ``unicodedata`` (about
    0.3 MB here, and OpenWrt's 756 KB python3-codecs package on a router)
    for nothing. Only a non-ASCII name needs that codec."""
    try:
        return host.encode("ascii")
    except UnicodeEncodeError:
        return host

class Failure(Exception):
    def __init__(self, kind, reason):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def tls_context(ca_file="", client_cert="", client_key="", insecure=False):
    import ssl
    ctx = ssl.create_default_context(cafile=ca_file or None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if client_cert:
        ctx.load_cert_chain(client_cert, client_key or None)
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Connection:
    """One TCP (+TLS) connection; every wait goes through the loop."""

    def __init__(self, loop, host, port, deadline, ctx=None, resolver=None):
        self.loop, self.host = loop, host
        self.sock = self.reader = self.tls_version = None
        try:
            addrs = (resolver or default_resolver()).resolve(loop, host, port, deadline)
        except ResolveError as e:
            raise Failure("resolve", str(e)) from None
        err = "no address"
        for i, (fam, addr) in enumerate(addrs):
            left = deadline - loop.clock()
            until = deadline if i == len(addrs) - 1 else loop.clock() + max(1.0, left / (len(addrs) - i))
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(addr)
            except BlockingIOError:
                pass
            except OSError as e:
                s.close()
                err = e.strerror or str(e)
                continue
            if not loop.wait_io(s, True, min(until, deadline)):
                s.close()
                err = "timed out"
                continue
            code = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                s.close()
                err = os.strerror(code)
                continue
            self.sock = s
            break
        if self.sock is None:
            raise Failure("timeout" if err == "timed out" else "connect",
                          "cannot connect to %s: %s" % (host, err))
        if ctx is not None:
            self._handshake(ctx, deadline)

    def _handshake(self, ctx, deadline):
        import ssl
        try:
            self.sock = ctx.wrap_socket(self.sock, server_hostname=tls_name(self.host),
                                        do_handshake_on_connect=False)
        except (OSError, ValueError) as e:
            self.close()
            raise Failure("tls", "TLS setup failed: %s" % e) from None
        while True:
            try:
                self.sock.do_handshake()
                break
            except ssl.SSLWantReadError:
                ok = self.loop.wait_io(self.sock, False, deadline)
            except ssl.SSLWantWriteError:
                ok = self.loop.wait_io(self.sock, True, deadline)
            except (ssl.SSLError, ssl.CertificateError, OSError) as e:
                self.close()
                raise Failure("tls", "TLS handshake with %s failed: %s"
                              % (self.host, getattr(e, "reason", None) or e)) from None
            if not ok:
                self.close()
                raise Failure("timeout", "TLS handshake with %s timed out" % self.host)
        self.tls_version = self.sock.version()

    def send(self, data, deadline):
        try:
            ok = self.loop.send_all(self.sock, data, deadline)
        except OSError as e:
            raise Failure("closed", "sending to %s failed: %s" % (self.host, e.strerror or e)) from None
        if not ok:
            raise Failure("timeout", "sending to %s timed out" % self.host)

    def _fill(self, deadline, what):
        r = self.reader
        try:
            data = self.loop.recv_some(self.sock, 65536, deadline)
        except OSError as e:
            raise Failure("protocol" if r.started else "closed", "reading from %s failed: %s"
                          % (self.host, e.strerror or e)) from None
        if data is None:
            raise Failure("timeout", what)
        if data:
            r.feed(data)
        elif not r.started:
            raise Failure("closed", "%s closed the connection without answering" % self.host)
        else:
            r.eof()

    def head(self, deadline, timeout, no_body=False):
        """The answer's Head; ``self.reader`` keeps what follows it."""
        r = self.reader = ResponseReader(no_body=no_body)
        while True:
            try:
                ev = r.next_event()
            except HttpError as e:
                raise Failure("protocol", "bad HTTP answer from %s: %s" % (self.host, e)) from None
            if ev is not None:
                return ev
            self._fill(deadline, "no answer from %s within %d s" % (self.host, timeout))

    def body(self, deadline, max_body, decode=False):
        """The whole body (at most ``max_body`` bytes). ``decode``: a gzip
        content coding is undone, ``max_body`` then also bounds the result."""
        r = self.reader
        r.max_body = max_body
        pieces = []
        gz = None
        try:
            if decode:
                coding = r.head.get("content-encoding").strip().lower()
                if coding in ("gzip", "x-gzip"):
                    gz = Gunzip(max_body)
                elif coding not in ("", "identity"):
                    raise HttpError("unsupported content coding %r" % coding[:20])
            while True:
                ev = r.next_event()
                if ev is END:
                    if gz is not None:
                        gz.end()
                    return b"".join(pieces)
                if ev is None:
                    self._fill(deadline, "the answer from %s timed out" % self.host)
                else:
                    pieces.append(ev if gz is None else gz.feed(ev))
        except TooLarge as e:
            raise Failure("too-large", "answer larger than %d bytes%s"
                          % (max_body, " once decompressed" if "decompressed" in str(e) else "")) from None
        except HttpError as e:
            raise Failure("protocol", "bad HTTP answer from %s: %s" % (self.host, e)) from None

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None


class _Writer:
    """What http.client sees as its socket: sendall goes through the loop."""

    def __init__(self, conn, deadline):
        self.conn, self.deadline = conn, deadline

    def sendall(self, data):
        self.conn.send(data, self.deadline)


class Client:
    """Requests to ``url`` (which follows redirects) over one connection at a time."""

    def __init__(self, loop, url, username="", password="", tls_factory=None, timeout=30.0,
                 allow_basic_http=False, user_agent="rocket", resolver=None, keep_alive=True,
                 same_origin_credentials=False, log_prefix=""):
        self.loop = loop
        self.url = url
        self.username, self.password = username, password
        self.auth = Authenticator(username, password) if (username or password) else None
        self.tls_factory = tls_factory
        self.timeout = timeout
        self.allow_basic_http = allow_basic_http
        self.user_agent = user_agent
        self.resolver = resolver
        self.keep_alive = keep_alive
        self.same_origin_credentials = same_origin_credentials
        self.log_prefix = log_prefix
        self.cookies = {}
        self.conn = None
        self.deadline = 0.0
        self.redirected = False
        self.tls_version = None
        self._key = None
        self._ctx = None
        self._redirects = self._auth_tries = 0

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def _connection(self, deadline):
        p = urlsplit(self.url)
        key = (p.scheme, p.hostname, p.port)
        if self.conn is not None and self._key == key:
            return self.conn, False
        self.close()
        ctx = None
        if p.scheme == "https":
            if self._ctx is None:
                try:
                    self._ctx = (self.tls_factory or tls_context)()
                except (OSError, ValueError) as e:  # ssl.SSLError is an OSError
                    raise Failure("config", "TLS configuration: %s" % (e,)) from None
            ctx = self._ctx
        elif p.scheme != "http":
            raise Failure("protocol", "unsupported URL scheme %r" % p.scheme[:16])
        if not p.hostname:
            raise Failure("protocol", "no host in %s" % clean_url(self.url))
        self.conn = Connection(self.loop, p.hostname, p.port or PORTS[p.scheme], deadline, ctx,
                               self.resolver)
        self._key = key
        self.tls_version = self.conn.tls_version or self.tls_version
        return self.conn, True

    def _write(self, conn, method, body_source, headers, deadline):
        import http.client
        p = urlsplit(self.url)
        path = (p.path or "/") + ("?" + p.query if p.query else "")
        length, chunks = body_source() if body_source is not None else (None, b"")
        req = http.client.HTTPConnection(p.hostname, p.port or PORTS[p.scheme])
        req.default_port = PORTS[p.scheme]
        req.sock = _Writer(conn, deadline)
        try:
            req.putrequest(method, path, skip_accept_encoding=True)
            req.putheader("User-Agent", self.user_agent)
            if length is not None:
                req.putheader("Content-Length", str(length))
            for k, v in headers:
                req.putheader(k, v)
            if not self.keep_alive:
                req.putheader("Connection", "close")
            if self.cookies:
                req.putheader("Cookie", "; ".join("%s=%s" % kv for kv in self.cookies.items()))
            if self.auth is not None:
                try:
                    h = self.auth.header(method, path)
                except AuthError as e:
                    raise Failure("auth", str(e)) from None
                if h:
                    req.putheader("Authorization", h)
            if isinstance(chunks, (bytes, bytearray, memoryview)):
                req.endheaders(chunks or None)
                return
            req.endheaders()
        except (http.client.HTTPException, ValueError) as e:
            raise Failure("protocol", "cannot send the request: %s" % e) from None
        finally:
            req.sock = None
        try:
            for chunk in chunks:
                conn.send(chunk, deadline)
        except Failure as e:
            # A server may answer (401, 413...) and close before taking the
            # whole body: its answer says more than the failed send.
            e.partial = True
            raise

    def send_head(self, method, length, headers=()):
        """Connect and send only the head of a request whose body (``length``
        bytes, or None for none) the caller streams itself; returns the
        Connection (``self.deadline`` is the deadline of these steps)."""
        self.deadline = deadline = self.loop.clock() + self.timeout
        conn, _ = self._connection(deadline)
        try:
            self._write(conn, method, lambda: (length, ()), headers, deadline)
        except Failure:
            self.close()
            raise
        return conn

    def _exchange(self, method, body_source, headers):
        """One request and the head of its answer; a kept-alive connection
        the server dropped is reopened once."""
        for attempt in (1, 2):
            self.deadline = deadline = self.loop.clock() + self.timeout
            conn, fresh = self._connection(deadline)
            try:
                try:
                    self._write(conn, method, body_source, headers, deadline)
                except Failure as e:
                    if not getattr(e, "partial", False):
                        raise
                    try:
                        return conn.head(deadline, self.timeout, method == "HEAD")
                    except Failure:
                        raise e from None
                return conn.head(deadline, self.timeout, method == "HEAD")
            except Failure as e:
                self.close()
                if e.kind != "closed" or fresh or attempt == 2:
                    raise
        raise Failure("closed", "unreachable")

    def read_body(self, max_body, decode=False):
        """The body of the answer ``request`` returned, within its deadline."""
        try:
            data = self.conn.body(self.deadline, max_body, decode)
        except Failure:
            self.close()
            raise
        if not self.keep_alive or self.conn.reader.head.will_close:
            self.close()
        return data

    def _done_with(self, head):
        """Drop the body of an answer we will not use (401, redirect)."""
        if not self.keep_alive or head.will_close:
            self.close()
            return
        try:
            self.read_body(65536)
        except Failure:
            self.close()

    def request(self, method, body_source=None, headers=(), may_redirect=True, allowed=None,
                redirect_codes=(301, 302, 303, 307, 308)):
        """Send until the final answer; returns its Head, with the body
        waiting in ``self.conn.reader`` (``read_body`` or stream it).
        ``body_source`` is None or a callable returning (length, bytes or an
        iterator of bytes), called again for every resend. A 401 that
        cannot be answered and a redirect without Location are returned."""
        self.begin()
        while True:
            self.check(allowed)
            head = self._exchange(method, body_source, headers)
            again = self.follow(head, may_redirect, redirect_codes)
            if again is None:
                return head
            if again == "GET":
                method, body_source = "GET", None

    def begin(self):
        """A new request: its counts of redirects and 401s start at 0."""
        self._redirects = self._auth_tries = 0

    def check(self, allowed):
        """Ask the owner policy (``allowed``) about the URL before it is contacted."""
        if allowed is not None and not allowed(self.url):
            raise Failure("policy", "%s refused by the owner policy" % clean_url(self.url))

    def follow(self, head, may_redirect=True, redirect_codes=(301, 302, 303, 307, 308)):
        """What the answer ``head`` to a request asks for: None when it is
        the final one; "again" (a 401 answered, or a redirect: ``self.url``
        is the new target) or "GET" (a 303) to send the request again;
        raises Failure. The answer's body is dropped unless it is final."""
        self._keep_cookies(head)
        status = head.status
        if status == 401 and self.auth is not None:
            self._auth_tries += 1
            if self._auth_tries > 1:
                self.close()
                raise Failure("auth", "authentication failed (second 401 for the same message)")
            self.auth.allow_basic = self.allow_basic_http or self.url.startswith("https:")
            try:
                self.auth.challenge(head.get("www-authenticate"))
            except AuthError as e:
                self.close()
                raise Failure("auth", str(e)) from None
            self._done_with(head)
            return "again"
        loc = head.get("location")
        if status not in redirect_codes or not loc:
            return None
        self._done_with(head)
        if not may_redirect:
            raise Failure("redirect", "HTTP %d redirect in the middle of a session (only the "
                          "Inform may be redirected)" % status)
        self._redirects += 1
        if self._redirects > MAX_REDIRECTS:
            raise Failure("redirect", "more than %d redirects" % MAX_REDIRECTS)
        new = redirect_target(self.url, loc)
        if new is None:
            raise Failure("redirect", "malformed redirect Location %r" % loc[:80])
        if self.url.startswith("https:") and not new.startswith("https:"):
            raise Failure("redirect", "refusing redirect from https to %s" % urlsplit(new).scheme)
        if self.log_prefix:
            log.info("%s: redirected to %s", self.log_prefix, clean_url(new))
        if _origin(new) != _origin(self.url) and self.auth is not None:
            if self.same_origin_credentials:
                self.auth = None  # credentials go to the server they were given for only
            else:
                self.auth.reset()  # sent to another server only when it asks
        self.url = new
        self.redirected = True
        self._auth_tries = 0
        return "GET" if status == 303 else "again"

    def _keep_cookies(self, head):
        for sc in head.getall("set-cookie"):
            first, _, attrs = sc.partition(";")
            name, eq, value = first.partition("=")
            name = name.strip()
            if not eq or not name:
                continue
            if any(a.strip().lower() == "max-age=0" for a in attrs.split(";")):
                self.cookies.pop(name, None)
            elif len(self.cookies) < 50 or name in self.cookies:
                self.cookies[name] = value.strip()


def _origin(url):
    p = urlsplit(url)
    return p.scheme, p.hostname, p.port
