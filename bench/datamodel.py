#!/usr/bin/env python3
"""Benchmark: GenieACS-style discovery of big data models.

    python3 bench/datamodel.py [--repeat 3]

Builds the zipapp, then runs the agent (``python3 -I -S rocket.pyz --once``,
as on a router) against the loopback development ACS for each scenario. One
session per run: the Inform, GetParameterNames of the root with
NextLevel=false, then one GetParameterValues naming every parameter found.

Scenarios:
  static-10k   a synthetic 10,000-parameter tree in the static backend
  ex220        the largest real dump in shared/devices (TP-Link EX220)
  shell-1k     1,000 parameters served by one shell backend (lib.sh)
  empty        the same session without the RPCs (the agent's own cost)

Reported per scenario (best of --repeat): wall time of the whole run, peak
RSS of the agent process, and processes spawned by backends per RPC, each
also as a ratio to the floor measured in the same run: the start time and
peak RSS of
``python3 -I -S -c "import selectors, socket, http.client, xml.etree.ElementTree"``.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from rocket.devacs import Acs, build_rpc  # noqa: E402

DEVICES = os.path.join(ROOT, "tests", "fixtures", "devices")  # real routers' dumps
FLOOR = "import selectors, socket, http.client, xml.etree.ElementTree"


# Runs the zipapp and prints the process's own peak RSS (VmHWM) at exit:
# wait4's ru_maxrss would also count the backend scripts it waited for.
AGENT = ("import runpy, sys\n"
         "sys.argv = sys.argv[1:]\n"
         "try:\n"
         "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
         "except SystemExit as e:\n"
         "    code = e.code\n"
         "else:\n"
         "    code = 0\n"
         "for line in open('/proc/self/status'):\n"
         "    if line.startswith('VmHWM'):\n"
         "        sys.stderr.write('\\nHWM ' + line.split()[1] + '\\n')\n"
         "sys.exit(code)\n")


def run_measured(argv):
    """(wall seconds, peak RSS KiB, returncode) of one child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.stderr.close()
    rc = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status
    m = re.search(rb"\nHWM (\d+)\n", err)
    return wall, int(m.group(1)) if m else ru.ru_maxrss, rc


def agent_argv(pyz, conf):
    return [sys.executable, "-I", "-S", "-c", AGENT, pyz, "-c", conf, "--once"]


