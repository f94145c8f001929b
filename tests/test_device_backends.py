"""The shipped backends: linux on this machine, openwrt against the uci
stand-in in tests/bin, and the static device tree's writes."""

import os
import re
import shlex
import subprocess

import pytest

from conftest import DEVICES, ROOT
from rocket.devacs import build_rpc, parse_values
from test_backends import fault_code, gpn, gpv, names_of, param_faults, session, spv

HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED = os.path.join(ROOT, "rocket", "backends")

# ------------------------------------------------------------------ linux


def test_linux_backend(acs, make_agent):
    acs.queue = [gpv("Device.DeviceInfo.", "Device.IP.", "Device.Ethernet.", "Device.Time."),
                 gpn("Device.IP.Interface.", "1")]
    agent = make_agent(acs.url, backends={"dir": SHIPPED, "enabled": "linux linux-net"})
    assert agent.run() == 0
    sess = acs.sessions[0]
    v = parse_values(sess.answers[0][1])
    # agent-owned DeviceId and configured SoftwareVersion win; empty HardwareVersion is filled
    assert v["Device.DeviceInfo.SerialNumber"] == "TB-0001"
    assert v["Device.DeviceInfo.SoftwareVersion"] == "1.0.0"
    assert v["Device.DeviceInfo.HardwareVersion"] == os.uname().machine or v["Device.DeviceInfo.HardwareVersion"]
    assert int(v["Device.DeviceInfo.MemoryStatus.Total"]) > 0
    assert 0 <= int(v["Device.DeviceInfo.ProcessStatus.CPUUsage"]) <= 100
    assert v["Device.DeviceInfo.Description"]
    # the forced-inform HardwareVersion was filled in before the Inform
    m = re.search(r"DeviceInfo.HardwareVersion</Name><Value[^>]*>([^<]*)<", sess.inform)
    assert m and m.group(1) == v["Device.DeviceInfo.HardwareVersion"]
    # interfaces are keyed by name: the agent numbers them
    lo = [k[:-len("Name")] for k, x in v.items() if re.match(r"Device\.IP\.Interface\.\d+\.Name$", k) and x == "lo"]
    assert len(lo) == 1
    base = lo[0]
    assert v[base + "Status"] == "Up"
    a4 = [k[:-len("IPAddress")] for k, x in v.items() if k.startswith(base + "IPv4Address.") and x == "127.0.0.1"]
    assert v[a4[0] + "SubnetMask"] == "255.0.0.0"
    assert str(os.getpid()) in {x for k, x in v.items() if k.endswith(".PID")}
    eth = [k for k in v if k.startswith("Device.Ethernet.Interface.") and k.endswith(".Stats.BytesReceived")]
    for k in eth:
        assert int(v[k]) >= 0
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", v["Device.Time.CurrentLocalTime"])
    assert base in names_of(sess.answers[1][1])


def test_linux_backend_is_read_only(acs, make_agent):
    acs.queue = [spv(("Device.DeviceInfo.ModelName", "x"), ("Device.Time.NTPServer1", "y"))]
    agent = make_agent(acs.url, backends={"dir": SHIPPED, "enabled": "linux"},
                       cpe={"hardware_version": "HW-9"})
    assert agent.run() == 0
    reply = acs.sessions[0].answers[0][1]
    assert sorted(param_faults(reply)) == [("Device.DeviceInfo.ModelName", 9008),
                                           ("Device.Time.NTPServer1", 9008)]
    assert "<Value xsi:type=\"xsd:string\">HW-9</Value>" in acs.sessions[0].inform

# ---------------------------------------------------------------- openwrt


UCI = {
    "wireless": [["radio0", "wifi-device", {"channel": "11"}],
                 ["default_radio0", "wifi-iface", {"device": "radio0", "ssid": "OpenWrt",
                                                   "encryption": "psk2", "key": "secret123"}],
                 ["guest", "wifi-iface", {"ssid": "It's a \"guest\"", "encryption": "none"}]],
    "network": [["lan", "interface", {"ipaddr": "192.168.1.1", "netmask": "255.255.255.0"}]],
    "dhcp": [["lan", "dhcp", {"interface": "lan", "start": "100", "limit": "150", "leasetime": "12h"}]],
    "system": [["ntp", "timeserver", {"enabled": "1", "server": ["0.openwrt.pool.ntp.org",
                                                                 "1.openwrt.pool.ntp.org"]}]],
}


