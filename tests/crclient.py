"""A connection-request client for tests and benchmarks (the ACS's side).

Independent of rocket's own digest code: the digest response is computed
here with hashlib, so a bug shared by client and server cannot hide.
"""

import hashlib
import http.client
import os
import re
import socket
import threading
import time
from urllib.parse import urlsplit


def _h(alg, s):
    name = "sha256" if alg.upper().startswith("SHA-256") else "md5"
    return hashlib.new(name, s.encode("utf-8")).hexdigest()


def parse_challenge(value):
    """{'realm': ..., 'nonce': ..., ...} of one 'Digest ...' header value."""
    out = {}
    for m in re.finditer(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', value):
        out[m.group(1).lower()] = m.group(2) if m.group(2) is not None else m.group(3)
    return out


def digest_header(ch, user, password, uri, nc=1, cnonce=None, alg=None, style="std", method="GET",
                  **override):
    """The Authorization value answering challenge ``ch`` (a parsed dict).

    style "std": quoted, ", "-separated (curl, browsers); "genieacs": the
    GenieACS format (no spaces after commas, qop and nc unquoted).
    """
    alg = alg or ch.get("algorithm", "MD5")
    cnonce = cnonce or os.urandom(8).hex()
    ncs = "%08x" % nc
    realm, nonce = ch["realm"], ch["nonce"]
    ha1 = _h(alg, "%s:%s:%s" % (user, realm, password))
    if alg.upper().endswith("-SESS"):
        ha1 = _h(alg, "%s:%s:%s" % (ha1, nonce, cnonce))
    ha2 = _h(alg, "%s:%s" % (method, uri))
    resp = _h(alg, "%s:%s:%s:%s:auth:%s" % (ha1, nonce, ncs, cnonce, ha2))
    f = dict(username=user, realm=realm, nonce=nonce, uri=uri, algorithm=alg, qop="auth", nc=ncs,
             cnonce=cnonce, response=resp, opaque=ch.get("opaque"))
    f.update(override)
    if style == "genieacs":
        s = 'Digest username="%s",realm="%s",nonce="%s",uri="%s"' % (
            f["username"], f["realm"], f["nonce"], f["uri"])
        if "algorithm" in ch:
            s += ",algorithm=%s" % f["algorithm"]
        s += ',qop=%s,nc=%s,cnonce="%s",response="%s"' % (f["qop"], f["nc"], f["cnonce"], f["response"])
        if f.get("opaque"):
            s += ',opaque="%s"' % f["opaque"]
        return s
    parts = []
    for k in ("username", "realm", "nonce", "uri", "algorithm", "response", "opaque", "qop", "nc",
              "cnonce"):
        v = f.get(k)
        if v is None:
            continue
        parts.append("%s=%s" % (k, v) if k in ("algorithm", "qop", "nc") else '%s="%s"' % (k, v))
    return "Digest " + ", ".join(parts)


def get(url, headers=None, method="GET", target=None, timeout=10):
    """One request on a fresh connection: (status, [(header, value)], body)."""
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, target or u.path, headers=headers or {})
        r = conn.getresponse()
        body = r.read()
        return r.status, r.getheaders(), body
    finally:
        conn.close()


def challenges(url, alg=None):
    """GET without credentials; the parsed Digest challenge for ``alg``
    (or the first one offered) and the raw 401 headers."""
    status, hdrs, _ = get(url)
    assert status == 401, status
    chs = [parse_challenge(v) for k, v in hdrs
           if k.lower() == "www-authenticate" and v.startswith("Digest ")]
    for ch in chs:
        if alg is None or ch.get("algorithm", "MD5").upper() == alg.upper():
            return ch, hdrs
    raise AssertionError("no %s challenge in %r" % (alg, hdrs))


def connection_request(url, user, password, alg=None, style="std"):
    """The full exchange an ACS does: 401, then the answered GET. Returns status."""
    ch, _ = challenges(url, alg)
    path = urlsplit(url).path
    status, _, _ = get(url, {"Authorization": digest_header(ch, user, password, path, alg=alg,
                                                             style=style)})
    return status


def slow_connections(host, port, n, first_bytes=b"GET / HTTP/1.1\r\nHost: x\r\n"):
    """Open ``n`` connections that send a few header bytes and then stall."""
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=5)
        try:
            s.sendall(first_bytes)
        except OSError:
            pass
        socks.append(s)
    return socks


def parallel(fn, n):
    """Run ``fn(i)`` in ``n`` threads at once; the list of results."""
    out = [None] * n
    start = threading.Event()

    def run(i):
        start.wait()
        try:
            out[i] = fn(i)
        except Exception as e:  # reported to the caller
            out[i] = e
    ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    start.set()
    for t in ts:
        t.join(60)
    return out


def wait_for(pred, timeout=15.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()
