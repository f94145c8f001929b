"""The Linux packs against real state: a router built from network
namespaces (tests/nsrouter.py) with a bridge, veth ports, IPv4/IPv6
addresses, routes, neighbours, a dnsmasq that leased an address to a
busybox udhcpc client, and nftables NAT. The agent runs the backends
inside the router's namespace; what it serves is checked against what the
kernel and the lease file say, and against TR-181."""

import calendar
import ipaddress
import json
import os
import re
import shutil
import struct
import subprocess
import time

import pytest

import nsrouter
import tr181
from test_tr181_validity import LINUX, assert_valid, install_pack, served_tree

BACKENDS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "rocket", "backends")


@pytest.fixture(scope="module")
def router():
    r = nsrouter.Router()
    try:
        r.start()
    except nsrouter.Unavailable as e:
        pytest.skip(str(e))
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture(scope="module")
def tree(router, tmp_path_factory):
    """The whole tree of one session, shared by the checks below."""
    from conftest import write_conf
    from rocket.agent import Agent
    from rocket.base.config import Config
    from rocket import plugins
    from rocket.devacs import Acs

    tmp_path = tmp_path_factory.mktemp("router-tree")
    install_pack(tmp_path, *LINUX, wrap=["ip", "netns", "exec", router.rtr])
    acs = Acs().start()
    try:
        def make_agent(url, **sections):
            agent = Agent(Config.load(write_conf(tmp_path, url, **sections)), boot=True, once=True)
            plugins.install(agent)
            return agent
        return served_tree(acs, make_agent)
    finally:
        acs.stop()


def by_name(tree, table, name):
    """The instance path of ``table`` whose Name (or other key) is ``name``."""
    for path, (_, _, value) in tree.items():
        m = re.match(re.escape(table) + r"(\d+)\.Name$", path)
        if m and value == name:
            return table + m.group(1) + "."
    raise AssertionError("no %s with Name %s" % (table, name))


def find(tree, pattern, **want):
    """Instances (paths ending '.') under ``pattern`` (regex of the instance
    path) whose parameters have the wanted values."""
    out = []
    for path in tree:
        if path.endswith(".") and re.fullmatch(pattern, path):
            if all(tree.get(path + k, (None, None, None))[2] == v for k, v in want.items()):
                out.append(path)
    return out


def v(tree, path):
    return tree[path][2]


