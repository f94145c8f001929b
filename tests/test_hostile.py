"""Hostile and broken ACS input: a well-formed answer or a clean failed session.

Never a crash, never a hang, memory bounded by [acs] max_body.
"""

import threading
import time

import pytest

from cwmpschema import validate
from rocket.devacs import envelope

NS = "urn:dslforum-org:cwmp-1-2"
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<soap-env:Envelope '
        'xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:soap-enc="http://schemas.xmlsoap.org/soap/encoding/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:cwmp="%s">'
        '<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">h-1</cwmp:ID></soap-env:Header>'
        '<soap-env:Body>' % NS)
TAIL = "</soap-env:Body></soap-env:Envelope>"
GPV_SN = ('<cwmp:GetParameterValues><ParameterNames soap-enc:arrayType="xsd:string[1]"><string>'
          'Device.DeviceInfo.SerialNumber</string></ParameterNames></cwmp:GetParameterValues>')


def env(inner, head=HEAD):
    return (head + inner + TAIL).encode()


LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join('<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1) if i else "&lol;") * 10)
                    for i in range(10))
          + ']>' + HEAD.split("\n", 1)[1]
          + '<cwmp:GetParameterValues><ParameterNames><string>&lol9;</string></ParameterNames>'
          '</cwmp:GetParameterValues>' + TAIL)


def xxe(path):
    return ('<?xml version="1.0"?>\n<!DOCTYPE e [<!ENTITY xxe SYSTEM "file://%s">]>' % path
            + HEAD.split("\n", 1)[1] + '<cwmp:GetParameterValues><ParameterNames><string>&xxe;'
            '</string></ParameterNames></cwmp:GetParameterValues>' + TAIL)


def run_one(acs, make_agent, raw, **conf):
    acs.queue = [raw, env(GPV_SN)]
    agent = make_agent(acs.url, **conf)
    rc = agent.run()
    return rc, agent


