"""DNS for the diagnostics, inside the loop: the NSLookupDiagnostics test
and the resolver the other tests use for their Host (getaddrinfo would
block the loop).

One ``Exchange`` is one UDP socket connected to one server, carrying the A
and/or AAAA queries of one look-up, with one deadline. An answer counts
only if it comes from that server (connected socket), carries a query's
id and is a response; anything else is dropped. ICMP port unreachable
shows up as ECONNREFUSED: "server not available". Truncated answers are
used as they are (no TCP retry): the addresses they carry are enough for
a diagnostic.

The resolver: an address literal, then /etc/hosts, then the resolv.conf
servers in turn (5 s each). Not a general stub resolver: no search
domains, no TCP, no DNSSEC.
"""

import os
import socket
import time

from rocket.diag import netif, wire
from rocket.diag.run import Test, uint

RESOLVE_TIMEOUT = 5.0


class Exchange:
    """Queries ``qtypes`` for ``name`` at ``server``; cb(status, answers, aa, rtt_s).

    status: ok, nxdomain, refused (no server there / REFUSED / SERVFAIL),
    timeout, error."""

    def __init__(self, test, server, name, qtypes, timeout, cb):
        self.t = test
        self.server = server
        self.name = name
        self.cb = cb
        self.timeout = timeout
        self.want = {}
        for q in qtypes:
            self.want[int.from_bytes(os.urandom(2), "big")] = q
        self.answers = []
        self.aa = True
        self.rcode = 0
        self.sock = None

    def start(self):
        fam, addr = self.server
        try:
            self.sock = self.t.watch(self.t.socket(fam, socket.SOCK_DGRAM), self._read)
            self.sock.connect((addr, 53))
            self.sent = time.monotonic()
            for qid, qtype in self.want.items():
                self.sock.send(wire.dns_query(qid, self.name, qtype))
        except ValueError:
            return self._end("error")
        except OSError:
            return self._end("refused")
        self.timer = self.t.later(self.timeout, lambda: self._end("timeout"))

    def _read(self):
        for _ in range(8):
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                return
            except OSError:
                return self._end("refused")
            try:
                m = wire.dns_answer(data)
            except ValueError:
                continue
            if m["id"] not in self.want:
                continue
            del self.want[m["id"]]
            self.aa = self.aa and m["aa"]
            if m["rcode"]:
                self.rcode = self.rcode or m["rcode"]
            self.answers.extend(m["answers"])
            if not self.want:
                return self._end(None)

    def _end(self, status):
        if self.cb is None:
            return
        if getattr(self, "timer", None) is not None:
            self.timer.cancel()
        if self.sock is not None:
            self.t.close(self.sock)
        if status is None:
            addrs = [a for a in self.answers if a[1] in (wire.A, wire.AAAA) and a[2]]
            if addrs:
                status = "ok"
            elif self.rcode in (0, 3):
                status = "nxdomain"
            elif self.rcode in (2, 5):
                status = "refused"
            else:
                status = "error"
        cb, self.cb = self.cb, None
        cb(status, self.answers, self.aa, time.monotonic() - getattr(self, "sent", time.monotonic()))


class Resolver:
    def __init__(self, test, host, fams, cb):
        self.t = test
        self.host = host.strip()
        self.fams = fams
        self.cb = cb
        self.servers = []

    def start(self):
        lit = netif.literal(self.host)
        if lit is not None:
            return self.cb(*lit) if lit[0] in self.fams else self.cb(None, None)
        if not self.host:
            return self.cb(None, None)
        found = netif.hosts_file(self.host, self.fams)
        if found:
            return self.cb(*found)
        self.servers = [netif.literal(s) for s in netif.nameservers()]
        self._next()

    def _next(self):
        if not self.servers:
            return self.cb(None, None)
        qtypes = [q for f, q in ((socket.AF_INET, wire.A), (socket.AF_INET6, wire.AAAA)) if f in self.fams]
        Exchange(self.t, self.servers.pop(0), self.host, qtypes, RESOLVE_TIMEOUT, self._answered).start()

    def _answered(self, status, answers, aa, rtt):
        if status in ("timeout", "refused", "error"):
            return self._next()
        for fam, q in ((socket.AF_INET, wire.A), (socket.AF_INET6, wire.AAAA)):
            for _, rtype, value in answers:
                if rtype == q and value and fam in self.fams:
                    return self.cb(fam, value)
        self.cb(None, None)


_STATUS = {"ok": "Success", "nxdomain": "Error_HostNameNotResolved", "refused": "Error_DNSServerNotAvailable",
           "timeout": "Error_Timeout", "error": "Error_Other"}


class NSLookup(Test):
    """Device.DNS.Diagnostics.NSLookupDiagnostics: NumberOfRepetitions look-ups
    of HostName (A and AAAA together) at DNSServer, one Result each."""

    kind = "NSLookupDiagnostics"

    def start(self):
        self.results = []
        self.reps = uint(self.p, "NumberOfRepetitions", 1, 1)
        self.timeout = uint(self.p, "Timeout", 5000, 1) / 1000.0
        server = self.p.get("DNSServer", "").strip()
        if not server:
            server = netif.nameservers()[0]
        self.resolve(server, self._server, (socket.AF_INET, socket.AF_INET6))

    def _server(self, fam, addr):
        if fam is None:
            return self.finish("Error_DNSServerNotResolved")
        self.server = (fam, addr)
        self._one()

    def _one(self):
        qtypes = [q for f, q in ((socket.AF_INET, wire.A), (socket.AF_INET6, wire.AAAA)) if f in self.fams]
        Exchange(self, self.server, self.p.get("HostName", ""), qtypes, self.timeout, self._answered).start()

    def _answered(self, status, answers, aa, rtt):
        addrs = [v for _, t, v in answers if t in (wire.A, wire.AAAA) and v]
        names = [n for n, t, v in answers if t in (wire.A, wire.AAAA) and v]
        ok = status == "ok"
        self.results.append({
            "Status": _STATUS[status],
            "AnswerType": ("Authoritative" if aa else "NonAuthoritative") if ok else "None",
            "HostNameReturned": names[-1] if ok else "",
            "IPAddresses": ",".join(addrs[:10]) if ok else "",
            "DNSServerIP": self.server[1],
            "ResponseTime": str(int(round(rtt * 1000))) if status != "timeout" else "0",
        })
        if len(self.results) < self.reps:
            return self._one()
        n = sum(1 for r in self.results if r["Status"] == "Success")
        self.finish("Complete", {"SuccessCount": str(n), "ResultNumberOfEntries": str(len(self.results))},
                    {"Result": self.results})
