"""A loopback DNS server for resolver tests and the stall benchmark.

Binds UDP and TCP port 53 on a 127.x.y.z address of its own (root needed;
``DnsServer.available()`` says whether this machine allows it). ``records``
maps a lower-case name to {"A": [...], "AAAA": [...], "CNAME": "target"}.
Modes: ``silent`` (never answers: a stalled resolver), ``truncate``
(UDP answers carry TC and no records; TCP answers fully), ``servfail``.
Every question seen is appended to ``questions`` as (transport, name, type).
"""

import os
import socket
import struct
import threading

TYPES = {1: "A", 28: "AAAA", 5: "CNAME"}


def free_loopback_ip():
    """A random 127.53.x.y address nobody else is likely to use."""
    b = os.urandom(2)
    return "127.53.%d.%d" % (b[0], max(2, b[1] % 254))


def _qname(data, off):
    labels = []
    while data[off]:
        n = data[off]
        labels.append(data[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels).lower(), off + 1


def _enc(name):
    return b"".join(bytes((len(p),)) + p.encode() for p in name.split(".") if p) + b"\0"


class DnsServer:
    def __init__(self, ip=None, mode="answer"):
        self.ip = ip or free_loopback_ip()
        self.mode = mode
        self.records = {}
        self.questions = []
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((self.ip, 53))
        self.tcp = socket.socket()
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((self.ip, 53))
        self.tcp.listen(8)
        self._stop = False

    @staticmethod
    def available():
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((free_loopback_ip(), 53))
            s.close()
            return True
        except OSError:
            return False

    def start(self):
        threading.Thread(target=self._serve_udp, daemon=True).start()
        threading.Thread(target=self._serve_tcp, daemon=True).start()
        return self

    def stop(self):
        self._stop = True
        for s in (self.udp, self.tcp):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def answer(self, query, tcp):
        qid, flags = struct.unpack(">HH", query[:4])
        name, off = _qname(query, 12)
        qtype = struct.unpack(">H", query[off:off + 2])[0]
        self.questions.append(("tcp" if tcp else "udp", name, TYPES.get(qtype, qtype)))
        question = query[12:off + 4]
        rec = self.records.get(name)
        rcode, answers, tc = 0, [], 0
        if self.mode == "servfail":
            rcode = 2
        elif rec is None:
            rcode = 3
        elif self.mode == "truncate" and not tcp:
            tc = 0x200
        else:
            owner = name
            if "CNAME" in rec:
                answers.append(_enc(owner) + struct.pack(">HHIH", 5, 1, 60, len(_enc(rec["CNAME"])))
                               + _enc(rec["CNAME"]))
                owner = rec["CNAME"]
                rec = self.records.get(owner, {})
            fam, key = (socket.AF_INET, "A") if qtype == 1 else (socket.AF_INET6, "AAAA")
            for ip in rec.get(key, []) if qtype in (1, 28) else []:
                raw = socket.inet_pton(fam, ip)
                answers.append(_enc(owner) + struct.pack(">HHIH", qtype, 1, 60, len(raw)) + raw)
        head = struct.pack(">HHHHHH", qid, 0x8180 | tc | rcode, 1, len(answers), 0, 0)
        return head + question + b"".join(answers)

    def _serve_udp(self):
        while not self._stop:
            try:
                data, peer = self.udp.recvfrom(4096)
            except OSError:
                return
            if self.mode == "silent":
                self.questions.append(("udp", "?", "?"))
                continue
            try:
                self.udp.sendto(self.answer(data, False), peer)
            except (OSError, IndexError, struct.error):
                pass

    def _serve_tcp(self):
        while not self._stop:
            try:
                c, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._tcp_conn, args=(c,), daemon=True).start()

    def _tcp_conn(self, c):
        buf = b""
        try:
            while True:
                d = c.recv(4096)
                if not d:
                    return
                buf += d
                while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
                    n = struct.unpack(">H", buf[:2])[0]
                    q, buf = buf[2:2 + n], buf[2 + n:]
                    if self.mode != "silent":
                        a = self.answer(q, True)
                        c.sendall(struct.pack(">H", len(a)) + a)
        except OSError:
            pass
        finally:
            c.close()
