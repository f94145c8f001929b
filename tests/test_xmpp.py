"""XMPP connection requests (TR-069 Annex K) against a real prosody."""

import re
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peers import Prosody, XmppTestClient, run_until
from rocket.connreq import xmpp

STREAM_HEAD = (b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
               b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0' from='x'>")


def events_of(inform):
    return re.findall(r"<EventCode>([^<]*)</EventCode>", inform or "")


# ------------------------------------------------------------ the reader
def test_reader_yields_stanzas_across_chunk_boundaries():
    r = xmpp.StanzaReader()
    data = (STREAM_HEAD + b" <iq type='get' id='a'><x xmlns='urn:y'>t&amp;u</x></iq>  <message/>"
            b"</stream:stream>")
    out = []
    for i in range(0, len(data), 7):
        out.extend(r.feed(data[i:i + 7]))
    kinds = [k for k, _ in out]
    assert kinds == ["open", "stanza", "stanza", "close"]
    iq = out[1][1]
    assert iq.tag == "{jabber:client}iq" and iq.get("id") == "a"
    assert iq[0].tag == "{urn:y}x" and iq[0].text == "t&u"


@pytest.mark.parametrize("evil", [
    b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]>",
    b"<!-- a comment -->",
    b"<?php evil ?>",
    b"<iq>&undefined;</iq>",
    b"<iq><unclosed></iq>",
])
def test_reader_rejects_what_xmpp_forbids(evil):
    r = xmpp.StanzaReader()
    with pytest.raises(xmpp.XmppError):
        if evil.startswith(b"<!DOCTYPE"):
            r.feed(b"<?xml version='1.0'?>" + evil + STREAM_HEAD[21:])
        else:
            r.feed(STREAM_HEAD + evil)


def test_reader_bounds_stanza_size_and_depth():
    r = xmpp.StanzaReader(max_stanza=1000)
    r.feed(STREAM_HEAD)
    with pytest.raises(xmpp.XmppError):
        r.feed(b"<message><body>" + b"x" * 2000)
    r = xmpp.StanzaReader()
    r.feed(STREAM_HEAD)
    with pytest.raises(xmpp.XmppError):
        r.feed(b"<a>" * 40)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300), st.integers(1, 50))
def test_reader_fuzz_raises_only_xmpp_error(data, step):
    r = xmpp.StanzaReader(max_stanza=4096)
    try:
        r.feed(STREAM_HEAD)
        for i in range(0, len(data), step):
            r.feed(data[i:i + step])
    except xmpp.XmppError:
        pass


def test_jid_allow_list_rules():
    allowed = ["acs@example.com", "ops@Example.com/console"]
    assert xmpp.jid_allowed("acs@example.com/any", allowed)
    assert xmpp.jid_allowed("ACS@EXAMPLE.COM/x", allowed)
    assert xmpp.jid_allowed("ops@example.com/console", allowed)
    assert not xmpp.jid_allowed("ops@example.com/other", allowed)
    assert not xmpp.jid_allowed("evil@example.com/x", allowed)
    assert not xmpp.jid_allowed("", allowed)
    assert xmpp.jid_allowed("anyone@anywhere/x", [])


