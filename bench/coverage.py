#!/usr/bin/env python3
"""Benchmark: how much of the residential-gateway TR-181 profile set each
pack serves, and what a full discovery costs.

    .venv/bin/python bench/coverage.py [--repeat 3] [--no-router] [--missing]

One real session per tree, run by the zipapp (``python3 -I -S rocket.pyz
--once``) against the loopback development ACS: Inform, AddObject of
``Device.ManagementServer.InformParameter.`` (first run of a tree only: that
table is the ACS's own, empty until it adds an entry, as an ACS would before
using it), GetParameterNames of ``Device.`` (NextLevel false),
GetParameterValues of ``Device.``. Trees:

  router     this machine's namespace router (tests/nsrouter.py: bridge, veth
             ports, VLAN when the kernel has 802.1Q, IPv4/IPv6, routes,
             neighbours, dnsmasq with a real lease, radvd, nftables NAT) served by
             the linux, linux-net and linux-svc packs run inside it (root)
  host       the same packs on this machine as it is
  openwrt    the OpenWrt replay trees (tests/openwrt/c7, swconfig, and
             tests/openwrt/ax3000t, DSA; with the stand-ins of
             tests/bin) served by the openwrt pack, when it is there
  <dump>     each TR-181 dump of ../shared/devices through the static backend

For every profile of the set (tests/tr181.py reads them from
../shared/bbf/tr-181-2-17-0-cwmp-full.xml) it prints how many of the
parameters the profile requires are served (present in the GPV answer),
then totals: all profiles, all profiles without the Routing.RIP parameters
(absent is fine, says the issue), and the Linux-applicable ones: the set without
WiFiRadio, WiFiSSID, WiFiAccessPoint, PPPInterface (the namespace router has
no radio and no PPP link) and DeviceImage (firmware image partitions), and
without the Routing.RIP parameters (absent is fine, says the issue).

Cost: wall time of the whole run and the agent's peak RSS (its own VmHWM),
best of --repeat, against the floor measured in the same run: start time
and peak RSS of
``python3 -I -S -c "import selectors, socket, http.client, xml.etree.ElementTree"``,
and against the same session with no backend (the agent's own cost).
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from xml.sax.saxutils import unescape

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import tr181  # noqa: E402
from datamodel import FLOOR, agent_argv, run_measured  # noqa: E402
from rocket.devacs import Acs, build_rpc  # noqa: E402

SET = ("Baseline:3 MemoryStatus:1 ProcessStatus:1 TempStatus:1 Time:2 User:1 VendorLogFiles:1 DeviceImage:1 "
       "InformParameters:1 AutonXferComplPolicy:1 EthernetInterface:2 EthernetLink:1 VLANTermination:1 "
       "Bridge:1 WiFiRadio:1 WiFiSSID:2 WiFiAccessPoint:2 IPInterface:2 IPv6Interface:1 PPPInterface:2 "
       "Routing:2 IPv6Routing:1 NAT:1 DNSRelay:1 DHCPv4Server:1 DHCPv4ServerClientInfo:1 DHCPv4Client:1 "
       "DHCPv6Client:1 DHCPv6Server:1 RouterAdvertisement:1 NeighborDiscovery:1 Hosts:2 "
       "SimpleFirewall:1").split()
NOT_LINUX = ("WiFiRadio:1", "WiFiSSID:2", "WiFiAccessPoint:2", "PPPInterface:2", "DeviceImage:1")
# the issue: "Device.Routing.RIP absent is fine"
ALLOWED_ABSENT = ("Device.Routing.RIP.",)
# the ACS's own table: one entry added before the discovery
ACS_TABLE = "Device.ManagementServer.InformParameter."
PACKS = ("linux", "linux-net", "linux-svc", "linux-wifi")
BACKENDS = os.path.join(ROOT, "rocket", "backends")
DEVICES = os.path.join(os.path.dirname(ROOT), "shared", "devices")

# the floor prints its own VmHWM (wait4's ru_maxrss would be this process's)
HWM = ("\nimport sys\nfor line in open('/proc/self/status'):\n"
       "    if line.startswith('VmHWM'):\n        sys.stderr.write('\\nHWM ' + line.split()[1] + '\\n')\n")
_PV = re.compile(rb'<Name>([^<]*)</Name><Value xsi:type="([^"]*)">')


def write_conf(d, url, extra):
    path = os.path.join(d, "rocket.conf")
    with open(path, "w") as f:
        f.write("[acs]\nurl = %s\nperiodic_inform_interval = 3600\nsession_timeout = 120\n"
                "[cpe]\nmanufacturer = Bench\noui = 00AA11\nproduct_class = Bench\nserial_number = B-1\n"
                "[connection_request]\nport = 0\n[state]\ndir = %s\n[backends]\ndir = %s\ntimeout = 60\n%s\n"
                % (url, os.path.join(d, "state"), os.path.join(d, "backends"), extra))
    return path


def install(d, names, wrap=None, env=None):
    """Backends (with lib.sh, lib.awk, NAME.awk) into d/backends; with
    ``wrap`` (a command prefix) the scripts there exec the real ones
    through it, with ``env`` exported first."""
    b = os.path.join(d, "backends")
    real = os.path.join(d, "real") if (wrap or env) else b
    for x in (b, real):
        os.makedirs(x, exist_ok=True)
    for f in ("lib.sh", "lib.awk", "lastchange.awk", "wifirate.awk"):
        shutil.copy(os.path.join(BACKENDS, f), real)
    for n in names:
        shutil.copy(os.path.join(BACKENDS, n), real)
        if os.path.exists(os.path.join(BACKENDS, n + ".awk")):
            shutil.copy(os.path.join(BACKENDS, n + ".awk"), real)
        shutil.copy(os.path.join(BACKENDS, n + ".manifest"), b)
        if real != b:
            w = os.path.join(b, n)
            exports = "".join("export %s='%s'\n" % kv for kv in (env or {}).items())
            with open(w, "w") as f:
                f.write("#!/bin/sh\n%sexec %s '%s' \"$@\"\n" % (exports, " ".join(wrap or []),
                                                              os.path.join(real, n)))
            os.chmod(w, 0o755)


def session(pyz, acs, d, extra, repeat):
    """(served generic parameter paths, parameters, best wall s, best peak RSS KiB)."""
    conf = write_conf(d, acs.url, extra)
    best_t = best_rss = None
    body = None
    for i in range(repeat):
        acs.queue = [build_rpc("GetParameterNames", ["Device.", "0"]), build_rpc("GetParameterValues", ["Device."])]
        if i == 0:
            acs.queue.insert(0, build_rpc("AddObject", [ACS_TABLE]))
        wall, rss, rc = run_measured(agent_argv(pyz, conf))
        answers = acs.sessions[-1].answers
        if rc != 0 or len(answers) < 3 - min(i, 1) or (i == 0 and b"AddObjectResponse" not in answers[0][1]):
            raise SystemExit("bench: the agent failed (%s)" % d)
        body = answers[-1][1]
        best_t = wall if best_t is None else min(best_t, wall)
        best_rss = rss if best_rss is None else min(best_rss, rss)
    if b"Fault" in body[:2000]:
        raise SystemExit("bench: GPV answered a fault (%s): %s" % (d, body[:300]))
    paths = [unescape(n.decode()) for n, _ in _PV.findall(body)]
    return {tr181.generic(p) for p in paths}, len(paths), best_t, best_rss


def coverage(ix, served):
    """[(profile, served, required, served but RIP, required but RIP)]."""
    out = []
    for prof in SET:
        req = ix.profile_params(prof)
        app = [r for r in req if not r.startswith(ALLOWED_ABSENT)]
        out.append((prof, sum(1 for r in req if r in served), len(req), sum(1 for r in app if r in served),
                    len(app)))
    return out


def missing(a, ix, tree, served):
    """With --missing: the tree's required parameters not served (RIP aside), per profile."""
    for prof in SET if a.missing else ():
        lost = [r for r in ix.profile_params(prof) if r not in served and not r.startswith(ALLOWED_ABSENT)]
        if lost:
            print("%s: %s missing %d: %s" % (tree, prof, len(lost), " ".join(lost)))


