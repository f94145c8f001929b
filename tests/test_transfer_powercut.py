"""Power cuts: the zipapp agent is killed with SIGKILL at random points.

Each run: the ACS asks for a configuration download, a firmware download or
a Reboot (in turn); the agent is killed at a random moment (during the
download, right after the TransferComplete record, inside a hook, inside a
session) and started again with --boot until everything is reported. Checks:

- the journal always parses (no ``*.corrupt`` file ever appears);
- every transfer gets a TransferComplete (at least one in all, at most one
  per session), and once its acknowledgement is known to have reached the
  agent it is never sent again, nor are its events;
- "M Download"/"M Reboot" with the right CommandKey go out until delivered
  and never after; every session carrying a TransferComplete lists
  "7 TRANSFER COMPLETE" and "M Download";
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

import pytest

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
    seen = 0  # ACS sessions before the latest start: every start is a boot, so a session follows it
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
            seen = len(acs.sessions)
            p = _start(pyz, conf, True)  # power back: a boot
            starts += 1
            continue
        rc = p.poll()
        if rc is not None:
            assert rc in (0, -9), _log_tail(conf_dir)
            seen = len(acs.sessions)
            p = _start(pyz, conf, True)  # the agent stopped for a reboot
            starts += 1
            continue
        # settled: the running agent's own boot session has ended with nothing left to report
        if killed and len(acs.sessions) > seen and _quiet(state, acs):
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
    # reports: see _check_reports
    _check_reports(n, kind, key, acs.sessions)
    return starts


def _acked_in(sess, marker):
    """True when the CPE is known to have received the ACS's answer to the
    POST containing ``marker``: it posted again in the same session (HTTP
    is one exchange at a time, and the agent records a delivery before it
    sends anything else). A kill that lands after the answer but before
    that next POST leaves it unknown (the agent may legitimately send the
    message again, or not)."""
    for i, x in enumerate(sess.exchanges):
        if marker in x.request.decode("utf-8", "replace"):
            return i + 1 < len(sess.exchanges)
    return False


def _check_reports(n, kind, key, sessions):
    """What TR-069 requires, and nothing about when the kill landed.

    A TransferComplete (and "M Reboot", delivered by the InformResponse)
    is sent until its acknowledgement reached the CPE, and never after.
    The ACS side only knows for sure that it reached the CPE when the CPE
    posted again in that session; "the session ended" is not required
    (the kill may land between the acknowledgement and the end). Every
    session carrying the TransferComplete lists "7 TRANSFER COMPLETE" and
    "M Download"; a session that ended cleanly with "M Download" pending
    carried the TransferComplete. Nothing is lost: at least one report
    went out, and (checked by the caller) nothing is pending at the end.
    """
    if kind == "reboot":
        code, name = "M Reboot", None
    else:
        code, name = "M Download", "TransferComplete"
    acked = False
    total = 0
    for i, s in enumerate(sessions):
        evs = events_of(s.inform or "")
        has_event = (code, key) in evs
        tcs = [r for r in s.cpe_requests if name and "<cwmp:%s>" % name in r and key in r]
        where = "run %d (%s), session %d of %d" % (n, kind, i + 1, len(sessions))
        assert not (acked and (has_event or tcs or ("7 TRANSFER COMPLETE", "") in evs)), \
            "%s: reported again after acknowledgement" % where
        if name:
            assert len(tcs) <= 1, "%s: %d TransferCompletes in one session" % (where, len(tcs))
            if tcs:
                assert has_event and ("7 TRANSFER COMPLETE", "") in evs, "%s: TransferComplete without" \
                    " its events %r" % (where, evs)
                codes = fault_codes(tcs[0])
                assert codes[0] in ((0,) if kind == "config" else (0, 9010, 9018)), codes
                acked = _acked_in(s, "<cwmp:TransferComplete>")
            elif has_event:
                assert not s.ended, "%s: a clean session had %s pending but no TransferComplete" % (where, code)
            total += bool(tcs)
        else:
            if has_event:
                acked = _acked_in(s, "<EventCode>M Reboot</EventCode>")
            total += has_event
    assert total >= 1, "run %d (%s): never reported" % (n, kind)


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


@pytest.mark.parametrize("kind", ["config", "reboot"])
def test_kill_after_acknowledgement(acs, pyz, tmp_path, kind):
    """The power cut lands after the agent got the acknowledgement (the
    TransferCompleteResponse, or the InformResponse for "M Reboot") and
    posted again, but before the session ended: the report is delivered,
    so the next start must not send it again."""
    files = FileServer().start()
    files.files["/cfg"] = b"x" * 100
    key = kind + "-k"
    out = tmp_path / "out"
    out.mkdir()
    conf = write_conf(tmp_path, acs.url, acs={"periodic_inform_enable": "false", "session_timeout": "5"},
                      transfer={"download_dir": str(tmp_path / "dl"), "timeout": "5",
                                "config_hook": hook(tmp_path / "cfg", 'echo x >> "%s/applied"' % out),
                                "reboot_hook": hook(tmp_path / "rb", 'echo x >> "%s/reboots"' % out)})
    state = str(tmp_path / "state")
    if kind == "reboot":
        acs.queue = [simple_rpc("Reboot", CommandKey=key)]
    else:
        acs.queue = [download_rpc(files.url("/cfg"), "3 Vendor Configuration File", key)]
    procs = []
    killed = []

    def carries(s):
        if kind == "reboot":
            return ("M Reboot", key) in events_of(s.inform or "")
        return any("<cwmp:TransferComplete>" in r for r in s.cpe_requests)

    def kill_on_next_post(a, h, body):
        # the empty POST that follows the acknowledged report: kill, never answer
        if killed or body or not a.sessions or not carries(a.sessions[-1]) or a.sessions[-1].ended:
            return False
        os.kill(procs[-1].pid, signal.SIGKILL)
        killed.append(len(a.sessions))
        return True

    acs.hook = kill_on_next_post
    try:
        procs.append(_start(pyz, conf, True))
        deadline = time.time() + 60
        while not (killed and len(acs.sessions) > killed[0] and _quiet(state, acs)):
            assert time.time() < deadline, "did not settle\n%s" % _log_tail(tmp_path)
            rc = procs[-1].poll()
            if rc is not None:
                assert rc in (0, -9), _log_tail(tmp_path)
                procs.append(_start(pyz, conf, True))  # a reboot, or power back after the cut
            time.sleep(0.05)
    finally:
        acs.hook = None
        files.stop()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
    cut = acs.sessions[killed[0] - 1]
    assert carries(cut) and not cut.ended
    later = acs.sessions[killed[0]:]
    assert later and all(s.ended for s in later)
    for s in later:
        evs = events_of(s.inform or "")
        assert not carries(s), "reported again after acknowledgement:\n%s" % _log_tail(tmp_path)
        assert ("M Download", key) not in evs and ("7 TRANSFER COMPLETE", "") not in evs
    _check_reports(0, kind, key, acs.sessions)
    assert not [f for f in os.listdir(state) if f.endswith(".corrupt")]
