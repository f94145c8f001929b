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

The wait for the answer goes through the loop: after the request is written,
``Loop.wait_io`` waits for the socket to become readable (serving the
connection-request listener meanwhile) until the session timeout.
"""

from urllib.parse import urljoin, urlsplit

from rocket.digest import Authenticator, AuthError
from rocket.log import clean_url, log

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
        self.conn = None
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
        import http.client
        parts = urlsplit(self.url)
        key = (parts.scheme, parts.hostname, parts.port)
        if self.conn is not None and self._conn_key == key:
            return self.conn
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
        self.conn, self._conn_key = conn, key
        return conn

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
        self.conn = None

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
                new = urljoin(self.url, loc)
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
            conn = self._connection()
            fresh = conn.sock is None
            try:
                return self._send_and_read(conn, body)
            except (ConnectionError, BrokenPipeError) as e:
                self.close()
                if fresh or attempt == 2:
                    raise AcsError("connection to ACS failed: %s" % (e,)) from None
                # kept-alive connection closed by the server: retry on a new one
            except OSError as e:
                self.close()
                raise AcsError("cannot reach ACS: %s" % (e.strerror or e,)) from None
        raise AcsError("unreachable")

    def _send_and_read(self, conn, body):
        import http.client
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
        if conn.sock is None:
            conn.connect()
            version = getattr(conn.sock, "version", None)
            if version is not None:
                self.tls_version = version()
        conn.putrequest("POST", path, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders(body)
        deadline = self.loop.clock() + self.timeout if self.loop else None
        if self.loop is not None and not _has_buffered(conn.sock):
            if not self.loop.wait_io(conn.sock, False, deadline):
                self.close()
                raise AcsError("no answer from ACS within %d s" % self.timeout)
        sock = conn.sock
        if self.loop is not None:
            # Every read of the answer (status, headers, body) is bounded by
            # the one session deadline, so an ACS trickling a byte at a time
            # cannot stretch the session timeout.
            conn.sock = _DeadlineSocket(sock, deadline, self.loop.clock)
        try:
            resp = conn.getresponse()
        except http.client.RemoteDisconnected as e:
            raise ConnectionResetError(str(e)) from None
        except http.client.HTTPException as e:
            self.close()
            raise AcsError("bad HTTP answer from ACS: %s" % (e,)) from None
        except socket_timeout():
            self.close()
            raise AcsError("ACS answer timed out") from None
        finally:
            if conn.sock is not None:
                conn.sock = sock
        hdrs = {}
        for k, v in resp.getheaders():
            lk = k.lower()
            if lk == "set-cookie":
                hdrs.setdefault("set-cookie", []).append(v)
            else:
                hdrs[lk] = v
        try:
            data = resp.read(self.max_body + 1)
        except socket_timeout():
            self.close()
            raise AcsError("ACS answer timed out") from None
        except (http.client.HTTPException, OSError) as e:
            self.close()
            raise AcsError("reading the ACS answer failed: %s" % (e,)) from None
        if len(data) > self.max_body:
            self.close()
            raise AcsError("ACS answer larger than %d bytes" % self.max_body)
        reusable = not resp.will_close
        if not reusable:
            resp.close()
        elif conn.sock is not None:
            conn.sock.settimeout(self.timeout)  # the reads above shortened it
        return resp.status, hdrs, data, reusable

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


def socket_timeout():
    import socket
    return socket.timeout  # an alias of TimeoutError only from 3.10 on


class _DeadlineSocket:
    """Stands in for the socket while ``http.client`` reads one answer.

    ``HTTPResponse`` only calls ``makefile("rb")``; the file it gets reads
    through a raw stream whose every read waits at most until ``deadline``
    (socket.timeout after it). Closing is passed on to the real socket.
    """

    def __init__(self, sock, deadline, clock):
        self.sock = sock
        self.deadline = deadline
        self.clock = clock

    def makefile(self, mode="rb", *args, **kwargs):
        f = self.sock.makefile(mode, *args, **kwargs)
        raw = f.raw
        readinto = raw.readinto
        sock, deadline, clock = self.sock, self.deadline, self.clock

        def bounded_readinto(b):
            left = deadline - clock()
            if left <= 0:
                import socket
                raise socket.timeout("session timeout")
            sock.settimeout(left)
            return readinto(b)
        raw.readinto = bounded_readinto
        return f

    def close(self):
        self.sock.close()

    def __getattr__(self, name):
        return getattr(self.sock, name)


def _origin(url):
    p = urlsplit(url)
    return p.scheme, p.hostname, p.port


def _has_buffered(sock):
    pending = getattr(sock, "pending", None)
    return bool(pending and pending())


safe_url = clean_url  # a URL fit for logs (rocket.log)


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
