"""DownloadDiagnostics and UploadDiagnostics over HTTP (TR-143), as loop
state machines: no blocking connect, no blocking read.

Theory of operation. NumberOfConnections connections are opened at once
to the URL's host (resolved once). Per connection: TCPOpenRequestTime
when ``connect`` is issued, TCPOpenResponseTime when the socket becomes
writable (the handshake is done), ROMTime when the request is written.
Download: GET, BOMTime at the first byte of the answer, EOMTime at its
last (Content-Length reached, or the server's close); bytes are counted at
the HTTP layer, headers included (TR-143's definition), read into one
reused buffer, so memory does not grow with the file. Upload: PUT of
TestFileLength bytes from a reused zero buffer, BOMTime at the first byte
written, EOMTime when the server's answer arrives (all bytes are through).

Across connections (TR-181): ROMTime and BOMTime are the earliest,
EOMTime the latest, TCPOpen*Time the latest, and TestBytes* count every
connection's bytes. The "UnderFullLoading" figures cover the window from
the latest connection's BOMTime to the earliest one's EOMTime (while all
connections were moving data): a snapshot of each connection's count and
of the interface counters is taken at both moments; PeriodOfFullLoading is
that window in microseconds. TotalBytes* are the interface's counters
(/sys/class/net; the routing table's interface when Interface is empty)
over BOMTime..EOMTime. With TimeBasedTestDuration, the transfer is cut
after that many seconds from the first BOMTime (a shorter file simply ends
earlier), and IncrementalResult rows are taken every TimeBasedTestMeasurementInterval
seconds after TimeBasedTestMeasurementOffset. Any status other than 2xx,
a refused connection or a stall ends the test in the matching TR-143
error state.
"""

import errno
import socket
import time
from urllib.parse import urlsplit

from rocket.diag import netif
from rocket.diag.run import Test, iso, uint

BUF = 64 * 1024
STALL = 10.0  # seconds without a byte: Error_Timeout
MAX_HEAD = 16 * 1024


class _Conn:
    __slots__ = ("sock", "state", "sent", "got", "head", "length", "tcp_req", "tcp_resp", "rom", "bom", "eom",
                 "c0", "c1", "left", "snap_bom", "snap_eom")

    def __init__(self):
        self.state = "connect"
        self.sent = self.got = 0
        self.head = b""
        self.length = None
        self.tcp_req = self.tcp_resp = self.rom = self.bom = self.eom = None
        self.snap_bom = self.snap_eom = None
        self.c0 = self.c1 = (0, 0)


