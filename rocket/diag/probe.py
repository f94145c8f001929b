"""Round-trip probes: IPPing (ICMP echo), UDPEchoDiagnostics (UDP echo,
Echo Plus aware) and ServerSelectionDiagnostics (the fastest of a list).

Theory of operation: a ``Prober`` sends one probe, waits for its answer or
its Timeout, then sends the next (UDP echo: no sooner than
InterTransmissionTime after the previous one), so a late answer is never
mistaken for the next probe's. Each probe carries a random 8-byte token
and the sequence number; an answer counts only if both match (a raw socket
sees every ICMP message of the host). The round trip is the kernel's
receive timestamp (SO_TIMESTAMPNS) minus the time just before ``send``:
the loop's own latency does not enter the figure.

ICMP sockets: an unprivileged ICMP datagram socket where the kernel allows
it (net.ipv4.ping_group_range), else a raw socket (root / CAP_NET_RAW);
neither: Error_Internal. A destination the kernel has no route to is
Error_NoRouteToHost; ICMP errors on the way count the probe as failed.
"""

import os
import socket
import struct
import time

from rocket.diag import netif, wire
from rocket.diag.run import SO_TIMESTAMPNS, Test, stamp, stats, uint

_NOROUTE = (101, 113)  # ENETUNREACH, EHOSTUNREACH


def icmp_socket(test, fam):
    """(socket, raw?) for ICMP echo."""
    proto = socket.IPPROTO_ICMPV6 if fam == socket.AF_INET6 else socket.IPPROTO_ICMP
    try:
        return test.socket(fam, socket.SOCK_DGRAM, proto), False
    except OSError:
        return test.socket(fam, socket.SOCK_RAW, proto), True


