"""Shared fixtures: a real loopback ACS, configuration files, the agent."""

import configparser
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from rocket.devacs import Acs  # noqa: E402

SHARED = os.path.join(os.path.dirname(ROOT), "shared")  # BBF files, in CI beside the clone
DEVICES = os.path.join(ROOT, "tests", "fixtures", "devices")  # real routers' dumps (MIT, see there)


def need_shared(*parts):
    """The path of a file from ../shared (the Broadband Forum's XSDs and XML,
    which cannot live in this repository), or skip naming what is missing."""
    path = os.path.join(SHARED, *parts)
    if not os.path.exists(path):
        pytest.skip("needs %s (not in the repository; CI provides ../shared beside the clone)" % path)
    return path


def have(tool):
    """Is the command ``tool`` installed (on PATH or in /bin)?"""
    import shutil
    return bool(shutil.which(tool) or os.path.exists("/bin/" + tool))


def tool_param(value, tool, id=None, reason=None):
    """A parametrize value that needs ``tool``: reported as skipped (not left
    out of the collection) where the tool is missing."""
    return pytest.param(value, id=id or tool, marks=pytest.mark.skipif(
        not have(tool), reason=reason or "%s not installed" % tool))


def find_python(version):
    """An interpreter of ``version`` ("3.8") that really runs, found portably:
    $ROCKET_TEST_PYTHON<major><minor>, pythonX.Y on PATH, or a pyenv
    installation ($PYENV_ROOT or ~/.pyenv). None if there is none."""
    import glob
    import shutil
    cands = [os.environ.get("ROCKET_TEST_PYTHON" + version.replace(".", "")), shutil.which("python" + version)]
    for root in (os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv")):
        if root:
            cands += sorted(glob.glob(os.path.join(root, "versions", version + ".*", "bin", "python3")),
                            reverse=True)
    for py in cands:
        if py and _runs_as(py, version):
            return py
    return None


def _runs_as(py, version):
    try:
        r = subprocess.run([py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0 and r.stdout.strip() == version


@pytest.fixture
def acs():
    a = Acs().start()
    yield a
    a.stop()


def _cr_port(tmp_path):
    """A free TCP port, the same for every agent started from ``tmp_path``
    (a restart must not look like a ConnectionRequestURL change)."""
    import socket
    f = tmp_path / ".crport"
    if f.exists():
        return int(f.read_text())
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    f.write_text(str(port))
    return port


def write_conf(tmp_path, url, **sections):
    """An INI file for the agent; ``sections`` = {"acs": {"key": "value"}}."""
    cfg = configparser.ConfigParser(interpolation=None)
    cfg["acs"] = {"url": url, "periodic_inform_interval": "3600", "session_timeout": "10"}
    cfg["cpe"] = {"manufacturer": "Test Co", "oui": "00AA11", "product_class": "TestBox",
                  "serial_number": "TB-0001", "software_version": "1.0.0"}
    cfg["connection_request"] = {"port": str(_cr_port(tmp_path)), "bind": "127.0.0.1", "username": "cr-user",
                                 "password": "cr-pass"}
    cfg["backends"] = {"dir": str(tmp_path / "backends")}
    cfg["state"] = {"dir": str(tmp_path / "state")}
    cfg["audit"] = {"file": str(tmp_path / "audit" / "audit.log")}
    for sec, kv in sections.items():
        if not cfg.has_section(sec):
            cfg.add_section(sec)
        for k, v in kv.items():
            cfg[sec][k] = str(v)
    os.makedirs(tmp_path / "backends", exist_ok=True)
    path = tmp_path / "rocket.conf"
    with open(path, "w") as f:
        cfg.write(f)
    return str(path)


@pytest.fixture
def make_agent(tmp_path):
    """Build an in-process Agent against an ACS URL (use agent.run())."""
    from rocket.agent import Agent
    from rocket.base.config import Config

    def make(url, boot=True, once=True, install=True, **sections):
        conf = write_conf(tmp_path, url, **sections)
        agent = Agent(Config.load(conf), boot=boot, once=once)
        if install:
            from rocket import plugins
            plugins.install(agent)
        return agent

    return make


@pytest.fixture(scope="session")
def pyz(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist") / "rocket.pyz"
    subprocess.check_call([sys.executable, os.path.join(ROOT, "build_zipapp.py"), "--output", str(out)],
                          stdout=subprocess.DEVNULL)
    return str(out)


def run_pyz(pyz, conf, *args, timeout=60, python=None):
    """Run the zipapp the way a router does: python3 -I -S rocket.pyz ..."""
    return subprocess.run([python or sys.executable, "-I", "-S", pyz, "-c", conf] + list(args),
                          capture_output=True, text=True, timeout=timeout)
