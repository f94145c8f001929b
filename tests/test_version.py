"""CWMP version negotiation: namespaces, prefixes, UseCWMPVersion, 8006, headers."""

import re

import pytest

from cwmpschema import validate

NS0, NS1, NS2 = ("urn:dslforum-org:cwmp-1-0", "urn:dslforum-org:cwmp-1-1",
                 "urn:dslforum-org:cwmp-1-2")
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def env(ns, inner, header="", prefix="cw", env_prefix="S", msg_id="id-1"):
    """An envelope with unusual prefixes (the ACS chooses them freely)."""
    inner = inner.replace("<cwmp:", "<%s:" % prefix).replace("</cwmp:", "</%s:" % prefix)
    return ('<?xml version="1.0"?><{e}:Envelope xmlns:{e}="{soap}" xmlns:{p}="{ns}" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><{e}:Header>'
            '<{p}:ID {e}:mustUnderstand="1">{mid}</{p}:ID>{hdr}</{e}:Header><{e}:Body>{inner}'
            '</{e}:Body></{e}:Envelope>').format(e=env_prefix, soap=SOAP, p=prefix, ns=ns, mid=msg_id,
                                                  hdr=header.replace("{e}", env_prefix),
                                                  inner=inner).encode()


INFORM_RESPONSE = "<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse>"
GPV = ('<cwmp:GetParameterValues><ParameterNames xmlns:enc="http://schemas.xmlsoap.org/soap/encoding/" '
       'enc:arrayType="xsd:string[1]"><string>Device.DeviceInfo.SerialNumber</string>'
       '</ParameterNames></cwmp:GetParameterValues>')


def inform_ns(acs, i=0):
    return re.search(r'xmlns:cwmp="([^"]+)"', acs.sessions[i].inform).group(1)


@pytest.mark.parametrize("ns", [NS0, NS1, NS2])
def test_answers_use_the_namespace_of_the_request(acs, make_agent, ns):
    acs.inform_response = env(ns, INFORM_RESPONSE, prefix="zz", env_prefix="soapenv")
    acs.queue = [env(ns, GPV, prefix="p%d" % i, msg_id="m%d" % i) for i in range(2)]
    assert make_agent(acs.url).run() == 0
    for i, (sent, reply) in enumerate(acs.sessions[0].answers):
        got_ns, rpc = validate(reply, "GetParameterValuesResponse")
        assert got_ns == ns
        assert ("<cwmp:ID soap-env:mustUnderstand=\"1\">m%d</cwmp:ID>" % i).encode() in reply


def test_request_in_other_namespace_than_session_answered_in_its_own(acs, make_agent):
    acs.inform_response = env(NS2, INFORM_RESPONSE)
    acs.queue = [env(NS0, GPV)]
    assert make_agent(acs.url).run() == 0
    assert validate(acs.sessions[0].answers[0][1])[0] == NS0


@pytest.mark.parametrize("use,ns", [("1.0", NS0), ("1.1", NS1), ("1.2", NS2), ("1.4", NS2)])
def test_use_cwmp_version_sets_the_namespace_of_cpe_requests(acs, make_agent, use, ns):
    acs.use_version = use
    assert make_agent(acs.url, acs={"get_rpc_methods": "true"}).run() == 0
    assert inform_ns(acs) == NS2
    req = acs.sessions[0].cpe_requests[0]
    assert 'xmlns:cwmp="%s"' % ns in req and "<cwmp:GetRPCMethods>" in req


def test_inform_response_in_older_namespace_is_followed(acs, make_agent):
    acs.inform_response = env(NS0, INFORM_RESPONSE)
    assert make_agent(acs.url, acs={"get_rpc_methods": "true"}).run() == 0
    assert 'xmlns:cwmp="%s"' % NS0 in acs.sessions[0].cpe_requests[0]


def test_use_version_above_ours_fails(acs, make_agent):
    acs.use_version = "1.4"
    assert make_agent(acs.url, cpe={"cwmp_version": "1.2"}).run() == 1


def test_fault_8006_downgrades_next_session(acs, make_agent):
    acs.inform_fault = 8006
    a = make_agent(acs.url)
    assert a.run() == 1
    assert "8006" in a.last_result[1]
    assert inform_ns(acs, 0) == NS2 and "SupportedCWMPVersions" in acs.sessions[0].inform
    assert make_agent(acs.url, boot=False).run() == 1
    assert inform_ns(acs, 1) == NS1 and "SupportedCWMPVersions" not in acs.sessions[1].inform
    assert make_agent(acs.url, boot=False).run() == 1
    assert inform_ns(acs, 2) == NS0
    # nothing below 1.0: stays there; once accepted it is remembered for this URL
    assert make_agent(acs.url, boot=False).run() == 1
    assert inform_ns(acs, 3) == NS0
    acs.inform_fault = None
    assert make_agent(acs.url, boot=False).run() == 0
    assert make_agent(acs.url, boot=False).run() == 0
    assert inform_ns(acs, 5) == NS0


