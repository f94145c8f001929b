"""The openwrt backend on the recorded Archer C7 tree (tests/openwrt/c7),
run as the agent runs it (one process per verb, records on stdin/stdout)
under sh, dash and busybox ash (with busybox's own awk, sed, grep...).

Values are checked against the recorded sources they come from (the uci
files, the netifd dump, the lease file, iwinfo's station list); writes must
land in the uci files, as one batch, and be reverted when uci fails."""

import os
import re
import shutil
import subprocess

import pytest

import openwrt_replay
from conftest import ROOT
from rocket.datamodel import records
from rocket.datamodel.backend import Manifest, generic

HERE = os.path.dirname(os.path.abspath(__file__))
C7 = openwrt_replay.C7
SCRIPT = os.path.join(ROOT, "rocket", "backends", "openwrt")
MANIFEST = Manifest.parse(open(SCRIPT + ".manifest").read())

SHELLS = [["sh"]]
if shutil.which("dash"):
    SHELLS.append(["dash"])
if shutil.which("busybox"):
    SHELLS.append(["busybox", "sh"])
BUSYBOX_TOOLS = ("awk", "sed", "grep", "tr", "date", "mv", "rm", "mkdir", "cat")


def keyed(path):
    """'Device.X.{k}.Y' -> 'Device.X.{i}.Y'"""
    return re.sub(r"\{[^}]*\}", "{i}", path)


class Tree:
    """A copy of the recorded device, with the stand-ins first on PATH."""

    def __init__(self, tmp_path, shell=("sh",), tree=C7):
        self.path = tmp_path
        env = openwrt_replay.environment(tmp_path, tree)
        self.root = tmp_path / "root"
        self.conf = self.root / "etc" / "config"
        self.pristine = {f: (self.conf / f).read_text() for f in os.listdir(self.conf)}
        self.log = tmp_path / "services.log"
        self.shell = list(shell)
        if self.shell[0] == "busybox":
            bb = tmp_path / "busybox"
            bb.mkdir()
            for tool in BUSYBOX_TOOLS:
                (bb / tool).write_text('#!/bin/sh\nexec busybox %s "$@"\n' % tool)
                (bb / tool).chmod(0o755)
            env["PATH"] = "%s:%s" % (bb, env["PATH"])
        self.env = dict(os.environ, ROCKET_RUNDIR=str(tmp_path / "run"), ROCKET_ROOT="Device.",
                        ROCKET_BACKEND="openwrt", **env)
        os.makedirs(self.env["ROCKET_RUNDIR"], mode=0o700)

    def run(self, verb, recs=(), rc=0):
        r = subprocess.run(self.shell + [SCRIPT, verb], input=records.encode_all(recs), capture_output=True,
                           env=self.env, timeout=60, cwd=str(self.path))
        assert r.returncode == rc, (verb, r.returncode, r.stderr.decode())
        self.stderr = r.stderr.decode()
        return records.decode(r.stdout)

    def get(self):
        out = {}
        for rec in self.run("get", [[p] for p in MANIFEST.prefixes]):
            assert len(rec) in (1, 2, 3), rec
            if len(rec) == 1:  # an empty table the ACS may add to
                assert rec[0].endswith("."), rec
                continue
            assert rec[0] not in out, "served twice: %s" % rec[0]
            out[rec[0]] = rec[1]
        return out

    def calls(self, tool):
        try:
            return (self.path / (tool + ".log")).read_text().splitlines()
        except FileNotFoundError:
            return []

    def uci(self, key):
        r = subprocess.run(["uci", "-q", "get", key], capture_output=True, text=True, env=self.env)
        return r.stdout.rstrip("\n") if r.returncode == 0 else None

    def services(self):
        try:
            return self.log.read_text().splitlines()
        except FileNotFoundError:
            return []


@pytest.fixture
def tree(tmp_path):
    return Tree(tmp_path)


@pytest.fixture
def bbtree(tmp_path):
    """busybox ash with busybox's awk, sed, grep... (what OpenWrt runs), else sh"""
    return Tree(tmp_path, SHELLS[-1])


def instances(v, table):
    """The instances ('Device.X.{key}') of TABLE ('Device.X.{i}.') among the served paths."""
    assert table.endswith(".{i}.")
    pat = re.escape(table[:-4]).replace(r"\{i\}", r"\{[^}]*\}") + r"\{[^}]*\}(?=\.)"
    return {m.group(0) for m in (re.match(pat, p) for p in v) if m}


def consistent(v):
    # every parameter is declared in the manifest (so it has its TR-181 type)
    for p in v:
        assert MANIFEST.spec(keyed(p)) is not None, p
    # every NumberOfEntries counts the instances served
    for p, n in v.items():
        if p.endswith("NumberOfEntries"):
            table = keyed(p[:-len("NumberOfEntries")]) + ".{i}."
            if p.endswith("ForwardNumberOfEntries"):
                table = keyed(p[:-len("ForwardNumberOfEntries")]) + "Forwarding.{i}."
            parent = p[:p.rindex(".") + 1]
            got = {k for k in instances(v, table) if k.startswith(parent) or "{" not in parent}
            assert int(n) == len(got), (p, n, sorted(got))


