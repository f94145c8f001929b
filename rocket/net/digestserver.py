"""HTTP Digest authentication (RFC 7616), server side, sans-I/O.

``DigestServer`` issues challenges and checks ``Authorization`` headers for
one protection space (the connection-request listener). It keeps no state per
client connection:

- A nonce is ``time || random || HMAC(secret, time || random)``: the server
  recognises its own nonces without storing them, and a nonce is valid for
  ``lifetime`` seconds only. A flood of unauthenticated requests therefore
  costs no memory. An expired nonce with an otherwise correct answer gets a
  new challenge marked ``stale=true`` (the client retries without asking
  for the password again).
- Replays: for every nonce that was used successfully, the highest ``nc``
  seen is kept until the nonce expires; a request must carry a higher one.
  The table only grows with *successful* authentications and is bounded
  (``max_tracked``); when it is full of live nonces new ones are refused as
  stale rather than forgotten, so replay protection is never dropped.
- The ``uri`` parameter must be the request target of this very request;
  ``realm`` and ``opaque`` must be ours; qop must be ``auth``.
- Every comparison involving a secret uses ``hmac.compare_digest``.

Basic is accepted only when ``allow_basic`` is set, and is then offered after
the Digest challenges (never preferred). Algorithms offered and accepted are
those in ``algorithms``, in that order (MD5, SHA-256 and their -sess forms).
"""

import os
import time

from rocket.net.digest import digest_response, parse_params

ALGORITHMS = ("MD5", "SHA-256", "MD5-SESS", "SHA-256-SESS")
_HEX = frozenset("0123456789abcdef")


class Verdict:
    """The outcome of ``DigestServer.check``.

    ``ok``: authenticated. ``reason``: a short text for the log (never a
    credential). ``stale``: the next challenge should say ``stale=true``.
    """

    __slots__ = ("ok", "reason", "stale")

    def __init__(self, ok, reason, stale=False):
        self.ok = ok
        self.reason = reason
        self.stale = stale

    def __repr__(self):
        return "<Verdict %s %s%s>" % (self.ok, self.reason, " stale" if self.stale else "")


def same(a, b):
    """Constant-time equality of two strings (compared as UTF-8 bytes): the one
    helper for secrets (rocket.connreq.gate uses it for every kind)."""
    import hmac
    return hmac.compare_digest(a.encode("utf-8", "surrogateescape"),
                               b.encode("utf-8", "surrogateescape"))


def _header_bytes(s):
    """A header value (decoded as latin-1) back to the bytes the client sent."""
    return s.encode("latin-1", "replace")


