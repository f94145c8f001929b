"""State files: validated on load, a previous generation kept and used when
the current one is damaged, temp files of interrupted writes removed, one
agent per state directory."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from agentproc import AgentProcess
from conftest import ROOT, run_pyz, write_conf
from rocket.base.statedir import StateDir, StateLocked, shape

WRONG = ["null", "[]", "42", '"s"', "[[1,2]]", '{"a": {"b": 1}}', "[1, 2]"]
# every state file the agent reads at start, with one valid document
FILES = {
    "boot": {"boot_id": "x"},
    "events": [["1 BOOT", ""]],
    "changed": ["Device.ManagementServer.URL"],
    "params": {"key": "k", "attrs": {"Device.ManagementServer.URL": [2, ["Subscriber"]]}},
    "overrides": {"PeriodicInformInterval": ["600", "3600"]},
    "session": {"bootstrapped_url": "http://x/", "versions": {}},
    "transfers": {"seq": 1, "transfers": [], "informs": [], "reboot": None, "reset": None},
    "connreq": {"port": 7547},
    "informparams": {"last": 0, "rows": {}},
    "notify": {"baseline": {}},
    "udpcr": {"last_ts": 0},
    "xmpp": {"jid": "a@b/c"},
    "static": {"values": {}, "added": [], "deleted": []},
}
SPECS = {"boot": {"boot_id": str}, "events": [[str, str]], "changed": [str]}


def test_shape_checker():
    assert shape({"a": 1}, dict) and not shape([], dict) and not shape(True, int)
    assert shape([["a", "b"]], [[str, str]]) and not shape([[1, 2]], [[str, str]])
    assert not shape([["a"]], [[str, str]]) and shape([], [[str, str]])
    assert shape({"k": [1, ["x"]]}, {"*": [int, [str]]}) and not shape({"k": 5}, {"*": [int, [str]]})
    assert shape({"x": None}, {"x": (str, type(None))}) and not shape({"x": 3}, {"x": (str, type(None))})
    assert shape({}, {"x": str})  # listed keys are checked when present


@pytest.mark.parametrize("doc", WRONG)
def test_wrong_shape_is_moved_aside_and_default_used(tmp_path, doc, caplog):
    sd = StateDir(str(tmp_path))
    for name in ("boot", "events", "changed"):
        (tmp_path / (name + ".json")).write_text(doc)
    for name, default in (("boot", {}), ("events", []), ("changed", [])):
        v = sd.load(name, default, SPECS[name])
        valid = shape(json.loads(doc), SPECS[name])
        assert v == (json.loads(doc) if valid else default)
        assert (tmp_path / (name + ".json.corrupt")).exists() == (not valid)


@pytest.mark.parametrize("doc", ["null", "[[1,2]]", '"s"', "42", "{\"seq\": "])
def test_agent_starts_with_every_state_file_damaged(acs, make_agent, tmp_path, doc, caplog):
    state = tmp_path / "state"
    state.mkdir()
    for name in FILES:
        (state / (name + ".json")).write_text(doc)
    agent = make_agent(acs.url)
    assert agent.run() == 0, agent.last_result
    moved = sorted(n[:-len(".json.corrupt")] for n in os.listdir(state) if n.endswith(".corrupt"))
    # the agent's core reads these at every start
    for name in ("events", "changed", "params", "overrides", "session", "transfers", "connreq",
                 "informparams"):
        assert name in moved, (name, moved)
    assert "lost:" in caplog.text


def test_zipapp_starts_with_wrong_shapes_everywhere(pyz, acs, tmp_path):
    """The real start (cli: --boot auto reads boot.json) with every file of
    the wrong shape: a session, not a crash at every start."""
    conf = write_conf(tmp_path, acs.url)
    state = tmp_path / "state"
    state.mkdir()
    for name in FILES:
        (state / (name + ".json")).write_text("[[1,2]]")
    r = run_pyz(pyz, conf, "--once", "--boot", "auto")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert (state / "boot.json.corrupt").exists()


# ------------------------------------------------------------ generations
def test_previous_generation_is_kept_and_recovered(tmp_path, caplog):
    sd = StateDir(str(tmp_path))
    sd.save("events", [["1 BOOT", ""]])
    sd.save("events", [["1 BOOT", ""], ["4 VALUE CHANGE", ""]])
    assert json.loads((tmp_path / "events.json.1").read_text()) == [["1 BOOT", ""]]
    p = tmp_path / "events.json"
    p.write_bytes(p.read_bytes()[:9])  # torn by something outside our control
    got = StateDir(str(tmp_path)).load("events", [], [[str, str]])
    assert got == [["1 BOOT", ""]]
    lines = [r.getMessage() for r in caplog.records if "events.json" in r.getMessage()]
    assert len(lines) == 1
    assert "recovered from" in lines[0] and "lost: the change saved at" in lines[0]
    assert "pending events" in lines[0]


def test_wrong_shape_falls_back_to_previous_generation(tmp_path):
    sd = StateDir(str(tmp_path))
    sd.save("params", {"key": "k1", "attrs": {}})
    sd.save("params", {"key": "k2", "attrs": {}})
    (tmp_path / "params.json").write_text("[[1,2]]")
    assert StateDir(str(tmp_path)).load("params", {}) == {"key": "k1", "attrs": {}}


def test_both_generations_damaged_says_what_was_lost(tmp_path, caplog):
    sd = StateDir(str(tmp_path))
    sd.save("events", [["1 BOOT", ""]])
    sd.save("events", [["2 PERIODIC", ""]])
    (tmp_path / "events.json").write_text("{")
    (tmp_path / "events.json.1").write_text("null")
    assert StateDir(str(tmp_path)).load("events", [], [[str, str]]) == []
    lines = [r.getMessage() for r in caplog.records if "events.json" in r.getMessage()]
    assert len(lines) == 1 and "lost: pending events" in lines[0], lines


def test_recovered_generation_survives_the_next_save(tmp_path):
    sd = StateDir(str(tmp_path))
    sd.save("events", [["1 BOOT", ""]])
    sd.save("events", [["1 BOOT", ""], ["2 PERIODIC", ""]])
    (tmp_path / "events.json").write_text("x")
    sd = StateDir(str(tmp_path))
    assert sd.load("events", []) == [["1 BOOT", ""]]
    sd.save("events", [["1 BOOT", ""], ["6 CONNECTION REQUEST", ""]])
    assert json.loads((tmp_path / "events.json.1").read_text()) == [["1 BOOT", ""]]


def test_interrupted_write_between_renames_is_recovered(tmp_path):
    """A power cut after NAME.json became NAME.json.1 and before the temp
    file took its place: the previous generation is used, the temp removed."""
    sd = StateDir(str(tmp_path))
    sd.save("events", [["1 BOOT", ""]])
    os.replace(tmp_path / "events.json", tmp_path / "events.json.1")
    (tmp_path / "events.json.tmp4242").write_text('[["1 BOOT", ""], ["2 PERI')
    sd = StateDir(str(tmp_path))
    sd.lock()
    assert not (tmp_path / "events.json.tmp4242").exists()
    assert sd.load("events", []) == [["1 BOOT", ""]]


WRITER = r"""
import sys
sys.path.insert(0, %r)
from rocket.base.statedir import StateDir
sd = StateDir(sys.argv[1])
i = 0
sys.stdout.write("go\n"); sys.stdout.flush()
while True:
    i += 1
    sd.save("events", [["%%d EVENT" %% i, "k" * (i %% 500)]] * (1 + i %% 7))
