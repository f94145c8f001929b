"""The control socket serves its owner under a local flood: stalled clients
are bounded in number and time, the idle ones are evicted for new ones."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import write_conf
from rocket.owner.ctl import MAX_CLIENTS


@pytest.fixture
def agent(acs, pyz, tmp_path):
    d = tempfile.mkdtemp(prefix="rkf", dir="/tmp")  # AF_UNIX paths are short
    sock = os.path.join(d, "r.sock")
    conf = write_conf(tmp_path, acs.url, control={"socket": sock, "timeout": "30"})
    log = open(tmp_path / "agent.log", "w")
    p = subprocess.Popen([sys.executable, "-I", "-S", pyz, "-c", conf], stdout=log,
                         stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 20
        while not os.path.exists(sock):
            assert time.time() < deadline and p.poll() is None, "no control socket"
            time.sleep(0.05)

        def ctl(*args):
            return subprocess.run([sys.executable, "-I", "-S", pyz, "ctl", "--socket", sock,
                                   "--timeout", "10"] + list(args),
                                  capture_output=True, text=True, timeout=60)
        ctl.sock, ctl.proc, ctl.log = sock, p, tmp_path / "agent.log"
        yield ctl
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()
        shutil.rmtree(d, ignore_errors=True)


def sockets(pid):
    """How many sockets process ``pid`` holds."""
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
        except OSError:
            pass  # closed meanwhile
    return n


def stall(path, n, partial=b""):
    """``n`` clients that connect, maybe send part of a line, and stall."""
    out = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(path)
            if partial:
                s.send(partial)
        except (BlockingIOError, InterruptedError, OSError):
            pass  # the listen queue is full: still a client waiting
        out.append(s)
    return out


@pytest.mark.parametrize("partial", [b"", b"stat"])
def test_owner_is_served_with_200_stalled_clients(agent, partial):
    deadline = time.monotonic() + 30
    while "session: end" not in agent.log.read_text():  # its ACS connection is closed again
        assert time.monotonic() < deadline, agent.log.read_text()[-2000:]
        time.sleep(0.05)
    base = sockets(agent.proc.pid)
    flood = stall(agent.sock, 200, partial)
    try:
        # the agent has taken them in: it holds its cap of client sockets
        deadline = time.monotonic() + 20
        while sockets(agent.proc.pid) < base + MAX_CLIENTS:
            assert time.monotonic() < deadline, "the agent took in %d clients" % (sockets(agent.proc.pid) - base)
            time.sleep(0.02)
        r = agent("status")
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        assert "retry_count:" in r.stdout
        # a second flood wave while the owner asks again
        more = stall(agent.sock, 200, partial)
        flood += more
        r = agent("status")
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    finally:
        for s in flood:
            s.close()
    assert agent.proc.poll() is None
    # bounded: the agent holds at most its cap of client sockets
    fds = len(os.listdir("/proc/%d/fd" % agent.proc.pid))
    assert fds < 64, fds
