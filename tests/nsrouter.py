"""A small router built from network namespaces (for the Linux pack's
real-state tests and bench/coverage.py): everything is named lx-*.

    lx-cli-N  --lx-c1==lx-p1--+
                              lx-br0 (192.168.77.1/24, fd77::1/64) --- dnsmasq (DHCP, DNS)
              lx-x2==lx-p2 ---+            nft: DNAT wan:8080 -> 192.168.77.10:80, masquerade
    lx-rtr-N  lx-wan (203.0.113.2/24, 2001:db8:77::2/64) == lx-up (lx-up-N ns: .1)
              lx-wan.7 (802.1Q VLAN 7, 10.77.7.1/24) when the kernel has 8021q
              lx-isp: dhclient (when installed) leases 100.64.77.x from a dnsmasq in lx-up-N
              lx-lan2 (fd78::1/64, 192.168.78.1/24) == lx-c2 (lx-cli-N): radvd advertises there,
              ISC dhcpd leases to lx-c2 (udhcpc), when installed
              a radvd in lx-up-N advertises a route (RFC 4191) to lx-wan: 2001:db8:99::/48, high

``Router().start()`` builds it (raises Unavailable with a reason when the
machine cannot: not root, no netns, no veth/bridge), ``stop()`` removes
every namespace, process and file it made.
"""

import os
import shutil
import subprocess
import tempfile
import time

from peers import stop


class Unavailable(Exception):
    pass


def _run(*args, ns=None, check=True, **kw):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                       timeout=20, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()))
    return r


