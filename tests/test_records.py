"""The record format: Python side, the sh library (dash and busybox ash),
manifests and value type parsing, as properties."""

import os
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import tool_param
from rocket.datamodel import records
from rocket.cwmp import values
from rocket.datamodel.backend import Manifest, ManifestError, generic
from rocket.datamodel.store import HIDDEN

HERE = os.path.dirname(os.path.abspath(__file__))
ROUNDTRIP = os.path.join(HERE, "backends", "roundtrip")
LIB = os.path.join(os.path.dirname(HERE), "rocket", "backends", "lib.sh")

# Text a shell can hold: anything but NUL (and no lone surrogates).
shell_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
any_text = st.text(st.characters(blacklist_categories=("Cs",)))


@given(any_text)
def test_escape_roundtrip(s):
    e = records.escape(s)
    assert not any(c in e for c in "\t\n\r")
    assert not any(ord(c) < 32 or ord(c) == 127 for c in e)
    assert records.unescape(e) == s


@given(st.lists(st.lists(any_text, min_size=1, max_size=4), max_size=8))
def test_encode_decode_roundtrip(recs):
    data = records.encode_all(recs)
    want = [r for r in recs if records.encode(r) != "\n"]  # an all-empty record is an empty line
    assert records.decode(data) == want


@pytest.mark.parametrize("bad", ["a\\", "a\\q", "a\\0", "a\\08", "a\x01b", "x\\\\\\", "a\r"])
def test_decode_rejects_garbage(bad):
    with pytest.raises(records.RecordError):
        records.decode(bad.encode() + b"\n")


def test_decode_replaces_invalid_utf8():
    assert records.decode(b"p\t\xff\xfe\n") == [["p", "\ufffd\ufffd"]]


SHELLS = [tool_param("dash", "dash"), tool_param("busybox", "busybox")]


def _sh_roundtrip(shell, fields):
    argv = ["busybox", "ash", ROUNDTRIP] if shell == "busybox" else [shell, ROUNDTRIP]
    data = records.encode_all([["Device.X.P%d" % i, v] for i, v in enumerate(fields)])
    out = subprocess.run(argv, input=data, capture_output=True, timeout=30, 
                         env={"LC_ALL": "C.UTF-8", "PATH": os.environ["PATH"], "ROCKET_LIB": LIB})
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("shell", SHELLS)
@settings(max_examples=30, deadline=None)
@given(fields=st.lists(shell_text, min_size=1, max_size=12))
def test_sh_library_roundtrip(shell, fields):
    """Python escapes, sh unescapes and escapes again: the same bytes come back."""
    data = records.encode_all([["Device.X.P%d" % i, v] for i, v in enumerate(fields)])
    assert _sh_roundtrip(shell, fields) == data


@pytest.mark.parametrize("shell", SHELLS)
def test_sh_library_known_values(shell):
    fields = ["plain", "tab\there", "nl\nthere", "cr\rthere", "back\\slash", "\\t literal",
              "ctl\x01\x1f\x7f", "$(reboot)", "`id`", "'\"", "trailing\\", "", "%s%b\\0101",
              "ünï ✓", "-n", "-e \\c",
              ("long\t\\ \x01\n\r ü" * 1000) + "\\"]  # the library's sed path for long values
    data = records.encode_all([["Device.X.P%d" % i, v] for i, v in enumerate(fields)])
    assert _sh_roundtrip(shell, fields) == data
    # NUL cannot live in a shell variable: it is dropped, nothing else changes
    out = _sh_roundtrip(shell, ["a\x00b"])
    assert records.decode(out) == [["Device.X.P0", "ab"]]


def test_manifest_grammar():
    m = Manifest.parse("""
# comment
prefix Device.X.
param Device.X.A string rw len=10 inform notify=1
param Device.X.T.{i}.B unsignedInt range=1..65535
param Device.X.C string w
param Device.X.D string enum=One|Two active=forced
table Device.X.T.
""")
    assert m.prefixes == ["Device.X."]
    a = m.spec("Device.X.A")
    assert (a.type, a.limit, a.writable, a.notification) == ("string", 10, True, 1)
    assert m.forced
    b = m.spec("Device.X.T.42.B")
    assert (b.type, b.limit, b.writable) == ("unsignedInt", (1, 65535), False)
    assert m.spec("Device.X.C").flags & HIDDEN and m.spec("Device.X.C").writable
    assert m.spec("Device.X.D").limit == ("One", "Two") and m.spec("Device.X.D").notification == 2
    assert m.tables == {"Device.X.T."}
    assert m.spec("Device.X.Nope") is None


@pytest.mark.parametrize("text", [
    "param Device.X.A string",  # no prefix
    "prefix Device.X\nparam Device.X.A string",
    "prefix Device.X.\nparam Device.X.A frobnicate",
    "prefix Device.X.\nparam Device.X.A string sideways",
    "prefix Device.X.\nparam Device.Y.A string",
    "prefix Device.X.\nparam Device.X.A int range=1",
    "prefix Device.X.\nparam Device.X.A string len=x",
    "prefix Device.X.\nwhatever",
])
def test_manifest_errors(text):
    with pytest.raises(ManifestError):
        Manifest.parse(text)


@given(st.lists(st.one_of(st.integers(0, 999), st.text("abcXYZ_", min_size=1, max_size=5)), min_size=1))
def test_generic_replaces_only_instance_numbers(segs):
    path = "Device." + ".".join(str(s) for s in segs) + ".Leaf"
    g = generic(path)
    want = "Device." + ".".join("{i}" if isinstance(s, int) else s for s in segs) + ".Leaf"
    assert g == want


@given(st.integers(-2 ** 70, 2 ** 70), st.sampled_from(["int", "unsignedInt", "long", "unsignedLong"]))
def test_integer_types(n, t):
    lo, hi = values._RANGES[t]
    text = ("+" if n >= 0 and n % 3 == 0 else "") + str(n)
    if lo <= n <= hi:
        assert values.check(t, None, " %s " % text) == str(n)
    else:
        with pytest.raises(values.BadValue):
            values.check(t, None, text)


@given(st.sampled_from(["true", "True", "1", "false", "FALSE", "0"]))
def test_booleans(v):
    assert values.check("boolean", None, v) == ("true" if v.lower() in ("true", "1") else "false")


@given(st.text(max_size=20))
def test_type_check_never_crashes(s):
    for t in values.TYPES:
        try:
            out = values.check(t, None, s)
        except (values.BadValue, values.BadType):
            continue
        assert isinstance(out, str)
        if t == "boolean":
            assert out in ("true", "false")


@given(st.integers(0, 100), st.integers(0, 100), st.integers(0, 100))
def test_ranges(lo, hi, n):
    if lo <= n <= hi:
        assert values.check("unsignedInt", (lo, hi), str(n)) == str(n)
    else:
        with pytest.raises(values.BadValue):
            values.check("unsignedInt", (lo, hi), str(n))


@pytest.mark.parametrize("argv", [tool_param(["dash", "-n", LIB], "dash"),
                                  tool_param(["busybox", "ash", "-n", LIB], "busybox")])
def test_library_is_posix(argv):
    """The library parses under dash -n and busybox ash -n."""
    assert subprocess.run(argv, capture_output=True).returncode == 0
