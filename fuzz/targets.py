"""Fuzz targets: one function per input parser the agent exposes to a peer.

Each target takes ``bytes`` and may raise only the exceptions listed in
``TARGETS[name].expected`` (the parser's documented way of saying "bad
input"); anything else is a crash. A target that returns normally checks
what it can about the result (an answer that parses back, a body within
its limit), raising ``Broken`` when that does not hold.

Targets (seeds in ``fuzz/seeds/NAME/``):

- ``soap``: ``soap.parse`` then ``rpc.Dispatcher.handle`` on a small data
  model; an internal error (9002) is a crash, the answer must parse back.
- ``http_response``: ``acsclient.AcsClient.post`` (through ``httpclient``)
  reading an ACS answer (status line, headers, Content-Length / chunked /
  close-delimited bodies, 1xx, 401 challenges, redirects) from a
  socketpair; the body limit must hold.
- ``cr_request``: the connection-request HTTP request parser, fed in two
  pieces, then the digest check of its Authorization header.
- ``digest``: ``WWW-Authenticate`` challenges (client side) and
  ``Authorization`` headers (server side).
- ``stun``: STUN messages (decode, attributes, integrity, the binding
  client's response handling) and UDP connection-request datagrams.
- ``records``: a backend's stdout (escaped TAB/LF records) into the store.
- ``state``: a state file's bytes (current and previous generation) read by
  the agent's real loaders (events, parameter attributes, transfers...).
"""

import os
import socket
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


class Broken(Exception):
    """A target's own check failed (wrong result without an exception)."""


class Target:
    def __init__(self, name, func, expected, doc):
        self.name = name
        self.func = func
        self.expected = expected
        self.doc = doc
        self.seeds = os.path.join(HERE, "seeds", name)


TARGETS = {}


def target(name, expected, doc):
    def deco(make):
        TARGETS[name] = Target(name, make, expected, doc)
        return make
    return deco


def _quiet(run, patches=()):
    """``run`` with the agent's log silenced and ``patches`` ((module, name,
    value)...) applied for the duration of each call only: a target leaves
    no global change behind (the test suite runs other tests after it)."""
    from rocket.base.log import log

    def call(data):
        saved = (log.target, log.level)
        old = [(m, n, getattr(m, n)) for m, n, _ in patches]
        log.silence()
        for m, n, v in patches:
            setattr(m, n, v)
        try:
            return run(data)
        finally:
            for m, n, v in old:
                setattr(m, n, v)
            log.target, log.level = saved
    return call


# ------------------------------------------------------------------ soap
@target("soap", (), "SOAP parser and RPC dispatcher")
def make_soap():
    from rocket.cwmp import soap
    from rocket.base.config import Config
    from rocket.datamodel.model import DataModel
    from rocket.cwmp.rpc import Dispatcher
    from rocket.datamodel.store import Param
    state = {}

    def fresh():
        m = DataModel("Device.")
        m.build_builtin(Config.load(None))
        for i in range(1, 4):
            m.store.add("Device.X_F.%d.Name" % i, Param("n%d" % i, "string", True))
            m.store.add("Device.X_F.%d.Count" % i, Param(str(i), "unsignedInt", True))
        state["d"] = Dispatcher(m)
        state["n"] = 0

    fresh()

    def run(data):
        state["n"] += 1
        if state["n"] > 2000:  # SPV/AddObject change the model: start over now and then
            fresh()
        try:
            msg = soap.parse(data)
        except soap.SoapError as e:
            return str(e)[:12]
        if msg.empty or msg.is_fault:
            return
        body, label = state["d"].handle(msg, msg.ns or soap.CWMP_NS[-1])
        if label == "Fault 9002":
            raise Broken("9002 internal error for %s" % msg.name[:40])
        back = soap.parse(bytes(body))
        if back.id != msg.id:
            raise Broken("answer does not echo the cwmp:ID")
        return label
    return _quiet(run)


# --------------------------------------------------------- http_response
MAX_BODY = 4096


@target("http_response", ("AcsError",), "HTTP response reader of the ACS client")
def make_http_response():
    from rocket.net import acsclient
    from rocket.net import httpclient
    from rocket.net.loop import Loop
    loop = Loop()  # one for the whole run (a new one per input costs an epoll fd)
    feed = []
    peers = []

    class Resolver:
        def resolve(self, loop, host, port, deadline):
            return [(socket.AF_INET, ("127.0.0.1", port))]

    class Sock:
        """One end of a socketpair that "connects" at once; the other end
        holds the answer, then end of stream (the request goes into it)."""

        def __init__(self, s):
            self._s = s

        def connect(self, addr):
            pass

        def getsockopt(self, *a):
            return 0

        def setsockopt(self, *a):
            pass

        def __getattr__(self, name):
            return getattr(self._s, name)

    class SocketModule:
        """Stands for the ``socket`` module inside rocket.net.httpclient."""

        def __getattr__(self, name):
            return getattr(socket, name)

        def socket(self, *a):
            a_, b = socket.socketpair()
            b.sendall(feed.pop() if feed else b"")
            b.shutdown(socket.SHUT_WR)
            peers.append(b)
            return Sock(a_)

    fake = SocketModule()

    def run(data):
        data = data[:60000]  # stays within a socketpair's buffer
        feed[:] = [data]
        c = acsclient.AcsClient("http://acs.invalid:7547/acs", "user", "pass", timeout=2, loop=loop,
                                max_body=MAX_BODY, allow_basic_over_http=True, resolver=Resolver())
        try:
            status, body = c.post(b"<x/>")
        finally:
            c.close()
            while peers:
                peers.pop().close()
        if len(body) > MAX_BODY:
            raise Broken("body of %d bytes passed max_body %d" % (len(body), MAX_BODY))
        if not 200 <= status <= 599:
            raise Broken("final status %r" % status)
        return status
    return _quiet(run, [(httpclient, "socket", fake)])


