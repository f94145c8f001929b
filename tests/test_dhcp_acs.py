"""ACS discovery through DHCP (TR-069 3.1): the hook scripts' decoding, the
agent's rules (the owner's configuration wins), and a real exchange: dnsmasq
sends option 43 in a network namespace, busybox udhcpc runs dhcp-udhcpc."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from peers import stop
from test_transfer_hooks import SHELLS
from rocket.owner import ctl
from transfer_util import drive, ended, events_of

HOOKS = os.path.join(ROOT, "rocket", "backends", "hooks")
PC = "Device.DeviceInfo.ProvisioningCode"


def control(a):
    return [s for s in a.services if isinstance(s, ctl.ControlServer)][0]


def quiet(a):
    return not a.in_session and a.session_timer is None


def agent(make_agent, url, **acs):
    acs.setdefault("periodic_inform_enable", "false")
    return make_agent(url, once=False, acs=acs)


def audits(tmp_path, a):
    a.audit.flush()
    path = tmp_path / "audit" / "audit.log"
    return [json.loads(x) for x in path.read_text().splitlines() if '"dhcp_acs"' in x]


def offer(a, url, **more):
    items = ["url=" + url, "source=test"] + ["%s=%s" % kv for kv in more.items()]
    return control(a).handle(("dhcp-acs " + "\t".join(items)).encode())


def test_empty_configured_url_takes_the_dhcp_one(acs, make_agent, tmp_path):
    a = agent(make_agent, "")
    a.start()
    assert offer(a, acs.url, provcode="PC-1", retry_min="7") == "ok\nused: URL changed\n"
    drive(a, lambda: len(ended(acs)) == 1 and quiet(a), start=False)
    assert ("0 BOOTSTRAP", "") in events_of(acs.sessions[0].inform)
    assert a.model.value(PC) == "PC-1" and a.ms("CWMPRetryMinimumWaitInterval") == "7"
    assert offer(a, acs.url) == "ok\nused: URL unchanged\n"  # a renew: nothing new
    (rec, again) = audits(tmp_path, a)
    assert rec["used"] is True and rec["source"] == "test"
    a.stop()
    b = agent(make_agent, "")  # kept across a restart, no second BOOTSTRAP
    assert b.acs_url == acs.url and not b.events.has("0 BOOTSTRAP")


def test_configured_url_wins_unless_discovery_is_allowed(acs, make_agent, tmp_path):
    a = agent(make_agent, acs.url)
    drive(a, lambda: len(ended(acs)) == 1 and quiet(a))
    answer = offer(a, "http://127.0.0.1:9/elsewhere", provcode="PC-X")
    assert answer.startswith("ok\nignored: [acs] url is configured"), answer
    assert a.acs_url == acs.url and a.model.value(PC) != "PC-X" and not a.events.pending
    assert audits(tmp_path, a)[0]["used"] is False
    a.stop()
    b = agent(make_agent, acs.url, dhcp_discovery="yes")
    drive(b, lambda: len(ended(acs)) == 2 and quiet(b))
    other = acs.url.rstrip("/") + "/dhcp"
    assert offer(b, other) == "ok\nused: URL changed\n"
    drive(b, lambda: len(ended(acs)) == 3 and quiet(b), start=False)
    assert ("0 BOOTSTRAP", "") in events_of(acs.sessions[2].inform)
    assert acs.requests[-1].path.endswith("/dhcp")


@pytest.mark.parametrize("bad", ["ftp://x/acs", "http://", "not a url"])
def test_bad_urls_are_ignored(acs, make_agent, bad):
    a = agent(make_agent, "")
    assert control(a).handle(("dhcp-acs url=" + bad).encode()).startswith("ok\nignored:")
    assert a.acs_url == ""


def run_hook(env, opt):
    """dhcp-acs with a recording ROCKET_CTL; returns its arguments."""
    with open(os.path.join(env["T"], "ctl"), "w") as f:
        f.write('#!/bin/sh\nfor a; do printf "%s\\n" "$a"; done\n')
    os.chmod(os.path.join(env["T"], "ctl"), 0o755)
    e = dict(os.environ, ROCKET_CTL=os.path.join(env["T"], "ctl"), **opt)
    return subprocess.run([env["sh"], os.path.join(HOOKS, "dhcp-acs")], env=e, capture_output=True,
                          text=True, timeout=20).stdout.splitlines()


def hexs(*subs, width=1):
    out = ""
    for code, val in subs:
        out += "%0*x%0*x" % (2 * width, code, 2 * width, len(val)) + val.encode("latin-1").hex()
    return out


@pytest.mark.parametrize("sh", ["sh", "busybox"])
def test_hook_decodes_every_format(tmp_path, sh):
    if sh == "busybox" and not shutil.which("busybox"):
        pytest.skip("busybox is not installed")
    env = {"T": str(tmp_path), "sh": shutil.which(sh)}
    if sh == "busybox":
        env["sh"] = os.path.join(str(tmp_path), "ash")
        os.symlink(shutil.which("busybox"), env["sh"])
    v4 = "00" + hexs((1, "http://acs.example/cwmp"), (2, "PC 7"), (3, "30"), (4, "3000")) + "ff"
    want = ["dhcp-acs", "source=dhcp", "url=http://acs.example/cwmp", "provcode=PC 7", "retry_min=30",
            "retry_mult=3000"]
    assert run_hook(env, {"ROCKET_DHCP_OPT43": v4.upper()}) == want
    colon = ":".join("%x" % b for b in bytes.fromhex(v4))  # dhclient's form: 1:17:68...
    assert run_hook(env, {"ROCKET_DHCP_OPT43": colon}) == want
    v6 = "00000de9" + hexs((1, "http://acs.example/cwmp"), (2, "PC 7"), (3, "30"), (4, "3000"), width=2)
    assert run_hook(env, {"ROCKET_DHCP_OPT17": v6}) == want
    assert run_hook(env, {"ROCKET_DHCP_OPT17": "0000abcd" + v6[8:]}) == []  # other enterprise
    # a control byte drops the value; truncation and garbage end quietly
    assert run_hook(env, {"ROCKET_DHCP_OPT43": hexs((1, "http://a/\nx"))}) == []
    assert run_hook(env, {"ROCKET_DHCP_OPT43": hexs((1, "http://a/"), (2, "x\x07"))}) == \
        ["dhcp-acs", "source=dhcp", "url=http://a/"]
    assert run_hook(env, {"ROCKET_DHCP_OPT43": hexs((1, "http://a/"))[:-4]}) == []
    assert run_hook(env, {"ROCKET_DHCP_OPT43": "zz01"}) == []


# ------------------------------------------------- real DHCP in namespaces
def _need_root_tools():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    for tool in ("ip", "dnsmasq", "busybox"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            pytest.skip("%s is not installed" % tool)


@pytest.fixture
def dhcp_net(tmp_path):
    """ra-dsrv (dnsmasq on 10.77.9.1) and ra-dcli joined by a veth pair."""
    _need_root_tools()

    def sh(*argv):
        subprocess.run(argv, check=True, capture_output=True, timeout=20)
    for ns in ("ra-dsrv", "ra-dcli"):  # left by a killed run
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    procs = []
    try:
        sh("ip", "netns", "add", "ra-dsrv")
        sh("ip", "netns", "add", "ra-dcli")
        sh("ip", "link", "add", "ra-ds0", "netns", "ra-dsrv", "type", "veth", "peer", "name", "ra-dc0",
           "netns", "ra-dcli")
        sh("ip", "-n", "ra-dsrv", "addr", "add", "10.77.9.1/24", "dev", "ra-ds0")
        sh("ip", "-n", "ra-dsrv", "link", "set", "ra-ds0", "up")
        sh("ip", "-n", "ra-dcli", "link", "set", "ra-dc0", "up")

        def dnsmasq(*options):
            p = subprocess.Popen(["ip", "netns", "exec", "ra-dsrv", "dnsmasq", "--no-daemon", "--port=0",
                                  "--conf-file=/dev/null", "--interface=ra-ds0", "--bind-interfaces",
                                  "--dhcp-range=10.77.9.50,10.77.9.60,1h",
                                  "--dhcp-leasefile=%s" % (tmp_path / "leases")] + list(options),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            procs.append(p)
            return p
        yield dnsmasq
    finally:
        for p in procs:
            stop(p)
        for ns in ("ra-dcli", "ra-dsrv"):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_udhcpc_and_dnsmasq_deliver_the_acs_url(acs, make_agent, dhcp_net, pyz, tmp_path):
    url = acs.url.rstrip("/") + "/from-dhcp"
    srv = dhcp_net("--dhcp-option=vendor:dslforum.org,1,%s" % url,
                   "--dhcp-option=vendor:dslforum.org,2,PC-$(touch pwned);`touch pwned`")
    a = agent(make_agent, "")
    a.start()
    sock = os.path.join(a.state.path, "rocket.sock")
    env = dict(os.environ, ROCKET_CTL="%s -I -S %s ctl --socket %s --timeout 10" % (sys.executable, pyz, sock),
               ROCKET_UDHCPC_NEXT="/nonexistent", ROCKET_UDHCPC_LEASES=str(tmp_path / "held"))
    up0 = uptime()
    time.sleep(0.3)  # dnsmasq binds
    assert srv.poll() is None, srv.stderr.read()
    cli = subprocess.Popen(["ip", "netns", "exec", "ra-dcli", "busybox", "udhcpc", "-i", "ra-dc0", "-f", "-q",
                            "-n", "-t", "5", "-T", "1", "-V", "dslforum.org", "-O", "43",
                            "-s", os.path.join(HOOKS, "dhcp-udhcpc")], env=env, cwd=str(tmp_path),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        drive(a, lambda: cli.poll() is not None, timeout=30, start=False)
        out = cli.stdout.read().decode()
        assert cli.returncode == 0, out
        assert a.acs_url == url, out
        drive(a, lambda: len(ended(acs)) == 1 and quiet(a), start=False)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    assert ("0 BOOTSTRAP", "") in events_of(acs.sessions[0].inform)
    assert acs.requests[0].path.endswith("/from-dhcp")
    assert a.model.value(PC) == "PC-$(touch pwned);`touch pwned`"  # data, never run
    assert not (tmp_path / "pwned").exists()
    assert audits(tmp_path, a)[0]["source"] == "udhcpc ra-dc0"
    # the lease the hook kept for LeaseTimeRemaining: when, dnsmasq's 1 h, the server
    when, lease, server = (tmp_path / "held" / "ra-dc0").read_text().split()
    assert up0 <= int(when) <= uptime() and (lease, server) == ("3600", "10.77.9.1")


def uptime():
    with open("/proc/uptime") as f:
        return int(float(f.read().split()[0]))


@pytest.mark.parametrize("shell", SHELLS)
def test_udhcpc_hook_keeps_the_lease(shell, tmp_path):
    held = tmp_path / "held"

    def hook(action, **env):
        e = {"PATH": os.environ["PATH"], "ROCKET_UDHCPC_LEASES": str(held), "ROCKET_UDHCPC_NEXT": "/nonexistent"}
        e.update(env)
        r = subprocess.run(shell + [os.path.join(HOOKS, "dhcp-udhcpc"), action], env=e, capture_output=True,
                           text=True, timeout=20)
        assert r.returncode == 0, r.stderr
        return sorted(p.name for p in held.iterdir()) if held.exists() else []

    up0 = uptime()
    assert hook("bound", interface="eth0.3", lease="3600", serverid="10.64.0.1") == ["eth0.3"]
    when, lease, server = (held / "eth0.3").read_text().split()
    assert up0 <= int(when) <= uptime() and (lease, server) == ("3600", "10.64.0.1")
    assert hook("renew", interface="eth0.3", lease="7200", serverid="10.64.0.1") == ["eth0.3"]
    assert (held / "eth0.3").read_text().split()[1] == "7200"
    # what is not a number of seconds, an interface name or an address is not kept
    assert hook("bound", interface="wan", lease="1;reboot") == ["eth0.3"]
    assert hook("bound", interface="../x", lease="60") == ["eth0.3"]
    assert hook("bound", interface="wan", lease="60", serverid="$(reboot)") == ["eth0.3", "wan"]
    assert (held / "wan").read_text() == "%s 60 \n" % (held / "wan").read_text().split()[0]
    for action in ("deconfig", "nak"):
        hook(action, interface="wan")
    assert hook("leasefail", interface="eth0.3") == []
    # installed as /etc/udhcpc.user.d/rocket, sourced by netifd's dhcp.script
    # (its loop: `[ -f "$f" ] && (. "$f" "$@")`) with the event as $1
    userd = tmp_path / "udhcpc.user.d"
    userd.mkdir()
    shutil.copy(os.path.join(ROOT, "etc", "openwrt", "udhcpc.user"), str(userd / "rocket"))
    loop = 'for f in "%s"/*; do [ -f "$f" ] && (. "$f" "$@"); done; echo "script goes on"' % userd
    r = subprocess.run(shell + ["-c", loop, "dhcp.script", "bound"], capture_output=True, text=True, timeout=20,
                       env={"PATH": os.environ["PATH"], "ROCKET_HOOKS": HOOKS, "ROCKET_UDHCPC_LEASES": str(held),
                            "interface": "eth1", "lease": "86400", "serverid": "192.0.2.1"})
    assert r.stdout == "script goes on\n" and r.returncode == 0, r.stderr
    assert (held / "eth1").read_text().split()[1:] == ["86400", "192.0.2.1"]


def test_dhcp_discovery_must_be_a_boolean(tmp_path):
    from conftest import write_conf
    from rocket.base.config import Config, ConfigError
    cfg = Config.load(write_conf(tmp_path, "", acs={"dhcp_discovery": "maybe"}))
    with pytest.raises(ConfigError, match="dhcp_discovery"):
        cfg.validate()