def test_read_the_recorded_router(tree):
    v = tree.get()
    # one process per source: uci once per configuration, ubus once per object
    assert sorted(tree.calls("uci")) == sorted("-q -X show %s" % c for c in
                                               ("network", "wireless", "dhcp", "firewall", "system"))
    assert len(tree.calls("ubus")) == 7
    assert sorted(tree.calls("iwinfo")) == sorted(
        ["wlan0 info", "wlan0 assoclist", "wlan1 info", "wlan1 assoclist", "wlan1-1 info", "wlan1-1 assoclist",
         "phy0 txpowerlist", "phy0 freqlist", "phy1 txpowerlist", "phy1 freqlist"])
    assert sorted(tree.calls("iw")) == ["phy phy0 info", "phy phy1 info"]
    consistent(v)
    # DeviceInfo: system board / info, /proc
    assert v["Device.DeviceInfo.ModelName"] == "TP-Link Archer C7 v5"
    assert v["Device.DeviceInfo.SoftwareVersion"] == "23.05.3"
    assert v["Device.DeviceInfo.MemoryStatus.Total"] == str(127254528 // 1024)
    assert v["Device.DeviceInfo.ProcessStatus.Process.{1022}.Command"] == "netifd"
    assert v["Device.DeviceInfo.TemperatureStatus.TemperatureSensor.{thermal_zone0}.Value"] == "52"
    assert v["Device.DeviceInfo.Processor.{cpu0}.Architecture"] == "mipseb"
    # Wi-Fi: uci + netifd + iwinfo
    assert v["Device.WiFi.SSID.{default_radio0}.SSID"] == "C7-Home-5G"
    assert v["Device.WiFi.SSID.{guest}.Name"] == "wlan1-1"
    assert v["Device.WiFi.SSID.{guest}.LowerLayers"] == "Device.WiFi.Radio.{radio1}."
    assert v["Device.WiFi.AccessPoint.{guest}.SSIDAdvertisementEnabled"] == "false"
    assert v["Device.WiFi.AccessPoint.{default_radio1}.Security.ModeEnabled"] == "WPA3-Personal-Transition"
    assert v["Device.WiFi.AccessPoint.{default_radio0}.Security.KeyPassphrase"] == ""
    assert v["Device.WiFi.Radio.{radio0}.Channel"] == "36"
    assert v["Device.WiFi.Radio.{radio0}.ChannelsInUse"] == "36,40,44,48"
    assert v["Device.WiFi.Radio.{radio0}.OperatingChannelBandwidth"] == "80MHz"
    assert v["Device.WiFi.Radio.{radio1}.AutoChannelEnable"] == "true"
    assert v["Device.WiFi.Radio.{radio0}.TransmitPower"] == "50"  # 20 dBm of 23 dBm: 100 of 199 mW
    # `iw phy`: QCA9880 3x3 VHT80 with short GI; the 2.4 GHz radio 3x3 HT40 with short GI
    assert (v["Device.WiFi.Radio.{radio0}.MaxBitRate"], v["Device.WiFi.Radio.{radio1}.MaxBitRate"]) == ("1300", "450")
    sta = "Device.WiFi.AccessPoint.{default_radio0}.AssociatedDevice.{a4:50:46:11:22:33}."
    assert v[sta + "SignalStrength"] == "-48" and v[sta + "LastDataDownlinkRate"] == "433300"
    assert v[sta + "Stats.PacketsSent"] == "402211"
    # the L2 stack: VLANs on eth0, the bridge and its ports
    assert v["Device.Ethernet.VLANTermination.{eth0.2}.VLANID"] == "2"
    assert v["Device.Ethernet.VLANTermination.{eth0.2}.LowerLayers"] == "Device.Ethernet.Link.{eth0}."
    assert v["Device.Bridging.Bridge.{br-lan}.Port.{br-lan}.ManagementPort"] == "true"
    assert v["Device.Bridging.Bridge.{br-lan}.Port.{wlan1-1}.LowerLayers"] == "Device.WiFi.SSID.{guest}."
    assert v["Device.Ethernet.Interface.{eth0}.CurrentBitRate"] == "1000"
    assert v["Device.Ethernet.Interface.{eth0}.Stats.BytesReceived"] == "10233480011"
    # IP, PPP: netifd's dump
    assert v["Device.IP.Interface.{lan}.IPv4Address.{static}.IPAddress"] == "192.168.1.1"
    assert v["Device.IP.Interface.{iptv}.IPv4Address.{dhcp}.SubnetMask"] == "255.255.240.0"
    assert v["Device.IP.Interface.{wan}.LowerLayers"] == "Device.PPP.Interface.{wan}."
    assert v["Device.IP.Interface.{wan6}.IPv6Address.{2001:db8:ff00::4b2}.Origin"] == "DHCPv6"
    assert v["Device.IP.Interface.{lan}.IPv6Prefix.{2001:db8:4a1c:300::/60}.ParentPrefix"] == \
        "Device.IP.Interface.{wan6}.IPv6Prefix.{2001:db8:4a1c:300::/56}."
    assert v["Device.PPP.Interface.{wan}.Username"] == "c7user@isp.example"
    assert v["Device.PPP.Interface.{wan}.Password"] == ""
    assert v["Device.PPP.Interface.{wan}.PPPoE.SessionID"] == str(0x2a1f)
    assert v["Device.PPP.Interface.{wan}.IPCP.RemoteIPAddress"] == "198.51.100.1"
    # PPP has no multicast or broadcast address: every packet is unicast; the
    # sent ones counted as requested (those dropped or failed included)
    with open(os.path.join(C7, "root", "proc", "net", "dev")) as f:
        c = [int(x) for x in next(ln for ln in f if ln.strip().startswith("pppoe-wan:")).split(":")[1].split()]
    q = "Device.PPP.Interface.{wan}.Stats."
    assert v[q + "UnicastPacketsReceived"] == str(c[1]) == v[q + "PacketsReceived"]
    assert v[q + "UnicastPacketsSent"] == str(c[9] + c[10] + c[11])
    assert (v[q + "MulticastPacketsSent"], v[q + "BroadcastPacketsSent"], v[q + "BroadcastPacketsReceived"]) == ("0",) * 3
    # routing: /proc/net/route merged with the uci route 'nas'
    r = "Device.Routing.Router.{main}.IPv4Forwarding."
    assert v[r + "{nas}.StaticRoute"] == "true" and v[r + "{nas}.Status"] == "Enabled"
    assert v[r + "{nas}.DestSubnetMask"] == "255.255.0.0"
    assert v[r + "{k_0.0.0.0_0_pppoe-wan}.GatewayIPAddress"] == "198.51.100.1"
    assert v[r + "{k_0.0.0.0_0_pppoe-wan}.Origin"] == "IPCP"
    assert any(p.endswith(".DestIPPrefix") and x == "fd00:20::/64" for p, x in v.items())
    # NAT: masquerading zone's networks (IPv4 ones), redirects
    assert instances(v, "Device.NAT.InterfaceSetting.{i}.") == {"Device.NAT.InterfaceSetting.{wan}",
                                                                 "Device.NAT.InterfaceSetting.{iptv}"}
    assert v["Device.NAT.PortMapping.{web}.Enable"] == "false"
    assert v["Device.NAT.PortMapping.{web/udp}.Protocol"] == "UDP"
    assert v["Device.NAT.PortMapping.{web}.RemoteHost"] == "203.0.113.7"
    # DHCP: pool from uci + interface netmask, clients = the lease file
    p = "Device.DHCPv4.Server.Pool.{lan}."
    assert (v[p + "MinAddress"], v[p + "MaxAddress"]) == ("192.168.1.100", "192.168.1.249")
    leases = [line.split() for line in open(os.path.join(C7, "root", "tmp", "dhcp.leases"))]
    assert v[p + "ClientNumberOfEntries"] == str(len(leases))
    for exp, mac, ip, name, _ in leases:
        assert v[p + "Client.{%s}.IPv4Address.{%s}.IPAddress" % (mac, ip)] == ip
    assert v[p + "Option.{6}.Value"] == "c0a80101"
    assert v[p + "StaticAddress.{printer}.Yiaddr"] == "192.168.1.20"
    assert v["Device.DHCPv4.Client.{iptv}.DHCPServer"] == "10.64.0.1"
    assert v["Device.DHCPv4.Client.{iptv}.IPRouters"] == "10.64.0.1"
    # the lease the dhcp-udhcpc hook kept: its length less the time since
    up = int(float(open(os.path.join(C7, "root", "proc", "uptime")).read().split()[0]))
    when, lease, _ = open(os.path.join(C7, "root", "var", "run", "rocket-udhcpc", "eth0.3")).read().split()
    assert v["Device.DHCPv4.Client.{iptv}.LeaseTimeRemaining"] == str(int(lease) - (up - int(when))) == "2030"
    assert v["Device.DHCPv6.Server.Pool.{lan}.ClientNumberOfEntries"] == "2"
    assert v["Device.RouterAdvertisement.InterfaceSetting.{lan}.AdvManagedFlag"] == "true"
    # Hosts: leases + ARP + hints + stations + DHCPv6 DUIDs, one per MAC
    assert instances(v, "Device.Hosts.Host.{i}.") == {"Device.Hosts.Host.{%s}" % m for m in (
        "a4:50:46:11:22:33", "3c:22:fb:9a:01:7e", "b8:27:eb:4a:12:9c", "00:1b:a9:5e:20:d1")}
    h = "Device.Hosts.Host.{a4:50:46:11:22:33}."
    assert v[h + "HostName"] == "phone" and v[h + "Active"] == "true"
    assert v[h + "AssociatedDevice"] == sta
    assert v[h + "IPv6Address.{2001:db8:4a1c:300::7d1}.IPAddress"] == "2001:db8:4a1c:300::7d1"
    assert v["Device.Hosts.Host.{00:1b:a9:5e:20:d1}.LeaseTimeRemaining"] == "-1"
    assert v["Device.DNS.Client.Server.{wan_1}.DNSServer"] == "9.9.9.9"
    assert v["Device.Firewall.Config"] == "Low"
    assert v["Device.Time.LocalTimeZone"] == "CET-1CEST,M3.5.0,M10.5.0/3"
    assert v["Device.Time.Status"] == "Synchronized"  # dnsmasq's ntp hook wrote its file
    assert v["Device.Users.User.{root}.Username"] == "root"
    # Alias: cpe- and the key; RA-learned routes; DHCPv6 options
    assert v["Device.Hosts.Host.{a4:50:46:11:22:33}.Alias"] == "cpe-a4-50-46-11-22-33"
    assert v["Device.Routing.RouteInformation.InterfaceSetting.{wan6_1}.SourceRouter"] == "fe80::1"
    # odhcp6c's metric for an RA route of medium preference (512)
    assert v["Device.Routing.RouteInformation.InterfaceSetting.{wan6_1}.PreferredRouteFlag"] == "Medium"
    # what odhcp6c acts on, and the requested 17 (reqopts) it passes through
    sup = v["Device.DHCPv6.Client.{wan6}.SupportedOptions"].split(",")
    assert {"3", "23", "24", "25", "17"} <= set(sup) and len(sup) == len(set(sup))
    assert set(v["Device.DHCPv6.Client.{wan6}.RequestedOptions"].split(",")) <= set(sup)
    assert v["Device.DHCPv6.Client.{wan6}.SentOption.{15}.Value"] == "c7-router".encode().hex()
    assert v["Device.DHCPv6.Client.{wan6}.ReceivedOption.{17}.Value"] == "00000de9000100026f6b"
    assert v["Device.DHCPv6.Server.Pool.{lan}.Option.{23}.Value"] == "fd4c9a1e72b300000000000000000001"
    assert v["Device.DHCPv6.Server.Pool.{lan}.Option.{24}.Value"] == "036c616e00"
    # odhcpd's RA DNS options from the dns and domain lists: reserved, lifetime
    # (3 x ra_maxinterval 600), the address; the name padded as odhcpd pads it
    ra = "Device.RouterAdvertisement.InterfaceSetting.{lan}."
    assert v[ra + "OptionNumberOfEntries"] == "2"
    assert v[ra + "Option.{25}.Value"] == "0000" "00000708" "fd4c9a1e72b300000000000000000001"
    assert v[ra + "Option.{31}.Value"] == "0000" "00000708" "036c616e00" + "00" * 11
    # odhcp6c runs on pppoe-wan, which has no MAC address: its DUID is not known
    assert "Device.DHCPv6.Client.{wan6}.DUID" not in v
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", v["Device.Firewall.LastChange"])


def swconfig_mib(port):
    """NAME -> value of the MIB in the C7's recorded `swconfig dev switch0
    port N show` (tests/openwrt/c7/swconfig/switch0.portN)."""
    text = open(os.path.join(C7, "swconfig", "switch0.port%d" % port)).read()
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+) *: (\d+)", text, re.M)}