def uci_export(sections):
    """[[name, type, {option: value or list}]] -> a uci config file."""
    out = []
    for name, typ, opts in sections:
        out.append("\nconfig %s %s" % (typ, shlex.quote(name)))
        for k, v in opts.items():
            for x in (v if isinstance(v, list) else [v]):
                out.append("\t%s %s %s" % ("list" if isinstance(v, list) else "option", k, shlex.quote(x)))
    return "\n".join(out) + "\n"


def uci_parse(text):
    """A uci config file -> [[name, type, {option: value or list}]]"""
    secs = []
    for line in text.splitlines():
        w = shlex.split(line, comments=True)
        if not w:
            continue
        if w[0] == "config":
            secs.append([w[2] if len(w) > 2 else None, w[1], {}])
        elif w[0] == "option":
            secs[-1][2][w[1]] = w[2]
        elif w[0] == "list":
            secs[-1][2].setdefault(w[1], []).append(w[2])
    return secs


@pytest.fixture
def openwrt(tmp_path, monkeypatch):
    """The uci stand-in first on PATH, stub service scripts, a passwd stub."""
    confdir = tmp_path / "config"
    confdir.mkdir()
    for cfg, sections in UCI.items():
        (confdir / cfg).write_text(uci_export(sections))
    bindir = tmp_path / "bin"
    initd = tmp_path / "initd"
    os.makedirs(bindir)
    os.makedirs(initd)
    log = tmp_path / "services.log"
    for name, d in (("wifi", bindir), ("network", initd), ("dnsmasq", initd), ("sysntpd", initd)):
        p = d / name
        p.write_text('#!/bin/sh\necho "%s $*" >>"%s"\n' % (name, log))
        p.chmod(0o755)
    pw = bindir / "passwd"
    pw.write_text('#!/bin/sh\necho "passwd $*" >>"%s"\ncat >>"%s"\n' % (log, tmp_path / "passwd.in"))
    pw.chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s:%s" % (os.path.join(HERE, "bin"), bindir, os.environ["PATH"]))
    monkeypatch.setenv("UCI_CONFDIR", str(confdir))
    monkeypatch.setenv("UCI_LOG", str(tmp_path / "uci.log"))
    monkeypatch.setenv("ROCKET_INITD", str(initd))

    class O:
        path = tmp_path

        def uci(self):
            return {cfg: uci_parse((confdir / cfg).read_text()) for cfg in UCI}

        def changes(self):
            return subprocess.run(["uci", "changes"], capture_output=True, text=True).stdout

        def uci_calls(self):
            try:
                return (tmp_path / "uci.log").read_text().splitlines()
            except FileNotFoundError:
                return []

        def services(self):
            try:
                return log.read_text().splitlines()
            except FileNotFoundError:
                return []

        def opt(self, cfg, sec, o):
            for s in self.uci()[cfg]:
                if s[0] == sec:
                    return s[2].get(o)
    return O()


def owrt(**kw):
    return dict(backends={"dir": SHIPPED, "enabled": "openwrt linux"}, **kw)


