"""HTTP(S) to the ACS for one session: connection, auth, cookies, redirects.

One ``AcsClient`` lives for one session and is closed at its end, which drops
the cookies, the digest state and the redirect target (TR-069 §3.4).

``post(body)`` sends one message and returns ``(status, body)`` of the final
answer, having dealt on the way with:

- 401: answer the challenge (Basic or Digest) and resend, on the same TCP
  connection when the server kept it open (GenieACS binds its nonce to the
  connection); a second 401 for the same message is an authentication
  failure. Later POSTs carry the Authorization proactively (nc counts up).
- 301/302/307: resend to ``Location``; the new URL holds for the rest of the
  session; at most 5; never from https to http; only the Inform may be
  redirected (a redirect later in the session fails it).
- cookies: every Set-Cookie (also on 401 and redirects) is kept for the
  session and sent back.
- a connection the server closed between messages is reopened once.

The request is formatted by ``http.client`` (a fresh ``HTTPConnection`` per
request, whose ``sock`` is a writer going through the loop); the answer is
read by our own sans-I/O ``httpresp.ResponseReader`` from bytes received
through the loop, never by http.client's framing code (it reads a ``-1``
chunk size to the end of the stream): ``[acs] max_body`` holds for every
framing, a short body is an error, 1xx answers are skipped. Every wait
(send and answer) is bounded by one deadline per message, the session
timeout, and serves the connection-request listener meanwhile.
"""

from urllib.parse import urlsplit

from rocket.net.digest import Authenticator, AuthError
from rocket.net.httpresp import END, HttpError, ResponseReader, TooLarge, redirect_target
from rocket.base.log import clean_url, log

MAX_REDIRECTS = 5


class AcsError(Exception):
    pass


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


