"""Diagnostics as the ACS drives them, on loopback, with the agent in this
process: validation in the SPV (9007), the DiagnosticsState machine
(cancel by writing an input, Canceled, sessions served while a test runs),
results kept across a restart and dropped at a boot, the TR-098 root,
the owner's policy and the audit trail."""

import json
import socket
import threading

import pytest

from diagutil import ScriptedAcs, events, fault_codes, gpv, spv, values_of
from fileserver import FileServer
from peers import run_until

IPD = "Device.IP.Diagnostics."
ECHO = IPD + "UDPEchoDiagnostics."
ECHOCFG = IPD + "UDPEchoConfig."
DL = IPD + "DownloadDiagnostics."
PING = IPD + "IPPing."
U = "unsignedInt"


def _icmp_ok():
    for typ in (socket.SOCK_DGRAM, socket.SOCK_RAW):
        try:
            socket.socket(socket.AF_INET, typ, socket.IPPROTO_ICMP).close()
            return True
        except OSError:
            pass
    return False


needs_icmp = pytest.mark.skipif(not _icmp_ok(), reason="no ICMP socket for this user (root or ping_group_range)")


def _ended(acs, n):
    return sum(1 for s in acs.sessions if s.ended) >= n


def _service(agent):
    from rocket.diag.standby import DiagStandby
    return [s for s in agent.services if isinstance(s, DiagStandby)][0].load()


@pytest.fixture
def agent_with(make_agent, tmp_path):
    made = []

    def make(script, boot=True, **sections):
        acs = ScriptedAcs(script).start()
        a = make_agent(acs.url, boot=boot, once=False, **sections)
        a.start()
        made.append((a, acs))
        return a, acs

    yield make
    for a, acs in made:
        a.stop()
        acs.stop()


def test_bad_inputs_get_9007_and_nothing_starts(agent_with):
    bad = [(ECHO + "Host", "no such host!"), (DL + "DownloadURL", "ftp://10.0.0.1/f"),
           (DL + "NumberOfConnections", "5", U), (PING + "DataBlockSize", "0", U),
           (PING + "DiagnosticsState", "Complete"), (ECHO + "Interface", "Device.IP.Interface.77"),
           (ECHOCFG + "SourceIPAddress", "10.0.0.300"),
           (IPD + "ServerSelectionDiagnostics.HostList", ",".join("10.0.0.%d" % i for i in range(11)))]
    a, acs = agent_with([[spv(p, (ECHO + "DiagnosticsState", "Requested")) for p in bad] + [gpv(ECHO + "DiagnosticsState")]])
    assert run_until(a, lambda: _ended(acs, 1))
    for i, p in enumerate(bad):
        body = acs.sessions[0].answers[i][1]
        assert fault_codes(body)[:2] == [9003, 9007], (p, body[-400:])
        assert p[0].encode() in body
    assert values_of(acs.sessions[0], len(bad))[ECHO + "DiagnosticsState"] == "None"
    assert _service(a).queue == [] and _service(a).staged == []


def test_writing_an_input_stops_a_running_test_and_canceled_too(agent_with):
    """A UDP echo towards a closed port runs until its timeouts; a session
    during the test is served, and its write stops the test (None, no event)."""
    slow = spv((ECHO + "Host", "127.0.0.1"), (ECHO + "Port", "9", U), (ECHO + "NumberOfRepetitions", "20", U),
               (ECHO + "Timeout", "1000", U), (ECHO + "DiagnosticsState", "Requested"))
    a, acs = agent_with([[slow]])
    svc = _service(a)
    assert run_until(a, lambda: _ended(acs, 1) and svc.running is not None)
    acs.push([spv((ECHO + "Port", "10", U)), gpv(ECHO + "DiagnosticsState"), slow])
    a.request_session()
    assert run_until(a, lambda: _ended(acs, 2))
    assert values_of(acs.sessions[1], 1)[ECHO + "DiagnosticsState"] == "None"
    # its third RPC requested the test again: it runs after this session; then Canceled
    assert run_until(a, lambda: svc.running is not None)
    test = svc.running[1]
    acs.push([spv((ECHO + "DiagnosticsState", "Canceled")), gpv(ECHO + "DiagnosticsState")])
    a.request_session()
    assert run_until(a, lambda: _ended(acs, 3) and not a.in_session)
    assert values_of(acs.sessions[2], 1)[ECHO + "DiagnosticsState"] == "None"
    assert svc.running is None
    # stopped for good: no timer of the test left to fire, nothing queued, nothing to report
    a.loop.run_once(max_wait=0)
    assert test.finished and not test._timers
    assert svc.running is None and not svc.queue and not svc.staged
    assert not a.events.has("8 DIAGNOSTICS COMPLETE") and a.session_timer is None
    assert not any("8 DIAGNOSTICS COMPLETE" in events(x) for x in acs.sessions)
    assert len(acs.sessions) == 3


