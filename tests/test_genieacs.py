"""GenieACS 1.2.16's exact envelopes: each one parses and gets a correct answer."""

import re

import pytest

from conftest import need_shared
from cwmpschema import validate
from genieacs_fixtures import extract, load
from rocket.cwmp import soap
from rocket.cwmp.session import CpeRequest

MSGS = load()
NS0 = "urn:dslforum-org:cwmp-1-0"
ACS_REQUESTS = ["GetParameterNames", "GetParameterValues", "SetParameterValues",
                "GetParameterAttributes", "SetParameterAttributes", "AddObject", "DeleteObject",
                "Download", "Reboot", "FactoryReset", "CPE-Fault-reply"]


def msg_id(raw):
    return re.search(rb"<cwmp:ID[^>]*>([^<]*)<", raw).group(1)


def test_fixtures_match_the_reference_document():
    path = need_shared("docs", "genieacs-messages.md")
    with open(path, encoding="utf-8") as f:
        assert extract(f.read()) == MSGS
    assert len(MSGS) == 15


@pytest.mark.parametrize("name", sorted(MSGS))
def test_every_envelope_parses(name):
    m = soap.parse(MSGS[name])
    assert m.ns == NS0 and m.id == msg_id(MSGS[name]).decode()
    expect = {"ACS-Fault": "Fault", "CPE-Fault-reply": "Reboot"}.get(name, name)
    assert m.name == expect
    if name == "ACS-Fault":  # the <soap-env:Body:Fault> quirk
        assert m.is_fault and m.fault_code == 8000 and m.fault_string == "Method not supported"


def answers_by_id(acs):
    return {msg_id(sent): reply for sent, reply in acs.sessions[0].answers}


@pytest.mark.parametrize("root", ["Device", "InternetGatewayDevice"])
def test_acs_requests_are_answered(acs, make_agent, root):
    acs.inform_response = MSGS["InformResponse"]
    acs.queue = [MSGS[n] for n in ACS_REQUESTS] + [MSGS["GetParameterAttributes"]]
    agent = make_agent(acs.url, install=False, cpe={"data_model": root})
    assert agent.run() == 0, agent.last_result
    answers = acs.sessions[0].answers
    assert len(answers) == len(ACS_REQUESTS) + 1
    got = {}
    for sent, reply in answers:
        ns, rpc = validate(reply)
        assert ns == NS0  # GenieACS echoes the Inform's version: answer in its namespace
        assert msg_id(reply) == msg_id(sent)
        got.setdefault(soap.parse(sent).name, []).append(rpc)

    def fault(name):
        (rpc,) = got[name][:1]
        assert rpc.tag == "{%s}Fault" % NS0, name
        return rpc.findtext("FaultCode")

    # the core alone (no transfer / device plug-ins) implements none of these
    assert fault("Download") == fault("FactoryReset") == "9000"
    assert all(r.findtext("FaultCode") == "9000" for r in got["Reboot"])
    if root == "InternetGatewayDevice":
        gpn = got["GetParameterNames"][0]
        assert gpn.tag == "{%s}GetParameterNamesResponse" % NS0
        names = [p.findtext("Name") for p in gpn.find("ParameterList")]
        assert "InternetGatewayDevice.DeviceInfo." in names
        assert "InternetGatewayDevice.ManagementServer." in names
        assert all(n.count(".") == 2 or (n.count(".") == 1 and not n.endswith("."))
                   for n in names), names  # NextLevel=1 written as "1": one level only
        assert fault("GetParameterValues") == "9005"  # no WLAN backend here
        spv = got["SetParameterValues"][0]
        assert spv.findtext("FaultCode") in ("9003", "9005")
        assert fault("AddObject") == "9005" and fault("DeleteObject") == "9005"
        assert fault("GetParameterAttributes") == "9005"  # a Device. path
    else:
        assert fault("GetParameterNames") == "9005"  # an InternetGatewayDevice. path
        first, second = got["GetParameterAttributes"]
        assert got["SetParameterAttributes"][0].tag == "{%s}SetParameterAttributesResponse" % NS0
        (pas,) = list(second.find("ParameterList"))
        assert pas.findtext("Name") == "Device.ManagementServer.PeriodicInformInterval"
        assert pas.findtext("Notification") == "2"
        assert [s.text for s in pas.find("AccessList")] == ["Subscriber"]
        assert list(first.find("ParameterList"))[0].findtext("Notification") == "0"


def _answer_cpe_request(acs, name, raw):
    def hook(a, h, body):
        if ("<cwmp:%s>" % name).encode() in body:
            a._reply(h, 200, raw)
            return True
        return False
    acs.hook = hook


def test_inform_response_sets_version_1_0(acs, make_agent):
    acs.inform_response = MSGS["InformResponse"]
    agent = make_agent(acs.url, acs={"get_rpc_methods": "true"})
    _answer_cpe_request(acs, "GetRPCMethods", MSGS["GetRPCMethodsResponse"])
    assert agent.run() == 0
    gr = [r.body for r in acs.requests if b"<cwmp:GetRPCMethods>" in r.body]
    assert len(gr) == 1 and ('xmlns:cwmp="%s"' % NS0).encode() in gr[0]


def test_body_fault_quirk_answer_to_cpe_request(acs, make_agent):
    agent = make_agent(acs.url, acs={"get_rpc_methods": "true"})
    _answer_cpe_request(acs, "GetRPCMethods", MSGS["ACS-Fault"])
    assert agent.run() == 0  # the request failed (8000), the session did not
    assert sum(b"<cwmp:GetRPCMethods>" in r.body for r in acs.requests) == 1  # not resent
    assert acs.requests[-1].body == b""


def test_transfer_complete_response(acs, make_agent):
    agent = make_agent(acs.url, install=False)
    acked = []
    inner = ("<CommandKey>1a2083c97970000</CommandKey><FaultStruct><FaultCode>0</FaultCode>"
             "<FaultString></FaultString></FaultStruct><StartTime>2026-11-23T11:48:39Z</StartTime>"
             "<CompleteTime>2026-11-23T11:48:40Z</CompleteTime>")
    agent.cpe_requests.append(lambda: [CpeRequest("TransferComplete", inner, tag="dl-1")])
    agent.acked["TransferComplete"] = acked.append
    _answer_cpe_request(acs, "TransferComplete", MSGS["TransferCompleteResponse"])
    assert agent.run() == 0
    assert acked == ["dl-1"]
    (tc,) = [r.body for r in acs.requests if b"<cwmp:TransferComplete>" in r.body]
    validate(tc, "TransferComplete")
