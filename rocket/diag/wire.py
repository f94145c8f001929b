"""Wire formats of the diagnostics, pure (no sockets): ICMP echo, DNS
queries and answers, UDP Echo Plus, the kernel's extended socket errors.

Rules: every parser takes untrusted bytes and either returns a value or
raises ``ValueError``; it never reads past the buffer, never loops without
consuming input (DNS name compression may only point backwards, at most
128 labels), and never allocates more than the input's size.
"""

import socket
import struct

# DNS lives in rocket.net.dnswire; diagnostics use it under these names
from rocket.net.dnswire import AAAA, CNAME, A  # noqa: F401
from rocket.net.dnswire import answer as dns_answer  # noqa: F401
from rocket.net.dnswire import query as dns_query  # noqa: F401


def checksum(data):
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def echo_request(v6, ident, seq, payload):
    """An ICMP (v6: ICMPv6) echo request; the kernel sums ICMPv6 itself."""
    head = struct.pack("!BBHHH", 128 if v6 else 8, 0, 0, ident & 0xFFFF, seq & 0xFFFF)
    if v6:
        return head + payload
    c = checksum(head + payload)
    return head[:2] + struct.pack("!H", c) + head[4:] + payload


def echo_reply(data, v6, raw):
    """(ident, seq, payload) of an echo reply, None for other ICMP messages.

    ``raw``: an IPv4 raw socket hands over the IP header too."""
    if raw and not v6:
        if len(data) < 20 or data[0] >> 4 != 4:
            raise ValueError("not an IPv4 packet")
        data = data[(data[0] & 15) * 4:]
    if len(data) < 8:
        raise ValueError("short ICMP message")
    typ, code, _, ident, seq = struct.unpack("!BBHHH", data[:8])
    if typ != (129 if v6 else 0) or code != 0:
        return None
    return ident, seq, data[8:]


# ------------------------------------------------------------------ DNS
# ----------------------------------------------------- UDP Echo Plus
ECHO_PLUS = struct.Struct("!IIIII")  # TR-143 A.1: GenSN, RespSN, RecvTS, ReplyTS, FailureCount


def echo_plus(data, resp_sn, recv_us, reply_us, failures):
    """The responder's answer to ``data`` with the Echo Plus fields filled in."""
    if len(data) < ECHO_PLUS.size:
        return data
    gen = ECHO_PLUS.unpack_from(data)[0]
    m = 0xFFFFFFFF
    return ECHO_PLUS.pack(gen, resp_sn & m, recv_us & m, reply_us & m, failures & m) + data[ECHO_PLUS.size:]


# ------------------------------------------------ extended socket errors
_EE = struct.Struct("=IBBBBII")  # struct sock_extended_err
ORIGIN_ICMP, ORIGIN_ICMP6 = 2, 3


def recverr(cdata):
    """(errno, origin, icmp type, icmp code, offender address or '') from an
    IP_RECVERR / IPV6_RECVERR control message."""
    if len(cdata) < _EE.size:
        raise ValueError("short extended error")
    err, origin, typ, code, _, _, _ = _EE.unpack_from(cdata)
    off = cdata[_EE.size:]
    addr = ""
    if len(off) >= 8:
        fam = struct.unpack_from("=H", off)[0]
        if fam == socket.AF_INET:
            addr = socket.inet_ntop(socket.AF_INET, off[4:8])
        elif fam == socket.AF_INET6 and len(off) >= 24:
            addr = socket.inet_ntop(socket.AF_INET6, off[8:24])
    return err, origin, typ, code, addr
