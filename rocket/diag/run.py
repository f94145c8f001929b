"""The frame every diagnostic test runs in: its sockets and timers in the
agent's one loop, its end, its cancellation.

Rules: a test never blocks and never sleeps. Its sockets are non-blocking
loop readers registered ``nested=True`` and its timers are ``nested=True``
too, so a test keeps measuring while a session (or a connection request)
is being served. Every callback runs under ``guard``: an exception ends the
test with Error_Internal instead of reaching the loop. ``finish`` is called
once; it closes every socket and cancels every timer, and so does
``cancel`` (which reports nothing).

A test gets its inputs as strings (the parameter values, by short name) and
reports ``done(state, values, tables)``: ``values`` maps short result names
to strings, ``tables`` maps a table name to a list of rows (dicts).
"""

import socket
import struct
import time

from rocket.base.log import log

FAMILIES = {"IPv4": (socket.AF_INET,), "IPv6": (socket.AF_INET6,)}
ANY = (socket.AF_INET, socket.AF_INET6)
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def iso(t):
    """UTC dateTime with microseconds (TR-143 wants that precision)."""
    us = int(round(t * 1e6))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 1000000)) + ".%06dZ" % (us % 1000000)


def stamp(anc):
    """The kernel's receive time (SO_TIMESTAMPNS) from recvmsg ancillary data, or now."""
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(data) >= 16:
            sec, ns = struct.unpack_from("=qq", data)
            return sec + ns / 1e9
    return time.time()


def stats(rtts_us):
    """(min, avg, max) of microsecond samples, zeros when there are none."""
    if not rtts_us:
        return 0, 0, 0
    return min(rtts_us), int(round(sum(rtts_us) / len(rtts_us))), max(rtts_us)


def uint(p, key, default, lo=None):
    try:
        v = int(p.get(key) or default)
    except ValueError:
        v = default
    return max(v, lo) if lo is not None else v


class Test:
    kind = ""
    resolve_check = None  # callable(host, address) -> the policy rule that forbids it, or None

    def __init__(self, loop, params, done, device=""):
        self.loop = loop
        self.p = params
        self._done = done
        self.device = device  # Linux interface name from Interface, '' = routing decides
        self.fams = FAMILIES.get(params.get("ProtocolVersion"), ANY)
        self._socks = []
        self._timers = []
        self._lookup = None
        self.finished = False

    # --------------------------------------------------------- plumbing
    def guard(self, fn):
        def run(*a):
            if self.finished:
                return
            try:
                fn(*a)
            except Exception as e:
                log.exception("diagnostics %s: internal error", self.kind)
                self.finish("Error_Internal", {"_why": str(e)})
        return run

    def watch(self, sock, cb, write=False):
        """Make ``cb`` the socket's one reader (``write``: writer); tracked."""
        self.loop.remove(sock)
        (self.loop.add_writer if write else self.loop.add_reader)(sock, self.guard(cb), nested=True)
        if sock not in self._socks:
            sock.setblocking(False)
            self._socks.append(sock)
        return sock

    def close(self, sock):
        if sock in self._socks:
            self._socks.remove(sock)
            self.loop.remove(sock)
        try:
            sock.close()
        except OSError:
            pass

    def later(self, seconds, cb):
        t = self.loop.call_later(seconds, self.guard(cb), "diag-" + self.kind, nested=True)
        self._timers.append(t)
        if len(self._timers) > 64:
            self._timers = [x for x in self._timers if not x.cancelled]
        return t

    def _cleanup(self):
        if self._lookup is not None:
            self._lookup.cancel()
        for s in list(self._socks):
            self.close(s)
        for t in self._timers:
            t.cancel()
        self._timers = []

    def finish(self, state, values=None, tables=None):
        if self.finished:
            return
        self.finished = True
        self._cleanup()
        self._done(state, values or {}, tables or {})

    def cancel(self):
        self.finished = True
        self._cleanup()

    def socket(self, fam, typ, proto=0):
        """A socket bound to ``device`` with the test's DSCP; tracked."""
        from rocket.diag import netif
        s = socket.socket(fam, typ, proto)
        try:
            if self.device:
                netif.bind_device(s, self.device)
            netif.set_dscp(s, fam, uint(self.p, "DSCP", 0))
            if uint(self.p, "EthernetPriority", 0):
                s.setsockopt(socket.SOL_SOCKET, 12, uint(self.p, "EthernetPriority", 0))  # SO_PRIORITY
        except OSError:
            s.close()
            raise
        return s

    def resolve(self, host, cb, fams=None):
        """cb(family, address), or cb(None, None) when ``host`` does not
        resolve (rocket.net.resolver: hosts file, then resolv.conf servers)."""
        from rocket.net.resolver import Resolver
        fams = fams or self.fams

        def done(addrs, err):
            self._lookup = None
            for fam, sa in addrs:
                if fam in fams:
                    rule = self.resolve_check(host, sa[0]) if self.resolve_check else None
                    if rule:
                        return self.finish("Error_Other", {"_why": "policy %s: %s" % (rule, sa[0])})
                    return cb(fam, sa[0])
            cb(None, None)
        if not host.strip():
            return cb(None, None)
        self._lookup = Resolver().lookup(self.loop, host.strip().strip("[]"), 0, self.guard(done),
                                         self.loop.clock() + 15, socket.SOCK_DGRAM)

    def start(self):
        raise NotImplementedError
