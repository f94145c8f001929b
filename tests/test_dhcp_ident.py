"""How the CPE identifies itself to the DHCP server (TR-069 3.1, TR-111,
RFC 3925): hooks/dhcp-ident's encodings, then real exchanges in network
namespaces: busybox udhcpc and ISC dhclient configured with its output
against dnsmasq, which tags the client on options 60, 124 and 125 and
offers the ACS URL (option 43) only to a client carrying all three."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from peers import stop
from transfer_util import drive, ended

HOOKS = os.path.join(ROOT, "rocket", "backends", "hooks")
IDENT = os.path.join(HOOKS, "dhcp-ident")
ENV = {"ROCKET_OUI": "00AA11", "ROCKET_SERIAL": "TB-0001", "ROCKET_CLASS": "TestBox"}


def ident(fmt, sh="sh", **env):
    e = dict(os.environ, **dict(ENV, **env))
    p = subprocess.run([sh, IDENT, fmt], env=e, capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    return p.stdout


def tlv(code, value, width=1):
    return code.to_bytes(width, "big") + len(value).to_bytes(width, "big") + value


BF = (3561).to_bytes(4, "big")  # Broadband Forum's enterprise number
OPT124 = BF + bytes([13]) + tlv(12, b"dslforum.org")[1:]  # data-len, then len + "dslforum.org"
SUBS4 = tlv(1, b"00AA11") + tlv(2, b"TB-0001") + tlv(3, b"TestBox")
OPT125 = BF + bytes([len(SUBS4)]) + SUBS4
OPT16 = BF + (12).to_bytes(2, "big") + b"dslforum.org"
OPT17 = BF + tlv(11, b"00AA11", 2) + tlv(12, b"TB-0001", 2) + tlv(13, b"TestBox", 2)


@pytest.mark.parametrize("sh", ["sh", "busybox"])
def test_encodings(sh, tmp_path):
    if sh == "busybox":
        if not shutil.which("busybox"):
            pytest.skip("busybox is not installed")
        os.symlink(shutil.which("busybox"), str(tmp_path / "ash"))
        sh = str(tmp_path / "ash")
    assert ident("udhcpc", sh).split() == ["-V", "dslforum.org", "-x", "0x7c:" + OPT124.hex(),
                                           "-x", "0x7d:" + OPT125.hex()]
    assert ident("sendopts", sh).split() == ["0x7c:" + OPT124.hex(), "0x7d:" + OPT125.hex()]
    assert ident("odhcp6c", sh).split() == ["-V", OPT16.hex(), "-x", "0x11:" + OPT17.hex()]
    conf = ident("dhclient", sh)
    assert 'send vendor-class-identifier "dslforum.org";' in conf
    assert "send rocket-vi-info %s;" % ":".join("%02x" % b for b in OPT125) in conf
    conf = ident("dhclient6", sh)
    assert "send dhcp6.rocket-vendor-class %s;" % ":".join("%02x" % b for b in OPT16) in conf
    assert "send dhcp6.rocket-vendor-opts %s;" % ":".join("%02x" % b for b in OPT17) in conf
    # an empty serial number is left out; the values come from [cpe] of the configuration
    (tmp_path / "r.conf").write_text("[acs]\noui = no\n[cpe]\n oui = 00BB22 \nserial_number =\n")
    out = subprocess.run([sh, IDENT, "udhcpc"], env=dict(os.environ, ROCKET_CONF=str(tmp_path / "r.conf")),
                         capture_output=True, text=True, timeout=20).stdout.split()
    subs = tlv(1, b"00BB22") + tlv(3, b"Rocket")
    assert out[-1] == "0x7d:" + (BF + bytes([len(subs)]) + subs).hex()
    assert subprocess.run([sh, IDENT, "bogus"], capture_output=True, timeout=20).returncode == 2


# ------------------------------------------------- real DHCP in namespaces
def _need(*tools):
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    for tool in ("ip", "dnsmasq") + tools:
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            pytest.skip("%s is not installed" % tool)


def _colon(b):
    return ":".join("%02x" % x for x in b)


@pytest.fixture
def net(tmp_path):
    """cp-dsrv (dnsmasq on 10.77.19.1 and fd77:19::1, tagging on the
    identification options) and cp-dcli joined by a veth pair; yields
    (start dnsmasq, its log path)."""
    _need()

    def sh(*argv):
        subprocess.run(argv, check=True, capture_output=True, timeout=20)
    for ns in ("cp-dsrv", "cp-dcli"):  # left by a killed run
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    procs = []
    log = tmp_path / "dnsmasq.log"
    try:
        for ns in ("cp-dsrv", "cp-dcli"):
            sh("ip", "netns", "add", ns)  # no duplicate address detection: addresses usable at once
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
               "net.ipv6.conf.default.accept_dad=0")
        sh("ip", "link", "add", "cp-ds0", "netns", "cp-dsrv", "type", "veth", "peer", "name", "cp-dc0",
           "netns", "cp-dcli")
        sh("ip", "-n", "cp-dsrv", "addr", "add", "10.77.19.1/24", "dev", "cp-ds0")
        sh("ip", "-n", "cp-dsrv", "addr", "add", "fd77:19::1/64", "dev", "cp-ds0", "nodad")
        sh("ip", "-n", "cp-dsrv", "link", "set", "cp-ds0", "up")
        sh("ip", "-n", "cp-dcli", "link", "set", "cp-dc0", "up")
        sh("ip", "-n", "cp-dcli", "link", "set", "lo", "up")

        def dnsmasq(url):
            p = subprocess.Popen(
                ["ip", "netns", "exec", "cp-dsrv", "dnsmasq", "--no-daemon", "--port=0", "--conf-file=/dev/null",
                 "--interface=cp-ds0", "--bind-interfaces", "--dhcp-range=10.77.19.50,10.77.19.60,1h",
                 "--dhcp-range=fd77:19::50,fd77:19::60,64,1h",
                 "--dhcp-leasefile=%s" % (tmp_path / "leases"), "--log-dhcp", "--log-facility=%s" % log,
                 "--dhcp-vendorclass=set:id60,dslforum.org",
                 "--dhcp-match=set:id124,124,%s" % _colon(OPT124),
                 "--dhcp-match=set:id125,125,%s" % _colon(OPT125),
                 "--dhcp-option=tag:id60,tag:id124,tag:id125,vendor:dslforum.org,1,%s" % url,
                 "--dhcp-vendorclass=set:id16,enterprise:3561,dslforum.org",
                 "--dhcp-match=set:id17,option6:17,%s" % _colon(OPT17)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            procs.append(p)
            deadline = time.monotonic() + 10
            while "started" not in (log.read_text() if log.exists() else ""):
                assert p.poll() is None, p.stderr.read()
                assert time.monotonic() < deadline, "dnsmasq did not start"
                time.sleep(0.05)
            return p
        yield dnsmasq, log
    finally:
        for p in procs:
            stop(p)
        for ns in ("cp-dcli", "cp-dsrv"):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _tagged(log, ack="DHCPACK(cp-ds0)"):
    """dnsmasq's tag lines, once it acknowledged a lease."""
    text = log.read_text()
    assert ack in text, text[-2000:]
    return [line for line in text.splitlines() if " tags: " in line]


