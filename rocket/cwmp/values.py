"""TR-106 data types: checking and normalising parameter values.

``check(ptype, limit, value, sent_type)`` returns the canonical string to
store, or raises ``BadType`` (answer 9006) or ``BadValue`` (answer 9007).
``ptype`` is the xsd name used in ``xsi:type`` (``string``, ``int``,
``unsignedInt``, ``long``, ``unsignedLong``, ``boolean``, ``dateTime``,
``base64Binary``, ``hexBinary``, ``decimal``). ``limit`` is None, an int (the
maximum length of a string), a (lo, hi) pair for numbers (either may be None),
or a tuple of allowed strings (an enumeration).
"""

import re

from rocket.base.booleans import xsd_bool, xsd_text

TYPES = ("string", "int", "unsignedInt", "long", "unsignedLong", "boolean", "dateTime",
         "base64Binary", "hexBinary", "decimal")
ALIASES = {"base64": "base64Binary", "unsignedint": "unsignedInt", "unsignedlong": "unsignedLong",
           "datetime": "dateTime", "bool": "boolean", "hexbinary": "hexBinary"}
_RANGES = {
    "int": (-2 ** 31, 2 ** 31 - 1),
    "unsignedInt": (0, 2 ** 32 - 1),
    "long": (-2 ** 63, 2 ** 63 - 1),
    "unsignedLong": (0, 2 ** 64 - 1),
}
_INTEGER = frozenset(_RANGES)
UNKNOWN_TIME = "0001-01-01T00:00:00Z"
_DATETIME = re.compile(
    r"^-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$")
_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})*$")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def small_int(text, digits=20):
    """int(text) for an optionally signed decimal of at most ``digits``
    significant digits; ValueError otherwise. The length is checked before
    anything looks at the characters (a sign and up to 32 leading zeros are
    allowed): a 100,000-digit value costs what a short one does, and int()
    (quadratic before Python 3.11) never sees it."""
    t = text.strip()
    if len(t) > digits + 33:
        raise ValueError("longer than any integer of at most %d digits" % digits)
    body = t[1:] if t[:1] in "+-" else t
    if not body or len(body.lstrip("0")) > digits or not body.isdigit() or not body.isascii():
        raise ValueError("not an integer of at most %d digits" % digits)
    return int(t)


class BadType(ValueError):
    """The value's declared type cannot be used for this parameter (9006)."""


class BadValue(ValueError):
    """The value is not allowed for this parameter (9007)."""


def normalize_type(t):
    """'xsd:unsignedInt' / 'unsignedint' / 'base64' -> canonical xsd name."""
    t = (t or "").split(":")[-1]
    if t in TYPES:
        return t
    return ALIASES.get(t.lower(), t if t.lower() not in ("", "anysimpletype") else "string")


def _compatible(ptype, sent):
    if not sent or sent == "string" or sent == ptype:
        return True
    if ptype in _INTEGER and sent in _INTEGER:
        return True
    if ptype == "decimal" and sent in _INTEGER:
        return True
    return False


def check(ptype, limit, value, sent_type=None):
    if sent_type is not None and not _compatible(ptype, normalize_type(sent_type)):
        raise BadType("%s sent for a %s parameter" % (sent_type, ptype))
    if ptype == "string":
        if isinstance(limit, int) and len(value) > limit:
            raise BadValue("longer than %d characters" % limit)
        if isinstance(limit, tuple) and limit and isinstance(limit[0], str) and value not in limit:
            raise BadValue("not one of the allowed values")
        return value
    v = value.strip()
    if ptype in _INTEGER:
        try:
            n = small_int(v)
        except ValueError:
            raise BadValue("not an integer in the range of %s" % ptype) from None
        lo, hi = _RANGES[ptype]
        if n < lo or n > hi:
            raise BadValue("out of range for %s" % ptype)
        if isinstance(limit, tuple) and len(limit) == 2 and not isinstance(limit[0], str):
            if (limit[0] is not None and n < limit[0]) or (limit[1] is not None and n > limit[1]):
                raise BadValue(_range_text(*limit))
        return str(n)
    if ptype == "boolean":
        try:
            return xsd_text(xsd_bool(v))
        except ValueError:
            raise BadValue("not a boolean") from None
    if ptype == "dateTime":
        if not _DATETIME.match(v):
            raise BadValue("not an ISO 8601 dateTime")
        return v
    if ptype == "base64Binary":
        if not _BASE64.match(v.replace("\n", "").replace("\r", "")):
            raise BadValue("not base64")
        return v
    if ptype == "hexBinary":
        if not _HEX.match(v):
            raise BadValue("not hexBinary")
        return v
    if ptype == "decimal":
        if not _DECIMAL.match(v):
            raise BadValue("not a decimal")
        return v
    return value


def _range_text(lo, hi):
    """'out of range: at least 1' (never a None in a message)."""
    if hi is None:
        return "out of range: at least %d" % lo
    if lo is None:
        return "out of range: at most %d" % hi
    return "out of range: %d to %d" % (lo, hi)
