"""TraceRoute: the routers on the way to Host, hop by hop.

Theory of operation: for TTL 1, 2, ... MaxHopCount, NumberOfTries probes
are sent one after the other, each from a fresh socket with that TTL and
IP_RECVERR (IPv6: IPV6_RECVERR), so the kernel hands the ICMP error a
router sends back ("time exceeded", "unreachable") to that socket's error
queue, with the router's address: no raw socket is needed and an answer
can only belong to its own probe. Probes are ICMP echo requests when the
host lets this user open ICMP datagram sockets (net.ipv4.ping_group_range),
else UDP datagrams to port 33434 + n. The destination is reached on an
echo reply or a "port unreachable" from the destination itself; another
unreachable ends the test with Error_NoRouteToHost; no answer within
Timeout leaves that try empty. Round trips use the kernel's receive
timestamps. Host names of hops are their addresses (no reverse look-up,
which would need a resolver round trip per hop).
"""

import socket
import time

from rocket.base.log import log
from rocket.diag import netif, wire
from rocket.diag.run import SO_TIMESTAMPNS, Test, stamp, uint

MSG_ERRQUEUE = getattr(socket, "MSG_ERRQUEUE", 0x2000)


class TraceRoute(Test):
    kind = "TraceRoute"

    def start(self):
        self.resolve(self.p.get("Host", ""), self._go)

    def _go(self, fam, addr):
        if fam is None:
            return self.finish("Error_CannotResolveHostName")
        self.fam, self.addr = fam, addr
        self.v6 = fam == socket.AF_INET6
        self.tries = uint(self.p, "NumberOfTries", 3, 1)
        self.timeout = uint(self.p, "Timeout", 5000, 1) / 1000.0
        self.max_hops = uint(self.p, "MaxHopCount", 30, 1)
        self.size = uint(self.p, "DataBlockSize", 38, 1)
        self.used = netif.source_for(fam, addr, self.device)
        try:
            self.icmp = True
            self._socket().close()
        except OSError:
            self.icmp = False
        log.debug("diagnostics: traceroute to %s with %s probes", addr, "icmp echo" if self.icmp else "udp")
        self.hops = []
        self.ttl = 0
        self.reached = None  # None, "dest" or "unreachable"
        self.n = 0
        self._hop()

    def _socket(self):
        if self.icmp:
            proto = socket.IPPROTO_ICMPV6 if self.v6 else socket.IPPROTO_ICMP
            return self.socket(self.fam, socket.SOCK_DGRAM, proto)
        return self.socket(self.fam, socket.SOCK_DGRAM)

    def _hop(self):
        if self.reached or self.ttl >= self.max_hops:
            return self._end()
        self.ttl += 1
        self.hop = {"addr": "", "code": 0, "rtts": []}
        self.hops.append(self.hop)
        self.try_n = 0
        self._probe()

    def _probe(self):
        if self.try_n >= self.tries:
            return self._hop()
        self.try_n += 1
        self.n += 1
        s = self._socket()
        if self.v6:
            s.setsockopt(socket.IPPROTO_IPV6, 16, self.ttl)  # IPV6_UNICAST_HOPS
            s.setsockopt(socket.IPPROTO_IPV6, 25, 1)  # IPV6_RECVERR
        else:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, self.ttl)
            s.setsockopt(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock = self.watch(s, self._read)
        payload = bytes(self.size)
        try:
            if self.icmp:
                s.connect((self.addr, 0))
                payload = wire.echo_request(self.v6, 0, self.n, payload)
            else:
                s.connect((self.addr, 33434 + self.n % 30000))
            self.sent = time.time()
            s.send(payload)
        except OSError as e:
            self.close(s)
            if e.errno in (101, 113) and self.ttl == 1:
                return self.finish("Error_NoRouteToHost")
            return self._probe()
        self.timer = self.later(self.timeout, self._timeout)

    def _timeout(self):
        self.close(self.sock)
        self._probe()

    def _read(self):
        s = self.sock
        try:
            data, anc, _, _ = s.recvmsg(512, 512, MSG_ERRQUEUE)
        except OSError:
            anc = None
        if anc is None:
            try:
                data, anc, _, _ = s.recvmsg(512, 64)
            except BlockingIOError:
                return
            except OSError:
                return
            if not self.icmp:
                return
            try:
                r = wire.echo_reply(data, self.v6, False)
            except ValueError:
                return
            if r is None or r[1] != self.n:
                return
            return self._answer(self.addr, 0, stamp(anc), "dest")
        for level, typ, cdata in anc:
            if (level, typ) in ((socket.IPPROTO_IP, 11), (socket.IPPROTO_IPV6, 25)):
                try:
                    _, origin, itype, code, who = wire.recverr(cdata)
                except ValueError:
                    continue
                if origin not in (wire.ORIGIN_ICMP, wire.ORIGIN_ICMP6):
                    continue
                exceeded = itype == (3 if self.v6 else 11)
                unreach = itype == (1 if self.v6 else 3)
                if not (exceeded or unreach):
                    continue
                what = None
                if unreach:
                    port = code == (4 if self.v6 else 3)
                    what = "dest" if port and netif.literal(who) == netif.literal(self.addr) else "unreachable"
                return self._answer(who, code, stamp(anc), what)

    def _answer(self, who, code, at, what):
        self.timer.cancel()
        self.close(self.sock)
        h = self.hop
        h["addr"] = h["addr"] or who
        h["code"] = code
        h["rtts"].append(max(0, int(round((at - self.sent) * 1000))))
        if what and not self.reached:
            self.reached = what
        self._probe()

    def _end(self):
        rows = [{"Host": h["addr"], "HostAddress": h["addr"], "ErrorCode": str(h["code"]),
                 "RTTimes": ",".join(str(x) for x in h["rtts"])} for h in self.hops]
        last = self.hops[-1]["rtts"] if self.hops else []
        values = {"IPAddressUsed": self.used, "RouteHopsNumberOfEntries": str(len(rows)),
                  "ResponseTime": str(int(round(sum(last) / len(last)))) if last and self.reached == "dest" else "0"}
        state = {"dest": "Complete", "unreachable": "Error_NoRouteToHost"}.get(self.reached,
                                                                            "Error_MaxHopCountExceeded")
        self.finish(state, values, {"RouteHops": rows})
