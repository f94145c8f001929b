"""The init integration in etc/: the sysvinit script run for real, the
OpenWrt procd script under a stand-in rc.common, the systemd unit checked
with systemd-analyze and its ExecStart run against the loopback ACS."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from agentproc import state_file
from conftest import ROOT, write_conf
from test_openwrt_uci import SHELL_PARAMS, SHELLS, uci_file_to_show, uci_show

ETC = os.path.join(ROOT, "etc")


def events_of(inform):
    return re.findall(r"<EventCode>([^<]*)</EventCode>", inform)


# ------------------------------------------------------------------ sysvinit
@pytest.mark.parametrize("shell", SHELL_PARAMS)
def test_sysvinit_start_reload_restart_stop(acs, pyz, tmp_path, shell):
    conf = write_conf(tmp_path, acs.url, acs={"periodic_inform_interval": "3600"})
    pidfile = tmp_path / "run" / "rocket.pid"
    logfile = tmp_path / "rocket.base.log"
    env = dict(os.environ, PYTHON=sys.executable, PYZ=pyz, CONF=conf, PIDFILE=str(pidfile),
               LOGFILE=str(logfile))

    def init(action):
        return subprocess.run(shell + [os.path.join(ETC, "init.d", "rocket"), action],
                              capture_output=True, text=True, env=env, timeout=60)

    r = init("start")
    assert r.returncode == 0, r.stderr + logfile.read_text()
    pid = int(pidfile.read_text())
    try:
        assert acs.wait_sessions(1), logfile.read_text()
        assert "1 BOOT" in events_of(acs.sessions[0].inform)  # first start since this boot
        assert init("status").returncode == 0
        assert init("start").returncode == 0 and int(pidfile.read_text()) == pid  # no second agent

        write_conf(tmp_path, acs.url, acs={"periodic_inform_interval": "1"})
        assert init("reload").returncode == 0
        assert acs.wait_sessions(2, timeout=30), logfile.read_text()
        assert "2 PERIODIC" in events_of(acs.sessions[1].inform)
        assert int(pidfile.read_text()) == pid

        r = init("restart")
        assert r.returncode == 0, r.stderr
        pid2 = int(pidfile.read_text())
        assert pid2 != pid and not os.path.exists("/proc/%d" % pid)
        pid = pid2
        n = len(acs.sessions)
        assert acs.wait_sessions(n + 1, timeout=30), logfile.read_text()
        assert all("1 BOOT" not in events_of(s.inform) for s in acs.sessions[1:])
    finally:
        r = init("stop")
    assert r.returncode == 0, r.stderr
    assert not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split()[2] == "Z"
    assert not pidfile.exists()
    assert init("status").returncode == 3
    log = logfile.read_text()
    assert "Traceback" not in log
    assert state_file(str(tmp_path / "state"), "session")["bootstrapped_url"] == acs.url


# --------------------------------------------------------------------- procd
FAKE_RC_COMMON = r"""
# Stand-in for OpenWrt's /etc/rc.common + procd.sh: records the calls.
initscript=$1
action=$2
rec() { printf '%s' "$1" >>"$REC"; shift; for a in "$@"; do printf '\t%s' "$a" >>"$REC"; done; echo >>"$REC"; }
procd_open_instance() { rec open_instance "$@"; }
procd_set_param() { rec param "$@"; }
procd_close_instance() { rec close_instance; }
procd_send_signal() { rec send_signal "$@"; }
procd_add_reload_trigger() { rec reload_trigger "$@"; }
logger() { rec logger "$@"; }
config_load() { :; }
config_get() { eval "$1=\${FAKE_$2_$3-\$4}"; }
config_get_bool() { config_get "$@"; }
. "$initscript"
case $action in
start) start_service; service_triggers ;;
reload) reload_service ;;
esac
"""


@pytest.fixture
def procd(tmp_path):
    """Run etc/openwrt/rocket.init's start/reload with a stand-in procd and
    a stand-in uci; returns (run(action, uci_sections, **env), paths)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    show = tmp_path / "uci-show.txt"
    (bindir / "uci").write_text('#!/bin/sh\n[ "$*" = "-q show rocket" ] && exec cat "%s"\nexit 1\n' % show)
    (bindir / "uci").chmod(0o755)
    rc = tmp_path / "rc.common"
    rc.write_text(FAKE_RC_COMMON)
    conf = tmp_path / "var" / "etc" / "rocket.conf"
    script = tmp_path / "rocket.init"
    text = open(os.path.join(ETC, "openwrt", "rocket.init")).read()
    text = text.replace("UCI2INI=/usr/lib/rocket/uci2ini", "UCI2INI=" + os.path.join(ETC, "openwrt", "uci2ini"))
    text = text.replace("CONF=/var/etc/rocket.conf", "CONF=%s" % conf)
    text = text.replace("mkdir -p /var/etc", "mkdir -p %s" % conf.parent)
    assert str(conf) in text and str(conf.parent) in text
    script.write_text(text)
    record = tmp_path / "procd.txt"

    def run(action, sections, **fake):
        show.write_text(uci_show(sections))
        if record.exists():
            record.unlink()
        env = dict(os.environ, PATH="%s:%s" % (bindir, os.environ["PATH"]), REC=str(record))
        env.update(("FAKE_" + k, v) for k, v in fake.items())
        r = subprocess.run(SHELLS[-1] + [str(rc), str(script), action], capture_output=True,
                           text=True, env=env, timeout=30)
        calls = [line.split("\t") for line in record.read_text().splitlines()] if record.exists() else []
        return r, calls

    return run, conf