def dump_root(csv):
    with open(csv, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("Device."):
                return "Device."
            if line.startswith("InternetGatewayDevice."):
                return "InternetGatewayDevice."
    return None


def openwrt_setup(d, name):
    """The openwrt pack on the replay tree tests/openwrt/NAME, or None when not there."""
    tree = os.path.join(ROOT, "tests", "openwrt", name)
    if not (os.path.isdir(tree) and os.path.exists(os.path.join(BACKENDS, "openwrt.manifest"))):
        return None
    try:
        import openwrt_replay  # provided with the replay tree: env for the stand-ins
    except ImportError:
        return None
    env = openwrt_replay.environment(d, tree)
    install(d, ["openwrt"], env=env)  # the whole tree is the recorded device's
    # the agent checks the manifest's "requires uci" on its own PATH
    os.environ["PATH"] = env["PATH"]
    return "enabled = openwrt"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-router", action="store_true", help="skip the namespace router (needs root)")
    ap.add_argument("--missing", action="store_true", help="list each tree's missing parameters (Routing.RIP aside)")
    a = ap.parse_args(argv)
    ix = tr181.index()
    if ix is None:
        raise SystemExit("bench: ../shared/bbf is absent")
    tmp = tempfile.mkdtemp(prefix="lx-coverage-")
    pyz = os.path.join(tmp, "rocket.pyz")
    subprocess.run([sys.executable, os.path.join(ROOT, "build_zipapp.py"), "--output", pyz], check=True,
                   stdout=subprocess.DEVNULL)
    floor = [run_measured([sys.executable, "-I", "-S", "-c", FLOOR + HWM]) for _ in range(max(3, a.repeat))]
    floor_t = min(f[0] for f in floor)
    floor_rss = min(f[1] for f in floor)
    acs = Acs().start()
    trees = []  # (name, coverage, params, wall, rss, note)
    router = None
    router_vlan = None
    try:
        d = os.path.join(tmp, "empty")
        os.makedirs(os.path.join(d, "backends"))
        served, n, t, rss = session(pyz, acs, d, "", a.repeat)
        trees.append(("agent alone", coverage(ix, served), n, t, rss, "no backend"))
        if not a.no_router:
            import nsrouter
            router = nsrouter.Router()
            try:
                router.start()
            except nsrouter.Unavailable as e:
                print("router: skipped: %s" % e)
                router = None
            if router is not None:
                d = os.path.join(tmp, "router")
                install(d, PACKS, wrap=["ip", "netns", "exec", router.rtr])
                served, n, t, rss = session(pyz, acs, d, "", a.repeat)
                router_vlan = router.vlan
                note = "; ".join(x for x in (router.vlan, router.bridge_vlan, router.dhclient) if x) or "full"
                trees.append(("namespace router", coverage(ix, served), n, t, rss, note[:120]))
                missing(a, ix, "namespace router", served)
        d = os.path.join(tmp, "host")
        install(d, PACKS)
        served, n, t, rss = session(pyz, acs, d, "", a.repeat)
        trees.append(("this machine", coverage(ix, served), n, t, rss, "linux packs"))
        missing(a, ix, "this machine", served)
        for name, label in (("c7", "openwrt replay (C7)"), ("ax3000t", "openwrt replay (AX3000T)")):
            d = os.path.join(tmp, "openwrt-" + name)
            os.makedirs(d)
            path = os.environ.get("PATH", "")
            extra = openwrt_setup(d, name)
            if extra is None:
                print("openwrt: the replay tree %s or its pack is not in this tree; skipped" % name)
            else:
                served, n, t, rss = session(pyz, acs, d, extra, a.repeat)
                trees.append((label, coverage(ix, served), n, t, rss, "openwrt pack"))
                missing(a, ix, label, served)
            os.environ["PATH"] = path
        for csv in sorted(os.listdir(DEVICES)) if os.path.isdir(DEVICES) else []:
            if not csv.endswith(".csv"):
                continue
            path = os.path.join(DEVICES, csv)
            if dump_root(path) != "Device.":
                print("%s: an InternetGatewayDevice (TR-098) dump: the TR-181 profiles do not apply" % csv)
                continue
            d = os.path.join(tmp, csv[:-4])
            os.makedirs(os.path.join(d, "backends"))
            served, n, t, rss = session(pyz, acs, d, "static = %s" % path, a.repeat)
            trees.append((csv[:40], coverage(ix, served), n, t, rss, "static backend"))
            missing(a, ix, csv[:40], served)
    finally:
        acs.stop()
        if router is not None:
            router.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print("\n## Profile coverage (required parameters served / required)\n")
    print("| profile | " + " | ".join(t[0] for t in trees) + " |")
    print("|---|" + "---|" * len(trees))
    for i, prof in enumerate(SET):
        cells = ["%d/%d" % t[1][i][1:3] for t in trees]
        print("| %s%s | %s |" % (prof, " (n/a on Linux)" if prof in NOT_LINUX else "", " | ".join(cells)))

    def total(cov, only_linux, lacking=(), no_rip=False):
        k = 3 if only_linux or no_rip else 1
        out = [c for c in cov if not (only_linux and c[0] in NOT_LINUX) and c[0] not in lacking]
        got = sum(c[k] for c in out)
        req = sum(c[k + 1] for c in out)
        return "%d/%d = %.1f %%" % (got, req, int(1000.0 * got / req) / 10.0)  # truncated: 94.96 is not 95
    print("| **whole set** | " + " | ".join(total(t[1], False) for t in trees) + " |")
    print("| **whole set without Routing.RIP** (absent is fine) | "
          + " | ".join(total(t[1], False, no_rip=True) for t in trees) + " |")
    print("| **Linux-applicable** (no Wi-Fi, PPP, DeviceImage, RIP) | " + " | ".join(total(t[1], True) for t in trees) + " |")
    lacking = []
    if router_vlan:
        lacking.append("VLANTermination:1")
    if not any(os.path.exists(p) for p in glob.glob("/sys/class/thermal/thermal_zone*/temp")
               + glob.glob("/sys/class/hwmon/hwmon*/temp*_input")):
        lacking.append("TempStatus:1")
    if lacking:
        print("| **Linux-applicable, less what this kernel lacks** (%s) | " % ", ".join(lacking)
              + " | ".join(total(t[1], True, lacking) for t in trees) + " |")

    print("\n## Cost of a full GetParameterNames + GetParameterValues of Device. (best of %d)\n" % a.repeat)
    print("floor (python3 -I -S, the imports this design needs): %.0f ms, %.1f MiB\n" % (floor_t * 1000,
                                                                                     floor_rss / 1024))
    print("| tree | parameters | wall | x floor | peak RSS | x floor | + over floor | note |")
    # notes are cut to 120 characters
    print("|---|---|---|---|---|---|---|---|")
    for name, _, n, t, rss, note in trees:
        print("| %s | %d | %.0f ms | %.1f | %.1f MiB | %.2f | +%.1f MiB | %s |" % (
            name, n, t * 1000, t / floor_t, rss / 1024, rss / floor_rss, (rss - floor_rss) / 1024, note))


if __name__ == "__main__":
    main()
