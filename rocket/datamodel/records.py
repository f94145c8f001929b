"""Escaped line records: the text format spoken with backend scripts.

A record is one line of fields separated by TAB and ended by LF. Inside a
field, the characters that would break the framing, and every other control
character, are written as backslash escapes::

    record = field *( TAB field ) LF
    field  = *( char / escape )
    char   = any character except TAB, LF, CR, "\\", NUL..US (0x00-0x1F), DEL (0x7F)
    escape = "\\\\"              a backslash
           / "\\t"               TAB (0x09)
           / "\\n"               LF  (0x0A)
           / "\\r"               CR  (0x0D)
           / "\\0" 3*3OCTDIGIT   any other control character, by its octal
                                 code: "\\0001" is 0x01, "\\0177" is DEL

The octal form is the one ``printf '%b'`` understands, so a POSIX shell
unescapes a field with a single builtin (see ``rocket/backends/lib.sh``).
Text is UTF-8; bytes that are not valid UTF-8 become U+FFFD when read.
"""

import re

_ESC_NEEDED = re.compile("[\x00-\x1f\x7f\\\\]")
_UNESC = re.compile(r"\\(0[0-7]{3}|.)", re.S)
_SIMPLE = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_BACK = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


class RecordError(ValueError):
    """A line that does not follow the record grammar."""


def _esc_char(m):
    c = m.group(0)
    return _SIMPLE.get(c) or "\\0%03o" % ord(c)


def escape(s):
    """One field, escaped (never contains TAB, LF, CR or a bare control)."""
    if not _ESC_NEEDED.search(s):
        return s
    return _ESC_NEEDED.sub(_esc_char, s)


def _unesc_char(m):
    e = m.group(1)
    if len(e) == 4:
        return chr(int(e[1:], 8))
    c = _BACK.get(e)
    if c is None:
        raise RecordError("unknown escape \\%s" % e[:1])
    return c


def unescape(s):
    """The original text of one escaped field; RecordError if malformed."""
    if "\\" not in s:
        if _ESC_NEEDED.search(s):
            raise RecordError("raw control character in a field")
        return s
    if s.endswith("\\") and not s.endswith("\\\\"):
        # a lone trailing backslash (an even run ending the field is fine)
        run = len(s) - len(s.rstrip("\\"))
        if run % 2:
            raise RecordError("field ends with a lone backslash")
    out = _UNESC.sub(_unesc_char, s)
    # a raw control character outside an escape is not allowed either
    if _ESC_NEEDED.search(_UNESC.sub("", s)):
        raise RecordError("raw control character in a field")
    return out


def encode(fields):
    """One record line (with its LF) from a sequence of field strings."""
    return "\t".join(escape(f) for f in fields) + "\n"


def encode_all(records):
    """Bytes of many records, for a child's stdin."""
    return "".join(encode(r) for r in records).encode("utf-8", "surrogatepass")


def decode(data):
    """Bytes (a child's stdout) -> list of field lists. RecordError on garbage.

    The last line may lack its LF. Empty lines are skipped.
    """
    text = data.decode("utf-8", "replace")
    out = []
    for line in text.split("\n"):
        if not line:
            continue
        if line.endswith("\r"):
            raise RecordError("CR at the end of a line")
        out.append([unescape(f) for f in line.split("\t")])
    return out
