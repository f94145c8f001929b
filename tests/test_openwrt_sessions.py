"""The openwrt pack in real agent sessions with the development ACS, on the
recorded Archer C7 (tests/openwrt_replay.py): discovery in one backend run,
stable instance numbers, writes (SetParameterValues, AddObject,
DeleteObject) landing in the uci files with one reload per service at the
end of the session, a failing uci commit answered with a fault and nothing
changed, and the whole served tree valid against TR-181."""

import os
import re
import subprocess

import pytest

import openwrt_replay
import tr181
from conftest import ROOT
from rocket.devacs import build_rpc, parse_values
from test_backends import fault_code, gpn, gpv, names_of, param_faults, session, spv

SHIPPED = os.path.join(ROOT, "rocket", "backends")


@pytest.fixture
def owrt(tmp_path, monkeypatch):
    env = openwrt_replay.environment(tmp_path / "device")
    for k, v in env.items():
        monkeypatch.setenv(k, v)

    conf = tmp_path / "device" / "root" / "etc" / "config"
    pristine = {f: (conf / f).read_text() for f in os.listdir(conf)}

    class O:
        path = tmp_path / "device"

        def uci(self, key):
            r = subprocess.run(["uci", "-q", "get", key], capture_output=True, text=True)
            return r.stdout.rstrip("\n") if r.returncode == 0 else None

        def calls(self, tool):
            try:
                return (self.path / (tool + ".log")).read_text().splitlines()
            except FileNotFoundError:
                return []

        def services(self):
            try:
                return (self.path / "services.log").read_text().splitlines()
            except FileNotFoundError:
                return []
    o = O()
    o.conf = conf
    o.pristine = pristine
    return o


def cfg(**kw):
    return dict(backends={"dir": SHIPPED, "enabled": "openwrt"}, **kw)


def number(values, pattern, value):
    """The instance number # of the path matching PATTERN (with #) whose value is VALUE."""
    rx = re.compile(re.escape(pattern).replace(r"\#", "#").replace("#", r"(\d+)") + "$")
    found = [m.group(1) for k, v in values.items() for m in [rx.match(k)] if m and v == value]
    assert len(found) == 1, (pattern, value, found)
    return found[0]


def test_discovery_is_one_run_with_stable_numbers(acs, make_agent, owrt):
    answers, agent = session(acs, make_agent, [gpn("Device.", "0"), gpv("Device.")], **cfg())
    assert [b.spawned for b in agent.model.backends if b.name == "openwrt"] == [1]
    assert len([c for c in owrt.calls("uci") if "show" in c]) == 5  # one per configuration
    names = names_of(answers[0])
    v = parse_values(answers[1])
    assert not any("{" in n for n in names) and not any("{" in x for x in v.values() if x.startswith("Device."))
    guest = number(v, "Device.WiFi.SSID.#.SSID", "C7-Guest")
    assert v["Device.WiFi.AccessPoint.%s.SSIDReference" % guest] == "Device.WiFi.SSID.%s." % guest
    radio = number(v, "Device.WiFi.Radio.#.Channel", "6")
    assert v["Device.WiFi.SSID.%s.LowerLayers" % guest] == "Device.WiFi.Radio.%s." % radio
    lan = number(v, "Device.IP.Interface.#.Name", "lan")
    pool = number(v, "Device.DHCPv4.Server.Pool.#.Interface", "Device.IP.Interface.%s." % lan)
    assert v["Device.DHCPv4.Server.Pool.%s.ClientNumberOfEntries" % pool] == "4"
    assert "Device.NAT.PortMapping." in names
    # the same numbers in the next session, with a new agent on the same state
    answers, agent = session(acs, make_agent, [gpv("Device.WiFi.SSID.", "Device.IP.Interface.")], **cfg())
    v2 = parse_values(answers[0])
    assert v2["Device.WiFi.SSID.%s.SSID" % guest] == "C7-Guest"
    assert v2["Device.IP.Interface.%s.Name" % lan] == "lan"
    assert owrt.services() == []  # nothing changed: nothing reloaded


