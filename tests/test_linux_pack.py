"""The Linux packs as programs: shellcheck-clean, runnable by busybox ash
with busybox applets only (a missing tool leaves its parameters out, never
an error), and their file parsers (dhclient leases, iptables-save)."""

import calendar
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import ROOT

BACKENDS = os.path.join(ROOT, "rocket", "backends")
PACKS = ("linux", "linux-net", "linux-svc", "linux-wifi")
STANDIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "linux")
BUSYBOX = shutil.which("busybox")


def records(out):
    recs = {}
    for line in out.splitlines():
        path, sep, value = line.partition("\t")
        assert sep and path.startswith("Device."), line
        recs[path] = value
    return recs


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_shellcheck_clean():
    r = subprocess.run(["shellcheck", "-x", "-s", "sh"] + list(PACKS), cwd=BACKENDS,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert r.returncode == 0, r.stdout


def bb_path(tmp_path, extra=()):
    d = tmp_path / "bb"
    os.makedirs(d, exist_ok=True)
    for applet in ("ip", "awk", "sh", "cat", "tr", "date", "tail", "mv", "uname") + tuple(extra):
        if not (d / applet).exists():
            os.symlink(BUSYBOX, d / applet)
    return str(d)


@pytest.mark.skipif(BUSYBOX is None, reason="busybox is not installed")
@pytest.mark.parametrize("pack", PACKS)
def test_runs_on_busybox_alone(tmp_path, pack):
    env = {"PATH": bb_path(tmp_path), "ROCKET_RUNDIR": str(tmp_path)}
    r = subprocess.run([BUSYBOX, "sh", os.path.join(BACKENDS, pack), "get"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    recs = records(r.stdout)
    assert recs
    if pack == "linux-svc":
        assert not any(k.startswith(("Device.NAT.", "Device.Firewall.")) for k in recs)  # no nft, no iptables
    if pack == "linux-net":
        assert any(re.match(r"Device\.IP\.Interface\.\{lo\}\.Name$", k) for k in recs)
    if pack == "linux-wifi":  # no iw: empty tables
        assert recs == {"Device.WiFi.%sNumberOfEntries" % t: "0" for t in ("Radio", "SSID", "AccessPoint")}


LEASES = """lease {
  interface "eth9";
  fixed-address 198.51.100.23;
  option subnet-mask 255.255.255.0;
  option routers 198.51.100.1;
  option dhcp-lease-time 7200;
  option domain-name-servers 198.51.100.1,198.51.100.2;
  option dhcp-server-identifier 198.51.100.1;
  renew 4 %(renew)s;
  expire 4 %(expire)s;
}
"""

IPTABLES = """*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i wan0 -p udp -m udp --dport 5000:5010 -j DNAT --to-destination 192.168.1.20:6000
-A PREROUTING -s 203.0.113.9/32 -i wan0 -p tcp -m tcp --dport 2222 -j DNAT --to-destination 192.168.1.21
-A POSTROUTING -o wan0 -j MASQUERADE
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
"""


@pytest.mark.skipif(BUSYBOX is None, reason="busybox is not installed")
def test_dhclient_lease_and_iptables(tmp_path):
    now = time.time()
    fmt = lambda t: time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(t))  # noqa: E731
    lease = tmp_path / "dhclient.eth9.leases"
    lease.write_text(LEASES % {"renew": fmt(now + 1800), "expire": fmt(now + 3600)})
    path = bb_path(tmp_path)
    fake = tmp_path / "bb" / "iptables-save"
    fake.write_text("#!%s sh\ncat <<'EOF'\n%sEOF\n" % (BUSYBOX, IPTABLES))
    fake.chmod(0o755)
    env = {"PATH": path, "ROCKET_RUNDIR": str(tmp_path), "DHCLIENT_LEASES": str(lease)}
    r = subprocess.run([BUSYBOX, "sh", os.path.join(BACKENDS, "linux-svc"), "get"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    v = records(r.stdout)
    c = "Device.DHCPv4.Client.{eth9}."
    assert (v[c + "IPAddress"], v[c + "SubnetMask"], v[c + "IPRouters"], v[c + "DNSServers"],
            v[c + "DHCPServer"], v[c + "DHCPStatus"]) == (
        "198.51.100.23", "255.255.255.0", "198.51.100.1", "198.51.100.1,198.51.100.2", "198.51.100.1", "Bound")
    assert 3500 <= int(v[c + "LeaseTimeRemaining"]) <= 3600
    assert v[c + "Interface"] == "Device.IP.Interface.{eth9}"
    assert v["Device.DHCPv4.ClientNumberOfEntries"] == "1"
    pm = {k.split("}.")[-1]: x for k, x in v.items() if "PortMapping.{" in k and "5000:5010" in k}
    assert (pm["ExternalPort"], pm["ExternalPortEndRange"], pm["InternalPort"], pm["InternalClient"],
            pm["Protocol"], pm["Interface"]) == ("5000", "5010", "6000", "192.168.1.20", "UDP",
                                                 "Device.IP.Interface.{wan0}")
    pm = {k.split("}.")[-1]: x for k, x in v.items() if "PortMapping.{" in k and "2222" in k}
    assert (pm["RemoteHost"], pm["InternalPort"], pm["Protocol"]) == ("203.0.113.9", "2222", "TCP")
    assert v["Device.NAT.InterfaceSetting.{wan0}.Interface"] == "Device.IP.Interface.{wan0}"
    assert v["Device.NAT.PortMappingNumberOfEntries"] == "2"
    assert (v["Device.Firewall.Enable"], v["Device.Firewall.Type"]) == ("true", "Stateful")
    # Firewall.LastChange: when the pack first saw this rule set (counters apart)
    seen = calendar.timegm(time.strptime(v["Device.Firewall.LastChange"], "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(seen - now) < 30
    kept = (tmp_path / "firewall").read_text()
    assert kept.split("\n")[0] == str(seen) and "MASQUERADE" in kept and ":0]" not in kept


@pytest.mark.skipif(BUSYBOX is None, reason="busybox is not installed")
def test_wifi_from_iw(tmp_path):
    path = bb_path(tmp_path)
    with open(os.path.join(path, "iw"), "w") as f:
        f.write('#!%s sh\nexec %s sh "%s" "$@"\n' % (BUSYBOX, BUSYBOX, os.path.join(STANDIN, "iw")))
    os.chmod(os.path.join(path, "iw"), 0o755)
    r = subprocess.run([BUSYBOX, "sh", os.path.join(BACKENDS, "linux-wifi"), "get"],
                       env={"PATH": path, "ROCKET_RUNDIR": str(tmp_path)}, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    v = records(r.stdout)
    r0 = "Device.WiFi.Radio.{phy0}."
    assert (v[r0 + "SupportedFrequencyBands"], v[r0 + "OperatingFrequencyBand"], v[r0 + "Channel"],
            v[r0 + "PossibleChannels"], v[r0 + "CurrentOperatingChannelBandwidth"]) == (
        "2.4GHz", "2.4GHz", "6", "1,6,11", "20MHz")
    assert v["Device.WiFi.Radio.{phy1}.PossibleChannels"] == "36,40,52"  # disabled 100 left out
    s = "Device.WiFi.SSID.{wlan1}."
    assert (v[s + "SSID"], v[s + "BSSID"], v[s + "LowerLayers"]) == (
        'Guest "5G"', "02:11:22:33:44:56", "Device.WiFi.Radio.{phy1}")
    a = "Device.WiFi.AccessPoint.{wlan0}."
    assert v[a + "SSIDReference"] == "Device.WiFi.SSID.{wlan0}"
    assert v[a + "AssociatedDeviceNumberOfEntries"] == "2"
    st = a + "AssociatedDevice.{02:aa:bb:cc:dd:01}."
    assert (v[st + "SignalStrength"], v[st + "LastDataDownlinkRate"], v[st + "LastDataUplinkRate"],
            v[st + "AuthenticationState"], v[st + "Stats.BytesSent"], v[st + "Stats.RetransCount"]) == (
        "-48", "144400", "65000", "true", "654321", "12")
    assert v[a + "AssociatedDevice.{02:aa:bb:cc:dd:02}.AuthenticationState"] == "false"
    assert v["Device.WiFi.AccessPoint.{wlan1}.AssociatedDeviceNumberOfEntries"] == "0"
