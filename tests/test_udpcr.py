"""UDP connection requests and STUN (TR-069 Annex G) against coturn."""

import os
import re
import socket
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peers import Coturn, run_until
from rocket.connreq import stun
from rocket.connreq import udpcr
from rocket.devacs import send_udp_cr, udp_cr_message

PW = b"VOkJxbRl1RmTxUk/WvJxBt"

# RFC 5769 §2.1 and §2.2 (IPv4): padding bytes there are spaces on purpose.
RFC5769_REQUEST = bytes.fromhex(
    "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e2074657374"
    "20636c69656e74002400046e0001ff80290008932ff9b151263b360006000965"
    "76746a3a6836765920202000080014 9aeaa70cbfd8cb56781ef2b5b2d3f249c1b5"
    "71a280280004e57a3bcf".replace(" ", ""))
RFC5769_RESPONSE = bytes.fromhex(
    "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563"
    "746f7220002000080001a147e112a643000800142b91f599fd9e90c38c7489f9"
    "2af9ba53f06be7d780280004c07d4c96")


def events_of(inform):
    return re.findall(r"<EventCode>([^<]*)</EventCode>", inform or "")


# ------------------------------------------------------------- STUN codec
def test_rfc5769_request_vector_encodes_byte_for_byte():
    m = stun.decode(RFC5769_REQUEST)
    assert m.get(stun.USERNAME) == b"evtj:h6vY"
    assert stun.check_integrity(m, PW)
    assert not stun.check_integrity(m, b"wrong")
    attrs = [(t, v) for t, v in m.attrs if t not in (stun.MESSAGE_INTEGRITY, stun.FINGERPRINT)]
    assert stun.encode(stun.BINDING_REQUEST, m.txid, attrs, key=PW, fingerprint=True,
                       pad=b" ") == RFC5769_REQUEST


def test_rfc5769_response_vector():
    m = stun.decode(RFC5769_RESPONSE)
    assert m.type == stun.BINDING_RESPONSE
    assert m.mapped_address() == ("192.0.2.1", 32853)
    assert stun.check_integrity(m, PW)
    bad = bytearray(RFC5769_RESPONSE)
    bad[-1] ^= 1
    with pytest.raises(stun.StunError):
        stun.decode(bytes(bad))  # FINGERPRINT no longer matches


def test_binding_request_carries_tr111_attributes_and_integrity():
    tx = bytes(range(12))
    m = stun.decode(stun.binding_request(tx, "stun-user", "stun-pw", binding_change=True))
    assert m.get(stun.CONNECTION_REQUEST_BINDING) == b"dslforum.org/TR-111 "
    assert m.get(stun.BINDING_CHANGE) == b""
    assert m.get(stun.USERNAME) == b"stun-user"
    assert stun.check_integrity(m, b"stun-pw")
    plain = stun.decode(stun.binding_request(tx))
    assert plain.get(stun.USERNAME) is None and plain.integrity_at is None
    assert plain.get(stun.BINDING_CHANGE) is None


def test_mapped_address_round_trip_v4_v6():
    tx = b"abcdefghijkl"
    for host in ("203.0.113.7", "2001:db8::1"):
        for xor in (True, False):
            m = stun.decode(stun.binding_response(tx, host, 40000, xor=xor))
            assert m.mapped_address() == (host, 40000)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_stun_decoder_never_crashes(data):
    try:
        m = stun.decode(data)
    except stun.StunError:
        return
    try:
        m.mapped_address()
    except stun.StunError:
        pass
    m.error()
    stun.check_integrity(m, b"k")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=40)), max_size=6),
       st.binary(min_size=12, max_size=12))
def test_stun_encode_decode_round_trip(attrs, tx):
    attrs = [(t, v) for t, v in attrs if t not in (stun.MESSAGE_INTEGRITY, stun.FINGERPRINT)]
    m = stun.decode(stun.encode(stun.BINDING_REQUEST, tx, attrs, key=b"k", fingerprint=True))
    assert m.txid == tx
    assert m.attrs[:len(attrs)] == attrs
    assert stun.check_integrity(m, b"k")