def test_interfaces_addresses_and_stack(router, tree):
    kernel = json.loads(router.run("ip", "-j", "addr", "show").stdout)
    names = {i["ifname"] for i in kernel}
    ip_names = {v(tree, p + "Name") for p in find(tree, r"Device\.IP\.Interface\.\d+\.")}
    assert ip_names == names - {"lx-p1", "lx-p2"}  # bridge ports carry no IP layer
    br = by_name(tree, "Device.IP.Interface.", "lx-br0")
    assert v(tree, br + "Status") == "Up" and v(tree, br + "Enable") == "true"
    a4 = find(tree, re.escape(br) + r"IPv4Address\.\d+\.", IPAddress="192.168.77.1")
    assert len(a4) == 1 and v(tree, a4[0] + "SubnetMask") == "255.255.255.0"
    kv6 = {a["local"] for i in kernel if i["ifname"] == "lx-br0" for a in i["addr_info"] if a["family"] == "inet6"}
    served6 = {v(tree, p + "IPAddress") for p in find(tree, re.escape(br) + r"IPv6Address\.\d+\.")}
    assert served6 == kv6 and "fd77::1" in kv6
    pfx = find(tree, re.escape(br) + r"IPv6Prefix\.\d+\.", Prefix="fd77::/64")
    assert len(pfx) == 1
    ula = find(tree, re.escape(br) + r"IPv6Address\.\d+\.", IPAddress="fd77::1")[0]
    assert v(tree, ula + "Prefix") == pfx[0][:-1]
    # the layer stack, with keys turned into numbers that resolve
    link = v(tree, br + "LowerLayers")
    assert re.fullmatch(r"Device\.Ethernet\.Link\.\d+", link) and v(tree, link + ".Name") == "lx-br0"
    mgmt = v(tree, link + ".LowerLayers")
    assert v(tree, mgmt + ".ManagementPort") == "true"
    ports = v(tree, mgmt + ".LowerLayers").split(",")
    assert sorted(v(tree, p + ".Name") for p in ports) == ["lx-p1", "lx-p2"]
    p1 = [p for p in ports if v(tree, p + ".Name") == "lx-p1"][0]
    eth = v(tree, p1 + ".LowerLayers")
    assert v(tree, eth + ".Name") == "lx-p1" and v(tree, eth + ".Status") == "Up"
    kmac = [i["address"] for i in kernel if i["ifname"] == "lx-p1"][0]
    assert v(tree, eth + ".MACAddress") == kmac
    p2 = [p for p in ports if v(tree, p + ".Name") == "lx-p2"][0]
    assert v(tree, p2 + ".Status") == "LowerLayerDown"
    wan = by_name(tree, "Device.Ethernet.Interface.", "lx-wan")
    assert v(tree, wan + "Upstream") == "true" and v(tree, eth + ".Upstream") == "false"
    with open("/proc/net/dev"):
        pass
    # the served count was read earlier; the upstream radvd keeps sending since
    stats = router.run("cat", "/sys/class/net/lx-wan/statistics/rx_packets").stdout.strip()
    assert 0 < int(v(tree, wan + "Stats.PacketsReceived")) <= int(stats)
    assert v(tree, "Device.IP.InterfaceNumberOfEntries") == str(len(ip_names))
    # the agent's InterfaceStack: one row per LowerLayers link, across packs
    rows = {(v(tree, r + "HigherLayer"), v(tree, r + "LowerLayer"))
            for r in find(tree, r"Device\.InterfaceStack\.\d+\.")}
    assert (br[:-1], link) in rows and (link, mgmt) in rows and (p1, eth) in rows
    assert v(tree, "Device.InterfaceStackNumberOfEntries") == str(len(rows))


def test_vlan_termination(router, tree):
    if router.vlan:
        pytest.skip(router.vlan)
    vt = by_name(tree, "Device.Ethernet.VLANTermination.", "lx-wan.7")
    assert v(tree, vt + "VLANID") == "7"
    assert v(tree, v(tree, vt + "LowerLayers") + ".Name") == "lx-wan"
    ipif = by_name(tree, "Device.IP.Interface.", "lx-wan.7")
    assert v(tree, ipif + "LowerLayers") == vt[:-1]


def test_bridge_vlans(router, tree):
    if router.bridge_vlan:
        pytest.skip(router.bridge_vlan)
    br = find(tree, r"Device\.Bridging\.Bridge\.\d+\.")[0]
    assert v(tree, br + "Standard") == "802.1Q-2011"
    vids = {v(tree, p + "VLANID") for p in find(tree, re.escape(br) + r"VLAN\.\d+\.")}
    assert {"20", "30"} <= vids


def test_routes(router, tree):
    r4 = "Device.Routing.Router.1.IPv4Forwarding."
    default = find(tree, re.escape(r4) + r"\d+\.", DestIPAddress="", GatewayIPAddress="203.0.113.1")
    assert len(default) == 1
    assert v(tree, v(tree, default[0] + "Interface") + ".Name") == "lx-wan"
    static = find(tree, re.escape(r4) + r"\d+\.", DestIPAddress="198.51.100.0")
    assert len(static) == 1
    s = static[0]
    assert (v(tree, s + "DestSubnetMask"), v(tree, s + "GatewayIPAddress"), v(tree, s + "ForwardingMetric"),
            v(tree, s + "StaticRoute")) == ("255.255.255.0", "192.168.77.50", "5", "true")
    kernel4 = json.loads(router.run("ip", "-j", "-4", "route", "show", "table", "main").stdout)
    assert v(tree, "Device.Routing.Router.1.IPv4ForwardingNumberOfEntries") == str(len(kernel4))
    r6 = "Device.Routing.Router.1.IPv6Forwarding."
    d6 = find(tree, re.escape(r6) + r"\d+\.", DestIPPrefix="::/0")
    assert len(d6) == 1 and v(tree, d6[0] + "NextHop") == "2001:db8:77::1"


