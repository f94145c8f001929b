"""STUN messages (RFC 5389, read back to RFC 3489) for TR-069 Annex G.

Sans-I/O: ``encode`` builds a message from attributes, ``decode`` parses
one datagram into a ``Message``. No sockets here; ``rocket.udpcr`` sends and
receives. What the agent needs and nothing more:

- Binding Request / Binding Response / Binding Error Response;
- MAPPED-ADDRESS (RFC 3489 servers) and XOR-MAPPED-ADDRESS, IPv4 and IPv6;
- USERNAME and MESSAGE-INTEGRITY (HMAC-SHA1, short-term credentials: the
  key is the password itself), FINGERPRINT (CRC-32 xor 0x5354554E);
- the TR-111 attributes CONNECTION-REQUEST-BINDING (0xC001, value
  ``"dslforum.org/TR-111 "``) and BINDING-CHANGE (0xC002, empty).

``decode`` never trusts a length: every bound is checked and a malformed
datagram raises ``StunError`` (the only exception it raises).
"""

import binascii
import socket
import struct

MAGIC = 0x2112A442
MAGIC_BYTES = struct.pack("!I", MAGIC)

BINDING_REQUEST = 0x0001
BINDING_RESPONSE = 0x0101
BINDING_ERROR = 0x0111

MAPPED_ADDRESS = 0x0001
USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
ERROR_CODE = 0x0009
UNKNOWN_ATTRIBUTES = 0x000A
XOR_MAPPED_ADDRESS = 0x0020
SOFTWARE = 0x8022
FINGERPRINT = 0x8028
CONNECTION_REQUEST_BINDING = 0xC001
BINDING_CHANGE = 0xC002

TR111_BINDING_VALUE = b"dslforum.org/TR-111 "
_FINGERPRINT_XOR = 0x5354554E
MAX_MESSAGE = 1280  # what one unfragmented datagram can hold on any path


class StunError(ValueError):
    """A datagram that is not a well-formed STUN message."""


class Message:
    """A decoded STUN message: type, 12-byte transaction id, attributes.

    ``attrs`` is the list of (type, value bytes) in wire order.
    ``integrity_at`` is the byte offset of MESSAGE-INTEGRITY (or None), and
    ``raw`` the datagram, for ``check_integrity``.
    """

    __slots__ = ("type", "txid", "attrs", "magic", "raw", "integrity_at")

    def __init__(self, mtype, txid, attrs, magic=True, raw=b"", integrity_at=None):
        self.type = mtype
        self.txid = txid
        self.attrs = attrs
        self.magic = magic
        self.raw = raw
        self.integrity_at = integrity_at

    def get(self, atype):
        for t, v in self.attrs:
            if t == atype:
                return v
        return None

    def mapped_address(self):
        """(host, port) from XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS, else None."""
        v = self.get(XOR_MAPPED_ADDRESS)
        if v is not None:
            return decode_address(v, self.txid, xor=True)
        v = self.get(MAPPED_ADDRESS)
        if v is not None:
            return decode_address(v, self.txid, xor=False)
        return None

    def error(self):
        """(code, reason) of an ERROR-CODE attribute, or None."""
        v = self.get(ERROR_CODE)
        if v is None or len(v) < 4:
            return None
        code = (v[2] & 0x07) * 100 + v[3]
        return code, v[4:].decode("utf-8", "replace")

    def __repr__(self):
        return "<stun.Message 0x%04x %s %d attrs>" % (self.type, self.txid.hex(), len(self.attrs))


def _pad(n):
    return (4 - n % 4) % 4


def _hmac_sha1(key, data):
    import hashlib
    import hmac
    return hmac.new(key, data, hashlib.sha1).digest()


def encode(mtype, txid, attrs=(), key=None, fingerprint=False, pad=b"\0"):
    """One STUN message as bytes.

    ``attrs``: (type, value bytes) pairs, written in order. ``key``: bytes;
    when given, MESSAGE-INTEGRITY is appended after them (RFC 5389 §15.4:
    HMAC-SHA1 over the message so far, with the header length already
    counting the integrity attribute). ``fingerprint`` appends FINGERPRINT
    last. ``pad`` is the padding byte (zero on the wire; the RFC 5769 test
    vectors use spaces).
    """
    if len(txid) != 12:
        raise ValueError("transaction id must be 12 bytes")
    body = bytearray()
    for t, v in attrs:
        body += struct.pack("!HH", t, len(v)) + v + pad * _pad(len(v))
    if key is not None:
        hdr = struct.pack("!HHI", mtype, len(body) + 24, MAGIC) + txid
        mac = _hmac_sha1(key, hdr + bytes(body))
        body += struct.pack("!HH", MESSAGE_INTEGRITY, 20) + mac
    if fingerprint:
        hdr = struct.pack("!HHI", mtype, len(body) + 8, MAGIC) + txid
        crc = (binascii.crc32(hdr + bytes(body)) & 0xFFFFFFFF) ^ _FINGERPRINT_XOR
        body += struct.pack("!HHI", FINGERPRINT, 4, crc)
    return struct.pack("!HHI", mtype, len(body), MAGIC) + txid + bytes(body)