def test_swconfig_front_ports_are_ethernet_interfaces(tree):
    """A swconfig switch (the C7's QCA8337) has no Linux device per port:
    board.json's front ports become Ethernet interfaces of their own, with
    swconfig's link state and the ar8xxx MIB's counters."""
    v = tree.get()
    ports = {"wan": 1, "lan1": 2, "lan2": 3, "lan3": 4, "lan4": 5}  # board.json: "2:lan:1" ... "1:wan"
    got = {v[p + ".Name"]: p for p in instances(v, "Device.Ethernet.Interface.{i}.")}
    assert set(got) == {"eth0"} | set(ports)  # neither the CPU port 0 nor the unused port 6
    for name, n in ports.items():
        assert got[name] == "Device.Ethernet.Interface.{switch0:%d}" % n
    # the CPU port is not asked; every other port is, once
    assert tree.calls("swconfig") == ["list", "dev switch0 help"] + ["dev switch0 port %d show" % n
                                                                      for n in range(1, 7)]
    p = "Device.Ethernet.Interface.{switch0:%d}."
    # link: "port:1 link:up speed:1000baseT full-duplex txflow rxflow auto", "port:3 link:down"
    assert [v[p % 1 + k] for k in ("Status", "CurrentBitRate", "DuplexMode", "Upstream")] == \
        ["Up", "1000", "Full", "true"]
    assert (v[p % 3 + "Status"], v[p % 3 + "Upstream"]) == ("Down", "false")
    assert p % 3 + "CurrentBitRate" not in v and p % 3 + "DuplexMode" not in v
    for n in (1, 2, 3):
        mib = swconfig_mib(n)
        want = {"BytesSent": mib["TxByte"], "BytesReceived": mib["RxGoodByte"] + mib["RxBadByte"],
                "BroadcastPacketsSent": mib["TxBroad"], "BroadcastPacketsReceived": mib["RxBroad"],
                "MulticastPacketsSent": mib["TxMulti"], "MulticastPacketsReceived": mib["RxMulti"],
                "ErrorsReceived": mib["RxFcsErr"] + mib["RxAlignErr"] + mib["RxTooLong"],
                "ErrorsSent": mib["TxLateCol"] + mib["TxAbortCol"] + mib["TxUnderRun"]}
        assert {k: int(v[p % n + "Stats." + k]) for k in want} == want, n
    assert v[p % 1 + "Stats.ErrorsReceived"] == "2"  # two frames with a bad FCS on the WAN port
    assert v[p % 1 + "Stats.BytesReceived"] == "9141385084"  # RxBadByte counted too
    # "No MIB data": every counter the switch shows is 0; no unicast or packet count exists
    assert {k: v[p % 4 + "Stats." + k] for k in ("BytesSent", "BroadcastPacketsReceived", "ErrorsSent")} == \
        {"BytesSent": "0", "BroadcastPacketsReceived": "0", "ErrorsSent": "0"}
    assert not [k for k in v if k.startswith("Device.Ethernet.Interface.{switch0:")
                and re.search(r"Unicast|Stats\.Packets|MACAddress|MaxBitRate", k)]


