"""Notifications with real script backends (rocket.datamodel.backend) in a running zipapp."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import run_pyz, write_conf

SV = "Device.DeviceInfo.SoftwareVersion"

SCRIPT = """#!/bin/sh
# A device whose state is a file of records; every run is counted.
echo "$1" >> '%(calls)s'
cat > /dev/null
case "$1" in
  get) cat '%(values)s' ;;
  set-commit|commit) printf 'status\t0\n' ;;
esac
exit 0
"""


def events_of(inform):
    return re.findall(r"<EventCode>([^<]*)</EventCode>", inform)


def inform_values(inform):
    pairs = re.findall(r"<ParameterValueStruct><Name>([^<]*)</Name><Value[^>]*>([^<]*)</Value>", inform)
    assert len(pairs) == len(set(n for n, _ in pairs)), "a parameter is listed twice"
    return dict(pairs)


class Device:
    """One script backend ``name`` in the agent's backends directory."""

    def __init__(self, tmp_path, name, manifest, values):
        d = tmp_path / "backends"
        d.mkdir(exist_ok=True)
        self.values = tmp_path / (name + ".values")
        self.calls = tmp_path / (name + ".calls")
        script = d / name
        script.write_text(SCRIPT % {"calls": self.calls, "values": self.values})
        script.chmod(0o755)
        (d / (name + ".manifest")).write_text(manifest)
        self.set(values)

    def set(self, values):
        self.values.write_text("".join("%s\t%s\n" % kv for kv in values.items()))

    def runs(self):
        return self.calls.read_text().split() if self.calls.exists() else []


BOX_MANIFEST = """prefix Device.X_Box.
param Device.X_Box.Status string notify=2
param Device.X_Box.Name string rw
"""


@pytest.fixture
def sockdir():
    d = tempfile.mkdtemp(prefix="rkt", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_push_from_a_hotplug_script_reads_one_backend_once(acs, pyz, tmp_path, sockdir):
    box = Device(tmp_path, "box", BOX_MANIFEST, {"Device.X_Box.Status": "Up", "Device.X_Box.Name": "b"})
    sock = os.path.join(sockdir, "r.sock")
    conf = write_conf(tmp_path, acs.url, control={"socket": sock}, notify={"settle": "0"})
    log = open(tmp_path / "agent.log", "w")
    p = subprocess.Popen([sys.executable, "-I", "-S", pyz, "-c", conf, "--boot"], stdout=log,
                         stderr=subprocess.STDOUT)

    def ctl(*args):
        return subprocess.run([sys.executable, "-I", "-S", pyz, "ctl", "--socket", sock] + list(args),
                              capture_output=True, text=True, timeout=60)
    try:
        assert acs.wait_sessions(1)
        deadline = time.time() + 20
        while not os.path.exists(sock):
            assert time.time() < deadline and p.poll() is None
            time.sleep(0.05)
        # read once at start: the manifest makes Status notify actively
        assert box.runs() == ["get"]
        assert set(events_of(acs.sessions[0].inform)) == {"0 BOOTSTRAP", "1 BOOT"}
        r = ctl("notify", "Device.X_Box.")
        assert r.returncode == 0 and r.stdout == ""  # nothing changed
        assert box.runs() == ["get", "get"]
        r = ctl("notify", "Device.ManagementServer.")  # nothing of the backend's: no process
        assert r.returncode == 0 and box.runs() == ["get", "get"]

        box.set({"Device.X_Box.Status": "Down", "Device.X_Box.Name": "b"})
        r = ctl("notify", "Device.X_Box.")
        assert r.returncode == 0 and r.stdout == "changed: Device.X_Box.Status\n"
        assert box.runs() == ["get"] * 3
        assert acs.wait_sessions(2)
        inform = acs.sessions[1].inform
        assert events_of(inform) == ["4 VALUE CHANGE"]
        assert inform_values(inform)["Device.X_Box.Status"] == "Down"

        # a local write of the (not notifying) Name goes through the script
        r = ctl("set", "Device.X_Box.Name=new")
        assert r.returncode == 0, r.stderr
        assert "set-commit" in box.runs() and "apply" in box.runs()
        assert "changed:" not in r.stdout
        assert len(acs.sessions) == 2
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()


SYS_MANIFEST = """prefix Device.DeviceInfo.
param Device.DeviceInfo.ModelName string len=64
param Device.DeviceInfo.SoftwareVersion string len=64 inform active=forced
"""


def test_firmware_version_read_by_a_backend_notifies_after_upgrade(acs, pyz, tmp_path):
    sysb = Device(tmp_path, "sys", SYS_MANIFEST, {SV: "21.02.1", "Device.DeviceInfo.ModelName": "X1"})
    conf = write_conf(tmp_path, acs.url, cpe={"software_version": ""})
    r = run_pyz(pyz, conf, "--once", "--boot")
    assert r.returncode == 0, r.stderr
    assert inform_values(acs.sessions[0].inform)[SV] == "21.02.1"
    assert "4 VALUE CHANGE" not in events_of(acs.sessions[0].inform)
    r = run_pyz(pyz, conf, "--once", "--boot")  # same firmware, reboot: silent
    assert r.returncode == 0, r.stderr
    assert events_of(acs.sessions[1].inform) == ["1 BOOT"]
    sysb.set({SV: "23.05.0", "Device.DeviceInfo.ModelName": "X1"})  # sysupgrade
    r = run_pyz(pyz, conf, "--once", "--boot")
    assert r.returncode == 0, r.stderr
    inform = acs.sessions[2].inform
    assert set(events_of(inform)) == {"1 BOOT", "4 VALUE CHANGE"}
    assert inform_values(inform)[SV] == "23.05.0"
