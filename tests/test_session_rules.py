"""The session machine's rules (rocket.cwmp.session's docstring, rules 1-7)
as one table of scripted ACS dialogues, no sockets. Each row gives what the
ACS answers to each POST and the exact trace the machine produces; the
end-to-end tests (test_session_flow, test_genieacs) check the same rules
against a real ACS, test_session_machine under arbitrary ACS behaviour."""

import xml.etree.ElementTree as ET

import pytest

from rocket.cwmp import soap
from rocket.cwmp.session import (MAX_RETRY_8005, AcsRequest, CpeRequest, Finished, Inform, InformAcked,
                                 RequestAcked, Send, Session)

NS10, NS11, NS12 = soap.CWMP_NS


def env(inner, ns=NS12, mid="a1", hold=None, use=None):
    hdr = '<cwmp:ID soap-env:mustUnderstand="1">%s</cwmp:ID>' % mid
    if hold is not None:
        hdr += '<cwmp:HoldRequests soap-env:mustUnderstand="1">%d</cwmp:HoldRequests>' % hold
    if use is not None:
        hdr += '<cwmp:UseCWMPVersion soap-env:mustUnderstand="1">%s</cwmp:UseCWMPVersion>' % use
    return 200, soap.envelope(ns, None, [inner], hdr)


def ir(ns=NS12, hold=None, use=None):
    return env("<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse>", ns,
               hold=hold, use=use)


def gpv(ns=NS12, mid="g1", hold=None):
    return env("<cwmp:GetParameterValues><ParameterNames><string>Device.</string></ParameterNames>"
               "</cwmp:GetParameterValues>", ns, mid, hold)


def fault(code, ns=NS12):
    return env(soap.fault_body(soap.CwmpFault(code)), ns)


def soap_fault(faultcode):
    return 200, (
        '<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soap-env:Body><soap-env:Fault><faultcode>soap-env:%s</faultcode>'
        '<faultstring>no</faultstring></soap-env:Fault></soap-env:Body></soap-env:Envelope>'
        % faultcode).encode()


GRM_RESPONSE = env("<cwmp:GetRPCMethodsResponse><MethodList/></cwmp:GetRPCMethodsResponse>")
EMPTY = (204, b"")
EMPTY_200 = (200, b"")
DOWN = None  # the transport fails


def run(requests, answers, max_version="1.4"):
    """Drive a session with ``answers`` (one per POST) and return its trace:
    "send NAME ID VERSION" for each POST (the version of the namespace it is
    written in; "send empty" for the empty POST), "acked VERSION",
    "done NAME", "acs NAME" (the driver answers it at once), and last
    "ok", "fail: REASON" or "fail+downgrade: REASON"."""
    inform = Inform(("M", "O", "P", "S"), [("1 BOOT", "")], [], 0, "2026-01-01T00:00:00Z")
    s = Session(inform, max_version, 30, [CpeRequest(n, "", tag=n) for n in requests])
    answers = list(answers)
    trace = []
    for _ in range(200):
        e = s.next_event()
        if isinstance(e, Finished):
            trace.append(("ok" if e.ok else "fail+downgrade: " + e.reason if e.downgrade
                          else "fail: " + e.reason))
            assert s.next_event() is None
            return trace
        if isinstance(e, InformAcked):
            trace.append("acked " + e.version)
        elif isinstance(e, RequestAcked):
            assert e.tag == e.name
            trace.append("done " + e.name)
        elif isinstance(e, AcsRequest):
            m = e.message
            trace.append("acs " + m.name)
            s.respond(soap.envelope(m.ns, m.id, [soap.rpc(m.name + "Response", "")]), "response")
        else:
            assert isinstance(e, Send), e
            if not e.body:
                trace.append("send empty")
            else:
                root = ET.fromstring(e.body)
                cwmp = [el for el in root.iter() if el.tag[1:].split("}")[0] in soap.CWMP_NS]
                ns = cwmp[0].tag[1:].split("}")[0]
                assert all(el.tag.startswith("{%s}" % ns) for el in cwmp)  # one namespace
                ids = [el.text for el in cwmp if el.tag.endswith("}ID")]
                rpc = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
                name = rpc.tag.split("}")[1]
                if name == "Fault":
                    name = "Fault " + rpc.findtext("detail/{%s}Fault/FaultCode" % ns)
                trace.append("send %s %s %s" % (name, ids[0] if ids else None, soap.version_for_ns(ns)))
            if not answers:
                raise AssertionError("the machine POSTed again after the script: %r" % trace)
            a = answers.pop(0)
            if a is DOWN:
                s.fail("connection reset")
            else:
                s.receive(*a)
    raise AssertionError("no end: %r" % trace)