def test_swconfig_basic_mib_gives_bytes_only(tmp_path):
    """OpenWrt's ar8xxx driver starts with ar8xxx_mib_type 0: only
    RxGoodByte and TxByte (with a readable size after them)."""
    tree = Tree(tmp_path)
    replay = tmp_path / "replay"
    shutil.copytree(C7, str(replay))
    for n in range(1, 7):
        f = replay / "swconfig" / ("switch0.port%d" % n)
        keep = [l for l in f.read_text().splitlines(True)
                if not re.match(r"\w+ *: \d", l) or re.match(r"(RxGoodByte|TxByte) ", l)]
        f.write_text("".join(keep))
    tree.env["OPENWRT_REPLAY"] = str(replay)
    v = tree.get()
    p = "Device.Ethernet.Interface.{switch0:2}.Stats."
    assert {k[len(p):]: x for k, x in v.items() if k.startswith(p)} == {
        "BytesSent": str(swconfig_mib(2)["TxByte"]), "BytesReceived": str(swconfig_mib(2)["RxGoodByte"])}
    assert v["Device.Ethernet.Interface.{switch0:4}.Stats.BytesSent"] == "0"
    assert "Device.Ethernet.Interface.{switch0:4}.Stats.BroadcastPacketsSent" not in v


QCA8K_MIB = ("RxBroad RxPause RxMulti RxFcsErr RxAlignErr RxRunt RxFragment Rx64Byte Rx128Byte Rx256Byte "
             "Rx512Byte Rx1024Byte Rx1518Byte RxMaxByte RxTooLong RxGoodByte RxBadByte RxOverFlow Filtered "
             "TxBroad TxPause TxMulti TxUnderRun Tx64Byte Tx128Byte Tx256Byte Tx512Byte Tx1024Byte Tx1518Byte "
             "TxMaxByte TxOverSize TxByte TxCollision TxAbortCol TxMultiCol TxSingleCol TxExcDefer TxDefer "
             "TxLateCol RXUnicast TXUnicast").split()


