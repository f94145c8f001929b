"""HTTP authentication: Basic and Digest (RFC 7616), client side.

``parse_challenge`` reads a ``WWW-Authenticate`` value, ``Authenticator``
answers it for one session: it keeps the nonce, counts ``nc`` and signs every
later request of the session proactively, so an ACS that binds its nonce to
the TCP connection (GenieACS) sees one 401 per session, not one per POST.

Supported: MD5, MD5-sess, SHA-256, SHA-256-sess, qop=auth (or no qop, RFC
2069 style). ``hashlib`` is imported only when Digest is actually used.
"""

import os
import re

_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^\s,]*)\s*,?')


def parse_params(s):
    """``a="x", b=y`` -> {'a': 'x', 'b': 'y'} (names lower-cased)."""
    out = {}
    pos = 0
    while pos < len(s):
        m = _PARAM.match(s, pos)
        if not m or m.end() == pos:
            break
        val = m.group(3) if m.group(3) is not None else m.group(2)
        if m.group(3) is not None:
            val = re.sub(r"\\(.)", r"\1", val)
        out[m.group(1).lower()] = val
        pos = m.end()
    return out


def parse_challenge(header):
    """(scheme, params) of the strongest challenge in a WWW-Authenticate value.

    Several challenges may share one header (``Digest ..., Basic ...``);
    Digest is preferred.
    """
    found = {}
    for m in re.finditer(r"(?:^|,)\s*(Digest|Basic)\b", header, re.I):
        found.setdefault(m.group(1).lower(), m.end())
    if "digest" in found:
        start = found["digest"]
        rest = header[start:]
        b = re.search(r",\s*Basic\b", rest, re.I)
        return "digest", parse_params(rest[:b.start()] if b else rest)
    if "basic" in found:
        return "basic", parse_params(header[found["basic"]:])
    return None, {}


def _hasher(algorithm):
    import hashlib
    alg = algorithm.upper().replace("-SESS", "")
    if alg in ("", "MD5"):
        return lambda s: hashlib.md5(s.encode("utf-8")).hexdigest()
    if alg == "SHA-256":
        return lambda s: hashlib.sha256(s.encode("utf-8")).hexdigest()
    raise ValueError("unsupported digest algorithm %r" % algorithm)


def digest_response(algorithm, username, realm, password, method, uri, nonce, nc, cnonce, qop):
    """The ``response`` value of RFC 7616 §3.4.1 (also used by servers)."""
    H = _hasher(algorithm)
    ha1 = H("%s:%s:%s" % (username, realm, password))
    if algorithm.lower().endswith("-sess"):
        ha1 = H("%s:%s:%s" % (ha1, nonce, cnonce))
    ha2 = H("%s:%s" % (method, uri))
    if qop:
        return H("%s:%s:%s:%s:%s:%s" % (ha1, nonce, nc, cnonce, qop, ha2))
    return H("%s:%s:%s" % (ha1, nonce, ha2))


def basic_header(username, password):
    import base64
    raw = ("%s:%s" % (username, password)).encode("utf-8")
    return "Basic " + base64.b64encode(raw).decode("ascii")


class AuthError(Exception):
    pass


def _quote(s):
    return s.replace("\\", "\\\\").replace('"', '\\"')


class Authenticator:
    """Answers challenges for one session with one set of credentials."""

    def __init__(self, username, password, allow_basic=True):
        self.username = username
        self.password = password
        self.allow_basic = allow_basic
        self.scheme = None
        self.params = {}
        self.nc = 0

    def reset(self):
        """Forget the challenge (a new server): nothing is sent until it asks."""
        self.scheme = None
        self.params = {}
        self.nc = 0

    def challenge(self, header):
        """Take a 401's WWW-Authenticate. Raises AuthError if unanswerable."""
        scheme, params = parse_challenge(header or "")
        if scheme is None:
            raise AuthError("401 without a Basic or Digest challenge")
        if any(c < " " and c != "\t" or c == "\x7f" for v in params.values() for c in v):
            # echoed into our Authorization header: no header injection
            raise AuthError("%s challenge with control characters" % scheme)
        if scheme == "basic" and not self.allow_basic:
            raise AuthError("ACS asks for Basic authentication over plain HTTP (refused; "
                            "set allow_basic_over_http to permit it)")
        if scheme == "digest":
            alg = params.get("algorithm", "MD5")
            try:
                _hasher(alg)
            except ValueError:
                raise AuthError("unsupported digest algorithm %r" % alg[:32]) from None
            if "nonce" not in params:
                raise AuthError("digest challenge without a nonce")
            if params.get("nonce") != self.params.get("nonce"):
                self.nc = 0
        self.scheme = scheme
        self.params = params

    def header(self, method, uri):
        """The Authorization value for the next request, or None."""
        if self.scheme is None:
            return None
        if self.scheme == "basic":
            return basic_header(self.username, self.password)
        p = self.params
        qops = [q.strip() for q in p.get("qop", "").split(",") if q.strip()]
        qop = "auth" if "auth" in qops else ""
        if qops and not qop:
            raise AuthError("digest qop %r not supported" % p.get("qop"))
        alg = p.get("algorithm", "")
        self.nc += 1
        nc = "%08x" % self.nc
        cnonce = os.urandom(8).hex()
        resp = digest_response(alg or "MD5", self.username, p.get("realm", ""), self.password,
                               method, uri, p["nonce"], nc, cnonce, qop)
        parts = ['username="%s"' % _quote(self.username), 'realm="%s"' % _quote(p.get("realm", "")),
                 'nonce="%s"' % _quote(p["nonce"]), 'uri="%s"' % _quote(uri)]
        if alg:
            parts.append("algorithm=%s" % alg)
        parts.append('response="%s"' % resp)
        if "opaque" in p:
            parts.append('opaque="%s"' % _quote(p["opaque"]))
        if qop:
            parts += ["qop=%s" % qop, "nc=%s" % nc, 'cnonce="%s"' % cnonce]
        return "Digest " + ", ".join(parts)
