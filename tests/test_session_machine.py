"""The sans-I/O session machine under arbitrary ACS behaviour (hypothesis).

Whatever the ACS answers, the machine never raises, always finishes, sends
well-formed envelopes that answer in the request's namespace with its ID, and
never sends a CPE request before the InformResponse or while HoldRequests holds.
"""

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from rocket.cwmp import soap
from rocket.cwmp.session import (AcsRequest, CpeRequest, Finished, Inform, InformAcked, RequestAcked,
                            Send, Session)

NSS = soap.CWMP_NS


def env(ns, inner, mid="a1", hold=None, extra=""):
    hdr = '<cwmp:ID soap-env:mustUnderstand="1">%s</cwmp:ID>' % mid
    if hold is not None:
        hdr += '<cwmp:HoldRequests soap-env:mustUnderstand="1">%d</cwmp:HoldRequests>' % hold
    return soap.envelope(ns, None, [inner], hdr + extra)


def acs_answer():
    ns = st.sampled_from(NSS)
    hold = st.sampled_from([None, 0, 1])
    mid = st.text(st.characters(min_codepoint=48, max_codepoint=122), min_size=1, max_size=8)
    return st.one_of(
        st.tuples(st.just(200), st.builds(
            lambda n, h, i: env(n, "<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes>"
                                   "</cwmp:InformResponse>", i, h), ns, hold, mid)),
        st.tuples(st.just(200), st.builds(
            lambda n, h, i: env(n, "<cwmp:GetParameterValues><ParameterNames><string>Device."
                                   "</string></ParameterNames></cwmp:GetParameterValues>", i, h),
            ns, hold, mid)),
        st.tuples(st.just(200), st.builds(
            lambda n, i: env(n, "<cwmp:GetRPCMethodsResponse><MethodList/></cwmp:GetRPCMethodsResponse>",
                             i), ns, mid)),
        st.tuples(st.just(200), st.builds(
            lambda n, c: env(n, soap.fault_body(soap.CwmpFault(c))), ns,
            st.sampled_from([8005, 8006, 8002, 8000]))),
        st.tuples(st.sampled_from([204, 200]), st.just(b"")),
        st.tuples(st.sampled_from([200]), st.binary(max_size=40)),
        st.tuples(st.sampled_from([500, 404]), st.just(b"")),
        st.just(None),  # transport failure
    )


@settings(max_examples=400, deadline=None)
@given(st.lists(acs_answer(), max_size=30), st.sampled_from(["1.0", "1.1", "1.2", "1.4"]),
       st.integers(0, 3))
def test_session_always_finishes_cleanly(script, version, nreq):
    inform = Inform(("M", "O", "P", "S"), [("1 BOOT", "")], [("Device.X", "string", "v")], 0,
                    "2026-01-01T00:00:00Z")
    reqs = [CpeRequest("GetRPCMethods", "", tag=i) for i in range(nreq)]
    s = Session(inform, version, 30, reqs)
    script = list(script)
    acked_inform = False
    hold = False
    steps = 0
    while True:
        steps += 1
        assert steps < 1000
        e = s.next_event()
        assert e is not None
        if isinstance(e, Finished):
            break
        if isinstance(e, InformAcked):
            acked_inform = True
            continue
        if isinstance(e, RequestAcked):
            continue
        if isinstance(e, AcsRequest):
            m = e.message
            s.respond(env(m.ns or s.ns, "<cwmp:%sResponse/>" % m.name, m.id or ""), "resp")
            continue
        assert isinstance(e, Send)
        if e.body:
            root = ET.fromstring(e.body)  # well-formed
            rpc = root[1][0]
            name = rpc.tag.rsplit("}", 1)[-1]
            if name == "GetRPCMethods":
                assert acked_inform and not hold
            elif name == "Inform":
                assert not acked_inform
        if not script:
            s.fail("ACS gone")
            continue
        ans = script.pop(0)
        if ans is None:
            s.fail("transport")
            continue
        status, body = ans
        try:
            hold = soap.parse(body).hold_requests if status == 200 else False
        except soap.SoapError:
            hold = False
        s.receive(status, body)