def _ready_protocol(check):
    p = xmpp.XmppProtocol("cpe", "example.com", "r", "pw", check)
    p.start()
    p.tls = p.authenticated = True
    p.feed(STREAM_HEAD)
    p.state = "bind"
    ev = p.feed(b"<iq type='result' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                b"<jid>cpe@example.com/r</jid></bind></iq>")
    assert isinstance(ev[0], xmpp.Connected) and ev[0].jid == "cpe@example.com/r"
    p.outbox.clear()
    return p


def test_protocol_answers_unknown_iq_and_ping():
    p = _ready_protocol(lambda *a: None)
    p.feed(b"<iq type='get' id='p1' from='example.com'><ping xmlns='urn:xmpp:ping'/></iq>")
    assert b"type='result' id='p1'" in p.outbox[-1]
    p.feed(b"<iq type='set' id='q1' from='a@b/c'><query xmlns='jabber:iq:version'/></iq>")
    assert b"service-unavailable" in p.outbox[-1] and b"id='q1'" in p.outbox[-1]
    ev = p.feed(b"<iq type='get' id='c1' from='a@b/c'><connectionRequest xmlns='%s'><username>u"
                b"</username></connectionRequest></iq>" % xmpp.NS_CONNREQ.encode())
    assert not ev[0].accepted and b"bad-request" in p.outbox[-1]


def test_protocol_refuses_plain_without_tls():
    p = xmpp.XmppProtocol("cpe", "example.com", "r", "pw", lambda *a: None)
    p.start()
    with pytest.raises(xmpp.XmppError):
        p.feed(STREAM_HEAD + b"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
               b"<mechanism>PLAIN</mechanism></mechanisms></stream:features>")
    assert not any(b"<auth" in o for o in p.outbox)


# --------------------------------------------------------- with prosody
@pytest.fixture
def prosody(tmp_path):
    p = Prosody(tmp_path, users=[("cpe", "cpe-secret"), ("acs", "acs-secret"), ("intruder", "x-secret")])
    yield p
    p.stop()


def _xmpp_agent(make_agent, acs, server, **kw):
    conf = {"enable": "true", "jid": "cpe@%s/rocket" % server.domain, "password": "cpe-secret",
            "server": "127.0.0.1", "port": server.port, "ca_file": server.ca_file,
            "allowed_jids": "acs@%s" % server.domain, "retry_initial_interval": "1",
            "retry_max_interval": "2"}
    conf.update(kw)
    return make_agent(acs.url, boot=True, once=False, xmpp=conf)


def _service(agent):
    return [s for s in agent.services if isinstance(s, xmpp.XmppService)][0]


def _ms(agent, name):
    return agent.model.value(agent.model.ms(name))


def _in_thread(agent, fn):
    """Run the blocking ACS-side ``fn`` while the agent's loop runs."""
    box = {}

    def target():
        try:
            box["result"] = fn()
        except BaseException as e:  # reported in the main thread
            box["error"] = e
    t = threading.Thread(target=target, daemon=True)
    t.start()
    assert run_until(agent, lambda: not t.is_alive(), timeout=20)
    if "error" in box:
        raise box["error"]
    return box["result"]


def test_xmpp_connection_request_end_to_end(acs, make_agent, prosody):
    agent = _xmpp_agent(make_agent, acs, prosody)
    agent.start()
    svc = _service(agent)
    client = intruder = None
    try:
        assert run_until(agent, lambda: svc.state == "up"), prosody.logs()
        assert _ms(agent, "ConnReqJabberID") == "cpe@rocket.test/rocket"
        assert agent.model.value("Device.XMPP.Connection.1.Status") == "Enabled"
        assert agent.model.value("Device.XMPP.Connection.1.TLSEstablished") == "true"
        assert _ms(agent, "ConnReqXMPPConnection") == "Device.XMPP.Connection.1"
        assert "XMPP" in _ms(agent, "SupportedConnReqMethods").split(",")
        # boot session, then the JID goes out as a value change
        assert run_until(agent, lambda: any("ConnReqJabberID" in (s.inform or "") for s in acs.sessions)
                         and not agent.in_session and not agent.events.pending)
        n = len(acs.sessions)
        to = "cpe@rocket.test/rocket"

        client = _in_thread(agent, lambda: XmppTestClient(prosody.port, "acs@rocket.test", "acs-secret",
                                                          prosody.ca_file))
        iq = _in_thread(agent, lambda: client.request(to, "cr-user", "cr-pass", "ok1"))
        assert iq.get("type") == "result"
        assert run_until(agent, lambda: len(acs.sessions) == n + 1 and not agent.in_session)
        assert events_of(acs.sessions[n].inform) == ["6 CONNECTION REQUEST"]

        iq = _in_thread(agent, lambda: client.request(to, "cr-user", "wrong", "bad1"))
        assert iq.get("type") == "error"
        assert iq.find(".//{urn:ietf:params:xml:ns:xmpp-stanzas}not-authorized") is not None
        iq = _in_thread(agent, lambda: client.request(to, "someone", "cr-pass", "bad2"))
        assert iq.find(".//{urn:ietf:params:xml:ns:xmpp-stanzas}not-authorized") is not None

        intruder = _in_thread(agent, lambda: XmppTestClient(prosody.port, "intruder@rocket.test",
                                                            "x-secret", prosody.ca_file))
        iq = _in_thread(agent, lambda: intruder.request(to, "cr-user", "cr-pass", "bad3"))
        assert iq.get("type") == "error"
        assert iq.find(".//{urn:ietf:params:xml:ns:xmpp-stanzas}service-unavailable") is not None
        assert svc.refused == 3 and svc.accepted == 1
        assert svc.status_lines() == ["xmpp: up as cpe@rocket.test/rocket",
                                      "xmpp_requests: 1 accepted, 3 refused"]

        # nothing started by the refused ones; a valid one still works
        iq = _in_thread(agent, lambda: client.request(to, "cr-user", "cr-pass", "ok2"))
        assert iq.get("type") == "result"
        assert run_until(agent, lambda: len(acs.sessions) == n + 2 and not agent.in_session)
        assert events_of(acs.sessions[n + 1].inform) == ["6 CONNECTION REQUEST"]
        for _ in range(20):
            agent.loop.run_once(max_wait=0.02)
        assert len(acs.sessions) == n + 2
    finally:
        for c in (client, intruder):
            if c is not None:
                c.close()
        agent.stop()


def test_xmpp_wrong_ca_never_sends_credentials(acs, make_agent, prosody, tmp_path):
    import trustme
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    agent = _xmpp_agent(make_agent, acs, prosody, ca_file=str(other))
    agent.start()
    svc = _service(agent)
    try:
        assert run_until(agent, lambda: svc.failures >= 1)
        assert svc.state == "down"
        assert agent.model.value("Device.XMPP.Connection.1.Status") == "Error"
        assert svc.proto.tls is False and svc.proto.authenticated is False
        assert "connect" in svc._timers  # back-off reconnect scheduled
    finally:
        agent.stop()


def test_xmpp_reconnects_after_server_restart(acs, make_agent, prosody):
    agent = _xmpp_agent(make_agent, acs, prosody)
    agent.start()
    svc = _service(agent)
    try:
        assert run_until(agent, lambda: svc.state == "up", timeout=30), prosody.logs()
        prosody.stop()
        assert run_until(agent, lambda: svc.state != "up", timeout=30), prosody.logs()
        prosody.start()
        assert run_until(agent, lambda: svc.state == "up", timeout=30), (svc.failures, prosody.logs())
        assert svc.failures == 0
    finally:
        agent.stop()


def test_protocol_error_conditions_for_refusals():
    for reason, cond in (("sender not allowed", b"service-unavailable"), ("wrong credentials",
                                                                          b"not-authorized"),
                         ("rate limited", b"resource-constraint")):
        p = _ready_protocol(lambda *a: reason)
        ev = p.feed(b"<iq type='get' id='c9' from='acs@b/c'><connectionRequest xmlns='%s'><username>u"
                    b"</username><password>p</password></connectionRequest></iq>" % xmpp.NS_CONNREQ.encode())
        assert not ev[0].accepted and ev[0].reason == reason
        out = p.outbox[-1]
        assert cond in out and b"type='error' id='c9' to='acs@b/c'" in out


def test_service_check_allow_list_credentials_and_rate_limit(acs, make_agent):
    agent = make_agent(acs.url, once=False, connection_request={"max_per_minute": "2"},
                       xmpp={"enable": "true", "jid": "cpe@rocket.test",  # not started: no connection
                             "allowed_jids": "acs@example.com, ops@example.com/console"})
    svc = _service(agent)
    svc.agent = agent
    assert svc._check("acs@example.com/r1", "cr-user", "cr-pass") is None
    assert svc._check("ops@example.com/other", "cr-user", "cr-pass") == "sender not allowed"
    assert svc._check("acs@example.com/r1", "cr-user", "cr-passX") == "wrong credentials"
    assert svc._check("acs@example.com/r1", "cr-userX", "cr-pass") == "wrong credentials"
    assert svc._check("ops@example.com/console", "cr-user", "cr-pass") is None
    assert svc._check("acs@example.com/r1", "cr-user", "cr-pass") == "rate limited"


def test_xmpp_refused_connection_backs_off(acs, make_agent, tmp_path):
    from peers import free_port
    conf = {"enable": "true", "jid": "cpe@rocket.test/rocket", "password": "pw", "server": "127.0.0.1",
            "port": free_port(), "retry_initial_interval": "1", "retry_max_interval": "1"}
    agent = make_agent(acs.url, boot=True, once=False, xmpp=conf)
    agent.start()
    svc = _service(agent)
    try:
        assert run_until(agent, lambda: svc.failures >= 2, timeout=10)
        assert svc.state in ("down", "connecting") and svc.proto.authenticated is False
        assert agent.model.value("Device.XMPP.Connection.1.Status") in ("Error", "Connecting")
    finally:
        agent.stop()


def test_sighup_reload_applies_a_changed_xmpp_section(acs, make_agent, prosody, tmp_path):
    agent = _xmpp_agent(make_agent, acs, prosody)
    agent.start()
    svc = _service(agent)
    try:
        assert run_until(agent, lambda: svc.state == "up"), prosody.logs()
        agent.reload()  # same file: the connection stays
        assert svc.state == "up"
        agent.cfg.parser.set("xmpp", "enable", "false")
        with open(agent.cfg.path, "w") as f:
            agent.cfg.parser.write(f)
        agent.reload()
        assert svc.sock is None and svc.state == "down"
        assert agent.model.value("Device.XMPP.Connection.1.Status") == "Disabled"
        assert agent.model.value("Device.XMPP.Connection.1.Enable") == "false"
        assert "XMPP" not in _ms(agent, "SupportedConnReqMethods")
        assert _ms(agent, "ConnReqXMPPConnection") == ""
    finally:
        agent.stop()


_stanzas = st.sampled_from([
    b"<iq type='get' id='1' from='a@b/c'><connectionRequest xmlns='%s'><username>cr-user</username>"
    b"<password>cr-pass</password></connectionRequest></iq>" % xmpp.NS_CONNREQ.encode(),
    b"<iq type='set' id='2'/>", b"<iq type='result' id='bind1'/>", b"<message><body>x</body></message>",
    b"<presence/>", b"<stream:features/>", b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
    b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", b"</stream:stream>", b" ", b"<",
    b"<iq type='get' id='&amp;'><ping xmlns='urn:xmpp:ping'/></iq>", b"\xff\xfe", b"<a b='",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_stanzas, max_size=8), st.binary(max_size=60))
def test_protocol_fuzz_in_ready_state_raises_only_xmpp_error(stanzas, tail):
    p = _ready_protocol(lambda sender, u, pw: None if (u, pw) == ("cr-user", "cr-pass") else "no")
    try:
        for s in stanzas + [tail]:
            for e in p.feed(s):
                assert isinstance(e, (xmpp.ConnectionRequest, xmpp.Closed, xmpp.StartTls, xmpp.Connected))
    except xmpp.XmppError:
        pass
    for out in p.outbox:  # everything we answered is well-formed XML on its own
        import xml.etree.ElementTree as ET
        ET.fromstring(out)
