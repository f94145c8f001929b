"""Real protocol peers for the tests: coturn (STUN) and prosody (XMPP).

Each is started on a free loopback port in a temporary directory and
stopped by its PID. When the binary is missing the tests that need it skip
with the reason (CI installs the packages: see .ci/run).
"""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stop(proc):
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


def run_until(agent, cond, timeout=15.0, step=0.05):
    """Drive ``agent.loop`` until ``cond()`` holds; False on timeout."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        agent.loop.run_once(max_wait=step)
    return True


class Coturn:
    def __init__(self, tmp_path):
        exe = shutil.which("turnserver")
        if exe is None:
            pytest.skip("coturn's turnserver is not installed (apt-get install coturn)")
        self.port = free_port(socket.SOCK_DGRAM)
        self.log = open(os.path.join(str(tmp_path), "turnserver.log"), "w+")
        argv = [exe, "-n", "--stun-only", "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1",
                "-p", str(self.port), "--no-cli", "--no-tls", "--no-dtls", "--log-file", "stdout",
                "--simple-log", "--userdb", os.path.join(str(tmp_path), "turndb"),
                "--pidfile", os.path.join(str(tmp_path), "turnserver.pid")]
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self):
        from rocket import stun
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.2)
        try:
            for _ in range(50):
                if self.proc.poll() is not None:
                    break
                tx = os.urandom(12)
                s.sendto(stun.binding_request(tx), ("127.0.0.1", self.port))
                try:
                    data, _ = s.recvfrom(2048)
                except socket.timeout:
                    continue
                if stun.decode(data).txid == tx:
                    return
        finally:
            s.close()
        self.stop()
        self.log.seek(0)
        raise RuntimeError("turnserver did not answer: %s" % self.log.read()[-2000:])

    def stop(self):
        stop(self.proc)
        self.log.close()
