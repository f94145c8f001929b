"""One connection-request listener for a whole simulated fleet.

What it is for: TR-069 §3.2.2 connection requests to thousands of virtual
CPEs on one port. Each device's ConnectionRequestURL is
``http://ADDRESS:PORT/SERIAL``; the path picks the device, and the request
is checked as the agent checks it (``rocket.net.digestserver``: Digest
with the device's own ConnectionRequestUsername / Password, nonces that
expire, no replays): wrong path 404, other method 405, no or wrong
credentials 401 with a fresh challenge, a device that is rebooting gets no
answer (the connection is closed), else 200 and "6 CONNECTION REQUEST".
What it is not: the agent's listener (rocket.connreq.httpcr, one device,
rate limits, URL discovery). One request per connection, a header block
of at most 8 KiB, ``[connection_request] request_timeout`` to send it, at
most ``MAX_CONNS`` open (the oldest is answered 503 to make room).
"""

from rocket.connreq.httpcr import _listen
from rocket.net.digestserver import DigestServer
from rocket.net.httpparse import HttpError, RequestParser, response

SEC = "connection_request"
MAX_CONNS = 4096  # for the whole fleet


class Listener:
    def __init__(self, fleet, address, port):
        cfg = fleet.cfg
        self.fleet = fleet
        self.loop = fleet.loop
        self.address, self.port = address, port
        self.timeout = cfg.int(SEC, "request_timeout", 1, 300)
        self.digest = DigestServer(cfg.get(SEC, "realm"), cfg.get(SEC, "digest_algorithms").replace(",", " ").split(),
                                   cfg.int(SEC, "nonce_lifetime", 1, 3600), cfg.bool(SEC, "allow_basic"),
                                   clock=self.loop.clock, max_tracked=1 << 17)
        self.sock = None
        self.conns = {}  # socket -> [RequestParser, deadline]

    def open(self):
        self.sock = _listen(self.address, self.port, 1024)
        self.port = self.sock.getsockname()[1]
        self.loop.add_reader(self.sock, self._accept)
        self._sweep()

    def close(self):
        for s in list(self.conns):
            self._close(s)
        if self.sock is not None:
            self.loop.remove(self.sock)
            self.sock.close()
            self.sock = None

    def url(self, serial):
        host = "[%s]" % self.address if ":" in self.address else self.address
        return "http://%s:%d/%s" % (host, self.port, serial)

    def _accept(self):
        for _ in range(64):
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            if len(self.conns) >= MAX_CONNS:  # a flood: the oldest goes
                self._send(next(iter(self.conns)), 503)
            s.setblocking(False)
            self.conns[s] = [RequestParser(8192), self.loop.clock() + self.timeout]
            self.loop.add_reader(s, lambda s=s: self._readable(s))

    def _sweep(self):
        now = self.loop.clock()
        for s in [s for s, c in self.conns.items() if c[1] <= now]:
            self._send(s, 408)
        if self.sock is not None:
            self.loop.call_later(self.timeout, self._sweep, "sim-cr-sweep")

    def _readable(self, s):
        c = self.conns.get(s)
        try:
            data = s.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data or c is None:
            return self._close(s)
        try:
            req = c[0].feed(data)
        except HttpError as e:
            return self._send(s, e.status)
        if req is not None:
            self._handle(s, req)

    def _handle(self, s, req):
        f = self.fleet
        d = f.device_for(req.path()[1:])
        if d is None:
            return self._send(s, 404)
        if req.method != "GET":
            return self._send(s, 405, [("Allow", "GET")])
        if not f.up(d):
            return self._close(s)  # switched off: nobody answers
        user, password = f.cr_credentials(d)
        v = self.digest.check("GET", req.target, req.headers.get("authorization"), user, password)
        if not v.ok:
            if "authorization" in req.headers:
                f.stats.count("connection_requests_refused")
            return self._send(s, 401, [("WWW-Authenticate", h) for h in self.digest.challenge(stale=v.stale)])
        self._send(s, 200)
        f.connection_request(d)

    def _send(self, s, status, headers=()):
        try:
            s.send(response(status, headers))
        except OSError:
            pass
        self._close(s)

    def _close(self, s):
        self.conns.pop(s, None)
        self.loop.remove(s)
        s.close()
