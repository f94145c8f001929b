"""rocket.base.ini reads what configparser (interpolation off) reads, the
same way, and refuses what it refuses."""

import configparser
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rocket.base.ini import Ini, IniError


def both(text):
    """(Ini's sections, configparser's sections) as dicts, or "error"."""
    out = []
    for make, error in ((Ini, IniError), (lambda: configparser.ConfigParser(interpolation=None,
                                                                         default_section="\0"),
                                          configparser.Error)):
        p = make()
        try:
            p.read_string(text)
        except error:
            out.append("error")
            continue
        out.append({s: {k: p.get(s, k).strip() for k in p[s]} for s in p.sections()})
    return out


@pytest.mark.parametrize("text, want", [
    ("[acs]\nurl = http://acs:7547/x\n", {"acs": {"url": "http://acs:7547/x"}}),
    ("[a]\nKey: v = w\n", {"a": {"key": "v = w"}}),  # the first delimiter splits, keys lower-case
    ("[a]\nk=v:w\n", {"a": {"k": "v:w"}}),
    ("# c\n; c\n[a]\n  # indented comment\nk =\n", {"a": {"k": ""}}),
    ("[a]\nk = one\n  two\n\tthree\n", {"a": {"k": "one\ntwo\nthree"}}),
    ("[a] trailing\nk = v\n", {"a": {"k": "v"}}),
    ("[a]\n[b]\nk = v\n", {"a": {}, "b": {"k": "v"}}),
    ("k = v\n", "error"),  # before any section
    ("[a]\njust words\n", "error"),
    ("[a]\n[a]\n", "error"),
    ("[a]\nk = 1\nK = 2\n", "error"),
    ("[a]\n = v\n", "error"),
])
def test_table(text, want):
    got, ref = both(text)
    assert got == want
    assert ref == want  # what configparser says too


_line = st.one_of(
    st.sampled_from(["", "# comment", "; comment", "  # indented", "[acs]", "[cpe]", "[x] y",
                     "  continued", "\tmore", "k = v", "K: v", "a = b = c", "u = http://h:1/p",
                     "empty =", "novalue", " = v"]),
    st.builds(lambda k, v: "%s = %s" % (k, v), st.sampled_from(["k", "key", "Key2", "a_b"]),
              st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=12)))


@settings(max_examples=400, deadline=None)
@given(st.lists(_line, max_size=12))
def test_same_as_configparser(lines):
    got, ref = both("\n".join(lines) + "\n")
    assert got == ref


def test_write_reads_back():
    p = Ini()
    p.read_string("[a]\nk = v\nm = one\n  two\n[b]\n")
    p.set("b", "X", "1")
    f = io.StringIO()
    p.write(f)
    again = Ini()
    again.read_string(f.getvalue())
    assert {s: dict(again[s]) for s in again.sections()} == {"a": {"k": "v", "m": "one\ntwo"},
                                                              "b": {"x": "1"}}