# ------------------------------------------------------ UDP CR validation
def test_checker_rules():
    c = udpcr.UdpRequestChecker(last_ts=0, max_clock_skew=300)
    now = 1700000000

    def msg(**kw):
        kw.setdefault("ts", now)
        return udp_cr_message("127.0.0.1", 7547, kw.pop("un", "cr-user"), kw.pop("pw", "cr-pass"), **kw)

    assert c.check(msg(msg_id=1), now, "cr-user", "cr-pass")[0]
    assert c.check(msg(msg_id=1, ts=now + 1), now, "cr-user", "cr-pass") == (False, "replayed id")
    assert c.check(msg(msg_id=2), now, "cr-user", "cr-pass")[1].startswith("timestamp not newer")
    assert c.check(msg(msg_id=3, ts=now + 1000), now, "cr-user", "cr-pass")[1].endswith("window")
    assert c.check(msg(msg_id=4, ts=now + 2, pw="nope"), now, "cr-user", "cr-pass") == \
        (False, "bad signature")
    assert c.check(msg(msg_id=5, ts=now + 2, un="other"), now, "cr-user", "cr-pass") == \
        (False, "wrong username")
    ok, args = c.check(msg(msg_id=6, ts=now + 2).lower().replace(b"get ", b"GET ").replace(
        b"http/1.1", b"HTTP/1.1"), now, "cr-user", "cr-pass")
    assert not ok  # lower-casing changed un/cn: the signature no longer matches
    good = msg(msg_id=7, ts=now + 3)
    sig = re.search(rb"sig=([0-9A-F]+)", good).group(1)
    assert c.check(good.replace(sig, sig.lower()), now, "cr-user", "cr-pass")[0]  # hex case
    assert c.check(msg(msg_id=8, ts=now + 4), now, "", "")[1] == "no credentials configured"


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400))
def test_udp_request_parser_never_crashes(data):
    args = udpcr.parse_request(data)
    assert args is None or set(args) == {"ts", "id", "un", "cn", "sig"}
    udpcr.UdpRequestChecker().check(data, 0, "u", "p")


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=30), st.text(max_size=30), st.integers(1, 10 ** 11))
def test_udp_request_any_valid_message_is_accepted(un, cn, ts):
    data = udp_cr_message("h", 1, un, "pw", ts=ts, msg_id="7", cnonce=cn or "c")
    ok, _ = udpcr.UdpRequestChecker(max_clock_skew=0).check(data, ts, un, "pw")
    assert ok


# ------------------------------------------------------ against coturn
@pytest.fixture
def coturn(tmp_path):
    c = Coturn(tmp_path)
    yield c
    c.stop()


def _stun_agent(make_agent, acs, server_port, **stun_kw):
    st_cfg = {"enable": "true", "server_address": "127.0.0.1", "server_port": server_port,
              "minimum_keepalive": "1"}
    st_cfg.update(stun_kw)
    agent = make_agent(acs.url, boot=True, once=False, stun=st_cfg,
                       udp_connection_request={"port": "0", "address": "127.0.0.1"})
    return agent


def _service(agent):
    return [s for s in agent.services if isinstance(s, udpcr.UdpConnReq)][0]


def _ms(agent, name):
    return agent.model.value(agent.model.ms(name))