def test_udp_echo_results_survive_a_restart_but_not_a_boot(make_agent, tmp_path):
    port = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    port.bind(("127.0.0.1", 0))
    p = port.getsockname()[1]
    port.close()
    acs = ScriptedAcs([[spv((ECHOCFG + "Enable", "true", "boolean"), (ECHOCFG + "UDPPort", str(p), U)),
                        spv((ECHO + "Host", "127.0.0.1"), (ECHO + "Port", str(p), U),
                            (ECHO + "NumberOfRepetitions", "3", U), (ECHO + "InterTransmissionTime", "1", U),
                            (ECHO + "DiagnosticsState", "Requested"))],
                       [gpv(ECHO), gpv(ECHOCFG)]]).start()
    try:
        a = make_agent(acs.url, boot=True, once=False)
        a.start()
        assert run_until(a, lambda: _ended(acs, 2))
        assert events(acs.sessions[1]) == ["8 DIAGNOSTICS COMPLETE"]
        r = values_of(acs.sessions[1], 0)
        assert r[ECHO + "DiagnosticsState"] == "Complete"
        assert (r[ECHO + "SuccessCount"], r[ECHO + "FailureCount"]) == ("3", "0")
        assert values_of(acs.sessions[1], 1)[ECHOCFG + "PacketsResponded"] == "3"
        a.stop()
        audit = [json.loads(x) for x in open(str(tmp_path / "audit" / "audit.log"))]
        rec = [x for x in audit if x["kind"] == "diagnostics"]
        assert rec and rec[0]["test"] == "UDPEchoDiagnostics" and rec[0]["target"] == "127.0.0.1" \
            and rec[0]["state"] == "Complete"
        for boot, state, count in ((False, "Complete", "3"), (True, "None", "3")):
            b = make_agent(acs.url, boot=boot, once=True)
            assert b.model.value(ECHO + "DiagnosticsState") == state
            assert b.model.value(ECHO + "Host") == "127.0.0.1"  # inputs stay
            if not boot:
                assert b.model.value(ECHO + "SuccessCount") == count
            b.stop()
    finally:
        acs.stop()


def test_a_test_interrupted_by_a_restart_runs_again(make_agent):
    acs = ScriptedAcs([[spv((ECHO + "Host", "127.0.0.1"), (ECHO + "Port", "9", U),
                            (ECHO + "NumberOfRepetitions", "3", U), (ECHO + "Timeout", "300", U),
                            (ECHO + "DiagnosticsState", "Requested"))]]).start()
    try:
        a = make_agent(acs.url, boot=True, once=False)
        a.start()
        assert run_until(a, lambda: _ended(acs, 1) and _service(a).running is not None)
        a.stop()
        n = len(acs.sessions)
        acs.push([gpv(ECHO)])
        b = make_agent(acs.url, boot=False, once=False)
        assert b.model.value(ECHO + "DiagnosticsState") == "Requested"
        b.start()
        assert run_until(b, lambda: _ended(acs, n + 1), timeout=10), [events(x) for x in acs.sessions]
        assert events(acs.sessions[n]) == ["8 DIAGNOSTICS COMPLETE"]
        r = values_of(acs.sessions[n], 0)
        assert (r[ECHO + "DiagnosticsState"], r[ECHO + "FailureCount"]) == ("Complete", "3")
        b.stop()
    finally:
        acs.stop()


def test_policy_forbids_or_limits_targets(agent_with, tmp_path):
    pol = tmp_path / "policy.conf"
    pol.write_text("[diagnostics]\ntargets = 10.0.0.0/8 .example.net\n")
    a, acs = agent_with([[spv((ECHO + "Host", "127.0.0.1"), (ECHO + "DiagnosticsState", "Requested")),
                          spv((ECHO + "Host", "speed.example.net"))]], policy={"file": str(pol)})
    assert run_until(a, lambda: _ended(acs, 1))
    assert fault_codes(acs.sessions[0].answers[0][1])[:2] == [9003, 9007]
    assert fault_codes(acs.sessions[0].answers[1][1]) == []
    pol.write_text("[diagnostics]\nallow = no\n")
    a.reload()
    acs.push([spv((PING + "Host", "10.1.1.1"))])
    a.request_session()
    assert run_until(a, lambda: _ended(acs, 2))
    assert fault_codes(acs.sessions[1].answers[0][1])[:2] == [9003, 9008]


