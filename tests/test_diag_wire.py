"""The diagnostics' parameter tables against the Broadband Forum XML, and
property tests of the wire parsers (rocket.diag.wire): any input gives a
value or ValueError, never another exception, and what is built parses
back."""

import os
import socket
import struct
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SHARED
from rocket.diag import spec, wire

BBF = os.path.join(SHARED, "bbf")
_TYPES = {"string": "string", "unsignedInt": "unsignedInt", "unsignedLong": "unsignedLong", "boolean": "boolean",
          "dateTime": "dateTime", "list": "string"}


def _bbf(name):
    path = os.path.join(BBF, name)
    if not os.path.exists(path):
        pytest.skip("%s not there" % path)
    root = ET.parse(path).getroot()
    dts, params = {}, {}
    for el in root.iter():
        tag = el.tag.split("}")[-1]
        if tag == "dataType" and el.get("name"):
            dts[el.get("name")] = el
    for obj in root.iter():
        if obj.tag.split("}")[-1] != "object" or not (obj.get("name") or obj.get("base")):
            continue
        oname = obj.get("name") or obj.get("base")
        for p in obj:
            if p.tag.split("}")[-1] != "parameter":
                continue
            syn = [c for c in p if c.tag.split("}")[-1] == "syntax"]
            ptype = None
            for c in (syn[0] if syn else []):
                t = c.tag.split("}")[-1]
                if t == "dataType":
                    d = dts.get(c.get("ref") or c.get("base"))
                    base = [x.tag.split("}")[-1] for x in d] if d is not None else []
                    ptype = next((_TYPES[b] for b in base if b in _TYPES), None)
                    if ptype is None and d is not None and d.get("base"):
                        ptype = "string"
                    ptype = ptype or ("unsignedLong" if "64" in (c.get("ref") or "") else "string")
                elif t in _TYPES:
                    ptype = _TYPES[t]
                    if any(x.tag.split("}")[-1] == "list" for x in syn[0]):
                        ptype = "string"
            params[oname + p.get("name")] = (ptype, p.get("access") == "readWrite")
    return params


@pytest.mark.parametrize("root,table,xml", [("Device.", spec.DEVICE, "tr-181-2-17-0-cwmp-full.xml"),
                                            ("InternetGatewayDevice.", spec.IGD, "tr-098-1-8-0-full.xml")])
def test_every_parameter_exists_with_its_type_and_access(root, table, xml):
    known = _bbf(xml)
    wrong = []
    for kind, (obj, text, tables) in table.items():
        for name, ptype, w, _, _ in spec.rows(text % {"conns": 4, "results": 100}):
            got = known.get(root + obj + name)
            if got != (ptype, w):
                wrong.append((root + obj + name, (ptype, w), got))
        for t, cols in tables.items():
            for name, ptype, w, _, _ in spec.rows(cols):
                key = root + obj + t + ".{i}." + name
                if known.get(key) != (ptype, w):
                    wrong.append((key, (ptype, w), known.get(key)))
    assert wrong == []


def test_writable_states_are_the_standards():
    for kind, (_, text, _) in spec.DEVICE.items():
        for name, _, _, limit, _ in spec.rows(text % {"conns": 4, "results": 100}):
            if name == "DiagnosticsState":
                assert limit == ("Requested", "Canceled")


@given(st.binary(max_size=600))
@settings(max_examples=200, deadline=None)
def test_dns_parser_takes_anything(data):
    try:
        m = wire.dns_answer(data)
    except ValueError:
        return
    assert isinstance(m["answers"], list)


_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)


@given(st.lists(_label, min_size=1, max_size=5), st.lists(st.ip_addresses(), max_size=6),
       st.integers(0, 65535), st.booleans())