def test_qca8k_dsa_port_counters(tmp_path):
    """A QCA8337 under the qca8k DSA driver (ipq806x, ath79 boards moved to
    DSA): `ethtool -S PORT` in ethtool's layout, DSA's four counters, then
    ar8327_mib's names in the driver's order (qca8k-common.c), RXUnicast and
    TXUnicast last (QCA8337 only)."""
    tree = Tree(tmp_path, tree=os.path.join(HERE, "openwrt", "ax3000t"))
    replay = tmp_path / "replay"
    shutil.copytree(os.path.join(HERE, "openwrt", "ax3000t"), str(replay))
    values = {name: 1000 + 7 * i for i, name in enumerate(QCA8K_MIB)}
    lines = ["NIC statistics:"] + ["     %s: %d" % kv for kv in
                                   [("tx_packets", 5), ("tx_bytes", 640), ("rx_packets", 9), ("rx_bytes", 1280)]]
    lines += ["     %s: %d" % (name, values[name]) for name in QCA8K_MIB]
    (replay / "ethtool" / "lan3.S").write_text("\n".join(lines) + "\n")
    tree.env["OPENWRT_REPLAY"] = str(replay)
    v = tree.get()
    p = "Device.Ethernet.Interface.{lan3}.Stats."
    want = {"UnicastPacketsSent": "TXUnicast", "UnicastPacketsReceived": "RXUnicast",
            "MulticastPacketsSent": "TxMulti", "MulticastPacketsReceived": "RxMulti",
            "BroadcastPacketsSent": "TxBroad", "BroadcastPacketsReceived": "RxBroad"}
    assert {k: v[p + k] for k in want} == {k: str(values[m]) for k, m in want.items()}


def test_read_a_dsa_router_without_luci(tmp_path):
    """OpenWrt 24.10 on a Xiaomi AX3000T: DSA switch ports, phyN-apM Wi-Fi
    names, a DHCP WAN, no PPP, no LuCI (no host hints)."""
    tree = Tree(tmp_path, SHELLS[-1], os.path.join(HERE, "openwrt", "ax3000t"))
    v = tree.get()
    consistent(v)
    assert instances(v, "Device.Ethernet.Interface.{i}.") == {
        "Device.Ethernet.Interface.{%s}" % d for d in ("eth0", "lan2", "lan3", "lan4", "wan")}
    assert v["Device.Ethernet.Interface.{wan}.Upstream"] == "true"
    assert v["Device.Ethernet.Interface.{lan2}.Status"] == "Down"
    assert v["Device.Ethernet.Interface.{lan3}.CurrentBitRate"] == "1000"
    # the switch port's own counters: the mt7531 MIB in `ethtool -S lan3` (ethtool/lan3.S)
    mib = {"UnicastPacketsSent": "689012", "MulticastPacketsSent": "10101", "BroadcastPacketsSent": "2110",
           "UnicastPacketsReceived": "216210", "MulticastPacketsReceived": "3301", "BroadcastPacketsReceived": "820"}
    for k, n in mib.items():
        assert v["Device.Ethernet.Interface.{lan3}.Stats." + k] == n, k
        assert "Device.Ethernet.Link.{lan3}.Stats." + k not in v or k == "MulticastPacketsReceived"
    assert v["Device.Ethernet.Interface.{wan}.Stats.UnicastPacketsReceived"] == "2795012"
    assert v["Device.Ethernet.Interface.{lan3}.Stats.PacketsSent"] == "701223"  # the kernel's count
    assert "Device.Ethernet.Interface.{eth0}.Stats.UnicastPacketsSent" not in v  # no recording: no statistics
    assert sorted(tree.calls("ethtool")) == ["-S %s" % d for d in ("eth0", "lan2", "lan3", "lan4", "wan")]
    assert v["Device.Bridging.Bridge.{br-lan}.Port.{lan3}.LowerLayers"] == "Device.Ethernet.Interface.{lan3}."
    assert v["Device.Ethernet.Link.{wan}.LowerLayers"] == "Device.Ethernet.Interface.{wan}."
    assert v["Device.IP.Interface.{wan}.LowerLayers"] == "Device.Ethernet.Link.{wan}."
    assert v["Device.PPP.InterfaceNumberOfEntries"] == "0"
    assert v["Device.DHCPv4.Client.{wan}.IPAddress"] == "192.0.2.57"
    assert v["Device.DHCPv4.Client.{wan}.DNSServers"] == "192.0.2.1"
    assert v["Device.WiFi.SSID.{default_radio1}.Name"] == "phy1-ap0"
    assert v["Device.WiFi.Radio.{radio1}.SupportedStandards"] == "a,n,ac,ax"
    assert v["Device.WiFi.Radio.{radio1}.OperatingStandards"] == "a,n,ac,ax"
    assert v["Device.WiFi.Radio.{radio1}.OperatingChannelBandwidth"] == "80MHz"
    assert v["Device.WiFi.AccessPoint.{default_radio1}.Security.ModeEnabled"] == "WPA3-Personal"
    assert v["Device.DeviceInfo.Processor.{cpu3}.Architecture"] == "arm"
    assert v["Device.Hosts.HostNumberOfEntries"] == "2"  # leases + ARP on the LAN (not the WAN gateway)
    assert v["Device.Hosts.Host.{5e:1a:7c:33:90:04}.AssociatedDevice"] == \
        "Device.WiFi.AccessPoint.{default_radio1}.AssociatedDevice.{5e:1a:7c:33:90:04}."
    assert v["Device.Hosts.Host.{f0:d4:e2:a1:b3:c5}.IPv6Address.{2001:db8:77:100::2bd}.IPAddress"] == \
        "2001:db8:77:100::2bd"  # its DUID-LL names its MAC address
    assert "Device.NeighborDiscovery.InterfaceSetting.{wan6}.MaxRtrSolicitations" not in v  # -1: no limit
    assert v["Device.Time.Status"] == "Unsynchronized"  # the hook is there, ntpd has not synchronised
    # no clientid: odhcp6c's DUID-LL of the wan port's MAC address
    assert v["Device.DHCPv6.Client.{wan6}.DUID"] == "00030001" "9483c4a1072e"
    assert "ubus: " not in tree.stderr


