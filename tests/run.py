#!/usr/bin/env python3
"""The whole test suite, from a fresh machine: ``python3 tests/run.py``.

Creates ./.venv if needed (bootstrapping pip from PyPI when the system
Python has no ensurepip, as on a bare Debian), installs the test tools from
tests/requirements.txt, checks the Python 3.8 floor of rocket/ with vermin,
then runs pytest. Extra arguments go to pytest (e.g. ``-k digest``).
"""

import json
import os
import subprocess
import sys
import tempfile
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv")
PY = os.path.join(VENV, "bin", "python")


def sh(*cmd, **kw):
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT, **kw)


def ensure_venv():
    if os.path.exists(PY) and subprocess.call([PY, "-m", "pip", "--version"],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
        return
    if sh(sys.executable, "-m", "venv", VENV) == 0:
        return
    # No ensurepip (Debian without python3-venv): a venv without pip, then
    # pip itself from its wheel on PyPI.
    if sh(sys.executable, "-m", "venv", "--without-pip", "--clear", VENV) != 0:
        sys.exit("tests/run.py: cannot create a virtual environment")
    from urllib.parse import urljoin
    index = "https://pypi.org/pypi/pip/json"
    meta = json.load(urllib.request.urlopen(index, timeout=60))
    wheel = [u for u in meta["urls"] if u["filename"].endswith(".whl")][0]
    wheel["url"] = urljoin(index, wheel["url"])  # some mirrors answer with relative links
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, wheel["filename"])
        with open(path, "wb") as f:
            f.write(urllib.request.urlopen(wheel["url"], timeout=120).read())
        if sh(PY, os.path.join(path, "pip"), "install", "-q", path) != 0:
            sys.exit("tests/run.py: cannot install pip into the virtual environment")


def main():
    ensure_venv()
    if sh(PY, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r",
          os.path.join("tests", "requirements.txt")) != 0:
        return 1
    if sh(os.path.join(VENV, "bin", "vermin"), "-t=3.8-", "--no-tips", "--violations",
          "--eval-annotations", "rocket") != 0:
        print("tests/run.py: rocket/ needs a newer Python than 3.8 (see vermin above)")
        return 1
    # A test that fails is run once more before it counts (pytest-rerunfailures):
    # the suite drives real daemons, namespaces and sockets on a 2-core machine,
    # and a timing hiccup must not hide the rest of the run. Every rerun is
    # reported in pytest's summary line ("N rerun"): a test that needs one is
    # flaky and gets fixed; one that fails twice fails the run.
    rc = sh(PY, "-m", "pytest", "-q", "--reruns", "1", "-r", "R", *sys.argv[1:])
    if rc == 5:
        print("tests/run.py: pytest collected no tests")
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
