"""The agent on the standard library an OpenWrt router has with the
Makefile's DEPENDS, and nothing more.

A copy of the interpreter is given a standard library holding only the
modules of the OpenWrt python3 sub-packages the Makefile names (and those
they pull in: packaging/pydeps/openwrt-24.10.json), with frozen modules
off, so a module from any other sub-package cannot be found. Every feature
then runs on it (tests/pkgtrace.py: TLS, Digest, transfers, XMPP, STUN,
audit, policy, ctl).
"""

import subprocess
import sysconfig

import pytest

from test_packaging_deps import OPTIONAL, result

@pytest.fixture(scope="module")
def pruned(pyz, tmp_path_factory):
    return result(pyz, tmp_path_factory, "pruned")


def _run(exe, code):
    return subprocess.run([exe, "-I", "-S", "-X", "frozen_modules=off", "-c", code], capture_output=True,
                          text=True)


def test_pruned_stdlib_is_really_pruned(pruned):
    r = _run(pruned["exe"], "import sys, os; print(sys.prefix); print(os.__file__)")
    assert r.returncode == 0, r.stderr
    prefix, os_file = r.stdout.split()
    assert os_file.startswith(pruned["lib"]), os_file
    # a module of a sub-package the Makefile does not name cannot be imported
    split = pruned["split"]
    for m in ("logging", "lzma", "sqlite3", "decimal", "asyncio", "unittest", "ctypes"):
        assert split.owner(m) not in pruned["keep"], m
        r = _run(pruned["exe"], "import %s" % m)
        assert r.returncode != 0 and "ModuleNotFoundError" in r.stderr, (m, r.stderr)
    # what the Makefile names is there
    for m in ("ssl", "hashlib", "http.client", "xml.etree.ElementTree", "email.parser", "urllib.parse",
              "json", "subprocess", "selectors"):
        r = _run(pruned["exe"], "import %s" % m)
        assert r.returncode == 0, (m, r.stderr)
    for m in OPTIONAL:
        assert m not in pruned["copied"]


def test_every_feature_runs_on_the_pruned_stdlib(pruned):
    modules, log = pruned["modules"], pruned["log"]
    assert "Traceback" not in log and "No module named" not in log, log
    assert "session: end ok" in log
    # the run used the pruned tree only
    assert "ssl" in modules and "_ssl" in modules
    # TLS without the idna codec: ASCII server names go to ssl as bytes
    assert "unicodedata" not in modules and "encodings.idna" not in modules
    assert not [m for m in modules if pruned["split"].owner(m) not in pruned["keep"]
                and pruned["split"].owner(m) not in ("libpython3", None)]


def test_the_host_stdlib_is_not_what_the_pruned_interpreter_sees(pruned):
    host = sysconfig.get_paths()["stdlib"]
    r = _run(pruned["exe"], "import sys; print('\\n'.join(p for p in sys.path if p))")
    assert r.returncode == 0, r.stderr
    assert not [p for p in r.stdout.split() if p.startswith(host)], r.stdout
