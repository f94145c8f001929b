"""DNS messages on the wire (RFC 1035): the one codec of the agent's stub
resolver (rocket.net.resolver) and of NSLookupDiagnostics (rocket.diag).

Pure bytes in, values out: no sockets here. Every read is bounds-checked
and compression pointers may only point backwards, so a hostile answer is a
ValueError, never a loop or an IndexError.
"""

import socket
import struct

A, AAAA, CNAME = 1, 28, 5


def query(qid, name, qtype):
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


def answer(msg):
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
