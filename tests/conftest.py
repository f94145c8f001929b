"""Shared fixtures: a real loopback ACS, configuration files, the agent."""

import configparser
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from rocket.devacs import Acs  # noqa: E402

SHARED = os.path.join(os.path.dirname(ROOT), "shared")


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
    from rocket.config import Config

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