def test_binding_learned_and_udp_connection_requests(acs, make_agent, coturn):
    agent = _stun_agent(make_agent, acs, coturn.port)
    agent.start()
    try:
        svc = _service(agent)
        port = svc.sock.getsockname()[1]
        assert run_until(agent, lambda: _ms(agent, "UDPConnectionRequestAddress"))
        assert _ms(agent, "UDPConnectionRequestAddress") == "127.0.0.1:%d" % port
        assert _ms(agent, "NATDetected") == "false"
        assert "STUN" in _ms(agent, "SupportedConnReqMethods").split(",")
        # the learned address goes to the ACS as a value change
        assert run_until(agent, lambda: any(
            "4 VALUE CHANGE" in events_of(s.inform) and "UDPConnectionRequestAddress" in s.inform
            for s in acs.sessions) and not agent.in_session and not agent.events.pending)
        n = len(acs.sessions)

        # bad signature, wrong username, old ts, replayed id: dropped silently
        now = int(time.time())
        send_udp_cr("127.0.0.1", port, "cr-user", "cr-pass", ts=now, msg_id="first")
        assert run_until(agent, lambda: len(acs.sessions) == n + 1 and not agent.in_session)
        assert events_of(acs.sessions[n].inform) == ["6 CONNECTION REQUEST"]
        assert agent.state.load("udpcr", {})["last_ts"] == now
        send_udp_cr("127.0.0.1", port, "cr-user", "wrong-pass", ts=now + 1, msg_id="a")
        send_udp_cr("127.0.0.1", port, "intruder", "cr-pass", ts=now + 1, msg_id="b")
        send_udp_cr("127.0.0.1", port, "cr-user", "cr-pass", ts=now - 10, msg_id="c")
        send_udp_cr("127.0.0.1", port, "cr-user", "cr-pass", ts=now + 1, msg_id="first")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.sendto(b"GET / HTTP/1.1\r\n\r\n", ("127.0.0.1", port))
        sock.sendto(b"\x00\x01\x00\x00garbage-not-stun", ("127.0.0.1", port))
        # then a valid one: exactly one more session, the bad ones counted
        send_udp_cr("127.0.0.1", port, "cr-user", "cr-pass", ts=now + 2, msg_id="second")
        assert run_until(agent, lambda: len(acs.sessions) == n + 2 and not agent.in_session)
        sock.close()
        assert events_of(acs.sessions[n + 1].inform) == ["6 CONNECTION REQUEST"]
        d = svc.checker.dropped
        assert d["bad signature"] == 1 and d["wrong username"] == 1 and d["malformed"] >= 1
        assert d["timestamp not newer than the last accepted one"] == 1
        assert d["replayed id"] == 1
        assert svc.accepted == 2
        for _ in range(20):
            agent.loop.run_once(max_wait=0.02)
        assert len(acs.sessions) == n + 2
    finally:
        agent.stop()


def test_message_integrity_sent_when_credentials_set(acs, make_agent, coturn):
    """coturn in STUN-only mode answers without checking short-term
    credentials; what we check is that the request carries them."""
    agent = _stun_agent(make_agent, acs, coturn.port, username="stun-user", password="stun-secret")
    sent = []
    agent.start()
    try:
        svc = _service(agent)
        real = svc._sendto
        svc._sendto = lambda pkt: (sent.append(pkt), real(pkt))
        svc._schedule(0)
        assert run_until(agent, lambda: sent and _ms(agent, "UDPConnectionRequestAddress"))
        m = stun.decode(sent[-1])
        assert m.get(stun.USERNAME) == b"stun-user"
        assert stun.check_integrity(m, b"stun-secret")
        assert m.get(stun.CONNECTION_REQUEST_BINDING) == stun.TR111_BINDING_VALUE
    finally:
        agent.stop()