class DigestServer:
    def __init__(self, realm="rocket", algorithms=("MD5",), lifetime=30.0, allow_basic=False,
                 clock=time.monotonic, max_tracked=1024, secret=None):
        self.configure(realm, algorithms, lifetime, allow_basic)
        self.clock = clock
        self.max_tracked = max_tracked
        self._secret = secret or os.urandom(32)
        self.opaque = os.urandom(16).hex()
        self._used = {}  # nonce -> (highest nc accepted, expiry on self.clock)

    def configure(self, realm, algorithms, lifetime, allow_basic):
        """(Re)set the protection space. Nonces already issued stay valid."""
        bad = [a for a in algorithms if a.upper() not in ALGORITHMS]
        if bad or not algorithms:
            raise ValueError("unsupported digest algorithm(s): %s" % ", ".join(bad or ["(none)"]))
        self.realm = realm
        self.algorithms = tuple(algorithms)
        self._accepted = frozenset(a.upper() for a in algorithms)
        self.lifetime = float(lifetime)
        self.allow_basic = allow_basic

    # ------------------------------------------------------------ nonces
    def _mac(self, head):
        import hashlib
        import hmac
        return hmac.new(self._secret, head.encode("ascii"), hashlib.sha256).hexdigest()[:32]

    def new_nonce(self):
        ms = int(self.clock() * 1000) & 0xFFFFFFFFFFFF
        head = "%012x%s" % (ms, os.urandom(8).hex())
        return head + self._mac(head)

    def _nonce_state(self, nonce):
        """'ok', 'stale' or 'bad' for a nonce a client sent back."""
        if len(nonce) != 60 or not set(nonce) <= _HEX:
            return "bad"
        head = nonce[:28]
        if not same(self._mac(head), nonce[28:]):
            return "bad"
        age = (int(self.clock() * 1000) & 0xFFFFFFFFFFFF) - int(head[:12], 16)
        if age < 0 or age > self.lifetime * 1000:
            return "stale"
        return "ok"

    def _prune(self):
        now = self.clock()
        for n in [n for n, (_, exp) in self._used.items() if exp < now]:
            del self._used[n]

    @property
    def tracked(self):
        """How many used nonces are remembered (for tests and benchmarks)."""
        return len(self._used)

    # -------------------------------------------------------- challenges
    def challenge(self, stale=False):
        """``WWW-Authenticate`` values for a 401, strongest offer first."""
        nonce = self.new_nonce()
        out = []
        for alg in self.algorithms:
            v = 'Digest realm="%s", qop="auth", nonce="%s", opaque="%s", algorithm=%s' % (
                self.realm, nonce, self.opaque, alg)
            if stale:
                v += ", stale=true"
            out.append(v)
        if self.allow_basic:
            out.append('Basic realm="%s", charset="UTF-8"' % self.realm)
        return out

    # ------------------------------------------------------------ checks
    def check(self, method, target, authorization, username, password):
        """Is ``authorization`` (the header value, or None) valid for this request?"""
        if not authorization:
            return Verdict(False, "no credentials")
        scheme, _, rest = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            return self._check_basic(rest.strip(), username, password)
        if scheme != "digest":
            return Verdict(False, "unsupported authentication scheme")
        return self._check_digest(method, target, rest, username, password)

    def _check_basic(self, token, username, password):
        if not self.allow_basic:
            return Verdict(False, "Basic authentication refused (Digest required)")
        import base64
        import binascii
        try:
            raw = base64.b64decode(token.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeError):
            return Verdict(False, "malformed Basic credentials")
        user, sep, pw = raw.partition(b":")
        if not sep:
            return Verdict(False, "malformed Basic credentials")
        import hmac
        ok_user = hmac.compare_digest(user, username.encode("utf-8"))
        ok_pw = hmac.compare_digest(pw, password.encode("utf-8"))
        if ok_user and ok_pw:
            return Verdict(True, "Basic")
        return Verdict(False, "wrong username or password")

    def _check_digest(self, method, target, rest, username, password):
        p = parse_params(rest)
        for k in ("username", "realm", "nonce", "uri", "response"):
            if k not in p:
                return Verdict(False, "malformed Digest credentials (no %s)" % k)
        if p.get("userhash", "false").lower() != "false" or "username*" in p:
            return Verdict(False, "Digest userhash / username* not supported")
        alg = p.get("algorithm", "MD5").upper()
        if alg not in self._accepted:
            return Verdict(False, "Digest algorithm not accepted")
        qop = p.get("qop", "")
        if qop.lower() != "auth":
            return Verdict(False, "Digest qop must be auth")
        nc, cnonce = p.get("nc", ""), p.get("cnonce", "")
        if len(nc) != 8 or not set(nc.lower()) <= _HEX or not cnonce:
            return Verdict(False, "malformed Digest nc / cnonce")
        if p["realm"] != self.realm:
            return Verdict(False, "wrong realm")
        if "opaque" not in p or not same(p["opaque"], self.opaque):
            return Verdict(False, "wrong or missing opaque")
        if not _uri_matches(p["uri"], target):
            return Verdict(False, "Digest uri does not match the request target")
        state = self._nonce_state(p["nonce"])
        if state == "bad":
            return Verdict(False, "unknown nonce")
        import hmac
        want = digest_response(alg, username, self.realm, password, method, p["uri"], p["nonce"],
                               nc, cnonce, "auth")
        ok_user = hmac.compare_digest(_header_bytes(p["username"]), username.encode("utf-8"))
        ok_resp = hmac.compare_digest(want.encode("ascii"), _header_bytes(p["response"].lower()))
        if not (ok_user and ok_resp):
            return Verdict(False, "wrong username or password")
        if state == "stale":
            return Verdict(False, "stale nonce", stale=True)
        count = int(nc, 16)
        seen = self._used.get(p["nonce"])
        if seen is not None and count <= seen[0]:
            return Verdict(False, "replayed nonce count")
        if seen is None and len(self._used) >= self.max_tracked:
            self._prune()
            if len(self._used) >= self.max_tracked:
                return Verdict(False, "too many live nonces", stale=True)
        self._used[p["nonce"]] = (count, self.clock() + self.lifetime + 1)
        return Verdict(True, "Digest %s" % alg)


def _uri_matches(uri, target):
    """RFC 7616 §3.4.6: ``uri`` is the request target of this request.

    An absolute-form target (``http://host/path``) also matches its path.
    """
    if uri == target:
        return True
    if not target.startswith("/"):
        from rocket.net.httpparse import Request
        return uri == Request("GET", target, "HTTP/1.1", {}).path()
    return False
