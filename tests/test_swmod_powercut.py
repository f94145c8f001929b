"""Power cuts during ChangeDUState: the zipapp agent is killed with SIGKILL
at random points (while the package downloads, while dpkg runs, between the
result and the report, inside the reporting session) and started again
(with --boot) until everything is reported. Checks, per run:

- the journal (duops.json) and every state file always parse (no
  ``*.corrupt`` file ever appears);
- a DUStateChangeComplete with the request's CommandKey goes out (at most
  one per session, always with "11 DU STATE CHANGE COMPLETE" and
  "M ChangeDUState" + key), and once its acknowledgement is known to have
  reached the agent it is never sent again, nor are its events;
- what it says is true: an operation reported with FaultCode 0 left its
  package installed in dpkg's database, a failed one did not;
- at the end nothing is pending (journal and events empty).

ROCKET_SWMOD_POWERCUT_RUNS sets the number of runs (4 by default; the bench
may use more), ROCKET_POWERCUT_SEED the random seed.
"""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import write_conf
from fileserver import FileServer
from swmod_util import build_deb, cdus, dpkg_root, link_backends, op
from transfer_util import events_of

pytestmark = pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="dpkg-deb is needed (.ci/apt.d/swmod.txt)")
RUNS = int(os.environ.get("ROCKET_SWMOD_POWERCUT_RUNS", "4"))


def _start(pyz, conf):
    with open(os.path.join(os.path.dirname(conf), "agent.log"), "ab") as log:
        log.write(b"--- start\n")
        log.flush()
        return subprocess.Popen([sys.executable, "-I", "-S", pyz, "-c", conf, "--boot"],
                                stdout=subprocess.DEVNULL, stderr=log)


def _tail(d):
    with open(os.path.join(str(d), "agent.log"), "rb") as f:
        return f.read().decode("utf-8", "replace")[-5000:]


def _load(path, default):
    """A state document as the agent would load it: a cut between the two
    renames of a save leaves only the previous generation, PATH.1."""
    for p in (path, path + ".1"):
        try:
            with open(p) as f:
                return json.load(f)
        except FileNotFoundError:
            pass
    return default


def _quiet(state, acs):
    j = _load(os.path.join(state, "duops.json"), {"ops": []})
    evs = _load(os.path.join(state, "events.json"), [])
    return not j["ops"] and not evs and acs.sessions and acs.sessions[-1].ended


def _acked_in(sess, marker):
    """The agent is known to have received the answer to the POST carrying
    ``marker``: it posted again in that session."""
    for i, x in enumerate(sess.exchanges):
        if marker in x.request.decode("utf-8", "replace"):
            return i + 1 < len(sess.exchanges)
    return False


def _installed(root, name):
    r = subprocess.run(["dpkg-query", "--admindir=%s/var/lib/dpkg" % root, "-W", "-f", "${db:Status-Abbrev}",
                        name], capture_output=True, text=True)
    return r.stdout.startswith("ii")


def _one_run(n, pyz, acs, files, tmp, rng):
    acs.sessions = []
    key = "cd-%d" % n
    d = tmp / ("run%d" % n)
    d.mkdir()
    root = dpkg_root(str(d / "root"))
    link_backends(str(d / "backends"))
    state = str(d / "state")
    rpc = cdus([op("Install", URL=files.url("/small.deb")), op("Install", URL=files.url("/big.deb")),
                op("Install", URL=files.url("/missing.deb"))], key=key)
    acs.queue = [rpc]
    conf = write_conf(d, acs.url, acs={"periodic_inform_enable": "false", "session_timeout": "5"},
                      transfer={"download_dir": str(d / "dl"), "timeout": "5"},
                      software={"enable": "true", "systems": "dpkg", "root": root, "poll_interval": "0"})
    kill_at = rng.uniform(0.2, 3.0)
    p = _start(pyz, conf)
    t0 = time.time()
    killed = False
    seen = 0  # ACS sessions before the latest start: every start is a boot, so a session follows it
    deadline = time.time() + 40
    while True:
        assert time.time() < deadline, "run %d (kill at %.2f) did not settle\n%s" % (n, kill_at, _tail(d))
        if not killed and (time.time() - t0 >= kill_at or _quiet(state, acs)):
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait()
            killed = True
            if not any(s.answers for s in acs.sessions):
                acs.queue = [rpc]  # never answered: the ACS asks again
            seen = len(acs.sessions)
            p = _start(pyz, conf)
            continue
        rc = p.poll()
        if rc is not None:
            assert rc in (0, -9), _tail(d)
            seen = len(acs.sessions)
            p = _start(pyz, conf)
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
    assert not [f for f in os.listdir(state) if f.endswith(".corrupt")], _tail(d)
    acked = False
    reports = []
    for i, s in enumerate(acs.sessions):
        evs = events_of(s.inform or "")
        mine = [r for r in s.cpe_requests if "<cwmp:DUStateChangeComplete>" in r and
                "<CommandKey>%s</CommandKey>" % key in r]
        where = "run %d, session %d of %d" % (n, i + 1, len(acs.sessions))
        has = ("M ChangeDUState", key) in evs
        assert not (acked and (mine or has or ("11 DU STATE CHANGE COMPLETE", "") in evs)), \
            "%s: reported again after acknowledgement\n%s" % (where, _tail(d))
        assert len(mine) <= 1, where
        if mine:
            assert has and ("11 DU STATE CHANGE COMPLETE", "") in evs, where
            reports.append(mine[0])
            acked = _acked_in(s, "<cwmp:DUStateChangeComplete>")
        elif has:
            assert not s.ended, "%s: a clean session had the event but no report" % where
    assert reports, "run %d: never reported (journal %s, events %s, sessions %s)\n%s" % (
        n, _load(os.path.join(state, "duops.json"), None), _load(os.path.join(state, "events.json"), None),
        [(s.ended, len(s.answers)) for s in acs.sessions], _tail(d))
    for rep in reports:
        codes = [int(c) for c in re.findall(r"<FaultCode>(\d+)</FaultCode>", rep)]
        assert len(codes) == 3 and codes[2] == 9016, codes
        for name, code in zip(("small-tool", "big-tool"), codes):
            assert _installed(root, name) == (code == 0), (n, name, code, _tail(d))
    return len(acs.sessions)


def test_power_cuts_during_change_du_state(acs, pyz, tmp_path):
    files = FileServer().start()
    files.files["/small.deb"] = build_deb(str(tmp_path), "small-tool", "1.0")
    files.files["/big.deb"] = build_deb(str(tmp_path), "big-tool", "1.0", payload=400 * 1024)
    files.delay["/big.deb"] = 0.04
    rng = random.Random(int(os.environ.get("ROCKET_POWERCUT_SEED", "7")))
    try:
        sessions = sum(_one_run(n, pyz, acs, files, tmp_path, rng) for n in range(RUNS))
    finally:
        files.stop()
    assert sessions >= 2 * RUNS