def test_route_information(router, tree):
    """An RFC 4191 route that the upstream radvd advertises, as the kernel
    installed it."""
    if router.route_info:
        pytest.skip(router.route_info)
    ra = [r for r in json.loads(router.run("ip", "-j", "-6", "route", "show", "proto", "ra").stdout)
          if r.get("gateway") and r["dst"] != "default"]
    assert [r["dst"] for r in ra] == ["2001:db8:99::/48"]
    ri = find(tree, r"Device\.Routing\.RouteInformation\.InterfaceSetting\.\d+\.")
    assert len(ri) == 1 and v(tree, "Device.Routing.RouteInformation.Enable") == "true"
    r = ri[0]
    assert (v(tree, v(tree, r + "Interface") + ".Name"), v(tree, r + "SourceRouter"), v(tree, r + "Prefix"),
            v(tree, r + "PreferredRouteFlag"), v(tree, r + "Status")) == (
        ra[0]["dev"], ra[0]["gateway"], ra[0]["dst"], "High", "ForwardingEntryCreated")
    life = calendar.timegm(time.strptime(v(tree, r + "RouteLifetime"), "%Y-%m-%dT%H:%M:%SZ"))
    assert ra[0]["expires"] <= 1800 and abs(life - time.time() - ra[0]["expires"]) <= 2


def test_dhcp_lease_hosts_and_dns(router, tree):
    with open(router.leases) as f:
        expiry, mac, ip, host = f.read().split()[:4]
    assert mac == router.client_mac and ip == router.lease_ip
    pools = find(tree, r"Device\.DHCPv4\.Server\.Pool\.\d+\.")
    assert len(pools) == (1 if router.dhcpd else 2)
    p = by_ref_name(tree, pools, "lx-br0")
    assert (v(tree, p + "MinAddress"), v(tree, p + "MaxAddress"), v(tree, p + "LeaseTime")) == \
        ("192.168.77.100", "192.168.77.150", "43200")
    assert v(tree, v(tree, p + "Interface") + ".Name") == "lx-br0"
    client = find(tree, re.escape(p) + r"Client\.\d+\.", Chaddr=mac)
    assert len(client) == 1
    addr = find(tree, re.escape(client[0]) + r"IPv4Address\.\d+\.", IPAddress=ip)
    assert v(tree, addr[0] + "LeaseTimeRemaining") == tr181_time(int(expiry))
    h = find(tree, r"Device\.Hosts\.Host\.\d+\.", PhysAddress=mac)
    assert len(h) == 1
    h = h[0]
    assert (v(tree, h + "IPAddress"), v(tree, h + "AddressSource"), v(tree, h + "HostName")) == (ip, "DHCP", host)
    assert v(tree, h + "DHCPClient") == client[0][:-1]
    assert v(tree, v(tree, h + "Layer3Interface") + ".Name") == "lx-br0"
    static = find(tree, r"Device\.Hosts\.Host\.\d+\.", PhysAddress="02:00:00:00:77:60")
    assert v(tree, static[0] + "Active") == "true" and v(tree, static[0] + "AddressSource") == "Static"
    assert [v(tree, x + "IPAddress") for x in find(tree, re.escape(static[0]) + r"IPv6Address\.\d+\.")] == \
        ["fd77::60"]
    dns = sorted(v(tree, x + "DNSServer") for x in find(tree, r"Device\.DNS\.Client\.Server\.\d+\."))
    assert dns == ["2001:db8:77::53", "203.0.113.53"]
    fw = find(tree, r"Device\.DNS\.Relay\.Forwarding\.\d+\.")
    assert [v(tree, x + "DNSServer") for x in fw] == ["203.0.113.1"]