def is_stun(data):
    """Cheap test used to tell STUN from a UDP connection request.

    A STUN message starts with two zero bits and is at least a 20-byte
    header whose length field is a multiple of 4; a UDP connection request
    starts with ``GET `` (0x47: its top bits are 01).
    """
    return len(data) >= 20 and data[0] & 0xC0 == 0 and data[3] & 0x03 == 0


def decode(data):
    """Parse one datagram; raises StunError when it is not well formed."""
    n = len(data)
    if n < 20:
        raise StunError("shorter than a STUN header")
    if n > MAX_MESSAGE:
        raise StunError("larger than %d bytes" % MAX_MESSAGE)
    mtype, length = struct.unpack_from("!HH", data, 0)
    if mtype & 0xC000:
        raise StunError("top bits of the message type are not zero")
    if length % 4 or 20 + length != n:
        raise StunError("length field %d does not match the datagram" % length)
    magic = data[4:8] == MAGIC_BYTES
    txid = bytes(data[8:20])
    attrs = []
    integrity_at = None
    i = 20
    seen_fingerprint = False
    while i < n:
        if i + 4 > n:
            raise StunError("truncated attribute header")
        atype, alen = struct.unpack_from("!HH", data, i)
        end = i + 4 + alen
        if end > n:
            raise StunError("attribute 0x%04x overruns the message" % atype)
        if seen_fingerprint:
            raise StunError("attribute after FINGERPRINT")
        value = bytes(data[i + 4:end])
        if atype == MESSAGE_INTEGRITY:
            if alen != 20:
                raise StunError("MESSAGE-INTEGRITY is not 20 bytes")
            if integrity_at is None:
                integrity_at = i
        elif atype == FINGERPRINT:
            if alen != 4:
                raise StunError("FINGERPRINT is not 4 bytes")
            hdr = bytes(data[:2]) + struct.pack("!H", end - 20) + bytes(data[4:i])
            crc = (binascii.crc32(hdr) & 0xFFFFFFFF) ^ _FINGERPRINT_XOR
            if struct.unpack("!I", value)[0] != crc:
                raise StunError("bad FINGERPRINT")
            seen_fingerprint = True
        attrs.append((atype, value))
        i = end + _pad(alen)
        if i > n:
            raise StunError("attribute padding overruns the message")
    return Message(mtype, txid, attrs, magic, bytes(data), integrity_at)


def check_integrity(msg, key):
    """True when ``msg`` carries a MESSAGE-INTEGRITY valid for ``key``."""
    import hmac
    at = msg.integrity_at
    if at is None:
        return False
    raw = msg.raw
    hdr = raw[:2] + struct.pack("!H", at + 24 - 20) + raw[4:at]
    return hmac.compare_digest(_hmac_sha1(key, hdr), raw[at + 4:at + 24])


def encode_address(host, port, txid=None, xor=False):
    """The value of a (XOR-)MAPPED-ADDRESS attribute."""
    try:
        packed = socket.inet_pton(socket.AF_INET, host)
        family = 1
    except OSError:
        packed = socket.inet_pton(socket.AF_INET6, host)
        family = 2
    if xor:
        port ^= MAGIC >> 16
        mask = MAGIC_BYTES + (txid or b"")
        packed = bytes(a ^ b for a, b in zip(packed, mask))
    return struct.pack("!BBH", 0, family, port) + packed


def decode_address(value, txid, xor):
    """(host, port) from a (XOR-)MAPPED-ADDRESS value; StunError if bad."""
    if len(value) < 4:
        raise StunError("address attribute too short")
    family, port = value[1], struct.unpack_from("!H", value, 2)[0]
    if family == 1:
        raw = value[4:8]
        if len(value) != 8:
            raise StunError("IPv4 address attribute is not 8 bytes")
        af = socket.AF_INET
    elif family == 2:
        raw = value[4:20]
        if len(value) != 20:
            raise StunError("IPv6 address attribute is not 20 bytes")
        af = socket.AF_INET6
    else:
        raise StunError("unknown address family %d" % family)
    if xor:
        port ^= MAGIC >> 16
        mask = MAGIC_BYTES + txid
        raw = bytes(a ^ b for a, b in zip(raw, mask))
    return socket.inet_ntop(af, raw), port


def binding_request(txid, username="", password="", binding_change=False, fingerprint=False):
    """A TR-111 Binding Request.

    Always carries CONNECTION-REQUEST-BINDING; BINDING-CHANGE when the
    binding was first determined or changed since the last request. With a
    username: USERNAME and MESSAGE-INTEGRITY keyed with the password
    (short-term credentials).
    """
    attrs = [(CONNECTION_REQUEST_BINDING, TR111_BINDING_VALUE)]
    if binding_change:
        attrs.append((BINDING_CHANGE, b""))
    key = None
    if username:
        attrs.append((USERNAME, username.encode("utf-8")))
        key = password.encode("utf-8")
    return encode(BINDING_REQUEST, txid, attrs, key=key, fingerprint=fingerprint)


def binding_response(txid, host, port, key=None, fingerprint=False, xor=True):
    """A Binding Success Response (used by tests and tools)."""
    if xor:
        attrs = [(XOR_MAPPED_ADDRESS, encode_address(host, port, txid, xor=True))]
    else:
        attrs = [(MAPPED_ADDRESS, encode_address(host, port))]
    return encode(BINDING_RESPONSE, txid, attrs, key=key, fingerprint=fingerprint)