class Transfer(Test):
    upload = False

    def start(self):
        self.buf = bytearray(BUF)
        self.view = memoryview(self.buf)
        url = self.p.get("UploadURL" if self.upload else "DownloadURL", "")
        try:
            u = urlsplit(url)
            self.host, self.port = u.hostname or "", u.port or 80
        except ValueError:
            return self.finish("Error_InitConnectionFailed")
        if u.scheme != "http" or not self.host:
            return self.finish("Error_InitConnectionFailed")
        self.target = (u.path or "/") + ("?" + u.query if u.query else "")
        self.hosthdr = u.netloc.rsplit("@", 1)[-1]
        self.length = uint(self.p, "TestFileLength", 0)
        self.duration = uint(self.p, "TimeBasedTestDuration", 0)
        self.n = uint(self.p, "NumberOfConnections", 1, 1)
        self.resolve(self.host, self._go)

    def _go(self, fam, addr):
        if fam is None:
            return self.finish("Error_CannotResolveHostName")
        self.fam, self.addr = fam, addr
        self.dev = self.device or netif.route_device(fam, addr)
        self.used = netif.source_for(fam, addr, self.device)
        self.conns = []
        self.incr = []
        self.bom = self.eom = None
        self.last_move = time.monotonic()
        for _ in range(self.n):
            c = _Conn()
            try:
                c.sock = s = self.socket(fam, socket.SOCK_STREAM)
            except OSError:
                return self.finish("Error_Internal")
            self.conns.append(c)
            s.setblocking(False)
            c.tcp_req = time.time()
            err = s.connect_ex((addr, self.port))
            if err not in (0, errno.EINPROGRESS):
                s.close()
                return self.finish("Error_NoRouteToHost" if err in (101, 113) else "Error_InitConnectionFailed")
            self.watch(s, lambda c=c: self._writable(c), write=True)
        self.later(STALL, self._stall)

    def _writable(self, c):
        now = time.time()
        if c.state == "connect":
            err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                return self.finish("Error_NoRouteToHost" if err in (101, 113) else "Error_InitConnectionFailed")
            c.tcp_resp = now
            c.state = "send"
            method = "PUT" if self.upload else "GET"
            extra = "Content-Length: %d\r\nContent-Type: application/octet-stream\r\n" % self.length \
                if self.upload else "Accept-Encoding: identity\r\n"
            c.head = ("%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: rocket-diagnostics\r\n%sConnection: close\r\n\r\n"
                      % (method, self.target, self.hosthdr, extra)).encode()
            c.left = len(c.head) + (self.length if self.upload else 0)
            c.rom = now
        self._send(c)

    def _send(self, c):
        while c.left > 0:
            hl = len(c.head)
            if c.sent < hl:
                chunk = c.head[c.sent:]
            else:
                chunk = self.view[:min(BUF, c.left)]
            try:
                n = c.sock.send(chunk)
            except BlockingIOError:
                n = 0
            except OSError:
                return self.finish("Error_NoResponse")
            if not n:
                return  # the writer stays: called again when there is room
            if self.upload and c.bom is None and c.sent + n > hl:
                self._mark_bom(c, time.time())
            c.sent += n
            c.left -= n
            c.got = c.sent if self.upload else c.got
            self.last_move = time.monotonic()
            if self.duration and self.bom is not None and time.time() - self.first >= self.duration:
                return self._all_done()
        c.head = b""
        c.state = "wait"
        self.watch(c.sock, lambda: self._readable(c))

    def _mark_bom(self, c, now):
        c.bom = now
        c.c0 = netif.counters(self.dev)
        if self.bom is None:
            self.first = now
            self.c0 = netif.counters(self.dev)
            self._incremental_setup()
            if self.duration:
                self.later(self.duration, self._all_done)
        self.bom = now
        if all(x.bom is not None for x in self.conns):
            for x in self.conns:
                x.snap_bom = x.got  # bytes before the latest BOM
            self.bom_counters = netif.counters(self.dev)

    def _mark_eom(self, c, now):
        c.eom = now
        c.c1 = netif.counters(self.dev)
        if self.eom is None:
            self.eom = now
            self.eom_counters = netif.counters(self.dev)
            for x in self.conns:
                x.snap_eom = x.got

    def _readable(self, c):
        for _ in range(64):
            try:
                n = c.sock.recv_into(self.buf)
            except BlockingIOError:
                return
            except OSError:
                return self.finish("Error_NoResponse" if not c.got else "Error_TransferFailed")
            now = time.time()
            if not n:
                return self._closed(c, now)
            self.last_move = time.monotonic()
            if self.upload:
                c.head += bytes(self.view[:n])
                if b"\r\n\r\n" in c.head or len(c.head) > MAX_HEAD:
                    return self._response(c, now)
                continue
            if c.bom is None:
                self._mark_bom(c, now)
            c.got += n
            if c.length is None:
                c.head += bytes(self.view[:min(n, MAX_HEAD)])
                end = c.head.find(b"\r\n\r\n")
                if end >= 0:
                    st = _status(c.head)
                    if not 200 <= st < 300:
                        return self.finish("Error_TransferFailed" if st else "Error_NoResponse")
                    cl = _content_length(c.head[:end])
                    c.length = end + 4 + cl if cl is not None else -1
                    c.head = b""
                elif len(c.head) >= MAX_HEAD:
                    return self.finish("Error_NoResponse")
            if c.length is not None and 0 <= c.length <= c.got:
                if c.length < c.got:
                    return self.finish("Error_IncorrectSize")
                return self._conn_done(c, now)
            if self.duration and now - self.first >= self.duration:
                return self._all_done()

    def _response(self, c, now):
        st = _status(c.head)
        if not 200 <= st < 300:
            return self.finish("Error_NoResponse" if not st else "Error_Other")
        if c.left > 0:
            return self.finish("Error_Other")
        self._conn_done(c, now)

    def _closed(self, c, now):
        if self.upload or c.length is None or c.length >= 0 or c.bom is None:
            return self.finish("Error_NoResponse" if c.bom is None else "Error_TransferFailed")
        self._conn_done(c, now)  # close-delimited body

    def _conn_done(self, c, now):
        self._mark_eom(c, now)
        self.loop.remove(c.sock)
        c.state = "done"
        if all(x.state == "done" for x in self.conns):
            self._report()

    def _all_done(self):
        now = time.time()
        for c in self.conns:
            if c.state != "done":
                if c.bom is None:
                    c.bom = now
                self._mark_eom(c, now)
                c.state = "done"
        self._report()

    def _stall(self):
        if time.monotonic() - self.last_move >= STALL:
            return self.finish("Error_Timeout" if self.bom is not None else "Error_NoResponse")
        self.later(1.0, self._stall)

    def _incremental_setup(self):
        iv = uint(self.p, "TimeBasedTestMeasurementInterval", 0)
        if self.duration and iv:
            self.iv = iv
            self.incr_start = (time.time(), sum(x.got for x in self.conns), netif.counters(self.dev))
            self.later(uint(self.p, "TimeBasedTestMeasurementOffset", 0) + iv, self._increment)

    def _increment(self):
        t0, b0, (r0, s0) = self.incr_start
        now, got, (r1, s1) = time.time(), sum(x.got for x in self.conns), netif.counters(self.dev)
        key = "TestBytesSent" if self.upload else "TestBytesReceived"
        self.incr.append({key: str(got - b0), "TotalBytesReceived": str(r1 - r0), "TotalBytesSent": str(s1 - s0),
                          "StartTime": iso(t0), "EndTime": iso(now)})
        self.incr_start = (now, got, (r1, s1))
        if len(self.incr) < 100:
            self.later(self.iv, self._increment)

    def _report(self):
        up = self.upload
        key = "TestBytesSent" if up else "TestBytesReceived"
        cs = self.conns
        last = max(cs, key=lambda x: x.eom)
        r0, s0 = self.c0
        r1, s1 = last.c1
        f0, g0 = getattr(self, "bom_counters", None) or self.c0
        f1, g1 = self.eom_counters
        full = max(0.0, self.eom - self.bom) if self.bom is not None else 0.0  # latest BOM .. earliest EOM
        values = {"IPAddressUsed": self.used, "ROMTime": iso(min(c.rom for c in cs)),
                  "BOMTime": iso(min(c.bom for c in cs)), "EOMTime": iso(last.eom),
                  key: str(sum(c.sent if up else c.got for c in cs)),
                  "TotalBytesReceived": str(max(0, r1 - r0)), "TotalBytesSent": str(max(0, s1 - s0)),
                  key + "UnderFullLoading": str(sum((c.snap_eom or 0) - (c.snap_bom or 0) for c in cs)),
                  "TotalBytesReceivedUnderFullLoading": str(max(0, f1 - f0)),
                  "TotalBytesSentUnderFullLoading": str(max(0, g1 - g0)),
                  "PeriodOfFullLoading": str(int(full * 1e6)),
                  "TCPOpenRequestTime": iso(max(c.tcp_req for c in cs)),
                  "TCPOpenResponseTime": iso(max(c.tcp_resp for c in cs)),
                  "IncrementalResultNumberOfEntries": str(len(self.incr))}
        tables = {"IncrementalResult": self.incr}
        if self.p.get("EnablePerConnectionResults") == "true" and self.n > 1:
            tables["PerConnectionResult"] = [{
                "ROMTime": iso(c.rom), "BOMTime": iso(c.bom), "EOMTime": iso(c.eom), key: str(c.got),
                "TotalBytesReceived": str(c.c1[0] - c.c0[0]), "TotalBytesSent": str(c.c1[1] - c.c0[1]),
                "TCPOpenRequestTime": iso(c.tcp_req), "TCPOpenResponseTime": iso(c.tcp_resp)} for c in cs]
        values["PerConnectionResultNumberOfEntries"] = str(len(tables.get("PerConnectionResult", ())))
        self.finish("Complete", values, tables)


def _status(head):
    try:
        line = head.split(b"\r\n", 1)[0].split()
        return int(line[1]) if line[0].startswith(b"HTTP/") else 0
    except (IndexError, ValueError):
        return 0


def _content_length(head):
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            try:
                return int(v.strip())
            except ValueError:
                return None
        if k.strip().lower() == b"transfer-encoding":
            return None
    return None


class Download(Transfer):
    kind = "DownloadDiagnostics"


class Upload(Transfer):
    kind = "UploadDiagnostics"
    upload = True