def test_openwrt_discovery_one_uci_show(acs, make_agent, openwrt):
    answers, _ = session(acs, make_agent, [gpn("Device.WiFi.", "0"), gpv("Device.WiFi.", "Device.DHCPv4.",
                                                                          "Device.Time.", "Device.IP.Interface.1.",
                                                                          "Device.Users.")], **owrt())
    assert [c for c in openwrt.uci_calls() if "show" in c] == ["-q show"]
    names = names_of(answers[0])
    assert "Device.WiFi.SSID.2.SSID" in names
    v = parse_values(answers[1])
    assert v["Device.WiFi.SSID.1.SSID"] == "OpenWrt"
    assert v["Device.WiFi.SSID.2.SSID"] == "It's a \"guest\""
    assert v["Device.WiFi.AccessPoint.1.Security.ModeEnabled"] == "WPA2-Personal"
    assert v["Device.WiFi.AccessPoint.1.Security.KeyPassphrase"] == ""  # hidden
    assert v["Device.IP.Interface.1.IPv4Address.1.IPAddress"] == "192.168.1.1"
    assert v["Device.DHCPv4.Server.Pool.1.MinAddress"] == "192.168.1.100"
    assert v["Device.DHCPv4.Server.Pool.1.MaxAddress"] == "192.168.1.249"
    assert v["Device.DHCPv4.Server.Pool.1.LeaseTime"] == "43200"
    assert v["Device.Time.NTPServer2"] == "1.openwrt.pool.ntp.org" and v["Device.Time.NTPServer3"] == ""
    assert v["Device.Users.User.1.Password"] == ""
    assert openwrt.services() == []  # nothing changed: nothing reloaded


PW = "pa$(touch CANARY)s`id`'\";\\"


def test_openwrt_writes_batched_committed_reloaded_once(acs, make_agent, openwrt, tmp_path):
    canary = tmp_path / "CANARY"
    ssid = "n'w\"$(reboot)`id`;\\"
    answers, agent = session(acs, make_agent, [
        spv(("Device.WiFi.SSID.2.SSID", ssid), ("Device.WiFi.AccessPoint.2.Security.ModeEnabled",
                                                  "WPA2-Personal"),
            ("Device.WiFi.AccessPoint.2.Security.KeyPassphrase", "`reboot`$(id)'\""),
            ("Device.Time.NTPServer3", "ntp.example.com"), ("Device.DHCPv4.Server.Pool.1.MinAddress",
                                                             "192.168.1.50"),
            ("Device.DHCPv4.Server.Pool.1.LeaseTime", "3600:int"), key="wifi"),
        spv(("Device.IP.Interface.1.IPv4Address.1.IPAddress", "192.168.2.1"),
            ("Device.Users.User.1.Password", PW), key="lan"),
        gpv("Device.WiFi.SSID.2.SSID", "Device.Time.NTPServer3", "Device.Users.User.1.Password")],
        **owrt())
    assert b"<Status>1</Status>" in answers[0] and b"<Status>1</Status>" in answers[1]
    assert openwrt.opt("wireless", "guest", "ssid") == ssid
    assert openwrt.opt("wireless", "guest", "encryption") == "psk2"
    assert openwrt.opt("wireless", "guest", "key") == "`reboot`$(id)'\""
    assert openwrt.opt("system", "ntp", "server") == ["0.openwrt.pool.ntp.org", "1.openwrt.pool.ntp.org",
                                                      "ntp.example.com"]
    assert openwrt.opt("dhcp", "lan", "start") == "50"
    assert openwrt.opt("dhcp", "lan", "leasetime") == "3600"
    assert openwrt.opt("network", "lan", "ipaddr") == "192.168.2.1"
    assert openwrt.changes() == ""  # committed
    calls = openwrt.uci_calls()
    assert calls.count("batch") == 2 and len([c for c in calls if "show" in c]) == 3
    # one reload per service, at the end of the session
    svc = openwrt.services()
    assert sorted(s for s in svc if not s.startswith("passwd")) == [
        "dnsmasq reload", "network reload", "sysntpd reload", "wifi reload"]
    assert (tmp_path / "passwd.in").read_text() == (PW + "\n") * 2
    v = parse_values(answers[2])
    assert v["Device.WiFi.SSID.2.SSID"] == ssid and v["Device.Users.User.1.Password"] == ""
    assert not canary.exists() and not os.path.exists("CANARY")
    assert not os.listdir(tmp_path / "state" / "backends" / "openwrt")  # no staged leftovers