def test_isc_dhcpd_pool_and_lease(router, tree):
    """ISC dhcpd's subnet on lx-lan2 and the lease it gave lx-c2, as its
    configuration and lease file say."""
    if router.dhcpd:
        pytest.skip(router.dhcpd)
    with open(router.dhcpd_leases) as f:
        leases = f.read()
    ip = re.findall(r"lease ([0-9.]+) \{", leases)[-1]
    ends = re.findall(r"ends \d ([0-9/]+ [0-9:]+);", leases)[-1]
    p = by_ref_name(tree, find(tree, r"Device\.DHCPv4\.Server\.Pool\.\d+\."), "lx-lan2")
    assert (v(tree, p + "MinAddress"), v(tree, p + "MaxAddress"), v(tree, p + "SubnetMask"), v(tree, p + "LeaseTime"),
            v(tree, p + "IPRouters"), v(tree, p + "DNSServers"), v(tree, p + "DomainName")) == (
        "192.168.78.100", "192.168.78.150", "255.255.255.0", "1800", "192.168.78.1", "192.168.78.1,192.168.78.53",
        "lan2.test")
    st = find(tree, re.escape(p) + r"StaticAddress\.\d+\.")
    assert [(v(tree, x + "Chaddr"), v(tree, x + "Yiaddr")) for x in st] == [("02:00:00:00:78:99", "192.168.78.99")]
    c = find(tree, re.escape(p) + r"Client\.\d+\.")
    assert len(c) == 1 and v(tree, c[0] + "Chaddr") == "02:00:00:00:78:c2"
    a = find(tree, re.escape(c[0]) + r"IPv4Address\.\d+\.")
    assert (v(tree, a[0] + "IPAddress"), v(tree, a[0] + "LeaseTimeRemaining")) == (
        ip, ends.replace("/", "-").replace(" ", "T") + "Z")
    h = find(tree, r"Device\.Hosts\.Host\.\d+\.", PhysAddress="02:00:00:00:78:c2")
    assert (v(tree, h[0] + "IPAddress"), v(tree, h[0] + "HostName"), v(tree, h[0] + "DHCPClient")) == (
        ip, "lxclient2", c[0][:-1])


def tr181_time(epoch):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def test_dhcp_client(router, tree):
    if router.dhclient:
        pytest.skip(router.dhclient)
    c = find(tree, r"Device\.DHCPv4\.Client\.\d+\.")
    assert len(c) == 1
    c = c[0]
    with open(router.dhclient_leases) as f:
        lease = f.read()
    ip = re.findall(r"fixed-address ([0-9.]+);", lease)[-1]
    assert (v(tree, c + "IPAddress"), v(tree, c + "SubnetMask"), v(tree, c + "IPRouters"), v(tree, c + "DNSServers"),
            v(tree, c + "DHCPServer"), v(tree, c + "DHCPStatus")) == (
        ip, "255.255.255.0", "100.64.77.1", "100.64.77.53", "100.64.77.1", "Bound")
    assert 3000 < int(v(tree, c + "LeaseTimeRemaining")) <= 3600
    assert v(tree, v(tree, c + "Interface") + ".Name") == "lx-isp"
    req = {v(tree, x + "Tag"): x for x in find(tree, re.escape(c) + r"ReqOption\.\d+\.")}
    assert sorted(req, key=int) == ["1", "3", "6", "51"]
    assert v(tree, req["3"] + "Value") == "64404d01" and v(tree, req["51"] + "Value") == "00000e10"
    assert v(tree, req["1"] + "Order") == "1"
    sent = find(tree, re.escape(c) + r"SentOption\.\d+\.", Tag="12")
    assert v(tree, sent[0] + "Value") == "lx-router".encode().hex()


