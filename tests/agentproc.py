"""A long-running agent (the zipapp, no --once) in a subprocess, for tests
and benchmarks that signal it or watch it idle."""

import os
import signal
import subprocess
import sys
import time


class AgentProcess:
    """``python3 -I -S rocket.pyz -c CONF ARGS...`` with stderr in a file."""

    def __init__(self, pyz, conf, *args, python=None, log_path=None, cwd=None):
        self.log_path = log_path or conf + ".log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([python or sys.executable, "-I", "-S", pyz, "-c", conf] + list(args),
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     cwd=cwd)
        self.pid = self.proc.pid

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, needle, count=1, timeout=30):
        """Wait until ``needle`` appears ``count`` times in the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.text().count(needle) >= count:
                return True
            if self.proc.poll() is not None:
                return self.text().count(needle) >= count
            time.sleep(0.05)
        return False

    def signal(self, signum):
        self.proc.send_signal(signum)

    def wait(self, timeout=30):
        return self.proc.wait(timeout)

    def status(self):
        """/proc/PID/status as a dict of strings."""
        out = {}
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.strip()
        return out

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def kib(field):
    """'1234 kB' -> 1234"""
    return int(field.split()[0])


def state_file(state_dir, name):
    import json
    with open(os.path.join(state_dir, name + ".json")) as f:
        return json.load(f)
