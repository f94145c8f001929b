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
    procs = []

    def start(cr="cr-user:cr-pass"):
        port = _free_port()
        args = ["--port", str(port)] + (["--cr", cr] if cr else [])
        acs = subprocess.Popen([sys.executable, "-m", "rocket.devacs", "serve"] + args, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(acs)
        assert "ACS on" in acs.stdout.readline()
        url = "http://127.0.0.1:%d/acs" % port
        conf = write_conf(tmp_path, url)
        agent = subprocess.Popen([sys.executable, "-I", "-S", pyz, "-c", conf, "--boot"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(agent)
        deadline = time.monotonic() + 30
        for line in acs.stdout:  # the boot session ends with the ACS's empty answer
            if "InformResponse" in line or "Inform" in line:
                break
            assert time.monotonic() < deadline
        time.sleep(1.0)  # let the session end
        return "http://127.0.0.1:%d" % port, acs, agent

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


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