def test_dhcpv6_client(router, tree):
    if router.dhclient6:
        pytest.skip(router.dhclient6)
    c = find(tree, r"Device\.DHCPv6\.Client\.\d+\.")
    assert len(c) == 1
    c = c[0]
    with open(router.dhclient6_leases) as f:
        lease = f.read()
    duid = re.findall(r"option dhcp6.client-id ([0-9a-f:]+);", lease)[-1]
    assert v(tree, c + "DUID") == "".join("%02x" % int(b, 16) for b in duid.split(":"))
    assert (v(tree, c + "RequestAddresses"), v(tree, c + "RequestPrefixes"), v(tree, c + "RequestedOptions")) == \
        ("true", "false", "23,24")
    assert v(tree, v(tree, c + "Interface") + ".Name") == "lx-isp"
    dns = find(tree, re.escape(c) + r"ReceivedOption\.\d+\.", Tag="23")
    assert v(tree, dns[0] + "Value") == "20010db8006400000000000000000053"
    assert v(tree, v(tree, dns[0] + "Server") + ".DUID")


def test_ipv6_dhcp_and_router_advertisements(router, tree):
    ra = find(tree, r"Device\.RouterAdvertisement\.InterfaceSetting\.\d+\.")
    assert len(ra) == (1 if router.radvd else 2)
    r = by_ref_name(tree, ra, "lx-br0")
    assert v(tree, v(tree, r + "Interface") + ".Name") == "lx-br0"
    assert v(tree, v(tree, r + "Prefixes") + ".Prefix") == "fd77::/64"
    assert (v(tree, r + "AdvManagedFlag"), v(tree, r + "AdvOtherConfigFlag"), v(tree, r + "AdvPreferredRouterFlag"),
            v(tree, r + "MaxRtrAdvInterval"), v(tree, r + "AdvDefaultLifetime")) == ("true", "true", "High", "60",
                                                                                    "1200")
    pool = find(tree, r"Device\.DHCPv6\.Server\.Pool\.\d+\.")
    assert len(pool) == 1 and v(tree, pool[0] + "IANAEnable") == "true"
    assert v(tree, v(tree, pool[0] + "IANAPrefixes") + ".Prefix") == "fd77::/64"
    # dnsmasq's dhcp-option=option6:... lines, in their wire encoding
    opts = {v(tree, o + "Tag"): v(tree, o + "Value") for o in find(tree, re.escape(pool[0]) + r"Option\.\d+\.")}
    assert opts == {"23": (ipaddress.ip_address("fd77::1").packed + ipaddress.ip_address("fd77::53").packed).hex(),
                    "24": (b"\x03lan\x04test\x00").hex()}


def by_ref_name(tree, objs, name):
    return [o for o in objs if v(tree, v(tree, o + "Interface") + ".Name") == name][0]


def test_radvd_advertisement_as_sent(router, tree):
    """radvd's interface: every served value equals what radvd really
    sends (a Router Advertisement captured on the client side), including
    the ones its configuration leaves to radvd's defaults."""
    if router.radvd:
        pytest.skip(router.radvd)
    ra = router.router_advertisement()
    r = by_ref_name(tree, find(tree, r"Device\.RouterAdvertisement\.InterfaceSetting\.\d+\."), "lx-lan2")
    hop, flags, life, reach, retrans = struct.unpack("!BBHII", ra[4:16])
    opts = {}
    i = 16
    while i + 2 <= len(ra) and ra[i + 1]:
        opts.setdefault(ra[i], ra[i + 2:i + 8 * ra[i + 1]])
        i += 8 * ra[i + 1]
    prf = {0: "Medium", 1: "High", 3: "Low"}[(flags >> 3) & 3]
    assert (v(tree, r + "AdvCurHopLimit"), v(tree, r + "AdvManagedFlag"), v(tree, r + "AdvOtherConfigFlag"),
            v(tree, r + "AdvPreferredRouterFlag"), v(tree, r + "AdvDefaultLifetime"), v(tree, r + "AdvReachableTime"),
            v(tree, r + "AdvRetransTimer"), v(tree, r + "AdvLinkMTU")) == (
        str(hop), str(bool(flags & 0x80)).lower(), str(bool(flags & 0x40)).lower(), prf, str(life), str(reach),
        str(retrans), str(struct.unpack("!I", opts[5][2:6])[0]))
    assert (v(tree, r + "MaxRtrAdvInterval"), v(tree, r + "MinRtrAdvInterval")) == ("10", "4")
    served = {v(tree, o + "Tag"): v(tree, o + "Value") for o in find(tree, re.escape(r) + r"Option\.\d+\.")}
    assert served == {"24": opts[24].hex(), "25": opts[25].hex(), "31": opts[31].hex()}
    assert v(tree, v(tree, r + "Prefixes") + ".Prefix") == "fd78::/64"
    assert v(tree, r + "OptionNumberOfEntries") == "3"