def test_same_tree_under_every_shell_and_awk(tmp_path):
    trees = [Tree(tmp_path / s[0], s) for s in SHELLS if not os.makedirs(str(tmp_path / s[0]))]
    seen = [tree.get() for tree in trees]
    volatile = re.compile(r"CurrentLocalTime|CPUUsage|LastUpdate|ResetTime|MinTime|MaxTime")
    seen = [{k: x for k, x in s.items() if not volatile.search(k)} for s in seen]
    for s in seen[1:]:
        assert s == seen[0]


def test_missing_tools_leave_their_parameters_out(tmp_path):
    tree = Tree(tmp_path)
    # only uci: no ubus, no iwinfo (a minimal image)
    bindir = tmp_path / "onlyuci"
    bindir.mkdir()
    os.symlink(os.path.join(HERE, "bin", "uci"), str(bindir / "uci"))
    tree.env["PATH"] = "%s:%s" % (bindir, "/usr/bin:/bin")
    v = tree.get()
    assert v["Device.WiFi.SSID.{guest}.SSID"] == "C7-Guest"
    assert v["Device.WiFi.SSID.{guest}.Status"] == "Down"
    assert not any(".AssociatedDevice.{" in p for p in v)
    assert v["Device.IP.Interface.{lan}.IPv4Address.{static}.IPAddress"] == "192.168.1.1"
    assert "Device.DeviceInfo.ModelName" not in v
    assert v["Device.Hosts.HostNumberOfEntries"] == "4"  # the lease file and ARP remain


def test_writes_one_batch_then_one_reload_per_service(bbtree):
    tree = bbtree
    canary = tree.path / "CANARY"
    ssid = "n'w\"$(touch CANARY)`id`;\\"
    recs = [["Device.WiFi.SSID.{guest}.SSID", ssid, "string"],
            ["Device.WiFi.AccessPoint.{guest}.Security.ModeEnabled", "WPA2-Personal", "string"],
            ["Device.WiFi.AccessPoint.{guest}.Security.KeyPassphrase", "`reboot`$(id)'\"", "string"],
            ["Device.WiFi.Radio.{radio0}.Channel", "44", "unsignedInt"],
            ["Device.WiFi.Radio.{radio0}.OperatingChannelBandwidth", "40MHz", "string"],
            ["Device.WiFi.Radio.{radio1}.TransmitPower", "10", "int"],
            ["Device.IP.Interface.{lan}.IPv4Address.{static}.IPAddress", "192.168.1.2", "string"],
            ["Device.PPP.Interface.{wan}.Username", "new@isp", "string"],
            ["Device.PPP.Interface.{wan}.Password", "pp'p", "string"],
            ["Device.DHCPv4.Server.Pool.{lan}.MinAddress", "192.168.1.50", "string"],
            ["Device.DHCPv4.Server.Pool.{lan}.MaxAddress", "192.168.1.99", "string"],
            ["Device.DHCPv4.Server.Pool.{lan}.DNSServers", "192.168.1.1,9.9.9.9", "string"],
            ["Device.DHCPv4.Server.Pool.{lan}.DomainName", "home.arpa", "string"],
            ["Device.DHCPv4.Server.Pool.{lan}.LeaseTime", "-1", "int"],
            ["Device.DNS.Client.Server.{wan_2}.DNSServer", "1.1.1.1", "string"],
            ["Device.NAT.PortMapping.{web}.Enable", "true", "boolean"],
            ["Device.NAT.PortMapping.{web}.ExternalPortEndRange", "8090", "unsignedInt"],
            ["Device.Routing.Router.{main}.IPv4Forwarding.{nas}.DestSubnetMask", "255.255.255.0", "string"],
            ["Device.Time.NTPServer2", "ntp.example.com", "string"],
            ["Device.Firewall.Config", "High", "string"],
            ["Device.Users.User.{root}.Password", "r00t pw", "string"]]
    assert tree.run("set-commit", recs) == [["status", "1"]]
    assert tree.calls("uci").count("batch") == 1
    assert tree.uci("wireless.guest.ssid") == ssid
    assert tree.uci("wireless.guest.encryption") == "psk2"
    assert tree.uci("wireless.guest.key") == "`reboot`$(id)'\""
    assert (tree.uci("wireless.radio0.channel"), tree.uci("wireless.radio0.htmode")) == ("44", "VHT40")
    assert tree.uci("wireless.radio1.txpower") == "10"  # 10 dBm = 10 mW, 13 % of 79 mW is nearest
    assert tree.uci("network.lan.ipaddr") == "192.168.1.2"
    assert (tree.uci("network.wan.username"), tree.uci("network.wan.password")) == ("new@isp", "pp'p")
    assert (tree.uci("dhcp.lan.start"), tree.uci("dhcp.lan.limit")) == ("50", "50")
    assert tree.uci("dhcp.lan.dhcp_option") == "6,192.168.1.1,9.9.9.9 15,home.arpa"
    assert tree.uci("dhcp.lan.leasetime") == "infinite"
    assert (tree.uci("network.wan.dns"), tree.uci("network.wan.peerdns")) == ("9.9.9.9 1.1.1.1", "0")
    assert (tree.uci("firewall.web.enabled"), tree.uci("firewall.web.src_dport")) == ("1", "8080-8090")
    assert (tree.uci("network.nas.target"), tree.uci("network.nas.netmask")) == ("10.20.0.0", "255.255.255.0")
    assert tree.uci("system.ntp.server").split() == ["0.openwrt.pool.ntp.org", "ntp.example.com",
                                                     "2.openwrt.pool.ntp.org", "3.openwrt.pool.ntp.org"]
    assert tree.uci("firewall.rk_high") == "rule"
    assert (tree.path / "passwd.in").read_text() == "r00t pw\nr00t pw\n"
    assert "uci: " not in tree.stderr
    # committed: the files carry it, nothing stays staged
    assert "option ssid 'n'\\''w" in (tree.conf / "wireless").read_text()
    assert subprocess.run(["uci", "changes"], capture_output=True, text=True, env=tree.env).stdout == ""
    assert not canary.exists()
    assert [s for s in tree.services() if not s.startswith("passwd")] == []  # reloads wait for apply
    tree.run("apply")
    assert sorted(s for s in tree.services() if not s.startswith("passwd")) == [
        "dnsmasq reload", "firewall reload", "network reload", "sysntpd reload", "wifi reload"]
    tree.run("apply")  # nothing left to reload
    assert len([s for s in tree.services() if not s.startswith("passwd")]) == 5
    # the next read sees the writes
    v = tree.get()
    assert v["Device.WiFi.SSID.{guest}.SSID"] == ssid
    assert v["Device.DHCPv4.Server.Pool.{lan}.MinAddress"] == "192.168.1.50"
    assert v["Device.Firewall.Config"] == "High"