def test_writes_add_delete_and_one_reload_per_service(acs, make_agent, owrt):
    answers, agent = session(acs, make_agent, [gpv("Device.WiFi.SSID.", "Device.IP.Interface.",
                                                   "Device.DHCPv4.Server.Pool.")], **cfg())
    v = parse_values(answers[0])
    guest = number(v, "Device.WiFi.SSID.#.SSID", "C7-Guest")
    lan = number(v, "Device.IP.Interface.#.Name", "lan")
    pool = number(v, "Device.DHCPv4.Server.Pool.#.Interface", "Device.IP.Interface.%s." % lan)
    ssid = "it's \"new\" $(reboot)"
    answers, agent = session(acs, make_agent, [
        spv(("Device.WiFi.SSID.%s.SSID" % guest, ssid),
            ("Device.WiFi.AccessPoint.%s.Security.ModeEnabled" % guest, "WPA2-Personal"),
            ("Device.WiFi.AccessPoint.%s.Security.KeyPassphrase" % guest, "guest-pass-1"),
            ("Device.DHCPv4.Server.Pool.%s.MinAddress" % pool, "192.168.1.20"),
            ("Device.Time.NTPServer1", "ntp.example.net"), key="k1"),
        build_rpc("AddObject", ["Device.NAT.PortMapping."]),
        build_rpc("AddObject", ["Device.DHCPv4.Server.Pool.%s.StaticAddress." % pool]),
        gpv("Device.WiFi.SSID.%s.SSID" % guest, "Device.WiFi.AccessPoint.%s.Security.KeyPassphrase" % guest)],
        **cfg())
    assert b"<Status>1</Status>" in answers[0]
    pm = re.search(rb"<InstanceNumber>(\d+)<", answers[1]).group(1).decode()
    sa = re.search(rb"<InstanceNumber>(\d+)<", answers[2]).group(1).decode()
    assert parse_values(answers[3]) == {"Device.WiFi.SSID.%s.SSID" % guest: ssid,
                                        "Device.WiFi.AccessPoint.%s.Security.KeyPassphrase" % guest: ""}
    assert owrt.uci("wireless.guest.ssid") == ssid and owrt.uci("wireless.guest.key") == "guest-pass-1"
    assert owrt.uci("dhcp.lan.start") == "20"
    assert owrt.uci("firewall.rk_pm1") == "redirect" and owrt.uci("dhcp.rk_lan_h1") == "host"
    assert owrt.calls("uci").count("batch") == 3  # the SPV, each AddObject
    # one reload per service, at the end of the session
    assert sorted(owrt.services()) == ["dnsmasq reload", "firewall reload", "sysntpd reload", "wifi reload"]
    # the new port mapping, configured by number, deleted by number
    p = "Device.NAT.PortMapping.%s." % pm
    answers, agent = session(acs, make_agent, [
        spv((p + "ExternalPort", "2022:unsignedInt"), (p + "InternalPort", "22:unsignedInt"),
            (p + "InternalClient", "192.168.1.10"), (p + "Enable", "true:boolean"), key="k2"),
        gpv(p),
        build_rpc("DeleteObject", ["Device.DHCPv4.Server.Pool.%s.StaticAddress.%s." % (pool, sa)]),
        gpn("Device.DHCPv4.Server.Pool.%s.StaticAddress." % pool, "1")], **cfg())
    assert b"<Status>1</Status>" in answers[0]
    v = parse_values(answers[1])
    assert (v[p + "ExternalPort"], v[p + "InternalClient"], v[p + "Enable"]) == ("2022", "192.168.1.10", "true")
    assert owrt.uci("firewall.rk_pm1.dest_ip") == "192.168.1.10"
    assert b"<Status>1</Status>" in answers[2] and owrt.uci("dhcp.rk_lan_h1") is None
    assert "Device.DHCPv4.Server.Pool.%s.StaticAddress.%s." % (pool, sa) not in names_of(answers[3])
    # numbers are not reused: the next static lease gets a new one
    answers, agent = session(acs, make_agent, [
        build_rpc("AddObject", ["Device.DHCPv4.Server.Pool.%s.StaticAddress." % pool])], **cfg())
    assert int(re.search(rb"<InstanceNumber>(\d+)<", answers[0]).group(1)) > int(sa)