def test_udhcpc_identifies_itself_and_gets_the_acs_url(acs, make_agent, net, pyz, tmp_path):
    _need("busybox")
    dnsmasq, log = net
    url = acs.url.rstrip("/") + "/identified"
    dnsmasq(url)
    a = make_agent("", once=False, acs={"periodic_inform_enable": "false"})
    a.start()
    sock = os.path.join(a.state.path, "rocket.sock")
    env = dict(os.environ, ROCKET_CTL="%s -I -S %s ctl --socket %s --timeout 10" % (sys.executable, pyz, sock),
               ROCKET_UDHCPC_NEXT="/nonexistent", **ENV)
    cli = subprocess.Popen(["ip", "netns", "exec", "cp-dcli", "busybox", "udhcpc", "-i", "cp-dc0", "-f", "-q",
                            "-n", "-t", "5", "-T", "1"] + ident("udhcpc").split()
                           + ["-O", "43", "-s", os.path.join(HOOKS, "dhcp-udhcpc")],
                           env=env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        drive(a, lambda: cli.poll() is not None, timeout=30, start=False)
        out = cli.stdout.read().decode()
        assert cli.returncode == 0, out
        assert a.acs_url == url, out + log.read_text()[-2000:]  # only a fully identified client gets it
        drive(a, lambda: len(ended(acs)) == 1, start=False)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        a.stop()
    assert any(all(t in line for t in ("id60", "id124", "id125")) for line in _tagged(log))


def _dhclient(tmp_path, family, conf_text, done):
    """dhclient -4/-6 in cp-dcli until its script saw ``done``; the script's lines."""
    conf = tmp_path / "dhclient.conf"
    conf.write_text(conf_text)
    script = tmp_path / "script"
    reasons = tmp_path / "reasons"
    script.write_text("#!/bin/sh\nprintf '%s %s\\n' \"$reason\" \"$new_vendor_encapsulated_options\" >> "
                      "\"${0%/*}/reasons\"\n")
    script.chmod(0o755)
    deadline = time.monotonic() + 30
    if family == "-6":  # dhclient -6 needs the link-local address
        while b"fe80" not in subprocess.run(["ip", "-n", "cp-dcli", "-6", "addr", "show", "dev", "cp-dc0"],
                                             capture_output=True, timeout=10).stdout:
            assert time.monotonic() < deadline, "no IPv6 link-local address"
            time.sleep(0.05)
    cli = subprocess.Popen(["ip", "netns", "exec", "cp-dcli", shutil.which("dhclient") or "/usr/sbin/dhclient",
                            family, "-d", "-1", "-cf", str(conf), "-lf", str(tmp_path / "lease"),
                            "-pf", str(tmp_path / "pid"), "-sf", str(script), "cp-dc0"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        while done not in (reasons.read_text() if reasons.exists() else ""):
            assert cli.poll() is None, cli.stdout.read().decode()
            assert time.monotonic() < deadline, "dhclient got no lease"
            time.sleep(0.1)
    finally:
        if cli.poll() is None:
            cli.send_signal(signal.SIGTERM)
            try:
                cli.wait(5)
            except subprocess.TimeoutExpired:
                cli.kill()
                cli.wait()
    return reasons.read_text().splitlines()


def test_dhclient_identifies_itself(net, tmp_path):
    _need("dhclient")
    dnsmasq, log = net
    dnsmasq("http://acs.example/cwmp")
    lines = _dhclient(tmp_path, "-4", ident("dhclient"), "BOUND")
    assert any(all(t in line for t in ("id60", "id124", "id125")) for line in _tagged(log))
    bound = [x for x in lines if x.startswith("BOUND ")][0]
    got = bytes(int(x, 16) for x in bound.split()[1].split(":"))  # dhclient's 1:17:68... form
    assert got.startswith(tlv(1, b"http://acs.example/cwmp"))  # so the URL was offered: fully identified


def test_dhclient6_identifies_itself_with_options_16_and_17(net, tmp_path):
    _need("dhclient")
    dnsmasq, log = net
    dnsmasq("http://acs.example/cwmp")
    _dhclient(tmp_path, "-6", ident("dhclient6"), "BOUND6")
    assert any("id16" in line and "id17" in line for line in _tagged(log, "DHCPREPLY(cp-ds0)"))