def synthetic_csv(path, n=10000):
    """A TR-181-looking tree: 1,000 table instances of 10 typed parameters."""
    types = [("Enable", "xsd:boolean", "true"), ("Alias", "xsd:string", "cpe-%d"),
             ("Name", "xsd:string", "entry number %d"), ("Port", "xsd:unsignedInt", "%d"),
             ("Count", "xsd:unsignedInt", "%d000"), ("Offset", "xsd:int", "-%d"),
             ("Description", "xsd:string", "a longer description text for row %d"),
             ("LastChange", "xsd:dateTime", "2024-01-01T00:00:00Z"),
             ("Status", "xsd:string", "Enabled"), ("Bytes", "xsd:unsignedLong", "%d%d")]
    with open(path, "w") as f:
        f.write("Parameter,Object,Writable,Value,Value type\n")
        for k, v in (("Manufacturer", "Bench"), ("OUI", "000000"), ("ProductClass", "Synthetic"),
                     ("SerialNumber", "S-1")):
            f.write("DeviceID.%s,false,false,%s,xsd:string\n" % (k, v))
        f.write("Device,true,false,,\nDevice.X_Bench,true,false,,\nDevice.X_Bench.Table,true,true,,\n")
        for i in range(1, n // len(types) + 1):
            f.write("Device.X_Bench.Table.%d,true,true,,\n" % i)
            for name, t, v in types:
                val = v.replace("%d", str(i))
                f.write("Device.X_Bench.Table.%d.%s,false,true,%s,%s\n" % (i, name, val, t))


SHELL_BACKEND = r'''#!/bin/sh
. "${0%/*}/lib.sh"
printf '%s\n' "$1" >>"$ROCKET_RUNDIR/calls"
rk_get() {
	i=1
	while [ $i -le 100 ]; do
		t=Device.X_Shell.Table.$i.
		rk_emit ${t}Enable true
		rk_emit ${t}Alias "cpe-$i"
		rk_emit ${t}Name "entry number $i"
		rk_emit ${t}Port $i
		rk_emit ${t}Count ${i}000
		rk_emit ${t}Offset -$i
		rk_emit ${t}Description "a longer description	with a tab, row $i"
		rk_emit ${t}LastChange 2024-01-01T00:00:00Z
		rk_emit ${t}Status Enabled
		rk_emit ${t}Bytes $i$i
		i=$((i + 1))
	done
}
rk_main "$@"
'''

SHELL_MANIFEST = """prefix Device.X_Shell.
param Device.X_Shell.Table.{i}.Enable boolean rw
param Device.X_Shell.Table.{i}.Alias string rw len=64
param Device.X_Shell.Table.{i}.Name string rw len=64
param Device.X_Shell.Table.{i}.Port unsignedInt rw range=0..65535
param Device.X_Shell.Table.{i}.Count unsignedInt
param Device.X_Shell.Table.{i}.Offset int
param Device.X_Shell.Table.{i}.Description string rw len=256
param Device.X_Shell.Table.{i}.LastChange dateTime
param Device.X_Shell.Table.{i}.Status string
param Device.X_Shell.Table.{i}.Bytes unsignedLong
"""


def write_conf(d, url, extra):
    path = os.path.join(d, "rocket.conf")
    with open(path, "w") as f:
        f.write("[acs]\nurl = %s\nperiodic_inform_interval = 3600\nsession_timeout = 60\n"
                "[cpe]\nserial_number = B-1\n[connection_request]\nport = 0\n"
                "[state]\ndir = %s\n[backends]\ndir = %s\n%s\n"
                % (url, os.path.join(d, "state"), os.path.join(d, "backends"), extra))
    return path


def names_from(reply):
    return [n.decode() for n in re.findall(rb"<Name>([^<]*)</Name><Writable>", reply)]


def scenario(pyz, acs, d, extra, root, rpcs=True):
    """Run one session; (wall, rss KiB, parameters, backend processes)."""
    conf = write_conf(d, acs.url, extra)
    calls = os.path.join(d, "state", "backends", "shell", "calls")
    if os.path.exists(calls):
        os.unlink(calls)
    # first pass learns the names (as GenieACS does), second one is timed with both RPCs
    names = []
    if rpcs:
        acs.queue = [build_rpc("GetParameterNames", [root, "0"])]
        run_measured(agent_argv(pyz, conf))
        names = [n for n in names_from(acs.sessions[-1].answers[0][1]) if not n.endswith(".")]
        acs.queue = [build_rpc("GetParameterNames", [root, "0"]), build_rpc("GetParameterValues", names)]
    else:
        acs.queue = []
    if os.path.exists(calls):
        os.unlink(calls)
    wall, rss, rc = run_measured(agent_argv(pyz, conf))
    if rc != 0:
        raise SystemExit("bench: agent failed in %s" % d)
    if rpcs:
        got = acs.sessions[-1].answers[1][1].count(b"<ParameterValueStruct>")
        assert got == len(names), (got, len(names))
    spawned = 0
    if os.path.exists(calls):
        with open(calls) as f:
            spawned = len(f.read().split())
    return wall, rss, len(names), spawned


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        pyz = os.path.join(tmp, "rocket.pyz")
        subprocess.check_call([sys.executable, os.path.join(ROOT, "build_zipapp.py"), "--output", pyz],
                              stdout=subprocess.DEVNULL)
        floor = [run_measured([sys.executable, "-I", "-S", "-c", FLOOR]) for _ in range(max(3, a.repeat))]
        f_wall = min(x[0] for x in floor)
        f_rss = min(x[1] for x in floor)
        synth = os.path.join(tmp, "synthetic-10k.csv")
        synthetic_csv(synth)
        ex220 = os.path.join(DEVICES, "device-1C61B4-EX220-2226469000523.csv")
        shell_dir = os.path.join(tmp, "shell")
        os.makedirs(os.path.join(shell_dir, "backends"))
        with open(os.path.join(ROOT, "rocket", "backends", "lib.sh")) as f:
            lib = f.read()
        for name, text, mode in (("lib.sh", lib, 0o644), ("shell", SHELL_BACKEND, 0o755),
                                 ("shell.manifest", SHELL_MANIFEST, 0o644)):
            p = os.path.join(shell_dir, "backends", name)
            with open(p, "w") as f:
                f.write(text)
            os.chmod(p, mode)
        cases = [("empty", "", "Device.", False), ("static-10k", "static = %s" % synth, "Device.", True),
                 ("ex220", "static = %s" % ex220, "Device.", True),
                 ("shell-1k", "enabled = shell", "Device.X_Shell.", True)]
        print("floor: python3 -I -S -c %r: %.3f s, %.1f MiB" % (FLOOR, f_wall, f_rss / 1024.0))
        print("%-11s %7s %9s %7s %9s %7s %s" % ("scenario", "params", "wall s", "x floor", "RSS MiB",
                                               "x floor", "backend processes (GPN+GPV)"))
        acs = Acs().start()
        try:
            for label, extra, root, rpcs in cases:
                d = shell_dir if label == "shell-1k" else os.path.join(tmp, label)
                os.makedirs(os.path.join(d, "backends"), exist_ok=True)
                runs = [scenario(pyz, acs, d, extra, root, rpcs) for _ in range(a.repeat)]
                wall = min(r[0] for r in runs)
                rss = min(r[1] for r in runs)
                n, spawned = runs[0][2], runs[0][3]
                print("%-11s %7d %9.3f %7.1f %9.1f %7.2f %s" % (
                    label, n, wall, wall / f_wall, rss / 1024.0, rss / f_rss,
                    "%d (one per backend per session)" % spawned if label == "shell-1k" else "0"))
        finally:
            acs.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