def test_failed_commit_is_a_fault_and_changes_nothing(acs, make_agent, owrt, monkeypatch):
    answers, agent = session(acs, make_agent, [gpv("Device.WiFi.SSID.", "Device.IP.Interface.")], **cfg())
    v = parse_values(answers[0])
    guest = number(v, "Device.WiFi.SSID.#.SSID", "C7-Guest")
    lan = number(v, "Device.IP.Interface.#.Name", "lan")
    addr = [k for k in v if k.startswith("Device.IP.Interface.%s.IPv4Address." % lan) and k.endswith("IPAddress")]
    monkeypatch.setenv("UCI_FAIL_COMMIT", "wireless")
    answers, agent = session(acs, make_agent, [
        spv((addr[0], "10.9.9.1"), ("Device.WiFi.SSID.%s.SSID" % guest, "half"), key="never"),
        gpv("Device.WiFi.SSID.%s.SSID" % guest)], **cfg())
    assert fault_code(answers[0]) == 9002
    assert agent.model.parameter_key == ""
    for f, text in owrt.pristine.items():
        assert (owrt.conf / f).read_text() == text, f
    assert owrt.services() == []


def test_validation_faults_all_at_once(acs, make_agent, owrt):
    answers, agent = session(acs, make_agent, [gpv("Device.WiFi.SSID.", "Device.DHCPv4.Server.Pool.")], **cfg())
    v = parse_values(answers[0])
    guest = number(v, "Device.WiFi.SSID.#.SSID", "C7-Guest")
    pool = [k for k in v if k.endswith(".MinAddress")][0]
    answers, agent = session(acs, make_agent, [
        spv(("Device.WiFi.SSID.%s.SSID" % guest, "x" * 33), (pool, "10.0.0.5"),
            ("Device.WiFi.AccessPoint.%s.Security.KeyPassphrase" % guest, "short"),
            ("Device.Time.NTPServer1", "ok.example.com"), key="never")], **cfg())
    assert fault_code(answers[0]) == 9003
    assert sorted(param_faults(answers[0])) == sorted([
        ("Device.WiFi.SSID.%s.SSID" % guest, 9007), (pool, 9007),
        ("Device.WiFi.AccessPoint.%s.Security.KeyPassphrase" % guest, 9007)])
    assert "batch" not in owrt.calls("uci")


@pytest.mark.skipif(not os.path.exists(tr181.FULL), reason="../shared/bbf (TR-181 XML) is absent")
@pytest.mark.parametrize("device", ["c7", "ax3000t"])
def test_whole_tree_is_valid_tr181(acs, make_agent, tmp_path, monkeypatch, device):
    from test_tr181_validity import assert_valid, served_tree
    env = openwrt_replay.environment(tmp_path / "device", os.path.join(os.path.dirname(openwrt_replay.C7), device))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    tree = served_tree(acs, make_agent, **cfg())
    assert sum(1 for k in tree if not k.endswith(".")) > 800
    assert_valid(tree)


