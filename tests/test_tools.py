"""The tools answer like tools: devacs rpc/serve, ctl messages, the agent's
log lines, the demo transcript, the --bytecode interpreter check."""

import os
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT, write_conf


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _devacs(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "rocket.devacs"] + list(args), cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def served(tmp_path, pyz):
    """``devacs serve`` on a free loopback port and an agent informing it."""
    from agentproc import AgentProcess
    procs, agents = [], []

    def start(cr="cr-user:cr-pass"):
        port = _free_port()
        args = ["--port", str(port)] + (["--cr", cr] if cr else [])
        acs = subprocess.Popen([sys.executable, "-m", "rocket.devacs", "serve"] + args, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(acs)
        assert "ACS on" in acs.stdout.readline()
        url = "http://127.0.0.1:%d/acs" % port
        conf = write_conf(tmp_path, url)
        agent = AgentProcess(pyz, conf, "--boot")
        agents.append(agent)
        procs.append(agent.proc)
        deadline = time.monotonic() + 30
        for line in acs.stdout:  # the boot session ends with the ACS's empty answer
            if "InformResponse" in line or "Inform" in line:
                break
            assert time.monotonic() < deadline
        assert agent.wait_log("session: end ok"), agent.text()
        return "http://127.0.0.1:%d" % port, acs, agent.proc

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
    for a in agents:
        a.close()


def test_devacs_rpc_prints_answers_and_exits_1_on_a_fault(served):
    acs_url, _, _ = served()
    r = _devacs("rpc", "--acs", acs_url, "GetParameterNames", "Device.ManagementServer.", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "GetParameterNamesResponse" in r.stdout
    assert "  Device.ManagementServer.URL  (writable)" in r.stdout
    r = _devacs("rpc", "--acs", acs_url, "SetParameterValues", "Device.DeviceInfo.Manufacturer=x")
    assert r.returncode == 1
    assert "Fault 9003" in r.stdout and "Device.DeviceInfo.Manufacturer: 9008" in r.stdout
    r = _devacs("rpc", "--acs", acs_url, "SetParameterValues",
                "Device.ManagementServer.PeriodicInformInterval=700:unsignedInt")
    assert r.returncode == 0 and "Status 0 (applied)" in r.stdout, r.stdout + r.stderr


def test_devacs_rpc_reports_a_refused_connection_request_at_once(served):
    acs_url, _, _ = served(cr="cr-user:wrong")
    t = time.monotonic()
    r = _devacs("rpc", "--acs", acs_url, "GetParameterValues", "Device.DeviceInfo.SerialNumber")
    assert time.monotonic() - t < 20
    assert r.returncode == 1
    assert "connection request" in r.stderr and "401" in r.stderr and "not queued" in r.stderr, r.stderr


def test_devacs_serve_on_a_busy_port_says_so_in_one_line():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        r = _devacs("serve", "--port", str(s.getsockname()[1]), timeout=30)
    finally:
        s.close()
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "cannot listen" in r.stderr and "in use" in r.stderr
    assert "Traceback" not in r.stderr


# ------------------------------------------------------------------- ctl
def _ctl_agent(make_agent, acs):
    from rocket.owner import ctl
    agent = make_agent(acs.url, once=False)
    return agent, [s for s in agent.services if isinstance(s, ctl.ControlServer)][0]


def test_ctl_errors_name_every_fault_and_successes_confirm(acs, make_agent):
    agent, control = _ctl_agent(make_agent, acs)
    ms = "Device.ManagementServer."
    a = control.handle(b"set Device.DeviceInfo.Manufacturer=x")
    assert a == "error: 9003 Invalid arguments; Device.DeviceInfo.Manufacturer: 9008 not writable\n"
    a = control.handle(("set %sPeriodicInformInterval=0" % ms).encode())
    assert "9007 invalid value (out of range: at least 1)" in a and "None" not in a
    a = control.handle(b"set Device.Nope=1")
    assert "Device.Nope: 9005 no such parameter" in a
    a = control.handle(("set %sPeriodicInformInterval=60" % ms).encode())
    assert a == "ok\nset: %sPeriodicInformInterval\nstatus: 0 (applied)\n" % ms
    agent.events.add("1 BOOT")
    a = control.handle(b"inform")
    assert a == "ok\nsession requested\nthe Inform will carry: 1 BOOT\n"


def test_no_none_in_range_messages():
    from rocket.cwmp import values
    for limit, text in (((1, None), "at least 1"), ((None, 5), "at most 5"), ((1, 5), "1 to 5")):
        with pytest.raises(values.BadValue) as e:
            values.check("int", limit, "99" if limit[1] == 5 else "0")
        assert str(e.value) == "out of range: " + text


def test_ctl_audit_into_head_exits_quietly(acs, pyz, tmp_path):
    conf = write_conf(tmp_path, acs.url)
    audit_file = tmp_path / "audit" / "audit.log"
    audit_file.parent.mkdir()
    line = '{"time":"2026-01-01T00:00:00Z","kind":"rpc","rpc":"GetParameterValues","result":"ok"}\n'
    audit_file.write_text(line * 5000)
    r = subprocess.run("'%s' -I -S '%s' ctl -c '%s' audit | head -1; exit ${PIPESTATUS[0]}"
                       % (sys.executable, pyz, conf), shell=True, executable="/bin/bash",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" and len(r.stdout.splitlines()) == 1


# ------------------------------------------------------------------ demo
def test_demo_transcript_shows_what_it_sets_as_the_readme_says(pyz):
    r = _devacs("demo", "--pyz", pyz, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    out = r.stdout[r.stdout.index("The session, as the ACS saw it"):]
    steps = [ln for ln in out.splitlines() if ln.startswith("== ")]
    assert steps == ["== Inform (events: 0 BOOTSTRAP, 1 BOOT)", "== ACS: GetParameterValues",
                     "== ACS: SetParameterValues", "== ACS: GetParameterValues"]
    assert "   set Device.ManagementServer.PeriodicInformInterval = 600 (unsignedInt)" in out
    assert "     Status 0 (applied)" in out
    assert "     Device.ManagementServer.PeriodicInformInterval = 600" in out  # read back
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    said = readme[readme.index("# 1. Build the zipapp"):readme.index("python3 build_zipapp.py && python3 -m")]
    said = " ".join(said.replace("#", " ").split())
    assert "Inform -> GetParameterValues -> SetParameterValues PeriodicInformInterval = 600 -> " \
           "GetParameterValues reads it back -> end" in said