def test_soap_version_mismatch_downgrades(acs, make_agent):
    acs.inform_response = env(NS2, "<{e}:Fault><faultcode>{e}:VersionMismatch</faultcode>"
                                   "<faultstring>Version Mismatch</faultstring></{e}:Fault>"
                              .replace("{e}", "S"))
    assert make_agent(acs.url).run() == 1
    acs.inform_response = None
    assert make_agent(acs.url, boot=False).run() == 0
    assert inform_ns(acs, 1) == NS1


def test_other_fault_to_inform_fails_without_downgrade(acs, make_agent):
    acs.inform_fault = 8002
    assert make_agent(acs.url).run() == 1
    acs.inform_fault = None
    assert make_agent(acs.url, boot=False).run() == 0
    assert inform_ns(acs, 1) == NS2


UNKNOWN_MU = '<x:Billing xmlns:x="urn:example:billing" {e}:mustUnderstand="1">yes</x:Billing>'
UNKNOWN = '<x:Billing xmlns:x="urn:example:billing">yes</x:Billing>'


def test_unknown_header_without_must_understand_is_ignored(acs, make_agent):
    acs.inform_response = env(NS2, INFORM_RESPONSE, UNKNOWN)
    acs.queue = [env(NS2, GPV, UNKNOWN + '<x:Y xmlns:x="urn:y" {e}:mustUnderstand="0">1</x:Y>')]
    assert make_agent(acs.url).run() == 0
    validate(acs.sessions[0].answers[0][1], "GetParameterValuesResponse")


def test_unknown_must_understand_header_on_request_gets_fault(acs, make_agent):
    acs.queue = [env(NS2, GPV, UNKNOWN_MU, msg_id="mu-1")]
    assert make_agent(acs.url).run() == 0
    reply = acs.sessions[0].answers[0][1]
    ns, fault = validate(reply, "Fault")
    assert fault.findtext("FaultCode") == "9003"
    assert b">mu-1</cwmp:ID>" in reply
    assert b"<faultcode>Client</faultcode>" in reply


def test_unknown_must_understand_header_on_inform_response_fails(acs, make_agent):
    acs.inform_response = env(NS2, INFORM_RESPONSE, UNKNOWN_MU)
    assert make_agent(acs.url).run() == 1


def test_hold_requests_in_any_prefix(acs, make_agent):
    acs.inform_response = env(NS1, INFORM_RESPONSE,
                              '<cw:HoldRequests {e}:mustUnderstand="1"> true </cw:HoldRequests>')
    assert make_agent(acs.url, acs={"get_rpc_methods": "true"}).run() == 0
    bodies = [r.body for r in acs.requests]
    assert bodies[1] == b"" and b"GetRPCMethods" in bodies[2]


def test_configured_maximum_wins_over_remembered_version(acs, make_agent):
    acs.inform_fault = 8006
    assert make_agent(acs.url).run() == 1  # remembers 1.1 for this ACS
    acs.inform_fault = None
    assert make_agent(acs.url, boot=False, cpe={"cwmp_version": "1.0"}).run() == 0
    assert inform_ns(acs, 1) == NS0  # the operator's 1.0 limit, not the remembered 1.1
    assert make_agent(acs.url, boot=False).run() == 0
    assert inform_ns(acs, 2) == NS1


def test_url_change_retries_the_higher_version(acs, make_agent):
    """The lower version is remembered for one ACS URL only until a new
    BOOTSTRAP: a URL change (even back to an old one) offers ours again."""
    acs.inform_fault = 8006
    assert make_agent(acs.url).run() == 1  # 1.4 refused: 1.1 remembered
    acs.inform_fault = None
    assert make_agent(acs.url, boot=False).run() == 0
    assert inform_ns(acs, 1) == NS1  # the BOOTSTRAP retry keeps the lower version
    other = acs.url.rstrip("/") + "/other"
    assert make_agent(other, boot=False).run() == 0
    assert "0 BOOTSTRAP" in acs.sessions[2].inform and inform_ns(acs, 2) == NS2
    assert make_agent(acs.url, boot=False).run() == 0  # back to the first URL: tried high again
    assert "0 BOOTSTRAP" in acs.sessions[3].inform and inform_ns(acs, 3) == NS2


def test_url_set_by_the_acs_retries_the_higher_version(acs, make_agent):
    acs.inform_fault = 8006
    assert make_agent(acs.url).run() == 1
    acs.inform_fault = None
    a = make_agent(acs.url, boot=False, once=False)
    assert a.run_session() is True and inform_ns(acs, 1) == NS1
    a.model.set_values([(a.model.ms("URL"), acs.url.rstrip("/") + "/new", None)], "k")
    assert a.versions == {}
    assert a.run_session() is True
    assert "0 BOOTSTRAP" in acs.sessions[2].inform and inform_ns(acs, 2) == NS2