def test_dhcp_pools_added_configured_and_deleted(acs, make_agent, owrt):
    """AddObject DHCPv4.Server.Pool. makes a disabled dnsmasq `dhcp` section;
    the ACS sets its interface, range, lease time and enables it; a static
    lease can be switched off (the host's `enable` option); a disabled pool
    stays in the tree; DeleteObject removes the pool with its static leases."""
    # a guest network without DHCP yet, and a reservation in its subnet
    with open(str(owrt.conf / "network"), "a") as f:
        f.write("\nconfig interface 'guest'\n\toption proto 'static'\n\toption ipaddr '192.168.3.1'\n"
                "\toption netmask '255.255.255.0'\n")
    with open(str(owrt.conf / "dhcp"), "a") as f:
        f.write("\nconfig host 'camera'\n\toption mac '00:0e:c6:11:22:33'\n\toption ip '192.168.3.7'\n")
    answers, agent = session(acs, make_agent, [gpv("Device.IP.Interface.", "Device.DHCPv4.Server.")],
                             **cfg())
    v = parse_values(answers[0])
    lan = number(v, "Device.IP.Interface.#.Name", "lan")
    guest = number(v, "Device.IP.Interface.#.Name", "guest")
    pool = number(v, "Device.DHCPv4.Server.Pool.#.Interface", "Device.IP.Interface.%s." % lan)
    printer = number(v, "Device.DHCPv4.Server.Pool.%s.StaticAddress.#.Yiaddr" % pool, "192.168.1.20")
    count = int(v["Device.DHCPv4.Server.PoolNumberOfEntries"])
    answers, agent = session(acs, make_agent, [build_rpc("AddObject", ["Device.DHCPv4.Server.Pool."])], **cfg())
    new = re.search(rb"<InstanceNumber>(\d+)<", answers[0]).group(1).decode()
    assert owrt.uci("dhcp.rk_pool1") == "dhcp" and owrt.uci("dhcp.rk_pool1.ignore") == "1"
    p = "Device.DHCPv4.Server.Pool.%s." % new
    sa = "Device.DHCPv4.Server.Pool.%s.StaticAddress.%s." % (pool, printer)
    answers, agent = session(acs, make_agent, [
        spv((p + "Interface", "Device.IP.Interface.%s." % guest), (p + "MinAddress", "192.168.3.100"),
            (p + "MaxAddress", "192.168.3.149"), (p + "LeaseTime", "3600:int"), (p + "Enable", "true:boolean"),
            (sa + "Enable", "false:boolean"), key="pools"),
        build_rpc("AddObject", [p + "StaticAddress."])], **cfg())
    assert b"<Status>1</Status>" in answers[0], param_faults(answers[0])
    assert [owrt.uci("dhcp.rk_pool1." + o) for o in ("interface", "start", "limit", "leasetime", "ignore")] == \
        ["guest", "100", "50", "3600", "0"]
    assert owrt.uci("dhcp.printer.enable") == "0" and owrt.uci("dhcp.rk_rk_pool1_h1") == "host"
    assert owrt.services() == ["dnsmasq reload"] * 2  # once at the end of each session
    # the next session reads it back
    answers, agent = session(acs, make_agent, [gpv(p, sa + "Enable")], **cfg())
    v = parse_values(answers[0])
    assert (v[p + "Status"], v[p + "MinAddress"], v[p + "MaxAddress"], v[p + "LeaseTime"]) == \
        ("Enabled", "192.168.3.100", "192.168.3.149", "3600")
    assert v[sa + "Enable"] == "false"
    assert v[p + "StaticAddressNumberOfEntries"] == "2"  # camera, and the new one
    # a disabled pool stays, disabled; DeleteObject takes the pool and its leases
    answers, agent = session(acs, make_agent, [
        spv(("Device.DHCPv4.Server.Pool.%s.Enable" % pool, "false:boolean"), key="off"),
        build_rpc("DeleteObject", [p])], **cfg())
    assert b"<Status>1</Status>" in answers[1]
    assert [owrt.uci("dhcp." + s) for s in ("rk_pool1", "rk_rk_pool1_h1", "camera", "printer")] == \
        [None, None, None, "host"]
    answers, agent = session(acs, make_agent, [gpv("Device.DHCPv4.Server.")], **cfg())
    v = parse_values(answers[0])
    assert int(v["Device.DHCPv4.Server.PoolNumberOfEntries"]) == count
    assert (v["Device.DHCPv4.Server.Pool.%s.Enable" % pool], v["Device.DHCPv4.Server.Pool.%s.Status" % pool]) == \
        ("false", "Disabled")
    assert not any(k.startswith(p) for k in v)