def test_neighbor_discovery(router, tree):
    nd = by_ref_name(tree, find(tree, r"Device\.NeighborDiscovery\.InterfaceSetting\.\d+\."), "lx-wan")
    sysctl = lambda k: router.run("cat", "/proc/sys/net/ipv6/conf/lx-wan/" + k).stdout.strip()  # noqa: E731
    assert v(tree, nd + "MaxRtrSolicitations") == sysctl("router_solicitations") == "3"
    assert int(v(tree, nd + "RtrSolicitationInterval")) == 1000 * int(sysctl("router_solicitation_interval"))


def test_nat_and_firewall(router, tree):
    pm = find(tree, r"Device\.NAT\.PortMapping\.\d+\.", ExternalPort="8080")
    assert len(pm) == 1
    p = pm[0]
    assert (v(tree, p + "InternalClient"), v(tree, p + "InternalPort"), v(tree, p + "Protocol"),
            v(tree, p + "Description"), v(tree, p + "AllInterfaces")) == \
        ("192.168.77.10", "80", "TCP", "web server", "false")
    assert v(tree, v(tree, p + "Interface") + ".Name") == "lx-wan"
    ifs = find(tree, r"Device\.NAT\.InterfaceSetting\.\d+\.")
    assert [v(tree, v(tree, x + "Interface") + ".Name") for x in ifs] == ["lx-wan"]
    assert v(tree, "Device.Firewall.Enable") == "true" and v(tree, "Device.Firewall.Type") == "Stateful"


@pytest.mark.skipif(not os.path.exists(tr181.FULL), reason="../shared/bbf (TR-181 XML) is absent")
def test_router_tree_is_valid_tr181(tree):
    assert_valid(tree)


def test_numbers_stable_and_last_change(router, acs, make_agent, tmp_path):
    """Instance numbers hold across sessions; LastChange counts from the
    first read of a state and restarts when the link flaps between reads
    (the kernel's carrier_changes moved) even if Status reads the same."""
    install_pack(tmp_path, *LINUX, wrap=["ip", "netns", "exec", router.rtr])
    first = served_tree(acs, make_agent)
    flaps = router.run("cat", "/sys/class/net/lx-p2/carrier_changes").stdout
    time.sleep(2.1)
    router.run("ip", "link", "set", "lx-x2", "up")  # lx-p2 gains and loses its carrier
    router.run("ip", "link", "set", "lx-x2", "down")
    assert router.run("cat", "/sys/class/net/lx-p2/carrier_changes").stdout != flaps
    router.run("nft", "add", "rule", "inet", "lx_filter", "lx_forward", "tcp", "dport", "25", "drop")
    try:
        second = served_tree(acs, make_agent)
    finally:
        router.run("nft", "flush", "chain", "inet", "lx_filter", "lx_forward")
        router.run("nft", "add", "rule", "inet", "lx_filter", "lx_forward", "ct", "state", "established,related",
                   "accept")
        router.run("nft", "add", "rule", "inet", "lx_filter", "lx_forward", "iifname", "lx-br0", "accept")
    # the rule set changed between the reads: Firewall.LastChange moved with it
    assert v(second, "Device.Firewall.LastChange") > v(first, "Device.Firewall.LastChange")
    names = lambda t: {p: x[2] for p, x in t.items() if p.endswith(".Name")}  # noqa: E731
    assert names(first) == names(second)
    changes = {p: int(x[2]) for p, x in second.items() if p.endswith(".LastChange") and "Firewall" not in p}
    assert {re.sub(r"\.\d+\.", ".{i}.", p) for p in changes} >= {
        "Device.Ethernet.Interface.{i}.LastChange", "Device.Ethernet.Link.{i}.LastChange",
        "Device.IP.Interface.{i}.LastChange", "Device.Bridging.Bridge.{i}.Port.{i}.LastChange"}
    wan = by_name(second, "Device.Ethernet.Interface.", "lx-wan") + "LastChange"
    assert changes[wan] >= 2 + int(v(first, wan))
    p2 = by_name(second, "Device.Ethernet.Interface.", "lx-p2") + "LastChange"
    assert v(second, p2.replace("LastChange", "Status")) == "LowerLayerDown" and changes[p2] <= 1