def test_procd_start_and_reload(acs, pyz, procd, tmp_path):
    run, conf = procd
    sections = uci_file_to_show(os.path.join(ETC, "openwrt", "rocket.uci"))
    for sid, _, opts in sections:
        for i, (k, v) in enumerate(opts):
            new = {("acs", "url"): acs.url, ("state", "dir"): str(tmp_path / "state"),
                   ("log", "target"): "stderr", ("connection_request", "port"): "0",
                   ("connection_request", "bind"): "127.0.0.1", ("connection_request", "interface"): "",
                   ("control", "socket"): "", ("acs", "ca_file"): "",
                   ("audit", "file"): str(tmp_path / "audit.log"),
                   ("backends", "dir"): os.path.join(ROOT, "rocket", "backends")}.get((sid, k))
            if new is not None:
                opts[i] = (k, new)
    r, calls = run("start", sections)
    assert r.returncode == 0, r.stderr
    params = {c[1]: c[2:] for c in calls if c[0] == "param"}
    assert params["command"] == ["python3", "-I", "-S", "/usr/lib/rocket/rocket.pyz", "-c", str(conf),
                                 "--boot", "auto"]
    assert params["respawn"] == ["3600", "5", "5"]
    assert params["reload_signal"] == ["HUP"]
    assert ["reload_trigger", "rocket"] in calls
    assert oct(os.stat(conf).st_mode & 0o777) == "0o600"  # it holds passwords

    # the command procd would run, with this test's interpreter and zipapp
    argv = [sys.executable] + params["command"][1:]
    argv[argv.index("/usr/lib/rocket/rocket.pyz")] = pyz
    p = subprocess.run(argv + ["--once"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "1 BOOT" in events_of(acs.sessions[0].inform)
    p = subprocess.run(argv + ["--once"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "1 BOOT" not in events_of(acs.sessions[1].inform)  # same boot: a respawn

    # reload: the file is regenerated, then SIGHUP through procd
    sections[1][2][:] = [(k, v) for k, v in sections[1][2] if k != "periodic_inform_interval"] + \
        [("periodic_inform_interval", "600")]
    r, calls = run("reload", sections)
    assert r.returncode == 0, r.stderr
    assert calls == [["send_signal", "rocket", "*", "HUP"]]
    assert "periodic_inform_interval = 600" in conf.read_text()


def test_procd_disabled_starts_nothing(procd):
    run, conf = procd
    r, calls = run("start", [("acs", "acs", [("url", "http://127.0.0.1:1/")])], service_enabled="0")
    assert r.returncode == 0, r.stderr
    assert not any(c[0] == "open_instance" for c in calls)


# ------------------------------------------------------------------- systemd
UNIT = os.path.join(ETC, "systemd", "rocket.service")


def unit_values(key):
    out = []
    for line in open(UNIT):
        if line.startswith(key + "="):
            out.append(line.rstrip("\n").split("=", 1)[1])
    return out


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_systemd_unit_verifies():
    r = subprocess.run(["systemd-analyze", "verify", UNIT], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "rocket.service" not in r.stderr, r.stderr  # no warnings about our unit


def test_systemd_unit_hardening_and_execstart(acs, pyz, tmp_path):
    assert unit_values("CapabilityBoundingSet") == [""]
    assert unit_values("ProtectSystem") == ["strict"]
    assert unit_values("NoNewPrivileges") == ["yes"]
    assert unit_values("RestrictAddressFamilies") == ["AF_UNIX AF_INET AF_INET6 AF_NETLINK"]
    assert unit_values("ExecReload") == ["/bin/kill -HUP $MAINPID"]
    argv = unit_values("ExecStart")[0].split()
    assert argv[:3] == ["/usr/bin/python3", "-I", "-S"]
    conf = write_conf(tmp_path, acs.url)
    swap = {"/usr/bin/python3": sys.executable, "/usr/lib/rocket/rocket.pyz": pyz,
            "/etc/rocket/rocket.conf": conf, "/var/lib/rocket": str(tmp_path / "sd-state")}
    argv = [swap.get(a, a) for a in argv]
    p = subprocess.run(argv + ["--once"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert {"0 BOOTSTRAP", "1 BOOT"} <= set(events_of(acs.sessions[0].inform))
    assert os.path.exists(tmp_path / "sd-state" / "boot.json")


# ------------------------------------------------ init scripts report failures
@pytest.mark.parametrize("shell", SHELL_PARAMS)
def test_sysvinit_failed_start_prints_its_reason(pyz, tmp_path, shell):
    conf = write_conf(tmp_path, "http://127.0.0.1:notaport/acs")
    env = dict(os.environ, PYTHON=sys.executable, PYZ=pyz, CONF=conf,
               PIDFILE=str(tmp_path / "run" / "rocket.pid"), LOGFILE=str(tmp_path / "rocket.log"))
    r = subprocess.run(shell + [os.path.join(ETC, "init.d", "rocket"), "start"], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 1
    assert "failed to start" in r.stderr and "[acs] url" in r.stderr and "notaport" in r.stderr, r.stderr


def test_sysvinit_default_logfile_keeps_the_reasons():
    with open(os.path.join(ETC, "init.d", "rocket")) as f:
        m = re.search(r'^: "\$\{LOGFILE:=([^}]*)\}"', f.read(), re.M)
    assert m and m.group(1) != "/dev/null" and m.group(1).startswith("/var/log/")


def test_systemd_audit_file_is_visible_outside_private_tmp():
    """PrivateTmp=yes gives the agent its own /tmp: the default audit file
    must live where an admin shell's `ctl audit` reads the same file."""
    from rocket.base.config import DEFAULTS
    audit = DEFAULTS["audit"]["file"]
    assert unit_values("PrivateTmp") == ["yes"]
    assert not audit.startswith(("/tmp/", "/var/tmp/"))
    (rundir,) = unit_values("RuntimeDirectory")
    assert audit.replace("/var/run/", "/run/").startswith("/run/%s/" % rundir)
    assert unit_values("RuntimeDirectoryPreserve") == ["yes"]  # `ctl audit` after a stop


def test_systemd_documentation_is_a_file_that_gets_installed():
    (doc,) = unit_values("Documentation")
    assert doc.startswith("file:")
    path = doc[len("file:"):]
    name = os.path.basename(path)
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    assert re.search(r"install .*\b%s\s+%s" % (re.escape(name), re.escape(path)), readme), \
        "README's Debian steps must install " + path
    with open(os.path.join(ROOT, "packaging", "debian", "docs")) as f:
        assert name in f.read().split()  # the package installs it ...
    with open(os.path.join(ROOT, "packaging", "debian", "rules")) as f:
        assert "dh_compress -X %s" % name in f.read()  # ... under that name, not as .gz
    assert path == "/usr/share/doc/rocket/" + name