# ------------------------------------------- NAT rebinding (scripted server)
class FakeNatStun:
    """A STUN server on loopback that reports whatever mapping we tell it
    to, as a NAT in front of the agent would after a rebinding."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.mapped = ("198.51.100.1", 40001)
        self.requests = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                data, addr = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            m = stun.decode(data)
            self.requests.append(m)
            self.sock.sendto(stun.binding_response(m.txid, *self.mapped), addr)

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


def test_binding_change_on_first_determination_and_on_each_change():
    """Sans-I/O: BINDING-CHANGE goes with the request after the first mapping
    is learnt and after each change, and stops once a response acknowledged it."""
    from rocket.connreq.udpcr import StunBinding
    b = StunBinding(rng=lambda n: os.urandom(n))

    def exchange(mapped):
        req = stun.decode(b.request())
        assert b.response(stun.binding_response(req.txid, *mapped)) == mapped
        return req.get(stun.BINDING_CHANGE) is not None, b.changed

    a1, a2 = ("198.51.100.7", 4000), ("198.51.100.7", 4001)
    assert exchange(a1) == (False, True)  # first determination: a change
    assert exchange(a1) == (True, False)  # announced, acknowledged
    assert exchange(a1) == (False, False)  # keepalive
    assert exchange(a2) == (False, True)  # the NAT rebound
    assert exchange(a2) == (True, False)
    assert exchange(a2) == (False, False)


def test_nat_binding_change_is_detected_and_reported(acs, make_agent):
    server = FakeNatStun()
    agent = _stun_agent(make_agent, acs, server.port)
    agent.start()
    try:
        assert run_until(agent, lambda: _ms(agent, "UDPConnectionRequestAddress") == "198.51.100.1:40001"
                         and not agent.in_session and not agent.events.pending)
        assert _ms(agent, "NATDetected") == "true"
        n = len(acs.sessions)
        # Annex G: the first determination of the binding is announced at once
        # with BINDING-CHANGE, once; the keepalives that follow do not carry it
        assert run_until(agent, lambda: len(server.requests) >= 3)
        flags = [m.get(stun.BINDING_CHANGE) is not None for m in server.requests]
        assert flags[:3] == [False, True, False], flags
        server.mapped = ("198.51.100.1", 40002)
        assert run_until(agent, lambda: len(acs.sessions) > n and not agent.in_session)
        s = acs.sessions[n]
        assert "4 VALUE CHANGE" in events_of(s.inform)
        assert "198.51.100.1:40002" in s.inform
        assert _ms(agent, "UDPConnectionRequestAddress") == "198.51.100.1:40002"
        # the request that follows the change tells the server: BINDING-CHANGE
        assert run_until(agent, lambda: sum(m.get(stun.BINDING_CHANGE) is not None
                                            for m in server.requests) == 2)
        # and `ctl status` shows it, with the drop counters
        from rocket.owner import ctl
        send_udp_cr("127.0.0.1", _service(agent).sock.getsockname()[1], "cr-user", "bad-pass")
        assert run_until(agent, lambda: _service(agent).checker.dropped["bad signature"] == 1)
        control = [s for s in agent.services if isinstance(s, ctl.ControlServer)][0]
        lines = control.do_status("")
        assert "udp_address: 198.51.100.1:40002 (NAT detected)" in lines
        assert "udp_requests: 0 accepted, 1 dropped (bad signature 1)" in lines
        assert "xmpp: off" in lines
    finally:
        agent.stop()
        server.stop()


def test_udp_only_without_stun_publishes_local_address(acs, make_agent):
    agent = make_agent(acs.url, boot=True, once=False,
                       udp_connection_request={"enable": "true", "port": "0", "address": "127.0.0.1"})
    agent.start()
    try:
        port = _service(agent).sock.getsockname()[1]
        assert _ms(agent, "UDPConnectionRequestAddress") == "127.0.0.1:%d" % port
        assert "STUN" not in _ms(agent, "SupportedConnReqMethods")
        assert run_until(agent, lambda: acs.sessions and not agent.in_session and not agent.events.pending)
        n = len(acs.sessions)
        send_udp_cr("127.0.0.1", port, "cr-user", "cr-pass")
        assert run_until(agent, lambda: len(acs.sessions) == n + 1 and not agent.in_session)
        assert "6 CONNECTION REQUEST" in events_of(acs.sessions[n].inform)
    finally:
        agent.stop()


def test_stun_retransmits_with_backoff_when_server_is_silent(acs, make_agent):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    agent = _stun_agent(make_agent, acs, silent.getsockname()[1])
    agent.start()
    try:
        b = _service(agent).binding
        first = b.txid
        assert run_until(agent, lambda: b.tries >= 3, timeout=10)
        assert b.txid == first  # retransmissions reuse the transaction
        silent.settimeout(2)
        got = [silent.recvfrom(2048)[0] for _ in range(3)]
        assert got[0] == got[1] == got[2]
        assert _ms(agent, "UDPConnectionRequestAddress") == ""
    finally:
        agent.stop()
        silent.close()


def test_acs_turns_stun_off_and_on_again(acs, make_agent, coturn):
    from rocket.devacs import build_rpc
    agent = _stun_agent(make_agent, acs, coturn.port)
    agent.start()
    try:
        svc = _service(agent)
        assert run_until(agent, lambda: _ms(agent, "UDPConnectionRequestAddress")
                         and not agent.in_session and not agent.events.pending)
        port = svc.sock.getsockname()[1]
        n = len(acs.sessions)
        acs.queue = [build_rpc("SetParameterValues", ["Device.ManagementServer.STUNEnable=0:boolean"])]
        send_udp_cr("127.0.0.1", port, "cr-user", "cr-pass")
        assert run_until(agent, lambda: len(acs.sessions) == n + 1 and not agent.in_session)
        assert svc.sock is None  # no STUN and no [udp_connection_request] enable: port closed
        assert _ms(agent, "UDPConnectionRequestAddress") == "" and _ms(agent, "NATDetected") == "false"
        assert "STUN" not in _ms(agent, "SupportedConnReqMethods")
        assert agent.state.load("overrides", {})["STUNEnable"][0] == "false"
        # and back on, this time through a parameter write the agent applies at once
        agent.model.set_internal(agent.model.ms("STUNEnable"), "true")
        svc.reconfigure()
        assert run_until(agent, lambda: _ms(agent, "UDPConnectionRequestAddress"))
        assert "STUN" in _ms(agent, "SupportedConnReqMethods")
    finally:
        agent.stop()


def test_config_keys_documented_in_etc():
    import configparser
    import os
    from rocket.base.config import DEFAULTS
    c = configparser.ConfigParser(interpolation=None)
    c.read(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "etc", "rocket.conf"))
    for sec in ("stun", "udp_connection_request", "xmpp"):
        assert dict(c[sec]) == DEFAULTS[sec]


def test_requests_during_a_session_give_exactly_one_followup(acs, make_agent):
    """The socket is served while a session waits on the ACS (nested
    reader): three valid requests during a slow session -> one more session."""
    agent = make_agent(acs.url, boot=True, once=False,
                       udp_connection_request={"enable": "true", "port": "0", "address": "127.0.0.1"})
    agent.start()
    try:
        svc = _service(agent)
        port = svc.sock.getsockname()[1]
        assert run_until(agent, lambda: acs.sessions and not agent.in_session and not agent.events.pending)
        n = len(acs.sessions)
        acs.delay = 0.3
        now = int(time.time())

        def poke():
            deadline = time.monotonic() + 10
            while len(acs.sessions) <= n and time.monotonic() < deadline:
                time.sleep(0.005)
            for i in range(3):
                send_udp_cr("127.0.0.1", port, "cr-user", "cr-pass", ts=now + 1 + i, msg_id="d%d" % i)
        t = threading.Thread(target=poke, daemon=True)
        send_udp_cr("127.0.0.1", port, "cr-user", "cr-pass", ts=now, msg_id="start")
        t.start()
        assert run_until(agent, lambda: len(acs.sessions) == n + 2 and not agent.in_session, timeout=20)
        t.join(5)
        acs.delay = 0
        assert svc.accepted == 4
        assert events_of(acs.sessions[n + 1].inform) == ["6 CONNECTION REQUEST"]
        for _ in range(20):
            agent.loop.run_once(max_wait=0.02)
        assert len(acs.sessions) == n + 2
    finally:
        agent.stop()


def test_sighup_reload_turns_the_udp_port_off(acs, make_agent):
    agent = make_agent(acs.url, boot=True, once=False,
                       udp_connection_request={"enable": "true", "port": "0", "address": "127.0.0.1"})
    agent.start()
    try:
        svc = _service(agent)
        sock = svc.sock
        agent.reload()  # unchanged: the same socket stays
        assert svc.sock is sock
        agent.cfg.parser.set("udp_connection_request", "enable", "false")
        with open(agent.cfg.path, "w") as f:
            agent.cfg.parser.write(f)
        agent.reload()
        assert svc.sock is None and _ms(agent, "UDPConnectionRequestAddress") == ""
    finally:
        agent.stop()


@pytest.mark.parametrize("lo, hi, period", [(0, -1, 30), (10, -1, 10), (60, 20, 20), (0, 45, 45),
                                            (5, 600, 5)])
def test_keepalive_period_stays_between_min_and_max(acs, make_agent, lo, hi, period):
    agent = make_agent(acs.url, once=False, stun={"minimum_keepalive": lo, "maximum_keepalive": hi})
    svc = udpcr.UdpConnReq(None)  # STUN is off: the service is not loaded by the agent, made here
    svc.agent = agent
    assert svc.keepalive_period() == period