class Prober:
    """``count`` probes to (fam, addr); cb(rows) with one row per probe:
    dict ok, sent, rcvd (wall times), rtt (us), and the Echo Plus fields."""

    def __init__(self, test, fam, addr, count, timeout, size, cb, port=None, gap=0.0):
        self.t = test
        self.fam = fam
        self.addr = addr
        self.count = count
        self.timeout = timeout
        self.size = size
        self.cb = cb
        self.port = port  # None: ICMP echo; else UDP echo to this port
        self.gap = gap
        self.rows = []
        self.token = os.urandom(8)
        self.ident = int.from_bytes(os.urandom(2), "big")
        self.timer = None
        self.last_send = 0.0

    def start(self):
        t = self.t
        v6 = self.fam == socket.AF_INET6
        if self.port is None:
            s, self.raw = icmp_socket(t, self.fam)
        else:
            s, self.raw = t.socket(self.fam, socket.SOCK_DGRAM), False
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock = t.watch(s, self._read)
        try:
            s.connect((self.addr, self.port or 0))
        except OSError as e:
            return t.finish("Error_NoRouteToHost" if e.errno in _NOROUTE else "Error_Other")
        self.v6 = v6
        self._send()

    def _payload(self, seq):
        if self.port is None:
            body = self.token + struct.pack("!H", seq)
        else:
            body = wire.ECHO_PLUS.pack(seq, 0, 0, 0, 0) + self.token
        body = body[:self.size] + bytes(max(0, self.size - len(body)))
        return body

    def _send(self):
        seq = len(self.rows) + 1
        wait = self.last_send + self.gap - time.monotonic()
        if wait > 0:
            self.timer = self.t.later(wait, self._send)
            return
        self.expect = self._payload(seq)
        data = self.expect if self.port is not None else wire.echo_request(self.v6, self.ident, seq, self.expect)
        row = {"ok": False, "seq": seq, "sent": time.time(), "rcvd": 0.0, "rtt": 0}
        self.rows.append(row)
        self.last_send = time.monotonic()
        try:
            self.sock.send(data)
        except OSError as e:
            if e.errno in _NOROUTE and len(self.rows) == 1:
                return self.t.finish("Error_NoRouteToHost")
            return self._next()
        self.timer = self.t.later(self.timeout, self._next)

    def _next(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if len(self.rows) >= self.count:
            self.t.close(self.sock)
            return self.cb(self.rows)
        self._send()

    def _read(self):
        for _ in range(16):
            try:
                data, anc, _, _ = self.sock.recvmsg(65536 + 64, 64)
            except BlockingIOError:
                return
            except OSError:
                continue  # an ICMP error for a probe: it stays unanswered (its timer runs)
            row = self.rows[-1] if self.rows else None
            if row is None or row["ok"]:
                continue
            if self.port is None:
                try:
                    r = wire.echo_reply(data, self.v6, self.raw)
                except ValueError:
                    continue
                if r is None or r[1] != row["seq"] or r[2] != self.expect or (self.raw and r[0] != self.ident):
                    continue
            else:
                n = wire.ECHO_PLUS.size
                if len(self.expect) >= n:
                    f = wire.ECHO_PLUS.unpack_from(data) if len(data) >= n else (None,)
                    if f[0] != row["seq"] or data[n:] != self.expect[n:]:
                        continue
                    if data != self.expect:
                        row.update(zip(("gen", "resp", "rts", "pts", "fail"), f))
                elif data != self.expect:
                    continue
            at = stamp(anc)
            row.update(ok=True, rcvd=at, rtt=max(0, int(round((at - row["sent"]) * 1e6))))
            self._next()


def summary(rows):
    """SuccessCount, FailureCount and (min, avg, max) in microseconds."""
    rtts = [r["rtt"] for r in rows if r["ok"]]
    return len(rtts), len(rows) - len(rtts), stats(rtts)


class IPPing(Test):
    kind = "IPPing"

    def start(self):
        self.resolve(self.p.get("Host", ""), self._go)

    def _go(self, fam, addr):
        if fam is None:
            return self.finish("Error_CannotResolveHostName")
        self.used = netif.source_for(fam, addr, self.device)
        Prober(self, fam, addr, uint(self.p, "NumberOfRepetitions", 4, 1),
               uint(self.p, "Timeout", 1000, 1) / 1000.0, uint(self.p, "DataBlockSize", 64, 1),
               self._done_probes).start()

    def _done_probes(self, rows):
        ok, bad, (lo, avg, hi) = summary(rows)
        self.finish("Complete", {
            "IPAddressUsed": self.used, "SuccessCount": str(ok), "FailureCount": str(bad),
            "AverageResponseTime": str(int(round(avg / 1000.0))), "MinimumResponseTime": str(int(round(lo / 1000.0))),
            "MaximumResponseTime": str(int(round(hi / 1000.0))), "AverageResponseTimeDetailed": str(avg),
            "MinimumResponseTimeDetailed": str(lo), "MaximumResponseTimeDetailed": str(hi)})


class UDPEcho(Test):
    kind = "UDPEchoDiagnostics"

    def start(self):
        self.resolve(self.p.get("Host", ""), self._go)

    def _go(self, fam, addr):
        if fam is None:
            return self.finish("Error_CannotResolveHostName")
        self.used = netif.source_for(fam, addr, self.device)
        Prober(self, fam, addr, uint(self.p, "NumberOfRepetitions", 1, 1), uint(self.p, "Timeout", 5000, 1) / 1000.0,
               uint(self.p, "DataBlockSize", 24, 1), self._done_probes, port=uint(self.p, "Port", 7, 1),
               gap=uint(self.p, "InterTransmissionTime", 1000, 1) / 1000.0).start()

    def _done_probes(self, rows):
        from rocket.diag.run import iso
        ok, bad, (lo, avg, hi) = summary(rows)
        tables = {}
        if self.p.get("EnableIndividualPacketResults") == "true":
            tables["IndividualPacketResult"] = [{
                "PacketSuccess": "true" if r["ok"] else "false", "PacketSendTime": iso(r["sent"]),
                "PacketReceiveTime": iso(r["rcvd"]) if r["ok"] else "0001-01-01T00:00:00Z",
                "TestGenSN": str(r["seq"]), "TestRespSN": str(r.get("resp", 0)),
                "TestRespRcvTimeStamp": str(r.get("rts", 0)), "TestRespReplyTimeStamp": str(r.get("pts", 0)),
                "TestRespReplyFailureCount": str(r.get("fail", 0))} for r in rows]
        self.finish("Complete", {
            "IPAddressUsed": self.used, "SuccessCount": str(ok), "FailureCount": str(bad),
            "AverageResponseTime": str(avg), "MinimumResponseTime": str(lo), "MaximumResponseTime": str(hi),
            "IndividualPacketResultNumberOfEntries": str(len(tables.get("IndividualPacketResult", ())))}, tables)


class ServerSelection(Test):
    """The host of HostList with the lowest average round trip (ICMP echo or
    UDP echo to port 7), NumberOfRepetitions probes each, one host after
    the other. Hosts that do not resolve or never answer are skipped."""

    kind = "ServerSelectionDiagnostics"

    def start(self):
        self.hosts = [h.strip() for h in self.p.get("HostList", "").split(",") if h.strip()]
        self.best = None
        self.resolved = 0
        self._host()

    def _host(self):
        if not self.hosts:
            if self.best is None:
                return self.finish("Error_CannotResolveHostName" if not self.resolved else "Error_Other")
            host, used, (lo, avg, hi) = self.best
            return self.finish("Complete", {"FastestHost": host, "IPAddressUsed": used, "MinimumResponseTime": str(lo),
                                            "AverageResponseTime": str(avg), "MaximumResponseTime": str(hi)})
        self.host = self.hosts.pop(0)
        self.resolve(self.host, self._go)

    def _go(self, fam, addr):
        if fam is None:
            return self._host()
        self.resolved += 1
        self.used = netif.source_for(fam, addr, self.device)
        udp = self.p.get("Protocol") == "UDP Echo"
        Prober(self, fam, addr, uint(self.p, "NumberOfRepetitions", 1, 1), uint(self.p, "Timeout", 1000, 1) / 1000.0,
               24, self._measured, port=7 if udp else None).start()

    def _measured(self, rows):
        ok, _, st = summary(rows)
        if ok and (self.best is None or st[1] < self.best[2][1]):
            self.best = (self.host, self.used, st)
        self._host()
