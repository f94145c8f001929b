"""Build the Debian package once per test run (tests/test_packaging_*.py).

The source tree is a copy of the files the build needs with
packaging/debian/ as debian/; ``dpkg-buildpackage -us -uc`` builds the
source and the arch-all binary package. lintian starts in the background
right after (it is slow to start) and test_packaging_lintian.py collects it.
"""

import atexit
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

# what a source tree holds for the build (the rest of the repository is not needed)
TREE = ("rocket", "etc", "build_zipapp.py", "README.md", "LICENSE", "setup.cfg")
_built = []


def installed(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", pkg], capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.endswith(" installed")


class Built:
    """path (.deb), dsc, dir, build_log, lintian (a Popen or None)."""


def build(tmp_path_factory):
    if _built:
        return _built[0]
    for tool in ("dpkg-buildpackage", "dh", "dpkg-deb"):
        if shutil.which(tool) is None:
            pytest.skip("%s is not installed (apt-get install dpkg-dev debhelper)" % tool)
    work = tmp_path_factory.mktemp("deb")
    src = work / "rocket-0.1.0"
    src.mkdir()
    for name in TREE:
        p = os.path.join(ROOT, name)
        if os.path.isdir(p):
            shutil.copytree(p, str(src / name), ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(p, str(src / name))
    shutil.copytree(os.path.join(ROOT, "packaging", "debian"), str(src / "debian"))
    env = dict(os.environ, PYTHON=sys.executable)
    args = ["dpkg-buildpackage", "-us", "-uc"]
    if not installed("python3-defusedxml"):
        # this test's interpreter (PYTHON) has defusedxml; Build-Depends
        # names the Debian package of it, which this host lacks
        args.append("-d")
    r = subprocess.run(args, cwd=str(src), env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    b = Built()
    b.dir = work
    b.path = str(work / "rocket_0.1.0_all.deb")
    b.dsc = str(work / "rocket_0.1.0.dsc")
    b.build_log = r.stdout + r.stderr
    assert os.path.exists(b.path), os.listdir(str(work))
    b.lintian = None
    if shutil.which("lintian"):
        b.lintian = subprocess.Popen(["lintian", "--fail-on", "error", "--display-level", ">=warning",
                                      b.path, b.dsc], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        atexit.register(_stop, b.lintian)
    _built.append(b)
    return b


def _stop(proc):
    if proc.poll() is None:
        proc.kill()
        proc.wait()
