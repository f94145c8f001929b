"""The control socket: a running zipapp agent driven by ``rocket.pyz ctl``."""

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import write_conf
from rocket.owner import ctl, ctlclient
from rocket.devacs import build_rpc

PII = "Device.ManagementServer.PeriodicInformInterval"


def events_of(inform):
    return re.findall(r"<EventCode>([^<]*)</EventCode>", inform)


def inform_values(inform):
    return dict(re.findall(r"<ParameterValueStruct><Name>([^<]*)</Name><Value[^>]*>([^<]*)</Value>", inform))


@pytest.fixture
def sockdir():
    d = tempfile.mkdtemp(prefix="rkt", dir="/tmp")  # AF_UNIX paths are short
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def running(acs, pyz, tmp_path, sockdir):
    """A zipapp agent running in the background with its control socket."""
    sock = os.path.join(sockdir, "r.sock")
    conf = write_conf(tmp_path, acs.url, control={"socket": sock, "timeout": "2"},
                      acs={"password": "acs-secret", "username": "cpe"},
                      notify={"settle": "0"})
    log = open(tmp_path / "agent.log", "w")
    p = subprocess.Popen([sys.executable, "-I", "-S", pyz, "-c", conf, "--boot"], stdout=log,
                         stderr=subprocess.STDOUT)
    try:
        assert acs.wait_sessions(1), "the agent did not inform"
        deadline = time.time() + 20
        while not os.path.exists(sock):
            assert time.time() < deadline and p.poll() is None, "no control socket"
            time.sleep(0.05)

        def run(*args, conf_arg=None):
            opts = ["-c", conf_arg] if conf_arg else ["--socket", sock]
            return subprocess.run([sys.executable, "-I", "-S", pyz, "ctl"] + opts + list(args),
                                  capture_output=True, text=True, timeout=60)
        run.sock, run.proc, run.conf, run.log = sock, p, conf, tmp_path / "agent.log"
        yield run
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()