def test_failed_commit_is_reverted_and_fails(tree):
    tree.env["UCI_FAIL_COMMIT"] = "wireless"
    tree.run("set-commit", [["Device.IP.Interface.{lan}.IPv4Address.{static}.IPAddress", "10.1.1.1", "string"],
                            ["Device.WiFi.SSID.{guest}.SSID", "half", "string"]], rc=1)
    assert "configuration restored" in tree.stderr
    for f, text in tree.pristine.items():
        assert (tree.conf / f).read_text() == text, f
    assert subprocess.run(["uci", "changes"], capture_output=True, text=True, env=tree.env).stdout == ""
    tree.run("apply")
    assert tree.services() == []
    assert sorted(os.listdir(tree.env["ROCKET_RUNDIR"])) == []


def test_validation_faults_all_at_once(tree):
    recs = [["Device.WiFi.SSID.{guest}.SSID", "two\nlines", "string"],
            ["Device.WiFi.SSID.{nope}.SSID", "x", "string"],
            ["Device.WiFi.AccessPoint.{guest}.Security.KeyPassphrase", "short", "string"],
            ["Device.DHCPv4.Server.Pool.{lan}.MinAddress", "10.0.0.5", "string"],
            ["Device.IP.Interface.{lan}.IPv4Address.{static}.SubnetMask", "255.0.255.0", "string"],
            ["Device.IP.Interface.{iptv}.IPv4Address.{dhcp}.IPAddress", "10.0.0.1", "string"],
            ["Device.Routing.Router.{main}.IPv4Forwarding.{k_0.0.0.0_0_pppoe-wan}.GatewayIPAddress", "1.2.3.4",
             "string"],
            ["Device.NAT.PortMapping.{web}.InternalClient", "not-an-ip", "string"],
            ["Device.WiFi.SSID.{guest.ssid='x' }.SSID", "y", "string"],
            ["Device.Time.NTPServer1", "ok.example.com", "string"]]
    out = tree.run("set-commit", recs)
    assert sorted((r[1], r[2]) for r in out) == sorted([
        ("Device.WiFi.SSID.{guest}.SSID", "9007"), ("Device.WiFi.SSID.{nope}.SSID", "9005"),
        ("Device.WiFi.AccessPoint.{guest}.Security.KeyPassphrase", "9007"),
        ("Device.DHCPv4.Server.Pool.{lan}.MinAddress", "9007"),
        ("Device.IP.Interface.{lan}.IPv4Address.{static}.SubnetMask", "9007"),
        ("Device.IP.Interface.{iptv}.IPv4Address.{dhcp}.IPAddress", "9008"),
        ("Device.Routing.Router.{main}.IPv4Forwarding.{k_0.0.0.0_0_pppoe-wan}.GatewayIPAddress", "9008"),
        ("Device.NAT.PortMapping.{web}.InternalClient", "9007"),
        ("Device.WiFi.SSID.{guest.ssid='x' }.SSID", "9005")])
    assert "batch" not in tree.calls("uci")
    for f, text in tree.pristine.items():
        assert (tree.conf / f).read_text() == text