def sweep():
    """Remove what a killed run left: lx-rtr/cli/up-N namespaces whose
    process N is gone, with the daemons still running inside them."""
    r = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       universal_newlines=True)
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        kind, _, pid = name.rpartition("-")
        if kind not in ("lx-rtr", "lx-cli", "lx-up") or not pid.isdigit() or os.path.exists("/proc/" + pid):
            continue
        pids = subprocess.run(["ip", "netns", "pids", name], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              universal_newlines=True).stdout.split()
        for p in pids:
            try:
                os.kill(int(p), 15)
            except (OSError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree("/etc/netns/" + name, ignore_errors=True)


class Router:
    def __init__(self):
        n = os.getpid()
        self.rtr = "lx-rtr-%d" % n
        self.cli = "lx-cli-%d" % n
        self.up = "lx-up-%d" % n
        self.tmp = None
        self.procs = []
        self.vlan = None  # reason when 802.1Q devices are unavailable
        self.bridge_vlan = None  # reason when the bridge cannot filter VLANs
        self.lease_ip = self.client_mac = None
        self.radvd = None  # reason when radvd does not run
        self.dhcpd = None  # reason when dhcpd gave no lease
        self.route_info = "radvd is not installed"  # reason when lx-wan has no RFC 4191 route

    # --------------------------------------------------------------- build
    def start(self):
        if os.geteuid() != 0:
            raise Unavailable("needs root (network namespaces)")
        for tool in ("ip", "nft", "dnsmasq", "busybox"):
            if shutil.which(tool) is None:
                raise Unavailable("%s is not installed" % tool)
        sweep()
        try:
            _run("ip", "netns", "add", self.rtr)
        except RuntimeError as e:
            raise Unavailable("cannot create a network namespace: %s" % e)
        try:
            self._build()
        except BaseException:
            self.stop()
            raise
        return self

    def _build(self):
        R, C, U = self.rtr, self.cli, self.up
        _run("ip", "netns", "add", C)
        _run("ip", "netns", "add", U)
        self.tmp = tempfile.mkdtemp(prefix="lx-router-")
        ipr = lambda *a: _run("ip", *a, ns=R)  # noqa: E731
        try:
            ipr("link", "add", "lx-br0", "type", "bridge")
        except RuntimeError as e:
            raise Unavailable("no bridge support: %s" % e)
        try:
            ipr("link", "set", "lx-br0", "type", "bridge", "vlan_filtering", "1")
        except RuntimeError as e:
            self.bridge_vlan = "the bridge has no VLAN filtering here: %s" % e
        try:
            ipr("link", "add", "lx-p1", "type", "veth", "peer", "name", "lx-c1", "netns", C)
        except RuntimeError as e:
            raise Unavailable("no veth support: %s" % e)
        ipr("link", "add", "lx-p2", "type", "veth", "peer", "name", "lx-x2")
        ipr("link", "add", "lx-wan", "type", "veth", "peer", "name", "lx-up", "netns", U)
        for port in ("lx-p1", "lx-p2"):
            ipr("link", "set", port, "master", "lx-br0")
        ipr("link", "set", "lx-p1", "up")
        ipr("link", "set", "lx-p2", "up")  # its peer stays down: LowerLayerDown
        ipr("link", "set", "lx-br0", "up")
        ipr("link", "set", "lx-wan", "up")
        ipr("link", "set", "lo", "up")
        ipr("addr", "add", "192.168.77.1/24", "dev", "lx-br0")
        ipr("addr", "add", "fd77::1/64", "dev", "lx-br0", "nodad")
        ipr("addr", "add", "203.0.113.2/24", "dev", "lx-wan")
        ipr("addr", "add", "2001:db8:77::2/64", "dev", "lx-wan", "nodad")
        if self.bridge_vlan is None:
            _run("bridge", "vlan", "add", "dev", "lx-p2", "vid", "20", "pvid", "untagged", ns=R)
            _run("bridge", "vlan", "add", "dev", "lx-p1", "vid", "30", ns=R)
        try:
            ipr("link", "add", "link", "lx-wan", "name", "lx-wan.7", "type", "vlan", "id", "7")
            ipr("link", "set", "lx-wan.7", "up")
            ipr("addr", "add", "10.77.7.1/24", "dev", "lx-wan.7")
        except RuntimeError as e:
            self.vlan = "802.1Q VLAN devices are not available here: %s" % e
        _run("ip", "link", "set", "lo", "up", ns=U)
        _run("sysctl", "-q", "-w", "net.ipv6.conf.lx-up.accept_dad=0", ns=U)  # radvd sends at once
        _run("ip", "link", "set", "lx-up", "up", ns=U)
        _run("ip", "addr", "add", "203.0.113.1/24", "dev", "lx-up", ns=U)
        _run("ip", "addr", "add", "2001:db8:77::1/64", "dev", "lx-up", "nodad", ns=U)
        self._isp()
        # a finite router solicitation count (the kernel's default, -1, has no TR-181 value)
        _run("sysctl", "-q", "-w", "net.ipv6.conf.lx-wan.router_solicitations=3", ns=R)
        ipr("route", "add", "default", "via", "203.0.113.1", "dev", "lx-wan")
        ipr("-6", "route", "add", "default", "via", "2001:db8:77::1", "dev", "lx-wan")
        ipr("route", "add", "198.51.100.0/24", "via", "192.168.77.50", "dev", "lx-br0", "metric", "5")
        ipr("neigh", "add", "192.168.77.60", "lladdr", "02:00:00:00:77:60", "dev", "lx-br0", "nud", "permanent")
        ipr("neigh", "add", "fd77::60", "lladdr", "02:00:00:00:77:60", "dev", "lx-br0", "nud", "permanent")
        nft = os.path.join(self.tmp, "rules.nft")
        with open(nft, "w") as f:
            f.write("table ip lx_nat {\n"
                    "  chain pre {\n    type nat hook prerouting priority -100;\n"
                    '    iifname "lx-wan" tcp dport 8080 dnat to 192.168.77.10:80 comment "web server"\n  }\n'
                    "  chain post {\n    type nat hook postrouting priority 100;\n"
                    '    oifname "lx-wan" masquerade\n  }\n}\n'
                    "table inet lx_filter {\n"
                    "  chain lx_forward {\n    type filter hook forward priority 0; policy drop;\n"
                    "    ct state established,related accept\n"
                    '    iifname "lx-br0" accept\n  }\n}\n')
        _run("nft", "-f", nft, ns=R)
        os.makedirs("/etc/netns/%s" % R, exist_ok=True)
        with open("/etc/netns/%s/resolv.conf" % R, "w") as f:
            f.write("nameserver 203.0.113.53\nnameserver 2001:db8:77::53\n")
        self.leases = os.path.join(self.tmp, "dnsmasq.leases")
        conf = os.path.join(self.tmp, "dnsmasq.conf")
        with open(conf, "w") as f:
            f.write("interface=lx-br0\nbind-interfaces\nexcept-interface=lo\n"
                    "dhcp-range=192.168.77.100,192.168.77.150,255.255.255.0,12h\n"
                    "dhcp-host=02:00:00:00:77:99,192.168.77.99\n"
                    "dhcp-leasefile=%s\nno-resolv\nserver=203.0.113.1\ndomain=lan.test\n"
                    "dhcp-authoritative\nenable-ra\ndhcp-range=fd77::100,fd77::1ff,64,12h\n"
                    "ra-param=lx-br0,high,60,1200\n"
                    "dhcp-option=option6:dns-server,[fd77::1],[fd77::53]\n"
                    "dhcp-option=option6:domain-search,lan.test\n" % self.leases)
        p = subprocess.Popen(["ip", "netns", "exec", R, "dnsmasq", "--keep-in-foreground", "--conf-file=" + conf,
                              "--pid-file=" + os.path.join(self.tmp, "dnsmasq.pid"), "--user=root",
                              "--group=root"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.procs.append(p)
        script = os.path.join(self.tmp, "udhcpc.script")
        with open(script, "w") as f:
            f.write('#!/bin/sh\ncase $1 in bound|renew) ip addr add "$ip/24" dev "$interface" ;; esac\n'
                    'echo "$1 $ip" >>"%s/udhcpc.log"\n' % self.tmp)
        os.chmod(script, 0o755)
        _run("ip", "link", "set", "lo", "up", ns=C)
        _run("ip", "link", "set", "lx-c1", "address", "02:00:00:00:77:c1", ns=C)
        _run("ip", "link", "set", "lx-c1", "up", ns=C)
        self.client_mac = "02:00:00:00:77:c1"
        deadline = time.time() + 15
        while True:
            r = _run("busybox", "udhcpc", "-i", "lx-c1", "-n", "-q", "-f", "-t", "3", "-T", "1",
                     "-s", script, "-x", "hostname:lxclient", ns=C, check=False)
            if r.returncode == 0 or time.time() > deadline:
                break
            if p.poll() is not None:
                raise RuntimeError("dnsmasq exited: %s" % p.stderr.read().decode()[:300])
        if r.returncode != 0:
            raise RuntimeError("udhcpc got no lease: %s" % r.stderr[-300:])
        with open(self.leases) as f:
            self.lease_ip = f.read().split()[2]
        # the client talks to the router: a real neighbour entry on lx-br0
        _run("ping", "-c", "1", "-W", "2", "192.168.77.1", ns=C, check=False)
        self._lan2()
        return self

    RADVD_CONF = ("interface lx-lan2 {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 4;\n  MaxRtrAdvInterval 10;\n"
                  "  AdvOtherConfigFlag on;\n  AdvLinkMTU 1400;\n  AdvDefaultPreference low;\n"
                  "  prefix ::/64 { AdvValidLifetime 3600; AdvPreferredLifetime 1800; };\n"
                  "  RDNSS fd78::53 fd78::54 { };\n  DNSSL lan2.test example.org { AdvDNSSLLifetime 15; };\n"
                  "  route fd99::/48 { AdvRoutePreference high; };\n};\n")

    DHCPD_CONF = ("default-lease-time 1800;\noption domain-name-servers 192.168.78.1, 192.168.78.53;\n"
                  "subnet 192.168.78.0 netmask 255.255.255.0 {\n  range 192.168.78.100 192.168.78.150;\n"
                  "  option routers 192.168.78.1;\n  option domain-name \"lan2.test\";\n}\n"
                  "host printer {\n  hardware ethernet 02:00:00:00:78:99;\n  fixed-address 192.168.78.99;\n}\n")

    def _lan2(self):
        """A second LAN: router advertisements from radvd (defaults for what
        RADVD_CONF leaves out), IPv4 leases from ISC dhcpd (DHCPD_CONF)."""
        R, C = self.rtr, self.cli
        _run("ip", "link", "add", "lx-lan2", "type", "veth", "peer", "name", "lx-c2", "netns", C, ns=R)
        # a LAN side takes no advertisements (its own radvd's would give it a SLAAC address)
        _run("sysctl", "-q", "-w", "net.ipv6.conf.lx-lan2.accept_ra=0", ns=R)
        _run("ip", "addr", "add", "fd78::1/64", "dev", "lx-lan2", "nodad", ns=R)
        _run("ip", "addr", "add", "192.168.78.1/24", "dev", "lx-lan2", ns=R)
        _run("ip", "link", "set", "lx-lan2", "up", ns=R)
        _run("sysctl", "-q", "-w", "net.ipv6.conf.lx-c2.accept_dad=0", ns=C)
        _run("ip", "link", "set", "lx-c2", "address", "02:00:00:00:78:c2", ns=C)
        _run("ip", "link", "set", "lx-c2", "up", ns=C)
        self._dhcpd()
        if shutil.which("radvd") is None:
            self.radvd = "radvd is not installed"
            return
        conf = os.path.join(self.tmp, "radvd.conf")
        with open(conf, "w") as f:
            f.write(self.RADVD_CONF)
        self.procs.append(subprocess.Popen(
            ["ip", "netns", "exec", R, "radvd", "-n", "-C", conf, "-p", os.path.join(self.tmp, "radvd.pid"),
             "-m", "stderr"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # upstream: route information only (not a default router, no prefix)
        if not os.path.exists("/proc/sys/net/ipv6/conf/default/accept_ra_rt_info_max_plen"):
            self.route_info = "the kernel does not accept RA route information (no CONFIG_IPV6_ROUTE_INFO)"
            return
        _run("sysctl", "-q", "-w", "net.ipv6.conf.lx-wan.accept_ra_rt_info_max_plen=64", ns=R)
        conf = os.path.join(self.tmp, "radvd-up.conf")
        with open(conf, "w") as f:
            f.write("interface lx-up {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 4;\n  AdvDefaultLifetime 0;\n"
                    "  route 2001:db8:99::/48 { AdvRoutePreference high; AdvRouteLifetime 1800; };\n};\n")
        self.procs.append(subprocess.Popen(
            ["ip", "netns", "exec", self.up, "radvd", "-n", "-C", conf, "-p",
             os.path.join(self.tmp, "radvd-up.pid"), "-m", "stderr"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.time() + 8
        self.route_info = "no route information from the upstream radvd in 8 s"
        while time.time() < deadline:
            if "2001:db8:99::/48" in _run("ip", "-6", "route", "show", "proto", "ra", ns=R).stdout:
                self.route_info = None
                break
            time.sleep(0.1)

    def _isp(self):
        """A second uplink whose address comes from DHCP: dhclient (ISC) on
        the router, a dnsmasq in the upstream namespace."""
        self.dhclient = "dhclient got no lease in 20 s"
        if shutil.which("dhclient") is None:
            self.dhclient = self.dhclient6 = "dhclient (isc-dhcp-client) is not installed"
            return
        R, U = self.rtr, self.up
        _run("ip", "link", "add", "lx-isp", "type", "veth", "peer", "name", "lx-ispu", "netns", U, ns=R)
        _run("sysctl", "-q", "-w", "net.ipv6.conf.lx-isp.accept_dad=0", ns=R)
        _run("ip", "link", "set", "lx-isp", "up", ns=R)
        _run("ip", "link", "set", "lx-ispu", "up", ns=U)
        _run("ip", "addr", "add", "100.64.77.1/24", "dev", "lx-ispu", ns=U)
        _run("ip", "addr", "add", "2001:db8:64::1/64", "dev", "lx-ispu", "nodad", ns=U)
        p = subprocess.Popen(["ip", "netns", "exec", U, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
                              "--port=0", "--interface=lx-ispu", "--bind-interfaces", "--user=root", "--group=root",
                              "--dhcp-range=100.64.77.100,100.64.77.150,255.255.255.0,1h",
                              "--dhcp-option=option:dns-server,100.64.77.53",
                              "--dhcp-range=2001:db8:64::100,2001:db8:64::1ff,64,1h",
                              "--dhcp-option=option6:dns-server,[2001:db8:64::53]",
                              "--dhcp-leasefile=" + os.path.join(self.tmp, "isp.leases"),
                              "--pid-file=" + os.path.join(self.tmp, "isp.pid")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        self.dhclient_leases = os.path.join(self.tmp, "dhclient.lx-isp.leases")
        conf = os.path.join(self.tmp, "dhclient.conf")
        with open(conf, "w") as f:
            f.write("send host-name \"lx-router\";\n"
                    "request subnet-mask, routers, domain-name-servers, dhcp-lease-time, "
                    "dhcp6.name-servers, dhcp6.domain-search;\n")
        script = os.path.join(self.tmp, "dhclient.script")
        with open(script, "w") as f:
            f.write('#!/bin/sh\ncase $reason in BOUND|RENEW|REBIND|REBOOT)\n'
                    '  ip addr add "$new_ip_address/24" dev "$interface" ;; esac\nexit 0\n')
        os.chmod(script, 0o755)
        d = subprocess.Popen(["ip", "netns", "exec", R, "dhclient", "-4", "-d", "-lf", self.dhclient_leases,
                              "-cf", conf, "-pf", os.path.join(self.tmp, "dhclient.pid"), "-sf", script, "lx-isp"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(d)
        self.dhclient6_leases = os.path.join(self.tmp, "dhclient6.lx-isp.leases")
        d6 = subprocess.Popen(["ip", "netns", "exec", R, "dhclient", "-6", "-d", "-lf", self.dhclient6_leases,
                               "-cf", conf, "-pf", os.path.join(self.tmp, "dhclient6.pid"), "-sf", script, "lx-isp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(d6)
        self.dhclient6 = "dhclient -6 got no lease in 20 s"
        deadline = time.time() + 20
        while time.time() < deadline and (self.dhclient or self.dhclient6):
            if os.path.exists(self.dhclient_leases) and "fixed-address" in open(self.dhclient_leases).read():
                self.dhclient = None
            if os.path.exists(self.dhclient6_leases) and "iaaddr" in open(self.dhclient6_leases).read():
                self.dhclient6 = None
            time.sleep(0.2)

    _RS = """
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lx-c2")
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
idx = socket.if_nametoindex("lx-c2")
end = time.time() + 8
s.settimeout(1)
while time.time() < end:
    s.sendto(bytes([133, 0, 0, 0, 0, 0, 0, 0]), ("ff02::2", 0, 0, idx))
    try:
        while True:
            data = s.recv(2048)
            if data[:1] == bytes([134]):
                sys.stdout.write(data.hex())
                sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)
"""

    def router_advertisement(self):
        """The ICMPv6 message (bytes) of a Router Advertisement that radvd
        sent on lx-lan2 in answer to a Router Solicitation from lx-c2."""
        import sys
        r = _run("ip", "netns", "exec", self.cli, sys.executable, "-I", "-S", "-c", self._RS, check=False)
        if r.returncode != 0:
            raise RuntimeError("no router advertisement on lx-c2: %s" % r.stderr[-300:])
        return bytes.fromhex(r.stdout)

    def _dhcpd(self):
        if shutil.which("dhcpd") is None:
            self.dhcpd = "dhcpd (isc-dhcp-server) is not installed"
            return
        conf = os.path.join(self.tmp, "dhcpd.conf")
        with open(conf, "w") as f:
            f.write(self.DHCPD_CONF)
        self.dhcpd_leases = os.path.join(self.tmp, "dhcpd.leases")
        open(self.dhcpd_leases, "w").close()
        p = subprocess.Popen(["ip", "netns", "exec", self.rtr, "dhcpd", "-4", "-f", "-q", "-cf", conf,
                              "-lf", self.dhcpd_leases, "-pf", os.path.join(self.tmp, "dhcpd.pid"), "lx-lan2"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        deadline = time.time() + 15
        while time.time() < deadline:
            r = _run("busybox", "udhcpc", "-i", "lx-c2", "-n", "-q", "-f", "-t", "3", "-T", "1", "-s", "/bin/true",
                     "-x", "hostname:lxclient2", ns=self.cli, check=False)
            if r.returncode == 0:
                self.dhcpd = None
                return
            if p.poll() is not None:
                break
        self.dhcpd = "udhcpc got no lease from dhcpd"

    def run(self, *args, **kw):
        return _run(*args, ns=self.rtr, **kw)

    # --------------------------------------------------------------- tear down
    def stop(self):
        for p in self.procs:
            stop(p)
            if p.stderr:
                p.stderr.close()
        self.procs = []
        for ns in (self.cli, self.up, self.rtr):
            subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree("/etc/netns/%s" % self.rtr, ignore_errors=True)
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