# ------------------------------------------------------------ cr_request
@target("cr_request", ("HttpError",), "connection-request HTTP request parser")
def make_cr_request():
    from rocket.net.digestserver import DigestServer
    from rocket.net.httpparse import RequestParser
    ds = DigestServer(realm="MiniCPE", algorithms=("MD5", "SHA-256"), allow_basic=True)

    def run(data):
        p = RequestParser()
        cut = data[0] % (len(data) + 1) if data else 0
        req = p.feed(data[:cut]) or p.feed(data[cut:])
        if req is None:
            return
        req.path()
        v = ds.check(req.method, req.target, req.headers.get("authorization"), "cr-user", "cr-pass")
        if v.ok:
            raise Broken("fuzzed credentials accepted")
        return v.reason
    return _quiet(run)


# ----------------------------------------------------------------- digest
@target("digest", ("AuthError",), "digest/basic header parsers, both sides")
def make_digest():
    from rocket.net.digest import Authenticator, parse_challenge
    from rocket.net.digestserver import DigestServer
    ds = DigestServer(realm="MiniCPE", algorithms=("MD5", "SHA-256-sess"), allow_basic=True)

    def run(data):
        text = data.decode("latin-1")
        parse_challenge(text)
        ds.check("GET", "/", text, "cr-user", "cr-pass")
        a = Authenticator("user", "pass", allow_basic=True)
        a.challenge(text)
        a.header("POST", "/acs")
    return _quiet(run)


# ------------------------------------------------------------------- stun
@target("stun", (), "STUN messages and UDP connection-request datagrams")
def make_stun():
    from rocket.connreq import stun
    from rocket.connreq.udpcr import StunBinding, UdpRequestChecker
    checker = UdpRequestChecker(max_clock_skew=0)

    def run(data):
        b = StunBinding("user", "pass", rng=lambda n: data[4:4 + n].ljust(n, b"\0"))
        b.request()
        b.response(data)
        if stun.is_stun(data):
            try:
                m = stun.decode(data)
            except stun.StunError:
                return
            for f in (m.mapped_address, m.error):
                try:
                    f()
                except stun.StunError:
                    pass
            stun.check_integrity(m, b"pass")
        else:
            ok, _ = checker.check(data, 0, "cr-user", "cr-pass")
            if ok and checker.check(data, 0, "cr-user", "cr-pass")[0]:
                raise Broken("a replayed UDP connection request was accepted")
            if len(checker.seen) > checker.max_ids:
                raise Broken("replay table grew past its bound")
            return _
    return _quiet(run)


# ---------------------------------------------------------------- records
@target("records", ("RecordError", "CwmpFault"), "backend record reader")
def make_records():
    from rocket.datamodel import records
    from rocket.datamodel.backend import Manifest, ScriptBackend
    from rocket.datamodel.store import Store
    man = Manifest.parse("prefix Device.X_F.\nparam Device.X_F.{i}.Count unsignedInt rw\n"
                         "param Device.X_F.{i}.Name string rw len=16\ntable Device.X_F.\n")

    def run(data):
        be = ScriptBackend("fz", "/bin/false", man, loop=None)
        store = Store()
        store.add_object("Device.")
        be._put(store, records.decode(data), "get")
        out = records.encode_all([[k] for k in store.nodes])
        if len(records.decode(out)) != len(store.nodes):
            raise Broken("records do not round-trip")
    return _quiet(run)


# ------------------------------------------------------------------ state
@target("state", (), "state-file loading (every real loader)")
def make_state():
    from rocket.cwmp.events import EventQueue
    from rocket.ops.journal import Journal
    from rocket.datamodel.model import DataModel
    from rocket.base.statedir import StateDir
    d = tempfile.mkdtemp(prefix="rocket-fuzz-state-")
    names = ("events", "changed", "params", "overrides", "transfers", "informparams")

    def run(data):
        cut = data[0] % (len(data) + 1) if data else 0
        p = os.path.join(d, names[len(data) % len(names)] + ".json")
        for suffix, part in (("", data[cut:]), (".1", data[:cut])):
            with open(p + suffix, "wb") as f:
                f.write(part)
        sd = StateDir(d)
        ev = EventQueue(sd)
        ev.has("1 BOOT")
        m = DataModel("Device.", sd)
        m._load_inform_params()
        j = Journal(sd)
        j.next_id()
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
    return _quiet(run)
