"""Connection-request kinds that are off stay unimported (rocket.connreq.standby)
until they are switched on: by the ACS (STUNEnable) or by SIGHUP ([xmpp] enable,
[udp_connection_request] enable); HTTP's are in tests/test_connreq.py. And the
idle agent, with the default configuration or with the audit, the control socket
and HTTP connection requests switched off too, does not import what is off
(checked on the zipapp, under ``python3 -I -S``, so that it cannot regress)."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT, write_conf
from peers import run_until
from rocket.connreq import standby, udpcr, xmpp
from rocket.devacs import build_rpc

# Features off by default, and standard modules only they (or tools) need.
NOT_IMPORTED_WHEN_IDLE = [
    "rocket.connreq.udpcr", "rocket.connreq.stun", "rocket.connreq.xmpp",  # UDP/STUN, XMPP: off
    "rocket.swmod.service", "rocket.swmod.ops",  # [software] enable = false
    "rocket.diag.service", "rocket.diag.run", "rocket.diag.echo", "rocket.diag.trace",  # no test asked for
    "rocket.diag.http", "rocket.diag.dns", "rocket.diag.wire",
    "rocket.owner.policy",  # no [policy] file
    "rocket.ops.transfer_rpcs", "rocket.ops.transfer_runner",  # no transfer asked for, none pending
    "rocket.owner.ctlclient",  # the client of the control socket: `rocket.pyz ctl`
    "rocket.datamodel.deviceimages",  # no [cpe] device_images
    "rocket.devacs",  # a development tool, not shipped
    "argparse", "hashlib", "subprocess", "xml.dom",
    "zlib",  # __main__.py is stored in the zipapp, not deflated
    "heapq", "signal",  # the loop uses their C modules, _heapq and _signal
]

# Switchable features that are on by default: switched off, not imported.
OFF = {"audit": {"enable": "false"}, "control": {"enable": "false"},
       "connection_request": {"enable": "false"}}
NOT_IMPORTED_WHEN_OFF = ["rocket.owner.audit", "rocket.owner.ctl", "rocket.connreq.httpcr",
                         "rocket.connreq.gate", "rocket.net.digestserver", "rocket.net.httpparse"]


def _ms(agent, name):
    return agent.model.value(agent.model.ms(name))


def _kinds(agent):
    return [type(s).__name__ for s in agent.services
            if isinstance(s, (standby.Standby, udpcr.UdpConnReq, xmpp.XmppService))]


def test_off_kinds_are_stand_ins_with_their_parameters_off(acs, make_agent):
    agent = make_agent(acs.url, once=False)
    assert _kinds(agent) == ["UdpStandby", "XmppStandby"]
    agent.start()
    try:
        assert _ms(agent, "NATDetected") == "false" and _ms(agent, "UDPConnectionRequestAddress") == ""
        assert _ms(agent, "SupportedConnReqMethods") == "HTTP"
        assert agent.model.value("Device.XMPP.Connection.1.Status") == "Disabled"
        assert agent.model.value("Device.XMPP.Connection.1.Enable") == "false"
        assert _ms(agent, "ConnReqXMPPConnection") == ""
        from rocket.owner import ctl
        control = [s for s in agent.services if isinstance(s, ctl.ControlServer)][0]
        lines = control.do_status("")
        assert "udp_connection_request: off" in lines and "xmpp: off" in lines
    finally:
        agent.stop()


def test_acs_switches_stun_on_after_the_session(acs, make_agent):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a STUN server that never answers
    silent.bind(("127.0.0.1", 0))
    silent.settimeout(10)
    agent = make_agent(acs.url, boot=True, once=False,
                       stun={"server_address": "127.0.0.1", "server_port": silent.getsockname()[1]},
                       udp_connection_request={"port": "0", "address": "127.0.0.1"})
    acs.queue = [build_rpc("SetParameterValues", ["Device.ManagementServer.STUNEnable=1:boolean"])]
    agent.start()
    try:
        assert _kinds(agent) == ["UdpStandby", "XmppStandby"]
        assert run_until(agent, lambda: acs.sessions and acs.sessions[0].ended and not agent.in_session)
        assert _kinds(agent) == ["UdpConnReq", "XmppStandby"]  # loaded at the end of the session
        svc = [s for s in agent.services if isinstance(s, udpcr.UdpConnReq)][0]
        assert svc.sock is not None and svc.binding is not None
        assert "STUN" in _ms(agent, "SupportedConnReqMethods").split(",")
        data, _ = silent.recvfrom(2048)  # its Binding Request reached the server
        assert data[:2] == b"\x00\x01"
    finally:
        agent.stop()
        silent.close()


def test_sighup_switches_udp_and_xmpp_on(acs, make_agent, tmp_path):
    agent = make_agent(acs.url, boot=True, once=False)
    agent.start()
    try:
        assert run_until(agent, lambda: acs.sessions and acs.sessions[0].ended and not agent.in_session)
        with socket.socket() as s:  # a port where no XMPP server listens
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        write_conf(tmp_path, acs.url, udp_connection_request={"enable": "true", "port": "0",
                                                              "address": "127.0.0.1"},
                   xmpp={"enable": "true", "jid": "cpe@rocket.test", "server": "127.0.0.1", "port": port})
        agent.reload()
        assert _kinds(agent) == ["UdpConnReq", "XmppService"]
        udp = [s for s in agent.services if isinstance(s, udpcr.UdpConnReq)][0]
        assert _ms(agent, "UDPConnectionRequestAddress") == "127.0.0.1:%d" % udp.sock.getsockname()[1]
        x = [s for s in agent.services if isinstance(s, xmpp.XmppService)][0]
        assert run_until(agent, lambda: x.failures >= 1, timeout=10)  # it tries, and fails: no server
        assert agent.model.value("Device.XMPP.Connection.1.Enable") == "true"
        assert "XMPP" in _ms(agent, "SupportedConnReqMethods")
    finally:
        agent.stop()


@pytest.mark.parametrize("sections", [{}, OFF], ids=["default", "switched-off"])
def test_idle_agent_does_not_import_what_is_off(acs, pyz, tmp_path, sections):
    conf = write_conf(tmp_path, acs.url, **sections)
    out = str(tmp_path / "modules.txt")
    log = open(str(tmp_path / "log"), "wb")
    p = subprocess.Popen([sys.executable, "-I", "-S", os.path.join(ROOT, "tests", "modtrace.py"), out, pyz,
                          "-c", conf, "--boot"], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        assert acs.wait_sessions(1)
        deadline = time.monotonic() + 30
        while b"session: end ok" not in open(str(tmp_path / "log"), "rb").read():
            assert time.monotonic() < deadline and p.poll() is None, open(str(tmp_path / "log")).read()
            time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        assert p.wait(30) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        log.close()
    mods = set(open(out).read().split())
    assert "rocket.agent" in mods and "rocket.diag.standby" in mods
    assert sorted(m for m in NOT_IMPORTED_WHEN_IDLE if m in mods) == []
    if sections:
        assert "rocket.connreq.standby" in mods
        assert sorted(m for m in NOT_IMPORTED_WHEN_OFF if m in mods) == []
    else:
        assert sorted(m for m in NOT_IMPORTED_WHEN_OFF if m not in mods) == []