# rule, CPE requests, ACS answers (one per POST), the trace
RULES = [
    # 1. exactly one Inform, first; no CPE request before the InformResponse
    ("1 inform first, then the CPE's requests", ["GetRPCMethods"], [ir(), GRM_RESPONSE, EMPTY],
     ["send Inform cpe-1 1.2", "acked 1.2", "send GetRPCMethods cpe-2 1.2", "done GetRPCMethods",
      "send empty", "ok"]),
    ("1 no request when the Inform fails", ["GetRPCMethods"], [(500, b"")],
     ["send Inform cpe-1 1.2", "fail: HTTP status 500"]),
    ("1 an empty answer to the Inform", [], [EMPTY],
     ["send Inform cpe-1 1.2", "fail: empty answer to Inform"]),
    ("1 another RPC instead of the InformResponse", [], [gpv()],
     ["send Inform cpe-1 1.2", "fail: expected InformResponse, got GetParameterValues"]),
    # 2. a fault to the Inform fails the session; 8006 and SOAP version faults downgrade
    ("2 fault 8002 to the Inform", [], [fault(8002)],
     ["send Inform cpe-1 1.2", "fail: ACS fault 8002 Fault to Inform"]),
    ("2 fault 8006 to the Inform", [], [fault(8006)],
     ["send Inform cpe-1 1.2", "fail+downgrade: ACS fault 8006 Fault to Inform"]),
    ("2 SOAP VersionMismatch", [], [soap_fault("VersionMismatch")],
     ["send Inform cpe-1 1.2", "fail+downgrade: ACS fault soap-env:VersionMismatch no to Inform"]),
    ("2 SOAP MustUnderstand", [], [soap_fault("MustUnderstand")],
     ["send Inform cpe-1 1.2", "fail+downgrade: ACS fault soap-env:MustUnderstand no to Inform"]),
    # 3. HoldRequests=true holds the CPE's requests until a message without it
    ("3 hold until an empty response", ["GetRPCMethods"], [ir(hold=1), EMPTY, GRM_RESPONSE, EMPTY],
     ["send Inform cpe-1 1.2", "acked 1.2", "send empty", "send GetRPCMethods cpe-2 1.2",
      "done GetRPCMethods", "send empty", "ok"]),
    ("3 hold across ACS requests", ["GetRPCMethods"],
     [ir(hold=1), gpv(hold=1), gpv(mid="g2"), EMPTY, GRM_RESPONSE, EMPTY],
     ["send Inform cpe-1 1.2", "acked 1.2", "send empty", "acs GetParameterValues",
      "send GetParameterValuesResponse g1 1.2", "acs GetParameterValues",
      "send GetParameterValuesResponse g2 1.2", "send GetRPCMethods cpe-2 1.2", "done GetRPCMethods",
      "send empty", "ok"]),
    ("3 requests one at a time", ["GetRPCMethods", "GetRPCMethods"],
     [ir(), GRM_RESPONSE, GRM_RESPONSE, EMPTY],
     ["send Inform cpe-1 1.2", "acked 1.2", "send GetRPCMethods cpe-2 1.2", "done GetRPCMethods",
      "send GetRPCMethods cpe-3 1.2", "done GetRPCMethods", "send empty", "ok"]),
    # 4. 8005: sent again with a new ID, at most MAX_RETRY_8005 times; any other fault drops it
    ("4 8005 then success", ["GetRPCMethods"], [ir(), fault(8005), GRM_RESPONSE, EMPTY],
     ["send Inform cpe-1 1.2", "acked 1.2", "send GetRPCMethods cpe-2 1.2",
      "send GetRPCMethods cpe-3 1.2", "done GetRPCMethods", "send empty", "ok"]),
    ("4 8005 until the retries are spent", ["GetRPCMethods"],
     [ir()] + [fault(8005)] * (MAX_RETRY_8005 + 1) + [EMPTY],
     ["send Inform cpe-1 1.2", "acked 1.2"]
     + ["send GetRPCMethods cpe-%d 1.2" % (i + 2) for i in range(MAX_RETRY_8005 + 1)]
     + ["send empty", "ok"]),
    ("4 another fault drops the request, the session goes on", ["GetRPCMethods"],
     [ir(), fault(8002), EMPTY],
     ["send Inform cpe-1 1.2", "acked 1.2", "send GetRPCMethods cpe-2 1.2", "send empty", "ok"]),
    # 5. nothing left: the empty POST; each ACS request is answered in the next POST
    ("5 ACS requests answered in order", [], [ir(), gpv(mid="g1"), gpv(mid="g2"), EMPTY],
     ["send Inform cpe-1 1.2", "acked 1.2", "send empty", "acs GetParameterValues",
      "send GetParameterValuesResponse g1 1.2", "acs GetParameterValues",
      "send GetParameterValuesResponse g2 1.2", "ok"]),
    ("5 an unreadable ACS request gets 9003", [], [ir(), (200, b"<not-xml"), EMPTY],
     ["send Inform cpe-1 1.2", "acked 1.2", "send empty", "send Fault 9003 None 1.2", "ok"]),
    # 6. the ends of a session
    ("6 204 ends it well", [], [ir(), EMPTY], ["send Inform cpe-1 1.2", "acked 1.2", "send empty", "ok"]),
    ("6 200 with no body ends it well", [], [ir(), EMPTY_200],
     ["send Inform cpe-1 1.2", "acked 1.2", "send empty", "ok"]),
    ("6 a transport failure", [], [ir(), DOWN],
     ["send Inform cpe-1 1.2", "acked 1.2", "send empty", "fail: connection reset"]),
    ("6 HTTP error after the Inform", [], [ir(), (404, b"")],
     ["send Inform cpe-1 1.2", "acked 1.2", "send empty", "fail: HTTP status 404"]),
    ("6 an ACS request where our response was due", ["GetRPCMethods"], [ir(), gpv()],
     ["send Inform cpe-1 1.2", "acked 1.2", "send GetRPCMethods cpe-2 1.2",
      "fail: expected GetRPCMethodsResponse, got GetParameterValues"]),
    ("6 an empty answer to our request", ["GetRPCMethods"], [ir(), EMPTY],
     ["send Inform cpe-1 1.2", "acked 1.2", "send GetRPCMethods cpe-2 1.2",
      "fail: empty answer to GetRPCMethods"]),
    ("6 a response nobody asked for", [], [ir(), GRM_RESPONSE],
     ["send Inform cpe-1 1.2", "acked 1.2", "send empty", "fail: unexpected GetRPCMethodsResponse from ACS"]),
    ("6 a fault where a request or the end was due", [], [ir(), fault(8002)],
     ["send Inform cpe-1 1.2", "acked 1.2", "send empty", "fail: unexpected Fault from ACS"]),
    # 7. namespace and version: the ACS's choice holds after the InformResponse
    ("7 InformResponse in cwmp-1-0", ["GetRPCMethods"], [ir(NS10), GRM_RESPONSE, gpv(NS11), EMPTY],
     ["send Inform cpe-1 1.2", "acked 1.0", "send GetRPCMethods cpe-2 1.0", "done GetRPCMethods",
      "send empty", "acs GetParameterValues", "send GetParameterValuesResponse g1 1.1", "ok"]),
    ("7 UseCWMPVersion picks the namespace", ["GetRPCMethods"], [ir(NS12, use="1.1"), GRM_RESPONSE, EMPTY],
     ["send Inform cpe-1 1.2", "acked 1.1", "send GetRPCMethods cpe-2 1.1", "done GetRPCMethods",
      "send empty", "ok"]),
    ("7 a version above ours", [], [ir(NS12, use="1.4")],
     ["send Inform cpe-1 1.1", "fail: ACS chose CWMP 1.4, above our 1.1"]),
]


@pytest.mark.parametrize("rule,requests,answers,expected", RULES, ids=[r[0] for r in RULES])
def test_session_rules(rule, requests, answers, expected):
    max_version = "1.1" if "above ours" in rule else "1.4"
    assert run(requests, answers, max_version) == expected