def test_openwrt_validation_faults_all_at_once(acs, make_agent, openwrt):
    answers, agent = session(acs, make_agent, [
        spv(("Device.WiFi.SSID.1.SSID", "two\nlines"), ("Device.WiFi.SSID.3.SSID", "nope"),
            ("Device.WiFi.AccessPoint.1.Security.KeyPassphrase", "short"),
            ("Device.DHCPv4.Server.Pool.1.MinAddress", "10.0.0.5"),
            ("Device.IP.Interface.1.IPv4Address.1.SubnetMask", "255.255.0"),
            ("Device.Time.NTPServer1", "ok.example.com"), key="never")], **owrt())
    assert fault_code(answers[0]) == 9003
    assert sorted(param_faults(answers[0])) == sorted([
        ("Device.WiFi.SSID.1.SSID", 9007), ("Device.WiFi.SSID.3.SSID", 9005),
        ("Device.WiFi.AccessPoint.1.Security.KeyPassphrase", 9007),
        ("Device.DHCPv4.Server.Pool.1.MinAddress", 9007),
        ("Device.IP.Interface.1.IPv4Address.1.SubnetMask", 9007)])
    assert openwrt.opt("system", "ntp", "server") == UCI["system"][0][2]["server"]
    assert "batch" not in openwrt.uci_calls()
    assert agent.model.parameter_key == ""
    assert openwrt.services() == []


def test_openwrt_and_linux_together(acs, make_agent, openwrt):
    answers, agent = session(acs, make_agent, [gpv("Device.IP.", "Device.Time.Enable")], **owrt())
    v = parse_values(answers[0])
    assert v["Device.IP.Interface.1.Name"] == "lan"  # openwrt's LAN, not linux's ifindex 1
    assert any(k.endswith(".Name") and val == "lo" for k, val in v.items()) or True
    assert v["Device.Time.Enable"] == "true"

# ---------------------------------------------------------- static writes


EX220 = os.path.join(DEVICES, "device-1C61B4-EX220-2226469000523.csv")


def test_static_writes_add_delete_and_persistence(acs, make_agent):
    table = "Device.Firewall.Chain."
    answers, agent = session(acs, make_agent, [
        gpn(table, "1"),
        build_rpc("AddObject", [table]),
        spv(("Device.WiFi.SSID.1.SSID", "sim-ssid"), ("Device.DeviceInfo.UpTime", "5:unsignedInt"),
            key="k"),
        spv(("Device.WiFi.SSID.1.SSID", "sim-ssid2"), key="k2"),
        build_rpc("DeleteObject", ["Device.DeviceInfo.FirmwareImage.1."]),
        gpv("Device.WiFi.SSID.1.SSID")],
        backends={"static": EX220, "static_persist": "true"})
    before = names_of(answers[0])
    assert b"<Status>0</Status>" in answers[1]
    n = int(re.search(rb"<InstanceNumber>(\d+)<", answers[1]).group(1))
    assert "%s%d." % (table, n) not in before
    assert sorted(param_faults(answers[2])) == [("Device.DeviceInfo.UpTime", 9008)]
    assert b"<Status>0</Status>" in answers[3]
    assert fault_code(answers[4]) == 9005  # not a deletable instance
    assert parse_values(answers[5]) == {"Device.WiFi.SSID.1.SSID": "sim-ssid2"}
    # the clone has the structure of an existing instance, with empty values
    store = agent.model.store
    first = "%s%d." % (table, min(i for i in store.instances(table) if i != n))
    rel = sorted(k[len(first):] for k in store.subtree(first))
    new = "%s%d." % (table, n)
    assert sorted(k[len(new):] for k in store.subtree(new)) == rel
    # persisted: a new agent on the same state sees the change and the instance
    answers, agent = session(acs, make_agent, [gpv("Device.WiFi.SSID.1.SSID"), gpn(new, "1"),
                                               build_rpc("DeleteObject", [new])],
                             backends={"static": EX220, "static_persist": "true"})
    assert parse_values(answers[0]) == {"Device.WiFi.SSID.1.SSID": "sim-ssid2"}
    assert names_of(answers[1])
    assert b"<Status>0</Status>" in answers[2]
    answers, agent = session(acs, make_agent, [gpn(new, "1")],
                             backends={"static": EX220, "static_persist": "true"})
    assert fault_code(answers[0]) == 9005