@settings(max_examples=200, deadline=None)
def test_dns_answers_we_build_parse_back(labels, addrs, qid, aa):
    name = ".".join(labels)
    q = wire.dns_query(qid, name, wire.A)
    head = struct.pack("!HHHHHH", qid, 0x8180 | (0x0400 if aa else 0), 1, len(addrs), 0, 0)
    body = q[12:]
    for a in addrs:
        fam = socket.AF_INET if a.version == 4 else socket.AF_INET6
        rd = socket.inet_pton(fam, str(a))
        body += b"\xc0\x0c" + struct.pack("!HHIH", wire.A if a.version == 4 else wire.AAAA, 1, 60, len(rd)) + rd
    m = wire.dns_answer(head + body)
    assert m["id"] == qid and m["aa"] == aa and m["rcode"] == 0
    assert [(n, v) for n, _, v in m["answers"]] == [(name, socket.inet_ntop(
        socket.AF_INET if a.version == 4 else socket.AF_INET6, socket.inet_pton(
            socket.AF_INET if a.version == 4 else socket.AF_INET6, str(a)))) for a in addrs]


def test_dns_pointer_loops_are_refused():
    msg = struct.pack("!HHHHHH", 1, 0x8180, 0, 1, 0, 0) + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 1, 4) + b"abcd"
    with pytest.raises(ValueError):
        wire.dns_answer(msg)


@given(st.binary(max_size=200), st.booleans(), st.booleans())
@settings(max_examples=200, deadline=None)
def test_icmp_and_recverr_parsers_take_anything(data, v6, raw):
    for f in (lambda: wire.echo_reply(data, v6, raw), lambda: wire.recverr(data)):
        try:
            f()
        except ValueError:
            pass


@given(st.integers(0, 65535), st.integers(0, 65535), st.binary(max_size=64))
def test_echo_request_checksum_and_reply_roundtrip(ident, seq, payload):
    pkt = wire.echo_request(False, ident, seq, payload)
    assert wire.checksum(pkt) == 0
    reply = b"\0" + pkt[1:]
    assert wire.echo_reply(reply, False, False) == (ident, seq, payload)


@given(st.binary(min_size=20, max_size=100), st.integers(0, 2 ** 40))
def test_echo_plus_keeps_the_generator_fields(data, n):
    out = wire.echo_plus(data, n, n, n, n)
    assert out[:4] == data[:4] and out[20:] == data[20:] and len(out) == len(data)


def _enums(name):
    path = os.path.join(BBF, name)
    if not os.path.exists(path):
        pytest.skip("%s not there" % path)
    out = {}
    for obj in ET.parse(path).getroot().iter():
        if obj.tag.split("}")[-1] == "object" and obj.get("name"):
            for p in obj:
                if p.tag.split("}")[-1] == "parameter" and p.get("name") == "DiagnosticsState":
                    out[obj.get("name")] = [e.get("value") for e in p.iter() if e.tag.split("}")[-1] == "enumeration"]
    return out


@pytest.mark.parametrize("igd,root,table,xml", [(False, "Device.", spec.DEVICE, "tr-181-2-17-0-cwmp-full.xml"),
                                                (True, "InternetGatewayDevice.", spec.IGD, "tr-098-1-8-0-full.xml")])
def test_every_outcome_is_in_the_standards_enumeration(igd, root, table, xml):
    enums = _enums(xml)
    base = ["Complete", "Error_CannotResolveHostName", "Error_NoRouteToHost", "Error_Internal", "Error_Other"]
    xfer = base + ["Error_InitConnectionFailed", "Error_NoResponse", "Error_TransferFailed", "Error_IncorrectSize",
                   "Error_Timeout"]
    produced = {"IPPing": base, "UDPEchoDiagnostics": base, "ServerSelectionDiagnostics": base,
                "TraceRoute": base + ["Error_MaxHopCountExceeded"], "DownloadDiagnostics": xfer,
                "UploadDiagnostics": xfer,
                "NSLookupDiagnostics": ["Complete", "Error_DNSServerNotResolved", "Error_Internal", "Error_Other"]}
    wrong = []
    for kind, (obj, _, _) in table.items():
        for state in produced.get(kind, ()):
            got = spec.IGD_COMPLETE.get(kind, state) if igd and state == "Complete" else state
            got = spec.final_state(igd, kind, got)
            if got not in enums[root + obj]:
                wrong.append((kind, state, got))
    assert wrong == []
