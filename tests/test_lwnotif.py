"""Lightweight notifications (TR-069 Annex M) over real sockets: attributes
3 to 6, datagrams received by a UDP listener, validated against
cwmp-UDPLightweightNotification-1-0.xsd."""

import socket
import time
import xml.etree.ElementTree as ET

import pytest

from cwmpschema import schema
from rocket.devacs import build_rpc
from rocket.owner import ctl
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


def setup(make_agent, acs, udp, notification, interval=0, used="UDP"):
    acs.queue = [build_rpc("SetParameterValues", [
        MS + "LightweightNotificationProtocolsUsed=%s:string" % used,
        MS + "UDPLightweightNotificationHost=127.0.0.1:string",
        MS + "UDPLightweightNotificationPort=%d:unsignedInt" % udp.getsockname()[1],
        MS + "LightweightNotificationTriggerInterval=%d:unsignedInt" % interval]),
        build_rpc("SetParameterAttributes", ["%s=%d" % (PC, notification)])]
    a = make_agent(acs.url, once=False, acs={"periodic_inform_enable": "false"}, notify={"settle": "0"})
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
    schema("urn:broadband-forum-org:cwmp:lwnotif-1-0", "cwmp-UDPLightweightNotification-1-0.xsd").validate(data)
    root = ET.fromstring(data)
    assert root.findtext(LWN + "OUI") == "00AA11" and root.findtext(LWN + "SerialNumber") == "TB-0001"
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


def test_six_is_active_lightweight_and_passive_cwmp(acs, make_agent, udp):
    a = setup(make_agent, acs, udp, 6)
    local_set(a, "PC-6")
    assert b"PC-6" in received(a, udp)
    assert a.events.has("4 VALUE CHANGE") and PC in a.events.changed
    a.request_session()
    drive(a, lambda: len(ended(acs)) == 2 and not a.in_session, start=False)
    assert ("4 VALUE CHANGE", "") in events_of(acs.sessions[1].inform) and "PC-6" in acs.sessions[1].inform


def test_passive_lightweight_waits_for_the_trigger_interval(acs, make_agent, udp):
    a = setup(make_agent, acs, udp, 3, interval=1)
    local_set(a, "PC-3")
    t0 = time.monotonic()
    data = received(a, udp, 5)
    assert data is not None and b"PC-3" in data and time.monotonic() - t0 > 0.5
    assert not a.events.has("4 VALUE CHANGE")


def test_nothing_is_sent_unless_udp_is_used(acs, make_agent, udp):
    a = setup(make_agent, acs, udp, 5, used="")
    local_set(a, "PC-off")
    assert received(a, udp, 0.7) is None


def test_notification_seven_is_refused(acs, make_agent):
    acs.queue = [build_rpc("SetParameterAttributes", [PC + "=7"])]
    a = make_agent(acs.url)
    assert a.run() == 0
    assert b"<FaultCode>9003</FaultCode>" in acs.sessions[0].answers[0][1]