class AcsClient:
    def __init__(self, url, username="", password="", loop=None, timeout=30.0, tls=None,
                 allow_basic_over_http=False, max_body=4 * 1024 * 1024, user_agent="rocket"):
        self.url = url
        self.loop = loop
        self.timeout = timeout
        self.tls = tls  # dict of tls_context() arguments
        self._ctx = None
        self.allow_basic_over_http = allow_basic_over_http
        self.auth = Authenticator(username, password) if (username or password) else None
        self.max_body = max_body
        self.user_agent = user_agent
        self.cookies = {}
        self.sock = None
        self._conn_key = None
        self.redirected = False
        self.tls_version = None  # e.g. "TLSv1.3" once an https connection is up

    @property
    def auth_method(self):
        """How this session authenticated to the ACS so far, for the audit:
        "none", "basic", "digest", "client-cert" or "client-cert+digest"..."""
        http_auth = self.auth.scheme if self.auth is not None and self.auth.scheme else None
        cert = bool(self.tls and self.tls.get("client_cert") and self.url.startswith("https:"))
        parts = (["client-cert"] if cert else []) + ([http_auth] if http_auth else [])
        return "+".join(parts) or "none"

    # ---------------------------------------------------------- connection
    def _connection(self):
        """The connected, non-blocking socket to the ACS (reused while the URL's
        origin stays the same); returns (sock, fresh)."""
        import http.client
        parts = urlsplit(self.url)
        key = (parts.scheme, parts.hostname, parts.port)
        if self.sock is not None and self._conn_key == key:
            return self.sock, False
        self.close()
        if parts.scheme == "https":
            if self._ctx is None:
                try:
                    self._ctx = tls_context(**(self.tls or {}))
                except (OSError, ValueError) as e:  # ssl.SSLError is an OSError
                    raise AcsError("TLS configuration ([acs] ca_file, client_cert, client_key): %s"
                                   % (e,)) from None
            conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443,
                                               timeout=self.timeout, context=self._ctx)
        elif parts.scheme == "http":
            conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=self.timeout)
        else:
            raise AcsError("unsupported URL scheme %r" % parts.scheme)
        conn._create_connection = _create_connection
        conn.connect()
        sock = conn.sock
        version = getattr(sock, "version", None)
        if version is not None:
            self.tls_version = version()
        sock.setblocking(False)
        self.sock, self._conn_key = sock, key
        return sock, True

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def _path(self):
        parts = urlsplit(self.url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return path

    # ------------------------------------------------------------- request
    def post(self, body, may_redirect=True):
        """POST ``body``; returns (status, data) of the final answer.

        ``may_redirect`` is true only for the session's first message (the
        Inform): a redirect anywhere else ends the session (TR-069 §3.4.5).
        """
        redirects = 0
        auth_tries = 0
        while True:
            status, headers, data, reusable = self._exchange(body)
            self._keep_cookies(headers)
            if status == 401:
                auth_tries += 1
                if self.auth is None:
                    raise AcsError("ACS demands authentication and no credentials are configured")
                if auth_tries > 1:
                    raise AcsError("authentication failed (second 401 for the same message)")
                self.auth.allow_basic = (self.allow_basic_over_http
                                         or self.url.startswith("https:"))
                try:
                    self.auth.challenge(headers.get("www-authenticate", ""))
                except AuthError as e:
                    raise AcsError(str(e)) from None
                if not reusable:
                    self.close()
                continue
            if status in (301, 302, 307, 308):
                if not may_redirect:
                    raise AcsError("HTTP %d redirect in the middle of a session (only the Inform "
                                   "may be redirected)" % status)
                redirects += 1
                loc = headers.get("location", "")
                if not loc:
                    raise AcsError("redirect without Location")
                if redirects > MAX_REDIRECTS:
                    raise AcsError("more than %d redirects" % MAX_REDIRECTS)
                new = redirect_target(self.url, loc)
                if new is None:
                    raise AcsError("malformed redirect Location %r" % loc[:80])
                if self.url.startswith("https:") and not new.startswith("https:"):
                    raise AcsError("refusing redirect from https to %s" % urlsplit(new).scheme)
                log.info("session: redirected to %s", clean_url(new))
                if self.auth is not None and _origin(new) != _origin(self.url):
                    self.auth.reset()  # credentials go to another server only when it asks
                self.url = new
                self.redirected = True
                auth_tries = 0
                if not reusable:
                    self.close()
                continue
            if not reusable:
                self.close()
            return status, data

    def _exchange(self, body):
        """One HTTP request/response; reopens a dropped connection once."""
        for attempt in (1, 2):
            try:
                sock, fresh = self._connection()
                return self._send_and_read(sock, body)
            except ConnectionError as e:
                self.close()
                if fresh or attempt == 2:
                    raise AcsError("connection to ACS failed: %s" % (e,)) from None
                # kept-alive connection closed by the server: retry on a new one
            except OSError as e:
                self.close()
                raise AcsError("cannot reach ACS: %s" % (e.strerror or e,)) from None
        raise AcsError("unreachable")

    def _send_and_read(self, sock, body):
        import http.client
        if self.loop is None:
            from rocket.net.loop import Loop
            self.loop = Loop()
        loop = self.loop
        deadline = loop.clock() + self.timeout
        parts = urlsplit(self.url)
        path = self._path()
        headers = {"User-Agent": self.user_agent, "Content-Length": str(len(body))}
        if body:
            headers["Content-Type"] = 'text/xml; charset="utf-8"'
            headers["SOAPAction"] = ""
        if self.cookies:
            headers["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        if self.auth is not None:
            try:
                h = self.auth.header("POST", path)
            except AuthError as e:
                raise AcsError(str(e)) from None
            if h:
                headers["Authorization"] = h
        # http.client formats the request (Host, header checks); a fresh
        # HTTPConnection per request writes it through the loop.
        req = http.client.HTTPConnection(parts.hostname, parts.port or _PORTS[parts.scheme])
        req.default_port = _PORTS[parts.scheme]
        req.sock = _LoopWriter(loop, sock, deadline)
        try:
            req.putrequest("POST", path, skip_accept_encoding=True)
            for k, v in headers.items():
                req.putheader(k, v)
            req.endheaders(body)
        except TimeoutError:
            self.close()
            raise AcsError("sending to ACS timed out after %d s" % self.timeout) from None
        except (ValueError, UnicodeError) as e:  # a header or path http.client refuses to send
            self.close()
            raise AcsError("cannot send the request: %s" % str(e)[:120]) from None
        finally:
            req.sock = None
        reader = ResponseReader(self.max_body)
        head, pieces = None, []
        while True:
            try:
                ev = reader.next_event()
            except TooLarge:
                self.close()
                raise AcsError("ACS answer larger than %d bytes" % self.max_body) from None
            except HttpError as e:
                self.close()
                raise AcsError("bad HTTP answer from ACS: %s" % (e,)) from None
            if ev is END:
                break
            if ev is None:
                data = loop.recv_some(sock, 65536, deadline)
                if data is None:
                    self.close()
                    raise AcsError("no answer from ACS within %d s" % self.timeout
                                   if head is None else "ACS answer timed out")
                if data:
                    reader.feed(data)
                elif not reader.started:
                    raise ConnectionResetError("ACS closed the connection without answering")
                else:
                    reader.eof()
            elif head is None:
                head = ev
            else:
                pieces.append(ev)
        hdrs = {}
        for k, v in head.headers:
            if k == "set-cookie":
                hdrs.setdefault("set-cookie", []).append(v)
            else:
                hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
        return head.status, hdrs, b"".join(pieces), not head.will_close

    def _keep_cookies(self, headers):
        for sc in headers.get("set-cookie", ()):
            first, _, attrs = sc.partition(";")
            name, eq, value = first.partition("=")
            name = name.strip()
            if not eq or not name:
                continue
            expired = any(a.strip().lower() in ("max-age=0",) for a in attrs.split(";"))
            if expired:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value.strip()


_PORTS = {"http": 80, "https": 443}


class _LoopWriter:
    """What http.client sees as its socket: ``sendall`` writes through the
    loop under the message's deadline (TimeoutError after it)."""

    def __init__(self, loop, sock, deadline):
        self.loop, self.sock, self.deadline = loop, sock, deadline

    def sendall(self, data):
        if not self.loop.send_all(self.sock, data, self.deadline):
            raise TimeoutError("send timed out")


def _origin(url):
    p = urlsplit(url)
    return p.scheme, p.hostname, p.port


safe_url = clean_url  # a URL fit for logs (rocket.base.log)


def _create_connection(address, *args):
    """socket.create_connection, with an ASCII host name passed as bytes.

    getaddrinfo() runs every str host name through the "idna" codec, whose
    import (encodings.idna, stringprep, unicodedata) costs about 0.3 MB and
    a millisecond at the first session; an ASCII name needs none of it.
    """
    import socket
    host, port = address
    try:
        host = host.encode("ascii")
    except (AttributeError, UnicodeError):
        pass
    return socket.create_connection((host, port), *args)