def test_add_and_delete_instances(bbtree):
    tree = bbtree
    out = tree.run("add", [["Device.NAT.PortMapping."]])
    assert out[0] == ["instance", "rk_pm1"] and out[-1] == ["status", "1"]
    assert ["Device.NAT.PortMapping.{rk_pm1}.Enable", "false"] in out
    assert tree.uci("firewall.rk_pm1") == "redirect" and tree.uci("firewall.rk_pm1.enabled") == "0"
    assert tree.uci("firewall.rk_pm1.src") == "wan"
    tree.run("set-commit", [["Device.NAT.PortMapping.{rk_pm1}.ExternalPort", "4443", "unsignedInt"],
                            ["Device.NAT.PortMapping.{rk_pm1}.InternalClient", "192.168.1.147", "string"],
                            ["Device.NAT.PortMapping.{rk_pm1}.InternalPort", "443", "unsignedInt"],
                            ["Device.NAT.PortMapping.{rk_pm1}.Enable", "true", "boolean"]])
    v = tree.get()
    pm = "Device.NAT.PortMapping.{rk_pm1}."
    assert (v[pm + "ExternalPort"], v[pm + "InternalPort"], v[pm + "InternalClient"], v[pm + "Enable"]) == (
        "4443", "443", "192.168.1.147", "true")
    assert tree.run("add", [["Device.NAT.PortMapping."]])[0] == ["instance", "rk_pm2"]
    # static lease in the lan pool
    out = tree.run("add", [["Device.DHCPv4.Server.Pool.{lan}.StaticAddress."]])
    assert out[0] == ["instance", "rk_lan_h1"]
    tree.run("set-commit", [["Device.DHCPv4.Server.Pool.{lan}.StaticAddress.{rk_lan_h1}.Chaddr",
                             "3c:22:fb:9a:01:7e", "string"],
                            ["Device.DHCPv4.Server.Pool.{lan}.StaticAddress.{rk_lan_h1}.Yiaddr", "192.168.1.30",
                             "string"]])
    assert tree.uci("dhcp.rk_lan_h1.ip") == "192.168.1.30"
    # static route
    out = tree.run("add", [["Device.Routing.Router.{main}.IPv4Forwarding."]])
    assert out[0] == ["instance", "rk_route1"]
    r = "Device.Routing.Router.{main}.IPv4Forwarding.{rk_route1}."
    tree.run("set-commit", [[r + "DestIPAddress", "172.16.0.0", "string"], [r + "DestSubnetMask", "255.240.0.0",
                                                                           "string"],
                            [r + "GatewayIPAddress", "192.168.1.250", "string"],
                            [r + "Interface", "Device.IP.Interface.{lan}.", "string"], [r + "Enable", "true",
                                                                                      "boolean"]])
    assert (tree.uci("network.rk_route1.target"), tree.uci("network.rk_route1.netmask"),
            tree.uci("network.rk_route1.interface"), tree.uci("network.rk_route1.disabled")) == (
        "172.16.0.0", "255.240.0.0", "lan", "0")
    # delete them, and an existing anonymous redirect
    for path in ("Device.NAT.PortMapping.{rk_pm1}.", "Device.DHCPv4.Server.Pool.{lan}.StaticAddress.{rk_lan_h1}.",
                 r, "Device.NAT.PortMapping.{web/udp}."):
        assert tree.run("delete", [[path]]) == [["status", "1"]]
    assert tree.uci("firewall.rk_pm1") is None and tree.uci("firewall.web") is None
    assert tree.uci("dhcp.rk_lan_h1") is None and tree.uci("network.rk_route1") is None
    tree.run("delete", [["Device.NAT.PortMapping.{nope}."]], rc=1)
    tree.run("add", [["Device.WiFi.SSID."]], rc=1)
    # a DHCP pool on the lan, with a lease of its own; a wrong interface is refused
    out = tree.run("add", [["Device.DHCPv4.Server.Pool."]])
    assert out[0] == ["instance", "rk_pool1"] and ["Device.DHCPv4.Server.Pool.{rk_pool1}.Enable", "false"] in out
    p = "Device.DHCPv4.Server.Pool.{rk_pool1}."
    out = tree.run("set-commit", [[p + "Interface", "Device.IP.Interface.{nope}.", "string"]])
    assert out == [["fault", p + "Interface", "9005", "no such instance"]]
    tree.run("set-commit", [[p + "Interface", "Device.IP.Interface.{lan}.", "string"],
                            [p + "MinAddress", "192.168.1.240", "string"], [p + "MaxAddress", "192.168.1.250", "string"],
                            [p + "Enable", "true", "boolean"]])
    assert [tree.uci("dhcp.rk_pool1." + o) for o in ("interface", "start", "limit", "ignore")] == \
        ["lan", "240", "11", "0"]
    assert tree.run("add", [[p + "StaticAddress."]])[0] == ["instance", "rk_rk_pool1_h1"]
    v = tree.get()
    consistent(v)
    assert (v[p + "Status"], v[p + "MinAddress"], v[p + "MaxAddress"]) == ("Enabled", "192.168.1.240", "192.168.1.250")
    assert tree.run("delete", [[p]]) == [["status", "1"]]
    assert tree.uci("dhcp.rk_pool1") is None and tree.uci("dhcp.rk_rk_pool1_h1") is None
    assert tree.uci("dhcp.printer") == "host"  # the lan pool still serves its subnet
    tree.run("apply")
    assert sorted(set(tree.services())) == ["dnsmasq reload", "firewall reload", "network reload"]


def test_shellcheck():
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck is not installed")
    r = subprocess.run(["shellcheck", "-x", "-s", "sh", "openwrt"], cwd=os.path.dirname(SCRIPT),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout


def test_last_change_counts_from_the_first_read_of_a_state(tmp_path):
    """Ethernet interfaces, links, bridge ports and SSIDs: LastChange in
    seconds of /proc/uptime since the pack first saw the current state,
    kept in the run directory; a reboot starts over (lastchange.awk)."""
    tree = Tree(tmp_path, SHELLS[-1], os.path.join(HERE, "openwrt", "ax3000t"))
    uptime = tree.root / "proc" / "uptime"
    up0 = int(float(uptime.read_text().split()[0]))
    lan3 = ("Device.Ethernet.Interface.{lan3}.LastChange", "Device.Bridging.Bridge.{br-lan}.Port.{lan3}.LastChange")
    others = ("Device.Ethernet.Interface.{lan4}.LastChange", "Device.Ethernet.Link.{wan}.LastChange",
              "Device.Bridging.Bridge.{br-lan}.Port.{br-lan}.LastChange",
              "Device.WiFi.SSID.{default_radio1}.LastChange")

    def served(up):
        uptime.write_text("%d.17 %d.50\n" % (up, up * 2))
        v = tree.get()
        consistent(v)
        return [int(v[p]) for p in lan3], [int(v[p]) for p in others]

    assert served(up0) == ([0, 0], [0, 0, 0, 0])
    assert served(up0 + 60) == ([60, 60], [60, 60, 60, 60])
    (tree.root / "sys" / "class" / "net" / "lan3" / "operstate").write_text("lowerlayerdown\n")
    assert served(up0 + 61) == ([0, 0], [61, 61, 61, 61])
    assert served(up0 + 91) == ([30, 30], [91, 91, 91, 91])
    (tree.root / "sys" / "class" / "net" / "lan3" / "carrier_changes").write_text("7\n")  # a flap
    assert served(up0 + 95) == ([0, 0], [95, 95, 95, 95])
    assert served(40) == ([0, 0], [0, 0, 0, 0])  # rebooted: uptime went back
