"""Wire formats of the diagnostics, pure (no sockets): ICMP echo, DNS
queries and answers, UDP Echo Plus, the kernel's extended socket errors.

Rules: every parser takes untrusted bytes and either returns a value or
raises ``ValueError``; it never reads past the buffer, never loops without
consuming input (DNS name compression may only point backwards, at most
128 labels), and never allocates more than the input's size.
"""

import socket
import struct


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
A, AAAA, CNAME = 1, 28, 5


def dns_query(qid, name, qtype):
    """A recursive query for ``name`` (ValueError for a bad name)."""
    out = [struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)]
    name = name.rstrip(".")
    if not name or len(name) > 253:
        raise ValueError("bad host name")
    for label in name.split("."):
        b = label.encode("ascii")
        if not 0 < len(b) < 64:
            raise ValueError("bad host name")
        out.append(bytes((len(b),)) + b)
    out.append(b"\0" + struct.pack("!HH", qtype, 1))
    return b"".join(out)


def _name(msg, pos):
    """(name, position after it); pointers only go backwards."""
    labels = []
    end = None
    limit = pos
    for _ in range(128):
        if pos >= len(msg):
            raise ValueError("name runs past the message")
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if pos + 1 >= len(msg):
                raise ValueError("cut pointer")
            target = ((n & 0x3F) << 8) | msg[pos + 1]
            if end is None:
                end = pos + 2
            if target >= limit:
                raise ValueError("forward pointer")
            pos = limit = target
            continue
        if n & 0xC0:
            raise ValueError("bad label type")
        if n == 0:
            return ".".join(labels), (pos + 1 if end is None else end)
        if pos + 1 + n > len(msg):
            raise ValueError("label runs past the message")
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    raise ValueError("too many labels")


def dns_answer(msg):
    """Parse a response: dict id, rcode, aa, tc, answers [(name, type, value)].

    Values: A/AAAA as address text, CNAME as a name, others as None."""
    if len(msg) < 12:
        raise ValueError("short DNS message")
    qid, flags, qd, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
    if not flags & 0x8000:
        raise ValueError("not a response")
    pos = 12
    for _ in range(qd):
        _, pos = _name(msg, pos)
        pos += 4
    answers = []
    for _ in range(an):
        name, pos = _name(msg, pos)
        if pos + 10 > len(msg):
            raise ValueError("cut record")
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[pos:pos + 10])
        pos += 10
        rd = msg[pos:pos + rdlen]
        if len(rd) != rdlen:
            raise ValueError("cut record data")
        value = None
        if rtype == A and rdlen == 4:
            value = socket.inet_ntop(socket.AF_INET, rd)
        elif rtype == AAAA and rdlen == 16:
            value = socket.inet_ntop(socket.AF_INET6, rd)
        elif rtype == CNAME:
            value = _name(msg, pos)[0]
        answers.append((name, rtype, value))
        pos += rdlen
    return {"id": qid, "rcode": flags & 15, "aa": bool(flags & 0x0400), "tc": bool(flags & 0x0200),
            "answers": answers}


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
