#!/usr/bin/env python3
"""Diagnostics against the reference tools, on a real namespace path (root).

    python3 bench/diagnostics.py [--delay-ms 20] [--count 20] [--size-mb 4] [--repeat 3]

The path of tests/netpath.py (agent -> router -> router -> target, netem or
its TUN stand-in on the way back, tbf at 8 Mbit/s on the agent's link):

- IPPing average round trip (rocket.diag.probe.IPPing in a fresh
  ``python3 -I -S`` process in the agent's namespace) against iputils
  ``ping -c N`` on the same path with the same delay; ratio rocket / ping.
- DownloadDiagnostics throughput (TestBytesReceived over EOMTime - BOMTime)
  against ``curl -o /dev/null`` (``%{speed_download}``) for the same file;
  ratio rocket / curl. Both behind the same tbf rate limit.
- Peak RSS (VmHWM) of the whole agent (the zipapp, ``python3 -I -S``)
  during a DownloadDiagnostics with NumberOfConnections 4, requested by an
  ACS over SetParameterValues, against the floor: ``python3 -I -S -c
  "import selectors, socket, http.client, xml.etree.ElementTree"``.

Best (ping: median) of --repeat for each figure.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

CHILD = r"""
import sys, json, time
sys.path.insert(0, sys.argv[1])
from rocket.net.loop import Loop
from rocket.diag.probe import IPPing
from rocket.diag.http import Download
loop = Loop()
out = []
cls = {"ping": IPPing, "download": Download}[sys.argv[2]]
t = cls(loop, json.loads(sys.argv[3]), lambda s, v, tb: out.append((s, v)))
t.guard(t.start)()
while not out:
    loop.run_once(max_wait=1)
print(json.dumps(out[0]))
"""


def _secs(iso):
    import calendar
    day, frac = iso.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(day, "%Y-%m-%dT%H:%M:%S")) + int(frac) / 1e6


def child(path, what, params):
    import json
    r = path.run("a", sys.executable, "-I", "-S", "-c", CHILD, ROOT, what, json.dumps(params))
    return json.loads(r.stdout)


def peak_rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def floor_rss():
    p = subprocess.Popen([sys.executable, "-I", "-S", "-c",
                          "import selectors, socket, http.client, xml.etree.ElementTree, sys; sys.stdin.read()"],
                         stdin=subprocess.PIPE)
    time.sleep(0.5)
    v = peak_rss(p.pid)
    p.communicate(b"")
    return v


def agent_rss(path, size, tmp):
    from conftest import write_conf
    from diagutil import ScriptedAcs, spv, wait
    import netpath
    dl = "Device.IP.Diagnostics.DownloadDiagnostics."
    pyz = os.path.join(tmp, "rocket.pyz")
    subprocess.check_call([sys.executable, os.path.join(ROOT, "build_zipapp.py"), "--output", pyz],
                          stdout=subprocess.DEVNULL)
    with netpath.in_netns(path.ns["a"]):
        acs = ScriptedAcs([[spv((dl + "DownloadURL", "http://10.77.3.2:8080/f?%d" % size),
                                (dl + "NumberOfConnections", "4", "unsignedInt"),
                                (dl + "EnablePerConnectionResults", "true", "boolean"),
                                (dl + "DiagnosticsState", "Requested"))], []])
    acs.start()
    conf = write_conf(__import__("pathlib").Path(tmp), acs.url, connection_request={"port": "0"})
    log = open(os.path.join(tmp, "agent.log"), "wb")
    agent = path.spawn("a", [sys.executable, "-I", "-S", pyz, "-c", conf, "--boot"], stdout=log, stderr=log)
    try:
        ok = wait(lambda: sum(1 for s in acs.sessions if s.ended) >= 2, timeout=120)
        rss = peak_rss(agent.pid)
        return rss if ok else None
    finally:
        agent.kill()
        agent.wait()
        acs.stop()


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--delay-ms", type=int, default=20)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--size-mb", type=float, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    import netpath
    why = netpath.available()
    if why:
        print("bench/diagnostics.py: %s" % why)
        return 2
    path = netpath.Path()
    server = None
    try:
        path.setup()
        server = netpath.FileServer(path)
        size = int(a.size_mb * 1e6)
        print("path: %s, rate limit %d Mbit/s (tbf), way back delayed %d ms (%s)"
              % (" -> ".join(sorted(path.ns.values())), netpath.RATE_MBIT, a.delay_ms,
                 "netem" if path.line is None else "TUN delay line"))
        path.netem("delay", "%dms" % a.delay_ms)
        ours, ref = [], []
        for _ in range(a.repeat):
            st, v = child(path, "ping", {"Host": "10.77.3.2", "NumberOfRepetitions": str(a.count),
                                         "Timeout": "1000"})
            ours.append(int(v["AverageResponseTimeDetailed"]) / 1000.0)
            out = path.run("a", "ping", "-n", "-q", "-c", str(a.count), "-i", "0.01", "10.77.3.2").stdout
            ref.append(float(out.strip().splitlines()[-1].split("=")[1].split("/")[1]))
        o, r = statistics.median(ours), statistics.median(ref)
        print("IPPing avg RTT       rocket %.3f ms   ping %.3f ms   ratio %.3f   (median of %d x %d echoes)"
              % (o, r, o / r, a.repeat, a.count))
        path.netem("delay", "0ms")
        ours, ref = [], []
        url = "http://10.77.3.2:8080/f?%d" % size
        for _ in range(a.repeat):
            st, v = child(path, "download", {"DownloadURL": url})
            secs = _secs(v["EOMTime"]) - _secs(v["BOMTime"])
            ours.append(int(v["TestBytesReceived"]) / secs)
            out = path.run("a", "curl", "-s", "-o", "/dev/null", "-w", "%{speed_download}", url).stdout
            ref.append(float(out))
        o, r = max(ours), max(ref)
        print("Download throughput  rocket %.3f Mbit/s   curl %.3f Mbit/s   ratio %.3f   (best of %d, %.1f MB, "
              "shaped %d Mbit/s: rocket/shaped %.3f)" % (o * 8e-6, r * 8e-6, o / r, a.repeat, size / 1e6,
                                                        netpath.RATE_MBIT, o * 8e-6 / netpath.RATE_MBIT))
        with tempfile.TemporaryDirectory() as tmp:
            rss = agent_rss(path, size, tmp)
        floor = floor_rss()
        if rss is None:
            print("agent peak RSS: the download test did not complete")
        else:
            print("agent peak RSS       %.1f MiB during a 4-connection download of %.1f MB each; floor %.1f MiB; "
                  "ratio %.2f" % (rss / 1024.0, size / 1e6, floor / 1024.0, rss / float(floor)))
    finally:
        if server is not None:
            server.close()
        path.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