BAD_REQUESTS = {
    "billion-laughs": LAUGHS.encode(),
    "dtd": ('<?xml version="1.0"?>\n<!DOCTYPE soap-env:Envelope SYSTEM "x.dtd">'
            + HEAD.split("\n", 1)[1] + GPV_SN + TAIL).encode(),
    "garbage": bytes(range(256)) * 8,
    "truncated": env(GPV_SN)[:-40],
    "soap-1.2-envelope": env(GPV_SN).replace(b"http://schemas.xmlsoap.org/soap/envelope/",
                                             b"http://www.w3.org/2003/05/soap-envelope"),
    "unknown-rpc-namespace": env(GPV_SN).replace(NS.encode(), b"urn:example:other"),
    "two-rpcs": env(GPV_SN + GPV_SN),
    "empty-body": env(""),
    "no-body": (HEAD.rsplit("<soap-env:Body>", 1)[0] + "</soap-env:Envelope>").encode(),
    "not-utf8": env(GPV_SN).replace(b"SerialNumber", b"Serial\xff\xfeNumber"),
    "html": b"<html><body>Bad gateway</body></html>",
    "bad-hold-requests": env(GPV_SN, HEAD.replace(
        "</soap-env:Header>", '<cwmp:HoldRequests soap-env:mustUnderstand="1">maybe'
        '</cwmp:HoldRequests></soap-env:Header>')),
    "unqualified-rpc": env(GPV_SN.replace("cwmp:", "")),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_malformed_acs_request_gets_9003_and_session_goes_on(acs, make_agent, case):
    rc, agent = run_one(acs, make_agent, BAD_REQUESTS[case])
    assert rc == 0, agent.last_result
    (sent, reply), (sent2, reply2) = acs.sessions[0].answers
    ns, fault = validate(reply, "Fault")
    assert fault.findtext("FaultCode") == "9003"
    assert b"lollol" not in reply
    validate(reply2, "GetParameterValuesResponse")  # the session went on normally


def test_external_entity_is_never_read(acs, make_agent, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    rc, agent = run_one(acs, make_agent, xxe(secret).encode())
    assert rc == 0
    assert all(b"TOP-SECRET-MARKER" not in r.body for r in acs.requests)
    assert validate(acs.sessions[0].answers[0][1], "Fault")[1].findtext("FaultCode") == "9003"


def _with_extra(xml):
    return env(GPV_SN.replace("</cwmp:GetParameterValues>", "<X>%s</X></cwmp:GetParameterValues>"
                              % xml))


# A 4 MB body of "<a/>" is a million elements: ~100 MB as a tree. The parser
# stops at soap.MAX_DEPTH levels and soap.MAX_NODES elements + attributes.
COMPLEX = {
    "deep": _with_extra("<a>" * 100000 + "x" + "</a>" * 100000),
    "deep-just-over": _with_extra("<a>" * 30 + "</a>" * 30),
    "wide": _with_extra("<a/>" * 900000),
    "attributes": _with_extra("<a %s/>" % " ".join('a%d=""' % i for i in range(150000))),
}


@pytest.mark.parametrize("case", sorted(COMPLEX))
def test_too_complex_xml_gets_9003(acs, make_agent, case):
    rc, agent = run_one(acs, make_agent, COMPLEX[case])
    assert rc == 0
    (sent, reply), (sent2, reply2) = acs.sessions[0].answers
    assert validate(reply, "Fault")[1].findtext("FaultCode") == "9003"
    validate(reply2, "GetParameterValuesResponse")


def test_complexity_limits_leave_room_for_real_messages():
    from rocket.cwmp import soap
    from rocket.devacs import build_rpc
    args = ["Device.X.%d.Name=value-%d" % (i, i) for i in range(20000)]
    m = soap.parse(envelope(NS, "big", build_rpc("SetParameterValues", args)))
    assert len(m.body[0]) == 20000
    m = soap.parse(_with_extra("<a>" * 20 + "</a>" * 20))  # 26 levels in all
    assert m.name == "GetParameterValues"


BAD_ARGS = {
    "gpv-no-names": "<cwmp:GetParameterValues></cwmp:GetParameterValues>",
    "gpn-bad-nextlevel": "<cwmp:GetParameterNames><ParameterPath>Device.</ParameterPath>"
                         "<NextLevel>maybe</NextLevel></cwmp:GetParameterNames>",
    "gpn-no-nextlevel": "<cwmp:GetParameterNames><ParameterPath>Device.</ParameterPath>"
                        "</cwmp:GetParameterNames>",
    "spv-no-list": "<cwmp:SetParameterValues><ParameterKey/></cwmp:SetParameterValues>",
    "spv-no-value": "<cwmp:SetParameterValues><ParameterList><ParameterValueStruct><Name>"
                    "Device.ManagementServer.PeriodicInformInterval</Name></ParameterValueStruct>"
                    "</ParameterList><ParameterKey/></cwmp:SetParameterValues>",
    "spv-long-key": "<cwmp:SetParameterValues><ParameterList><ParameterValueStruct><Name>"
                    "Device.ManagementServer.PeriodicInformInterval</Name><Value>60</Value>"
                    "</ParameterValueStruct></ParameterList><ParameterKey>%s</ParameterKey>"
                    "</cwmp:SetParameterValues>" % ("k" * 33),
    "spa-bad-notification": "<cwmp:SetParameterAttributes><ParameterList><SetParameterAttributesStruct>"
                            "<Name>Device.ManagementServer.URL</Name><NotificationChange>1"
                            "</NotificationChange><Notification>loud</Notification><AccessListChange>0"
                            "</AccessListChange></SetParameterAttributesStruct></ParameterList>"
                            "</cwmp:SetParameterAttributes>",
    "addobject-no-name": "<cwmp:AddObject><ParameterKey/></cwmp:AddObject>",
    "deleteobject-no-name": "<cwmp:DeleteObject/>",
}


@pytest.mark.parametrize("case", sorted(BAD_ARGS))
def test_missing_or_malformed_arguments_get_9003(acs, make_agent, case):
    rc, agent = run_one(acs, make_agent, env(BAD_ARGS[case]))
    assert rc == 0
    reply = acs.sessions[0].answers[0][1]
    assert validate(reply, "Fault")[1].findtext("FaultCode") == "9003"
    assert b">h-1</cwmp:ID>" in reply


def test_unknown_rpc_gets_9000(acs, make_agent):
    rc, agent = run_one(acs, make_agent, env("<cwmp:X_EVIL_Explode><A>1</A></cwmp:X_EVIL_Explode>"))
    assert rc == 0
    assert validate(acs.sessions[0].answers[0][1], "Fault")[1].findtext("FaultCode") == "9000"


def test_long_id_is_echoed(acs, make_agent):
    raw = env(GPV_SN, HEAD.replace(">h-1<", ">%s<" % ("i" * 5000)))
    rc, agent = run_one(acs, make_agent, raw)
    assert rc == 0
    assert ("i" * 5000).encode() in acs.sessions[0].answers[0][1]


# ------------------------------------------------------ broken InformResponses
BAD_INFORM_RESPONSES = {
    "garbage": b"\x00\x01garbage",
    "laughs": LAUGHS.replace("GetParameterValues", "InformResponse").encode(),
    "truncated": envelope(NS, "1", "<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes>"
                                   "</cwmp:InformResponse>")[:-30],
    "wrong-rpc": envelope(NS, "1", GPV_SN),
}


@pytest.mark.parametrize("case", sorted(BAD_INFORM_RESPONSES))
def test_broken_inform_response_fails_session_cleanly(acs, make_agent, case):
    acs.inform_response = BAD_INFORM_RESPONSES[case]
    agent = make_agent(acs.url)
    assert agent.run() == 1
    assert agent.events.has("1 BOOT")  # not delivered


# ------------------------------------------------------------ huge / slow bodies
def _huge_hook(total, chunked):
    def hook(a, h, body):
        if b"<cwmp:Inform>" not in body:
            return False
        try:
            h.send_response(200)
            h.send_header("Content-Type", "text/xml")
            if chunked:
                h.send_header("Transfer-Encoding", "chunked")
            else:
                h.send_header("Content-Length", str(total))
            h.end_headers()
            block = b"<a>" * 21845 + b"x"
            sent = 0
            while sent < total:
                data = block if not chunked else b"%x\r\n%s\r\n" % (len(block), block)
                h.wfile.write(data)
                sent += len(block)
        except OSError:
            pass  # the agent hung up, as it should
        h.close_connection = True
        return True
    return hook


@pytest.mark.parametrize("chunked", [False, True])
def test_50mb_answer_is_refused_and_agent_lives_on(acs, make_agent, chunked):
    acs.hook = _huge_hook(50 * 1024 * 1024, chunked)
    agent = make_agent(acs.url, once=False, acs={"periodic_inform_enable": "false"})
    agent.start()
    deadline = time.monotonic() + 30
    while agent.last_result is None:
        assert time.monotonic() < deadline
        agent.loop.run_once(max_wait=0.05)
    ok, reason, _ = agent.last_result
    assert not ok and "larger than" in reason
    assert agent.retry_timer is not None and not agent.in_session  # alive, will retry
    agent.stop()


def test_trickling_acs_cannot_stretch_the_session_timeout(acs, make_agent):
    stop = threading.Event()

    def hook(a, h, body):
        if b"<cwmp:Inform>" not in body:
            return False
        try:
            h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not stop.wait(0.2):
                h.wfile.write(b"a")  # one byte at a time: every read succeeds in time
                h.wfile.flush()
        except OSError:
            pass
        h.close_connection = True
        return True
    acs.hook = hook
    agent = make_agent(acs.url, acs={"session_timeout": "2"})
    t = threading.Timer(15, stop.set)
    t.start()
    try:
        assert agent.run() == 1
        assert not stop.is_set(), "the session outlived its timeout until the ACS stopped"
    finally:
        stop.set()
        t.cancel()
