"""NSLookupDiagnostics: its own DNS queries to DNSServer, inside the loop
(the other tests resolve their Host with rocket.net.resolver).

One ``Exchange`` is one UDP socket connected to one server, carrying the A
and/or AAAA queries of one look-up, with one deadline. An answer counts
only if it comes from that server (connected socket), carries a query's
id and is a response; anything else is dropped. ICMP port unreachable
shows up as ECONNREFUSED: "server not available". Truncated answers are
used as they are (no TCP retry): the addresses they carry are enough for
a diagnostic.

Not a resolver: no search domains, no TCP retry, no DNSSEC.
"""

import os
import socket
import time

from rocket.diag import wire
from rocket.diag.run import Test, uint

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
            from rocket.net.resolver import read_conf
            server = read_conf("/etc/resolv.conf")[0][0]
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
