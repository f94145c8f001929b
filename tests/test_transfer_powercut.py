"""Power cuts: the zipapp agent is killed with SIGKILL at random points.

Each run: the ACS asks for a configuration download, a firmware download or
a Reboot (in turn); the agent is killed at a random moment (during the
download, right after the TransferComplete record, inside a hook, inside a
session) and started again with --boot until everything is reported. Checks:

- the journal always parses (no ``*.corrupt`` file ever appears);
- every transfer gets a TransferComplete, and once a session carrying it
  has ended cleanly it is never sent again (at most one per key in clean
  sessions, at least one in all);
- "M Download"/"M Reboot" with the right CommandKey go out until delivered
  and never after a clean session delivered them;
- at the end nothing is pending (events.json and the journal are empty).

When the kill lands before the agent's answer reached the ACS, the ACS asks
again in the next session (as a real ACS does); the agent keeps one copy of
a repeated request it had already journalled.

ROCKET_POWERCUT_RUNS sets the number of runs (20 by default; the bench
uses 200 or more), ROCKET_POWERCUT_SEED the random seed and
ROCKET_POWERCUT_PYTHON the interpreter that runs the zipapp (e.g. a 3.8).
"""

import json
import os
import random
import signal
import subprocess
import sys
import time

from conftest import write_conf
from fileserver import FileServer
from transfer_util import download_rpc, events_of, fault_codes, hook, simple_rpc

RUNS = int(os.environ.get("ROCKET_POWERCUT_RUNS", "20"))


def _start(pyz, conf, boot):
    python = os.environ.get("ROCKET_POWERCUT_PYTHON", sys.executable)
    args = [python, "-I", "-S", pyz, "-c", conf, "--log-level", "info"]
    if boot:
        args.append("--boot")
    with open(os.path.join(os.path.dirname(conf), "agent.log"), "ab") as log:
        log.write(b"--- start\n")
        log.flush()
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log)


def _log_tail(conf_dir):
    with open(os.path.join(str(conf_dir), "agent.log"), "rb") as f:
        return f.read().decode("utf-8", "replace")[-6000:]


def _load(path, default):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def _quiet(state, acs):
    j = _load(os.path.join(state, "transfers.json"), {"transfers": [], "reboot": None})
    evs = _load(os.path.join(state, "events.json"), [])
    return not j["transfers"] and not j.get("reboot") and not evs and acs.sessions and acs.sessions[-1].ended


def _one_run(n, pyz, acs, files, tmp, rng):
    acs.sessions = []
    acs.queue = []
    kind = ("config", "firmware", "reboot")[n % 3]
    key = "%s-%d" % (kind, n)
    conf_dir = tmp / ("run%d" % n)
    conf_dir.mkdir()
    state = str(conf_dir / "state")
    out = conf_dir / "out"
    out.mkdir()
    conf_path = str(conf_dir / "rocket.conf")
    tx = {
        "download_dir": str(conf_dir / "dl"),
        "timeout": "5",
        "firmware_hook": hook(conf_dir / "fw", "sleep 0.05\nsed -i 's/^software_version = 1.0.0/software_version"
                              " = 2.0.0/' '%s'\nsleep 0.05" % conf_path),
        "config_hook": hook(conf_dir / "cfg", 'sleep 0.05\necho x >> "%s/applied"' % out),
        "reboot_hook": hook(conf_dir / "rb", 'sleep 0.1\necho x >> "%s/reboots"' % out),
    }
    if kind == "reboot":
        rpc = simple_rpc("Reboot", CommandKey=key)
    else:
        ft = "3 Vendor Configuration File" if kind == "config" else "1 Firmware Upgrade Image"
        rpc = download_rpc(files.url("/slow"), ft, key)
    acs.queue = [rpc]
    conf = write_conf(conf_dir, acs.url, acs={"periodic_inform_enable": "false", "session_timeout": "5"},
                      transfer=tx)
    assert conf == conf_path
    kill_at = rng.uniform(0, 1.2)
    p = _start(pyz, conf, True)
    t0 = time.time()
    killed = False
    starts = 1
    deadline = time.time() + 40
    while True:
        assert time.time() < deadline, "run %d (%s, kill at %.2f) did not settle\n%s" % (
            n, kind, kill_at, _log_tail(conf_dir))
        if not killed and (time.time() - t0 >= kill_at or _quiet(state, acs)):
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait()
            killed = True
            if not any(s.answers for s in acs.sessions):
                acs.queue = [rpc]  # never answered: the ACS asks again, as a real one would
            p = _start(pyz, conf, True)  # power back: a boot
            starts += 1
            continue
        rc = p.poll()
        if rc is not None:
            assert rc in (0, -9), _log_tail(conf_dir)
            p = _start(pyz, conf, True)  # the agent stopped for a reboot
            starts += 1
            continue
        if killed and _quiet(state, acs):
            time.sleep(0.15)
            if _quiet(state, acs):
                break
        time.sleep(0.02)
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    # the journal and every state file always parsed
    assert not [f for f in os.listdir(state) if f.endswith(".corrupt")]
    # reports: at least once, at most once in sessions that ended cleanly, never after those
    if kind == "reboot":
        code, name = "M Reboot", None
    else:
        code, name = "M Download", "TransferComplete"
    seen_clean = False
    total = 0
    for s in acs.sessions:
        evs = events_of(s.inform or "")
        has_event = (code, key) in evs
        tcs = [r for r in s.cpe_requests if name and "<cwmp:%s>" % name in r and key in r]
        if seen_clean:
            assert not has_event and not tcs, "reported again after delivery (run %d %s)" % (n, kind)
        if name:
            assert len(tcs) <= 1
            if tcs:
                assert has_event and ("7 TRANSFER COMPLETE", "") in evs
                codes = fault_codes(tcs[0])
                assert codes[0] in ((0,) if kind == "config" else (0, 9010, 9018)), codes
        total += bool(tcs) if name else has_event
        if (tcs if name else has_event) and s.ended:
            seen_clean = True
    assert total >= 1 and seen_clean, "run %d (%s): never reported" % (n, kind)
    return starts


def test_power_cuts(acs, pyz, tmp_path):
    files = FileServer().start()
    files.files["/slow"] = bytes(64 * 1024 * 6)
    files.delay["/slow"] = 0.025
    rng = random.Random(int(os.environ.get("ROCKET_POWERCUT_SEED", "5")))
    try:
        starts = sum(_one_run(n, pyz, acs, files, tmp_path, rng) for n in range(RUNS))
    finally:
        files.stop()
    assert starts >= 2 * RUNS