def test_busybox_path_agrees(router, tmp_path):
    """Without iproute2's JSON (busybox ip, /proc, /sys) the same interfaces,
    addresses and routes come out."""
    bb = tmp_path / "bb"
    os.makedirs(bb)
    busybox = shutil.which("busybox")
    for applet in ("ip", "awk", "sh", "cat", "tr", "date", "tail", "mv"):
        os.symlink(busybox, bb / applet)
    real = tmp_path / "real"
    install_pack(tmp_path, "linux-net", wrap=["true"])
    env = {"PATH": str(bb), "ROCKET_RUNDIR": str(tmp_path)}
    iproute = shutil.which("ip")
    run = lambda *cmd: subprocess.run([iproute, "netns", "exec", router.rtr] + list(cmd), env=env,  # noqa: E731
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                                      timeout=30)
    slim = run(busybox, "sh", str(real / "linux-net"), "get")
    env["PATH"] = os.environ["PATH"]
    full = run("/bin/sh", str(real / "linux-net"), "get")
    assert slim.returncode == 0 and full.returncode == 0, (slim.stderr, full.stderr)
    assert not slim.stderr.strip(), slim.stderr

    def facts(out):
        recs = dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)
        keep = re.compile(r"Device\.(IP\.Interface\.\{[^}]*\}\.(Name|Status|IPv4Address\.\{[^}]*\}\.(IPAddress|SubnetMask)"
                          r"|IPv6Address\.\{[^}]*\}\.IPAddress)|Ethernet\.Interface\.\{[^}]*\}\.(Name|MACAddress)"
                          r"|Bridging\.Bridge\.\{[^}]*\}\.Port\.\{[^}]*\}\.Name"
                          r"|Routing\.Router\.1\.IPv[46]Forwarding\.\{[^}]*\}\.(GatewayIPAddress|NextHop|DestIPAddress))$")
        return {k: x for k, x in recs.items() if keep.match(k)}
    f, s = facts(full.stdout), facts(slim.stdout)
    assert len(f) > 20
    assert s == f
    # the services under busybox awk (no `^` there without libm): radvd, dnsmasq, dhcpd, nft
    os.symlink(shutil.which("nft"), bb / "nft")
    install_pack(tmp_path, "linux-svc", wrap=["true"])
    env["PATH"] = str(bb)
    slim = run(busybox, "sh", str(real / "linux-svc"), "get")
    env["PATH"] = os.environ["PATH"]
    full = run("/bin/sh", str(real / "linux-svc"), "get")
    assert slim.returncode == 0 and full.returncode == 0 and not slim.stderr.strip(), (slim.stderr, full.stderr)
    svc = lambda out: {x for x in out.splitlines()  # noqa: E731
                       if re.match(r"Device\.(RouterAdvertisement|DHCPv[46]\.Server|Firewall)\.", x)}
    assert len(svc(full.stdout)) > 60 and svc(slim.stdout) == svc(full.stdout)
