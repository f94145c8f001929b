"""HTTP(S) to the ACS for one session: the CWMP rules on top of httpclient.

One ``AcsClient`` lives for one session and is closed at its end, which drops
the cookies, the digest state and the redirect target (TR-069 §3.4). What it
is not: an HTTP client of its own; connecting, TLS, authentication, cookies,
redirects, framing and limits are ``httpclient.Client``'s (shared with file
transfers), every wait through the loop.

``post(body)`` sends one message and returns ``(status, body)`` of the final
answer, having dealt on the way with:

- 401: answer the challenge (Basic or Digest) and resend, on the same TCP
  connection when the server kept it open (GenieACS binds its nonce to the
  connection); a second 401 for the same message is an authentication
  failure. Later POSTs carry the Authorization proactively (nc counts up).
- 301/302/307/308: resend to ``Location``; the new URL holds for the rest of
  the session; at most 5; never from https to http; only the Inform may be
  redirected (a redirect later in the session fails it); credentials go to
  another server only when it asks.
- cookies: every Set-Cookie (also on 401 and redirects) is kept for the
  session and sent back.
- a connection the server closed between messages is reopened once.
- the answer's body is at most ``[acs] max_body`` bytes, whatever its
  framing; each message (connect, send, answer) has the session timeout.
- HTTP compression (TR-069 §3.4.7): with ``gzip`` every POST body goes
  gzip-compressed (``Content-Encoding: gzip``) and ``Accept-Encoding: gzip``
  is sent; a 415 answer to a compressed message (RFC 7694) has it resent
  uncompressed, and the rest of the session goes uncompressed. A gzip
  answer is accepted either way (identity too), inflated piece by piece
  within the same ``max_body`` (a zip bomb is refused).
"""

from rocket.base.log import clean_url, log
from rocket.net.httpclient import Client, Failure, tls_context

__all__ = ["AcsClient", "AcsError", "tls_context", "safe_url"]


class AcsError(Exception):
    pass


class AcsClient:
    def __init__(self, url, username="", password="", loop=None, timeout=30.0, tls=None,
                 allow_basic_over_http=False, max_body=4 * 1024 * 1024, user_agent="rocket",
                 resolver=None, gzip=False):
        if loop is None:
            from rocket.net.loop import Loop
            loop = Loop()
        self.tls = tls  # dict of tls_context() arguments
        self.max_body = max_body
        self.gzip = gzip
        self.client = Client(loop, url, username, password, self._tls, timeout,
                             allow_basic_over_http, user_agent, resolver, log_prefix="session")

    def _tls(self):
        try:
            return tls_context(**(self.tls or {}))
        except (OSError, ValueError) as e:
            raise ValueError("[acs] ca_file, client_cert, client_key: %s" % (e,)) from None

    @property
    def url(self):
        return self.client.url

    @property
    def redirected(self):
        return self.client.redirected

    @property
    def tls_version(self):
        return self.client.tls_version

    @property
    def cookies(self):
        return self.client.cookies

    @property
    def auth_method(self):
        """How this session authenticated to the ACS so far, for the audit:
        "none", "basic", "digest", "client-cert" or "client-cert+digest"..."""
        auth = self.client.auth
        http_auth = auth.scheme if auth is not None and auth.scheme else None
        cert = bool(self.tls and self.tls.get("client_cert") and self.url.startswith("https:"))
        parts = (["client-cert"] if cert else []) + ([http_auth] if http_auth else [])
        return "+".join(parts) or "none"

    def close(self):
        self.client.close()

    def post(self, body, may_redirect=True):
        """POST ``body``; returns (status, data) of the final answer.

        ``may_redirect`` is true only for the session's first message (the
        Inform): a redirect anywhere else ends the session (TR-069 §3.4.5).
        """
        headers = [("Content-Type", 'text/xml; charset="utf-8"'), ("SOAPAction", "")] if body else []
        sent = body
        if self.gzip:
            headers.append(("Accept-Encoding", "gzip"))
            if body:
                import zlib
                z = zlib.compressobj(6, zlib.DEFLATED, 31)
                sent = z.compress(body) + z.flush()
                headers.append(("Content-Encoding", "gzip"))
        try:
            head = self.client.request("POST", lambda: (len(sent), sent), headers, may_redirect,
                                       redirect_codes=(301, 302, 307, 308))
            if head.status == 415 and sent is not body:  # RFC 7694: no compressed requests here
                self.client.read_body(65536)
                log.warning("session: the ACS refuses compressed requests (415): sent uncompressed "
                            "for the rest of this session")
                self.gzip = False
                return self.post(body, may_redirect)
            if head.status == 401:
                self.close()
                raise AcsError("ACS demands authentication and no credentials are configured")
            if head.status in (301, 302, 307, 308):
                self.close()
                raise AcsError("redirect without Location")
            data = self.client.read_body(self.max_body, True)
        except Failure as e:
            self.close()
            if e.kind == "too-large":
                raise AcsError("ACS " + e.reason) from None
            if e.kind == "timeout" and "no answer" in e.reason:
                raise AcsError("no answer from ACS within %d s" % self.client.timeout) from None
            raise AcsError(e.reason) from None
        return head.status, data


safe_url = clean_url  # a URL fit for logs (rocket.base.log)
