"""Lightweight notifications (TR-069 Annex M) over real sockets: attributes
3 to 6, datagrams received by a UDP listener: an HTTP-style POST whose
Signature header is the HMAC-SHA1 of its body keyed with the ACS password,
the body validated against cwmp-UDPLightweightNotification-1-0.xsd."""

import hashlib
import hmac
import socket
import time
import xml.etree.ElementTree as ET

import pytest

from cwmpschema import schema
from rocket.devacs import build_rpc
from rocket.owner import ctl
from peers import utc_in
from transfer_util import drive, ended, events_of

MS = "Device.ManagementServer."
PC = "Device.ManagementServer.STUNUsername"  # any writable string that may notify
LWN = "{urn:broadband-forum-org:cwmp:lwnotif-1-0}"


@pytest.fixture
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    yield s
    s.close()


def received(agent, udp, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        agent.loop.run_once(max_wait=0.05)
        try:
            return udp.recv(65536)
        except BlockingIOError:
            pass
    return None


def unpack(data, password="acs-pw"):
    """(request line, {header: value}, body) of one datagram, its framing
    and signature checked, its body valid against the XSD."""
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep
    line, *fields = head.decode().split("\r\n")
    headers = dict(f.split(": ", 1) for f in fields)
    assert line == "POST / HTTP/1.1"
    assert headers["Content-Type"] == 'text/xml; charset="utf-8"'
    assert int(headers["Content-Length"]) == len(body)
    assert headers["Signature"] == hmac.new(password.encode(), body, hashlib.sha1).hexdigest().upper()
    schema("urn:broadband-forum-org:cwmp:lwnotif-1-0", "cwmp-UDPLightweightNotification-1-0.xsd").validate(body)
    return line, headers, body


def setup(make_agent, acs, udp, notification, interval=0, used="UDP", phase=None):
    acs.auth = ("digest", "cpe", "acs-pw")
    acs.queue = [build_rpc("SetParameterValues", [
        MS + "LightweightNotificationProtocolsUsed=%s:string" % used,
        MS + "UDPLightweightNotificationHost=127.0.0.1:string",
        MS + "UDPLightweightNotificationPort=%d:unsignedInt" % udp.getsockname()[1],
        MS + "LightweightNotificationTriggerInterval=%d:unsignedInt" % interval]
        + ([MS + "LightweightNotificationTriggerTime=%s:dateTime" % phase] if phase else [])),
        build_rpc("SetParameterAttributes", ["%s=%d" % (PC, notification)])]
    a = make_agent(acs.url, once=False, acs={"periodic_inform_enable": "false", "username": "cpe",
                                             "password": "acs-pw"}, notify={"settle": "0"})
    drive(a, lambda: len(ended(acs)) == 1 and not a.in_session)
    for _, reply in acs.sessions[0].answers:
        assert b"Fault" not in reply, reply.decode()[-600:]
    return a


def local_set(a, value):
    c = [s for s in a.services if isinstance(s, ctl.ControlServer)][0]
    assert c.handle(("set %s=%s" % (PC, value)).encode()).startswith("ok")


def test_active_lightweight_is_sent_at_once_and_valid(acs, make_agent, udp):
    a = setup(make_agent, acs, udp, 5)
    local_set(a, "PC-<5>")
    data = received(a, udp)
    assert data is not None
    _, headers, body = unpack(data)
    assert headers["Host"] == "127.0.0.1:%d" % udp.getsockname()[1]
    root = ET.fromstring(body)
    assert root.findtext(LWN + "OUI") == "00AA11" and root.findtext(LWN + "SerialNumber") == "TB-0001"
    assert root.findtext(LWN + "UN") == "cpe" and len(root.findtext(LWN + "CN")) >= 16
    (p,) = root.findall(LWN + "Param")
    assert p.findtext(LWN + "Name") == PC and p.findtext(LWN + "Value") == "PC-<5>"
    assert abs(int(root.findtext(LWN + "TS")) - time.time()) < 60
    # lightweight only: no CWMP value change, no session
    t = time.monotonic() + 0.5
    while time.monotonic() < t:
        a.loop.run_once(max_wait=0.05)
    assert len(acs.sessions) == 1 and not a.events.has("4 VALUE CHANGE")
    local_set(a, "PC-<5>")  # unchanged: nothing
    assert received(a, udp, 0.5) is None
    local_set(a, "PC-again")  # a fresh CN each time: the ACS can refuse a replayed datagram
    assert ET.fromstring(unpack(received(a, udp))[2]).findtext(LWN + "CN") != root.findtext(LWN + "CN")


def test_a_forged_signature_does_not_match():
    from rocket.ops.lwnotif import datagram
    body = b"<x/>"
    good = datagram("acs.example", 7547, body, "acs-pw")
    assert b"Host: acs.example:7547\r\n" in good
    with pytest.raises(AssertionError):
        unpack(datagram("acs.example", 7547, body, "other"))
    assert b"Host: [2001:db8::1]:9\r\n" in datagram("2001:db8::1", 9, body, "")


def test_many_changes_split_into_datagrams_that_fit():
    from rocket.ops.lwnotif import MAX_DATAGRAM, datagram, message, split
    params = [("Device.X_Test.P%d" % i, "v" * (i * 7)) for i in range(60)]

    def make(part):
        return datagram("127.0.0.1", 7547, message(1700000000, "cpe", "ab" * 8, ("00AA11", "TB", "SN"),
                                                   part).encode(), "acs-pw")
    grams = split(make, params)
    assert len(grams) > 3 and sum(n for _, n in grams) == 60
    got = []
    for data, n in grams:
        assert len(data) <= MAX_DATAGRAM or n == 1
        ps = ET.fromstring(unpack(data)[2]).findall(LWN + "Param")
        assert len(ps) == n
        got += [(p.findtext(LWN + "Name"), p.findtext(LWN + "Value")) for p in ps]
    assert got == params  # every change once, in order
    big = [("Device.X_Test.Big", "b" * 3000)]
    assert [n for _, n in split(make, big)] == [1]  # alone, even when larger


def test_six_is_active_lightweight_and_passive_cwmp(acs, make_agent, udp):
    a = setup(make_agent, acs, udp, 6)
    local_set(a, "PC-6")
    assert b"PC-6" in unpack(received(a, udp))[2]
    assert a.events.has("4 VALUE CHANGE") and PC in a.events.changed
    a.request_session()
    drive(a, lambda: len(ended(acs)) == 2 and not a.in_session, start=False)
    assert ("4 VALUE CHANGE", "") in events_of(acs.sessions[1].inform) and "PC-6" in acs.sessions[1].inform


def test_passive_lightweight_waits_for_the_trigger_interval(acs, make_agent, udp):
    a = setup(make_agent, acs, udp, 3, interval=1)
    local_set(a, "PC-3")
    t0 = time.monotonic()
    data = received(a, udp, 5)
    assert data is not None and b"PC-3" in unpack(data)[2] and time.monotonic() - t0 > 0.5
    assert not a.events.has("4 VALUE CHANGE")


def test_passive_lightweight_keeps_the_trigger_time_phase(acs, make_agent, udp):
    # an hour's interval, phased 2 s from now: sent on that grid point, not an hour later
    a = setup(make_agent, acs, udp, 4, interval=3600, phase=utc_in(2))
    local_set(a, "PC-4")
    t0 = time.monotonic()
    data = received(a, udp, 6)
    assert data is not None and b"PC-4" in unpack(data)[2] and time.monotonic() - t0 > 0.3
    assert a.events.has("4 VALUE CHANGE")  # 4: passive CWMP as well


def test_trigger_parameters_are_tr181_only(acs, make_agent):
    a = make_agent(acs.url, cpe={"data_model": "InternetGatewayDevice"})
    ms = "InternetGatewayDevice.ManagementServer."
    assert a.model.store.get(ms + "UDPLightweightNotificationPort") is not None
    assert a.model.store.get(ms + "LightweightNotificationTriggerInterval") is None
    assert a.model.store.get(ms + "LightweightNotificationTriggerTime") is None


def test_nothing_is_sent_unless_udp_is_used(acs, make_agent, udp):
    a = setup(make_agent, acs, udp, 5, used="")
    local_set(a, "PC-off")
    assert received(a, udp, 0.7) is None


def test_notification_seven_is_refused(acs, make_agent):
    acs.queue = [build_rpc("SetParameterAttributes", [PC + "=7"])]
    a = make_agent(acs.url)
    assert a.run() == 0
    assert b"<FaultCode>9003</FaultCode>" in acs.sessions[0].answers[0][1]