@needs_icmp
def test_tr098_root_names(agent_with):
    srv = FileServer().start()
    srv.files["/f"] = 20000
    R = "InternetGatewayDevice."
    try:
        a, acs = agent_with([
            [spv((R + "IPPingDiagnostics.Host", "127.0.0.1"), (R + "IPPingDiagnostics.NumberOfRepetitions", "2", U),
                 (R + "IPPingDiagnostics.DiagnosticsState", "Requested"))],
            [gpv(R + "IPPingDiagnostics."),
             spv((R + "TraceRouteDiagnostics.Host", "127.0.0.1"), (R + "TraceRouteDiagnostics.DiagnosticsState", "Requested"))],
            [gpv(R + "TraceRouteDiagnostics."),
             spv((R + "DownloadDiagnostics.DownloadURL", srv.url("/f")), (R + "DownloadDiagnostics.DiagnosticsState", "Requested"))],
            [gpv(R + "DownloadDiagnostics.")]], cpe={"data_model": "InternetGatewayDevice"})
        assert run_until(a, lambda: _ended(acs, 4), timeout=20)
        r = values_of(acs.sessions[1], 0)
        assert r[R + "IPPingDiagnostics.DiagnosticsState"] == "Complete"
        assert r[R + "IPPingDiagnostics.SuccessCount"] == "2"
        assert R + "IPPingDiagnostics.AverageResponseTimeDetailed" not in r  # TR-098 has none
        r = values_of(acs.sessions[2], 0)
        assert r[R + "TraceRouteDiagnostics.RouteHops.1.HopHost"] == "127.0.0.1"
        r = values_of(acs.sessions[3], 0)
        assert r[R + "DownloadDiagnostics.DiagnosticsState"] == "Completed"
        assert int(r[R + "DownloadDiagnostics.TestBytesReceived"]) > 20000
    finally:
        srv.stop()


def test_time_based_download_with_two_connections_while_a_connection_request_is_served(agent_with):
    from crclient import connection_request
    srv = FileServer().start()
    srv.files["/big"] = 8 << 20
    srv.delay["/big"] = 0.05  # ~1.3 MB/s per connection: the file outlasts the test
    try:
        a, acs = agent_with([[spv((DL + "DownloadURL", srv.url("/big")), (DL + "NumberOfConnections", "2", U),
                                  (DL + "TimeBasedTestDuration", "2", U),
                                  (DL + "TimeBasedTestMeasurementInterval", "1", U),
                                  (DL + "EnablePerConnectionResults", "true", "boolean"),
                                  (DL + "DiagnosticsState", "Requested"))]])
        svc = _service(a)
        assert run_until(a, lambda: _ended(acs, 1) and svc.running is not None)
        # mid-test: a connection request, and its session, are served
        acs.push([gpv(DL + "DiagnosticsState")])
        url = a.model.value("Device.ManagementServer.ConnectionRequestURL")
        cr = []
        threading.Thread(target=lambda: cr.append(connection_request(url, "cr-user", "cr-pass")),
                         daemon=True).start()
        assert run_until(a, lambda: _ended(acs, 2), timeout=5)
        assert "6 CONNECTION REQUEST" in events(acs.sessions[1])
        assert values_of(acs.sessions[1], 0)[DL + "DiagnosticsState"] == "Requested"
        assert svc.running is not None
        acs.script.append([gpv(DL)])
        assert run_until(a, lambda: _ended(acs, 3), timeout=20)
        assert "8 DIAGNOSTICS COMPLETE" in events(acs.sessions[2])
        r = values_of(acs.sessions[2], 0)
        assert r[DL + "DiagnosticsState"] == "Complete"
        assert r[DL + "PerConnectionResultNumberOfEntries"] == "2"
        assert int(r[DL + "IncrementalResultNumberOfEntries"]) >= 1
        per = [int(r[DL + "PerConnectionResult.%d.TestBytesReceived" % i]) for i in (1, 2)]
        assert all(p > 65536 for p in per)
        assert int(r[DL + "TestBytesReceived"]) == sum(per) < 8 << 20
        assert 0 < int(r[DL + "TestBytesReceivedUnderFullLoading"]) <= sum(per)
        assert 0 < int(r[DL + "PeriodOfFullLoading"]) <= 2100000  # microseconds, within the 2 s test
        inc = int(r[DL + "IncrementalResult.1.TestBytesReceived"])
        assert 0 < inc < sum(per)
    finally:
        srv.stop()


def test_diagnostics_off_means_no_parameters_and_no_import(tmp_path):
    import subprocess
    import sys
    from conftest import ROOT, write_conf
    conf = write_conf(tmp_path, "http://127.0.0.1:9/", diagnostics={"enable": "false"})
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from rocket.agent import Agent\nfrom rocket.base.config import Config\nfrom rocket import plugins\n"
            "a = Agent(Config.load(%r), once=True)\nplugins.install(a)\n"
            "print(a.model.store.get('Device.IP.Diagnostics.IPPing.Host'), "
            "[m for m in sys.modules if m.startswith('rocket.diag')])" % (ROOT, conf))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "None []", out.stderr[-2000:]