def raw(sock, data, read=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(sock)
    try:
        s.sendall(data)
        if not read:
            return b""
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b
    finally:
        s.close()


def test_ctl_against_running_zipapp(acs, running):
    mode = os.lstat(running.sock).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600

    r = running("status")
    assert r.returncode == 0, r.stderr
    assert "acs_url: %s" % acs.url in r.stdout
    assert "last_result: ok" in r.stdout and "retry_count: 0" in r.stdout
    assert "pending_events: none" in r.stdout
    assert re.search(r"next_session: \S+ \(periodic, in \d+ s\)", r.stdout)
    assert "acs-secret" not in r.stdout

    r = running("get", "Device.DeviceInfo.SerialNumber", "Device.ManagementServer.Password",
                conf_arg=running.conf)  # socket found through the configuration
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["Device.DeviceInfo.SerialNumber=TB-0001",
                                     "Device.ManagementServer.Password="]
    r = running("get", "Device.ManagementServer.")
    assert "Device.ManagementServer.URL=%s" % acs.url in r.stdout.splitlines()
    assert "acs-secret" not in r.stdout

    r = running("get", "Device.NoSuchThing")
    assert r.returncode == 1 and "9005" in r.stderr

    # local writes are checked like an SPV, all or nothing
    r = running("set", PII + "=abc", "Device.ManagementServer.PeriodicInformEnable=true")
    assert r.returncode == 1 and "9003" in r.stderr and "9007" in r.stderr
    r = running("set", "Device.DeviceInfo.SerialNumber=X")
    assert r.returncode == 1 and "9008" in r.stderr

    # the ACS asks for passive notification on PeriodicInformInterval
    acs.queue = [build_rpc("SetParameterAttributes", [PII + "=1"])]
    r = running("inform", "2 PERIODIC")
    assert r.returncode == 0, r.stderr
    assert acs.wait_sessions(2)
    assert events_of(acs.sessions[1].inform) == ["2 PERIODIC"]

    # a local write of it is a change (not the ACS's own write): rides the next Inform
    r = running("set", PII + "=700")
    assert r.returncode == 0, r.stderr
    assert "status: 0" in r.stdout and "changed: %s" % PII in r.stdout
    assert running("get", PII).stdout.strip() == PII + "=700"
    r = running("status")
    assert "pending_events: 4 VALUE CHANGE" in r.stdout and "changed: %s" % PII in r.stdout
    assert len(acs.sessions) == 2  # passive: no session of its own

    r = running("notify", "Device.ManagementServer.")
    assert r.returncode == 0 and r.stdout == ""  # already pending, nothing new

    r = running("inform", "X 00AA11 Poke")
    assert r.returncode == 0, r.stderr
    assert acs.wait_sessions(3)
    inform = acs.sessions[2].inform
    assert set(events_of(inform)) == {"X 00AA11 Poke", "4 VALUE CHANGE"}
    assert inform_values(inform)[PII] == "700"
    assert acs.sessions[2].inform.count("<Name>%s</Name>" % PII) == 1

    # events the ACS or the agent own may not be raised locally
    for code in ("6 CONNECTION REQUEST", "0 BOOTSTRAP", "4 VALUE CHANGE", "M Reboot"):
        r = running("inform", code)
        assert r.returncode == 1 and "may not be raised locally" in r.stderr, code
    r = running("inform")
    assert r.returncode == 0
    assert acs.wait_sessions(4)
    assert events_of(acs.sessions[3].inform) == []

    # garbage gets an error line, and the agent keeps serving
    assert raw(running.sock, b"\xff\xfe\x00garbage\n").startswith(b"error: ")
    assert raw(running.sock, b"frobnicate all\n").startswith(b"error: unknown command")
    assert raw(running.sock, b"set\n").startswith(b"error: ")
    assert raw(running.sock, b"set %s=\\q\n" % PII.encode()).startswith(b"error: unknown escape")
    assert raw(running.sock, b"notify Other.Root.\n").startswith(b"error: ")
    assert raw(running.sock, b"x" * (300 * 1024)).startswith(b"error: request longer")
    raw(running.sock, b"", read=False)  # connect and go away
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(running.sock)  # say nothing: dropped after [control] timeout
    s.settimeout(20)
    assert s.recv(1000).startswith(b"error: no complete request")
    s.close()
    r = running("status")
    assert r.returncode == 0 and running.proc.poll() is None
    assert "sessions: 4" in r.stdout

    running.proc.send_signal(signal.SIGTERM)
    assert running.proc.wait(20) == 0
    assert not os.path.exists(running.sock)
    log = running.log.read_text()
    assert "acs-secret" not in log and "Traceback" not in log


def test_ctl_client_errors(pyz, sockdir, tmp_path):
    r = subprocess.run([sys.executable, "-I", "-S", pyz, "ctl", "--socket",
                        os.path.join(sockdir, "none.sock"), "status"], capture_output=True, text=True)
    assert r.returncode == 2 and "cannot talk to the agent" in r.stderr
    r = subprocess.run([sys.executable, "-I", "-S", pyz, "ctl", "--socket", "x", "set", "novalue"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "PATH=VALUE" in r.stderr
    r = subprocess.run([sys.executable, "-I", "-S", pyz, "ctl", "--socket", "x", "bogus"],
                       capture_output=True, text=True)
    assert r.returncode == 2


def test_stale_socket_replaced_live_one_kept(acs, make_agent, sockdir):
    path = os.path.join(sockdir, "s.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # the file stays, nobody listens
    os.chmod(path, 0o666)
    agent = make_agent(acs.url, once=False, control={"socket": path})
    agent.start()
    try:
        assert agent.ctl.sock is not None
        assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
        # a second agent on the same path does not steal it
        other = make_agent(acs.url, once=False, control={"socket": path})
        other.ctl.start(other)
        assert other.ctl.sock is None
        assert os.path.exists(path)
    finally:
        agent.stop()
    assert not os.path.exists(path)
    # a regular file in the way is never removed
    with open(path, "w") as f:
        f.write("precious")
    agent = make_agent(acs.url, once=False, control={"socket": path})
    agent.ctl.start(agent)
    assert agent.ctl.sock is None
    with open(path) as f:
        assert f.read() == "precious"


def test_local_set_of_backend_param_notifies_and_applies(acs, make_agent, tmp_path, sockdir):
    from test_notify import ended, file_backend, run_until
    path = os.path.join(sockdir, "b.sock")
    acs.queue = [build_rpc("SetParameterAttributes", ["Device.X_TEST_Box.Name=2"])]
    agent = make_agent(acs.url, once=False, control={"socket": path}, notify={"settle": "0"})
    b = file_backend(tmp_path)
    agent.model.add_backend(b)
    agent.start()
    run_until(agent, lambda: ended(acs) == 1)
    answer = []
    import threading
    t = threading.Thread(target=lambda: answer.append(ctlclient.call(path, "set Device.X_TEST_Box.Name=a\\tb")))
    t.start()
    run_until(agent, lambda: answer)  # the loop serves the request
    t.join()
    assert answer[0].startswith("ok\n") and "changed: Device.X_TEST_Box.Name" in answer[0]
    assert b.read()["Device.X_TEST_Box.Name"] == "a\tb"
    run_until(agent, lambda: ended(acs) == 2)  # active: a session of its own
    assert "<Value xsi:type=\"xsd:string\">a\tb</Value>" in acs.sessions[1].inform
    agent.stop()


@given(st.text())
def test_escape_roundtrip(s):
    e = ctl.escape(s)
    assert "\n" not in e and "\r" not in e and "\t" not in e
    assert ctl.unescape(e) == s


def test_requests_wait_for_the_end_of_a_session(acs, make_agent, sockdir):
    import threading
    from test_notify import ended, run_until
    path = os.path.join(sockdir, "w.sock")
    acs.delay = 0.3  # every ACS answer is slow: the session lasts a while
    agent = make_agent(acs.url, once=False, control={"socket": path})
    agent.start()
    answer = []

    def client():
        deadline = time.time() + 20
        while not agent.in_session and time.time() < deadline:
            time.sleep(0.005)
        answer.append(ctlclient.call(path, "status"))
    t = threading.Thread(target=client)
    t.start()
    run_until(agent, lambda: answer)
    t.join()
    assert ended(acs) == 1
    assert "in_session: no" in answer[0] and "sessions: 1" in answer[0] and "last_result: ok" in answer[0]
    agent.stop()