"""


def test_kill_9_during_saves_always_leaves_a_whole_generation(tmp_path):
    """kill -9 at random points of a stream of saves: the next load always
    finds a whole document, never the default and never a log of loss."""
    rng = random.Random(7)
    d = str(tmp_path / "s")
    for _ in range(25):
        p = subprocess.Popen([sys.executable, "-c", WRITER % ROOT, d], stdout=subprocess.PIPE)
        p.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.05))
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
        sd = StateDir(d)
        sd.lock()
        got = sd.load("events", None, [[str, str]])
        assert got, os.listdir(d)
        assert not any(n.endswith(".corrupt") or ".tmp" in n for n in os.listdir(d))
        os.close(sd._lock_fd)


# ------------------------------------------------------------- temp files
def test_temp_files_of_interrupted_writes_are_removed(tmp_path):
    (tmp_path / "events.json.tmp123").write_text("[")
    (tmp_path / "spool").mkdir()
    (tmp_path / "spool" / "tc-1.json.tmp77").write_text("{")
    (tmp_path / "notes.tmpx").write_text("keep")
    (tmp_path / "events.json").write_text("[]")
    StateDir(str(tmp_path)).lock()
    left = sorted(os.listdir(tmp_path)) + sorted(os.listdir(tmp_path / "spool"))
    assert left == ["events.json", "lock", "notes.tmpx", "spool"]


def test_zipapp_start_removes_temp_files(pyz, acs, tmp_path):
    conf = write_conf(tmp_path, acs.url)
    state = tmp_path / "state"
    state.mkdir()
    for i in range(9):
        (state / ("events.json.tmp%d" % (1000 + i))).write_text("[")
    r = run_pyz(pyz, conf, "--once")
    assert r.returncode == 0, r.stderr
    assert not [n for n in os.listdir(state) if ".tmp" in n]


# ------------------------------------------------------------------- lock
def test_second_lock_on_same_dir_is_refused(tmp_path):
    a = StateDir(str(tmp_path))
    a.lock()
    with pytest.raises(StateLocked):
        StateDir(str(tmp_path)).lock()
    os.close(a._lock_fd)
    StateDir(str(tmp_path)).lock()


def test_second_agent_on_same_state_dir_exits_2(pyz, acs, tmp_path):
    conf = write_conf(tmp_path, acs.url)
    with AgentProcess(pyz, conf) as first:
        assert first.wait_log("starting"), first.text()
        r = run_pyz(pyz, conf, "--once", timeout=30)
        assert r.returncode == 2, (r.returncode, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "in use by another agent" in lines[0], r.stderr
        assert str(tmp_path / "state") in lines[0]
        assert first.proc.poll() is None
        first.signal(signal.SIGTERM)
        assert first.wait() == 0
    r = run_pyz(pyz, conf, "--once")  # the lock went with the first agent
    assert r.returncode == 0, r.stderr
