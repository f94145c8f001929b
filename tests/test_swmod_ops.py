"""rocket.swmod.ops: ChangeDUState parsing (both Operations forms, limits,
9003 for anything malformed, property-tested), Annex C UUIDs, result XML
against cwmp-1-2.xsd, and the DUStateChangeComplPolicy filter."""

import uuid
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cwmpschema
from rocket.cwmp.soap import CwmpFault
from rocket.swmod import ops as O

NS = 'xmlns:cwmp="urn:dslforum-org:cwmp-1-2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' \
     'xmlns:soap-enc="http://schemas.xmlsoap.org/soap/encoding/"'


def body(inner):
    return ET.fromstring("<cwmp:ChangeDUState %s>%s</cwmp:ChangeDUState>" % (NS, inner))


def test_uuid_is_rfc4122_version5_of_name_and_vendor():
    for name, vendor in (("hello", "ACME"), ("vpn-client", "Test Co <pkg@example.net>"), ("é", "")):
        assert O.du_uuid(name, vendor) == str(uuid.uuid5(uuid.NAMESPACE_DNS, name + vendor))
    assert O.valid_uuid(O.du_uuid("x")) and not O.valid_uuid("x") and not O.valid_uuid(O.du_uuid("x") + "0")


def test_both_operation_forms():
    a = ('<Operations xsi:type="cwmp:InstallOpStruct"><URL>http://h/a.deb</URL><UUID></UUID>'
         '<Username>u</Username><Password> p </Password><ExecutionEnvRef/></Operations>'
         '<Operations xsi:type="cwmp:UninstallOpStruct"><UUID>%s</UUID><Version>1</Version></Operations>'
         '<CommandKey>k</CommandKey>' % O.NIL_UUID)
    b = ('<Operations soap-enc:arrayType="cwmp:OperationStruct[2]"><InstallOpStruct><URL>http://h/a.deb</URL>'
         '<UUID></UUID><Username>u</Username><Password> p </Password><ExecutionEnvRef/></InstallOpStruct>'
         '<UninstallOpStruct><UUID>%s</UUID><Version>1</Version></UninstallOpStruct></Operations>'
         '<CommandKey>k</CommandKey>' % O.NIL_UUID)
    pa, pb = O.parse(body(a)), O.parse(body(b))
    assert pa == pb
    key, ops = pa
    assert key == "k" and [o["op"] for o in ops] == ["Install", "Uninstall"]
    assert ops[0]["password"] == " p " and ops[1]["version"] == "1"


@pytest.mark.parametrize("inner", [
    "<CommandKey>k</CommandKey>",
    '<Operations xsi:type="cwmp:InstallOpStruct"><UUID></UUID></Operations>',
    '<Operations xsi:type="cwmp:UninstallOpStruct"><Version>1</Version></Operations>',
    '<Operations xsi:type="cwmp:RebootOpStruct"><URL>x</URL></Operations>',
    '<Operations xsi:type="cwmp:InstallOpStruct"><URL>%s</URL></Operations>' % ("h" * 1025),
    '<Operations xsi:type="cwmp:InstallOpStruct"><URL>u</URL></Operations><CommandKey>%s</CommandKey>' % ("k" * 33),
    '<Operations xsi:type="cwmp:InstallOpStruct"><URL>u</URL></Operations>' * 17,
])
def test_malformed_requests_are_9003(inner):
    with pytest.raises(CwmpFault) as e:
        O.parse(body(inner))
    assert e.value.code == 9003


names = st.sampled_from(["Operations", "InstallOpStruct", "UpdateOpStruct", "UninstallOpStruct", "URL", "UUID",
                         "Version", "CommandKey", "X"])
texts = st.text(alphabet="ab:/.-09 é", max_size=12)


@st.composite
def trees(draw, depth=0):
    n = draw(names)
    attrs = {}
    if draw(st.booleans()):
        attrs["{http://www.w3.org/2001/XMLSchema-instance}type"] = "cwmp:" + draw(names)
    e = ET.Element(n, attrs)
    if depth < 2:
        for _ in range(draw(st.integers(0, 3))):
            e.append(draw(trees(depth + 1)))
    if not len(e):
        e.text = draw(texts)
    return e


@settings(max_examples=60, deadline=None)
@given(st.lists(trees(), max_size=18))
def test_parse_never_fails_otherwise(children):
    b = ET.Element("ChangeDUState")
    b.extend(children)
    try:
        key, ops = O.parse(b)
    except CwmpFault as e:
        assert e.code == 9003
        return
    assert 1 <= len(ops) <= O.MAX_OPS and len(key) <= 32
    for op in ops:
        assert op["op"] in ("Install", "Update", "Uninstall")
        assert op["op"] != "Install" or op["url"]
        assert op["op"] != "Uninstall" or op["uuid"]


def _envelope(name, inner):
    return ('<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" %s>'
            '<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">1</cwmp:ID></soap-env:Header>'
            '<soap-env:Body><cwmp:%s>%s</cwmp:%s></soap-env:Body></soap-env:Envelope>'
            % (NS, name, inner, name)).encode()


def test_results_validate_against_the_schema():
    ok = {"uuid": O.du_uuid("a"), "ref": "Device.SoftwareModules.DeploymentUnit.1", "version": "1.0",
          "state": "Installed", "resolved": True, "eus": ["Device.SoftwareModules.ExecutionUnit.1"],
          "start": "2026-01-01T00:00:00Z", "complete": "2026-01-01T00:00:01Z", "fault": [0, ""], "op": "Install"}
    bad = {"uuid": "garbage", "version": "x" * 40, "state": "Failed", "fault": [9019, "sig <&>"], "op": "Update"}
    cwmpschema.validate(_envelope("DUStateChangeComplete", O.complete_xml([ok, bad], "k&")), "DUStateChangeComplete")
    cwmpschema.validate(_envelope("AutonomousDUStateChangeComplete", O.autonomous_xml([ok, bad])),
                        "AutonomousDUStateChangeComplete")
    assert "<FaultCode>9001</FaultCode>" in O.complete_xml([bad], "")  # 9019 is not a DU fault code


def test_complpolicy_filter():
    r_ok = {"op": "Install", "fault": [0, ""]}
    r_bad = {"op": "Uninstall", "fault": [9018, ""]}
    pol = {"enable": True, "ops": ["Install", "Update", "Uninstall"], "results": "Both", "faults": []}
    assert O.policy_allows(pol, r_ok) and O.policy_allows(pol, r_bad)
    assert not O.policy_allows(dict(pol, enable=False), r_ok)
    assert not O.policy_allows(dict(pol, ops=["Update"]), r_ok)
    assert not O.policy_allows(dict(pol, results="Failure"), r_ok) and O.policy_allows(dict(pol, results="Failure"), r_bad)
    assert not O.policy_allows(dict(pol, results="Success"), r_bad)
    assert not O.policy_allows(dict(pol, faults=["9001"]), r_bad) and O.policy_allows(dict(pol, faults=["9018"]), r_bad)
