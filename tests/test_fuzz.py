"""A short run of every fuzz target (fuzz/): seeds plus a few hundred
mutations each, no crash and no hang. The long campaigns are run by hand
(fuzz/README.md)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fuzz"))

import run as fuzz_run  # noqa: E402
from targets import TARGETS, Broken  # noqa: E402

N = {"state": 150}  # writes files: slower per input


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_short_fuzz_run(name, tmp_path):
    t = TARGETS[name]
    assert os.listdir(t.seeds), "no seeds for %s" % name
    r = fuzz_run.run_plain(t, N.get(name, 400), seed=3, timeout=5.0, out_dir=str(tmp_path),
                           progress=0)
    assert r["crashes"] == 0 and r["hangs"] == 0, (r, os.listdir(tmp_path))


REGRESSIONS = os.path.join(os.path.dirname(fuzz_run.HERE), "fuzz", "regressions")


@pytest.mark.parametrize("path", sorted(
    os.path.join(d, f) for d in (os.path.join(REGRESSIONS, t) for t in TARGETS)
    if os.path.isdir(d) for f in os.listdir(d)))
def test_inputs_the_campaigns_found_are_handled(path):
    """fuzz/regressions/TARGET/*: inputs that once crashed a target."""
    t = TARGETS[os.path.basename(os.path.dirname(path))]
    with open(path, "rb") as f:
        data = f.read()
    try:
        t.func()(data)
    except Exception as e:  # noqa: B902
        assert not isinstance(e, Broken) and fuzz_run._expected(e, t.expected), repr(e)


def test_driver_reports_a_crash_and_a_hang(tmp_path):
    """The driver itself: an undocumented exception is a crash, a slow input a hang."""
    def make():
        def run(data):
            if b"!" in data:
                raise KeyError("boom")
            if b"?" in data:
                import time
                time.sleep(1.0)
            if b"#" in data:
                raise Broken("wrong answer")
        return run
    t = fuzz_run.TARGETS["soap"].__class__("selftest", make, ("ValueError",), "self test")
    t.seeds = str(tmp_path / "seeds")
    os.makedirs(t.seeds)
    for i, s in enumerate((b"!", b"?", b"#", b"ok")):
        (tmp_path / "seeds" / str(i)).write_bytes(s)
    r = fuzz_run.run_plain(t, 4, seed=1, timeout=0.2, out_dir=str(tmp_path / "out"), progress=0)
    assert r["hangs"] == 1 and r["crashes"] == 2, r
    assert len(os.listdir(tmp_path / "out" / "selftest")) == 3


def test_targets_leave_no_global_change():
    """The suite runs other tests after these: no patched socket factory, no
    silenced log may stay behind."""
    from rocket.base.log import log
    from rocket.net import httpclient
    before = (httpclient.socket, log.target, log.level)
    for t in TARGETS.values():
        run = t.func()
        for data in (b"", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"):
            try:
                run(data)
            except Exception:  # noqa: B902 (only the side effects matter here)
                pass
    assert (httpclient.socket, log.target, log.level) == before


def test_backend_name_longer_than_256_is_garbage():
    """Found by the records campaign: a deep path (thousands of levels) cost
    n^2 in creating its objects; TR-106 names are at most 256 characters."""
    from rocket.cwmp.soap import CwmpFault
    from rocket.datamodel.backend import Manifest, ScriptBackend
    from rocket.datamodel.store import Store
    be = ScriptBackend("t", "/bin/false", Manifest.parse("prefix Device.X_F.\n"), loop=None)
    store = Store()
    ok = "Device.X_F." + "a." * 100 + "P"
    be._put(store, [[ok, "v"]], "get")
    assert ok in store.nodes
    store = Store()
    with pytest.raises(CwmpFault):
        be._put(store, [["Device.X_F." + "1." * 3000 + "P", "v"]], "get")
    assert not store.nodes
