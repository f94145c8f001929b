"""Property tests for the parsers and escapers (hypothesis)."""

import re
import xml.etree.ElementTree as ET

from hypothesis import example, given, settings
from hypothesis import strategies as st

from rocket.net import digest
from rocket.cwmp import soap
from rocket.cwmp import values

XML_CHAR = st.characters(blacklist_categories=("Cs",),
                         blacklist_characters="".join(map(chr, list(range(0, 9)) + [11, 12] +
                                                          list(range(14, 32)) + [0xFFFE, 0xFFFF])))


@given(st.text(XML_CHAR))
@example("a&b<c>d\"e'f]]>g")
@example("\r\n\t")
def test_esc_round_trips_through_xml_parser(s):
    for doc in ("<a>%s</a>" % soap.esc(s), "<a b=\"%s\"/>" % soap.esc(s)):
        e = ET.fromstring(doc.encode("utf-8"))
        got = e.text if e.get("b") is None else e.get("b")
        want = s
        if e.get("b") is not None:  # attribute value normalisation (XML 1.0 §3.3.3)
            want = re.sub("[\t\n]", " ", s)
        assert (got or "") == want


@given(st.text())
def test_esc_output_is_always_well_formed(s):
    out = soap.esc(s)
    e = ET.fromstring(("<a>%s</a>" % out).encode("utf-8"))
    assert e.tag == "a"


@settings(max_examples=500)
@given(st.binary(max_size=2000))
def test_parse_raises_only_soap_error(data):
    try:
        soap.parse(data)
    except soap.SoapError:
        pass


ENVELOPE = soap.envelope("urn:dslforum-org:cwmp-1-2", "x-1", [
    "<cwmp:GetParameterValues><ParameterNames soap-enc:arrayType=\"xsd:string[1]\"><string>"
    "Device.</string></ParameterNames></cwmp:GetParameterValues>"],
    '<cwmp:HoldRequests soap-env:mustUnderstand="1">0</cwmp:HoldRequests>')


@settings(max_examples=500)
@given(st.lists(st.tuples(st.integers(0, len(ENVELOPE)), st.integers(0, 8), st.binary(max_size=8)),
                max_size=4))
def test_parse_of_mutated_envelopes_raises_only_soap_error(edits):
    data = bytearray(ENVELOPE)
    for pos, cut, ins in edits:
        data[pos:pos + cut] = ins
    try:
        m = soap.parse(bytes(data))
    except soap.SoapError:
        return
    assert m.empty or m.name


@given(st.sampled_from(values.TYPES), st.text(max_size=50),
       st.one_of(st.none(), st.sampled_from(values.TYPES + ("xsd:int", "base64", "bogus"))))
def test_values_check_only_raises_bad_type_or_value(ptype, value, sent):
    try:
        out = values.check(ptype, None, value, sent)
    except (values.BadType, values.BadValue):
        return
    assert isinstance(out, str)
    assert values.check(ptype, None, out) == out  # canonical form is stable


@given(st.integers(-2 ** 70, 2 ** 70), st.sampled_from(["int", "unsignedInt", "long", "unsignedLong"]))
def test_values_integer_ranges(n, ptype):
    lo, hi = {"int": (-2 ** 31, 2 ** 31 - 1), "unsignedInt": (0, 2 ** 32 - 1),
              "long": (-2 ** 63, 2 ** 63 - 1), "unsignedLong": (0, 2 ** 64 - 1)}[ptype]
    if lo <= n <= hi:
        assert values.check(ptype, None, " %d " % n) == str(n)
    else:
        try:
            values.check(ptype, None, str(n))
        except values.BadValue:
            return
        raise AssertionError("out of range accepted")


def test_values_examples():
    assert values.check("boolean", None, "1") == "true"
    assert values.check("boolean", None, "FALSE") == "false"
    assert values.check("dateTime", None, "0001-01-01T00:00:00Z") == "0001-01-01T00:00:00Z"
    for ptype, bad in (("boolean", "yes"), ("int", "1.5"), ("unsignedInt", "-1"),
                       ("dateTime", "2026-13-01T00:00:00Z"), ("hexBinary", "abc"),
                       ("base64Binary", "a"), ("decimal", "1e5")):
        try:
            values.check(ptype, None, bad)
        except values.BadValue:
            continue
        raise AssertionError("%s %r accepted" % (ptype, bad))
    try:
        values.check("unsignedInt", None, "1", "xsd:boolean")
    except values.BadType:
        pass
    else:
        raise AssertionError("boolean accepted for unsignedInt")


TOKEN = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"),
                min_size=1, max_size=12)
VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)


def _quote(v):
    return '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"')


@given(st.dictionaries(TOKEN, VALUE, max_size=8), st.sampled_from([",", ", ", " ,  "]))
def test_digest_parse_params_round_trip(d, sep):
    d = {k.lower(): v for k, v in d.items()}
    header = sep.join("%s=%s" % (k, _quote(v)) for k, v in d.items())
    assert digest.parse_params(header) == d


@given(st.dictionaries(TOKEN, st.text(st.sampled_from("abc0123456789-/+=."), min_size=1, max_size=10),
                       max_size=6))
def test_digest_parse_params_unquoted_tokens(d):
    d = {k.lower(): v for k, v in d.items()}
    assert digest.parse_params(", ".join("%s=%s" % kv for kv in d.items())) == d


@given(st.text(max_size=200))
def test_digest_parse_params_never_raises(s):
    assert isinstance(digest.parse_params(s), dict)
    digest.parse_challenge(s)


def test_digest_response_rfc7616_vectors():
    # RFC 7616 §3.9.1 (SHA-256 and MD5, qop=auth)
    args = ("Mufasa", "http-auth@example.org", "Circle of Life", "GET", "/dir/index.html",
            "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "auth")
    assert digest.digest_response("MD5", *args) == "8ca523f5e9506fed4657c9700eebdbec"
    assert digest.digest_response("SHA-256", *args) == (
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")
