"""The UDP echo responder of UDPEchoConfig (TR-143 A.1): answers every
datagram on UDPPort with the same bytes (Echo Plus: with the responder's
sequence number, receive and reply timestamps and failure count filled in),
counting packets and bytes.

Rules: one non-blocking socket, a loop reader that also runs during a
session, at most 64 datagrams per turn of the loop. Datagrams from other
sources than SourceIPAddress (when set) are dropped uncounted. Not a
general UDP service: it answers nothing but echoes.
"""

import socket
import time

from rocket.diag import netif, wire
from rocket.diag.run import SO_TIMESTAMPNS, iso, stamp
from rocket.base.log import log

UNKNOWN = "0001-01-01T00:00:00Z"


class Responder:
    def __init__(self, loop):
        self.loop = loop
        self.sock = None
        self.source = ""
        self.plus = False
        self.reset()

    def reset(self):
        self.received = self.responded = self.bytes_in = self.bytes_out = self.failures = 0
        self.first = self.last = None

    def counters(self):
        return {"PacketsReceived": str(self.received), "PacketsResponded": str(self.responded),
                "BytesReceived": str(self.bytes_in), "BytesResponded": str(self.bytes_out),
                "TimeFirstPacketReceived": iso(self.first) if self.first else UNKNOWN,
                "TimeLastPacketReceived": iso(self.last) if self.last else UNKNOWN}

    def configure(self, enable, port, device="", source="", plus=False):
        """(Re)start or stop; counters start again at zero. Returns an error text or ''."""
        self.stop()
        self.reset()
        self.source = source
        self.plus = plus
        if not enable:
            return ""
        for fam, host in ((socket.AF_INET6, "::"), (socket.AF_INET, "0.0.0.0")):
            s = socket.socket(fam, socket.SOCK_DGRAM)
            try:
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                if device:
                    netif.bind_device(s, device)
                s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                s.bind((host, port))
            except OSError as e:
                s.close()
                err = "UDP port %d: %s" % (port, e.strerror or e)
                continue
            s.setblocking(False)
            self.sock = s
            self.loop.add_reader(s, self._read, nested=True)
            log.info("diagnostics: UDP echo responder on port %d", port)
            return ""
        log.warning("diagnostics: UDP echo responder not started: %s", err)
        return err

    def stop(self):
        if self.sock is not None:
            self.loop.remove_reader(self.sock)
            self.sock.close()
            self.sock = None

    def _read(self):
        for _ in range(64):
            try:
                data, anc, _, peer = self.sock.recvmsg(65536, 64)
            except BlockingIOError:
                return
            except OSError:
                continue
            host = peer[0]
            if host.startswith("::ffff:"):
                host = host[7:]
            if self.source and netif.literal(host) != netif.literal(self.source):
                continue
            at = stamp(anc)
            self.received += 1
            self.bytes_in += len(data)
            self.first = self.first or at
            self.last = at
            if self.plus:
                data = wire.echo_plus(data, self.responded + 1, int(at * 1e6), int(time.time() * 1e6),
                                      self.failures)
            try:
                self.sock.sendto(data, peer)
            except OSError:
                self.failures += 1
                continue
            self.responded += 1
            self.bytes_out += len(data)
