#!/usr/bin/env python3
"""The fleet simulator (rocket.sim) at scale, against the in-repo ACS on loopback.

    .venv/bin/python bench/sim.py                       # everything, a few minutes
    .venv/bin/python bench/sim.py --sizes 1000 --storm 2000 --rate 200   # quick look

Three figures (see bench/README.md, "sim.py"):

1. memory per device: a fleet of N devices sharing one model (the
   1,000-parameter BM632w dump), every device booted and served once by the
   ACS, then idle: (VmRSS after - VmRSS before the devices) / N, at each of
   ``--sizes``; next to the floor (``python3 -I -S -c "import selectors,
   socket, http.client, xml.etree.ElementTree"``) measured in the same run.
2. sessions per second: ``--sessions-devices`` devices booting at once, no
   limit at the ACS; sessions / time until all were served, and the
   simulator's own CPU time per session (the ACS, a threaded stdlib server in
   another process, is usually the bottleneck).
3. boot storm: ``--storm`` devices powering on together against an ACS that
   answers 503 to every Inform above ``--rate`` a second; time until all
   were served and attempts per device, next to a discrete-event model of
   the TR-069 retry policy (§3.2.1.1, m=5 s, k=2000, waits / ``--time-scale``)
   with the same admission rule (first ``--rate`` Informs of each second), all
   first attempts at once, or paced at the run's own attempts per second.

Each fleet runs in its own process (``python -I``), the ACS in another.
"""

import argparse
import heapq
import json
import os
import random
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "tests", "fixtures", "devices", "data_model_202BC1-BM632w-8KA8WA1151100043.csv")
FLOOR = "import selectors, socket, http.client, xml.etree.ElementTree; print(open('/proc/self/status').read())"


def rss_kb(status):
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# ------------------------------------------------------------------ the ACS
def acs_child(rate):
    """Run devacs on a free port, at most ``rate`` Informs a second (0: no limit)."""
    sys.path.insert(0, ROOT)
    from rocket.devacs import Acs
    acs = Acs()
    window = [0, 0]

    def hook(a, h, body):
        if b"<cwmp:Inform>" not in body:
            return False
        with a.lock:
            if len(a.requests) > 2000:  # a long run must not keep every message
                del a.requests[:]
                a.sessions[:] = [s for s in a.sessions if not s.ended]
            now = int(time.monotonic())
            if window[0] != now:
                window[:] = [now, 0]
            window[1] += 1
            over = rate and window[1] > rate
        if over:
            a._reply(h, 503, b"", close=True)
        return bool(over)
    acs.hook = hook
    acs.server.socket.listen(4096)  # socketserver's backlog of 5 would drop the storm's SYNs
    acs.server.RequestHandlerClass.disable_nagle_algorithm = True  # head and body are two writes
    acs.start()
    print(acs.url, flush=True)
    sys.stdin.read()  # until the bench closes our stdin
    acs.stop()


class AcsProcess:
    def __init__(self, rate=0):
        self.p = subprocess.Popen([sys.executable, "-I", os.path.abspath(__file__), "--acs-child", str(rate)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = self.p.stdout.readline().strip()

    def stop(self):
        self.p.stdin.close()
        self.p.wait(10)


# ---------------------------------------------------------------- the fleet
FLEET = r"""
import gc, json, resource, sys, time
sys.path.insert(0, %(root)r)
from rocket.base.config import Config
from rocket.net.loop import Loop
from rocket.sim.tree import Template
from rocket.sim.fleet import Fleet
from rocket.sim.report import Stats
import rocket.sim.connreq, rocket.sim.wire, random
def rss():
    return int([l for l in open('/proc/self/status') if l.startswith('VmRSS:')][0].split()[1])
cfg = Config()
cfg.set("acs", "url", %(url)r)
cfg.set("acs", "session_timeout", "60")
tpl = Template(cfg, %(model)r)
loop = Loop()
stats = Stats(loop)
gc.collect()
before = rss()
f = Fleet(cfg, [tpl], %(n)d, loop, max_sessions=%(cap)d, time_scale=%(scale)r, rng=random.Random(1), stats=stats)
cpu0 = time.process_time()
f.start()
loop.run(until=lambda: stats.all_served is not None or loop.clock() - stats.t0 > %(limit)r)
cpu = time.process_time() - cpu0
gc.collect()
after = rss()
s = f.stop()
s.update(before_kb=before, after_kb=after, per_device_bytes=(after - before) * 1024.0 / %(n)d, cpu_s=cpu,
         params=len(tpl.store))
print(json.dumps(s))
"""


def fleet(url, n, cap=200, scale=1.0, limit=600.0, model=MODEL):
    code = FLEET % {"root": ROOT, "url": url, "model": model, "n": n, "cap": cap, "scale": scale, "limit": limit}
    out = subprocess.run([sys.executable, "-I", "-c", code], stdout=subprocess.PIPE, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def floor_kb():
    out = subprocess.run(["python3", "-I", "-S", "-c", FLOOR], stdout=subprocess.PIPE, text=True, check=True)
    return rss_kb(out.stdout)


# ------------------------------------------------------------ the theory
def storm_model(n, rate, scale, pace=0.0, m=5, k=2000, seed=1):
    """Every device informs at t=0; the ACS admits the first ``rate`` Informs of
    each second; the others retry after retry_wait(attempt) / scale. With
    ``pace``, attempts go out no faster than that many a second, in the order
    they fall due (the simulator's in-flight cap and the ACS's service time);
    without, all that fall due at once arrive at once."""
    sys.path.insert(0, ROOT)
    from rocket.cwmp.schedule import retry_wait
    rng = random.Random(seed)
    heap = [(0.0, i, 1) for i in range(n)]
    heapq.heapify(heap)
    window, used, attempts, last, free = -1, 0, 0, 0.0, 0.0
    while heap:
        t, i, a = heapq.heappop(heap)
        if pace:
            t = max(t, free)
            free = t + 1.0 / pace
        attempts += 1
        w = int(t)
        if w != window:
            window, used = w, 0
        if used < rate:
            used += 1
            last = t
        else:
            heapq.heappush(heap, (t + retry_wait(a, m, k, rng) / scale, i, a + 1))
    return last, attempts / float(n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--acs-child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--sizes", default="1000,10000", help="fleet sizes for the memory figure")
    ap.add_argument("--sessions-devices", type=int, default=2000)
    ap.add_argument("--storm", type=int, default=10000, help="devices in the boot storm (0: skip)")
    ap.add_argument("--rate", type=int, default=250, help="Informs the ACS accepts a second in the storm")
    ap.add_argument("--time-scale", type=float, default=10.0, help="retry waits shortened this much in the storm")
    a = ap.parse_args()
    if a.acs_child is not None:
        return acs_child(a.acs_child)
    fl = floor_kb()
    print("floor (python3 -I -S, selectors socket http.client ElementTree): VmRSS %.1f MiB" % (fl / 1024.0))
    acs = AcsProcess()
    try:
        for n in [int(x) for x in a.sizes.split(",") if x]:
            s = fleet(acs.url, n, cap=64)
            print("memory, %d devices on one %d-node model: %.0f bytes per device (VmRSS %.1f -> %.1f MiB, "
                  "%.1f x the floor at the end); all served in %.1f s" % (
                      n, s["params"], s["per_device_bytes"], s["before_kb"] / 1024.0, s["after_kb"] / 1024.0,
                      s["after_kb"] / float(fl), s["all_served_s"] or -1))
        n = a.sessions_devices
        s = fleet(acs.url, n, cap=64) if n else None
    finally:
        acs.stop()
    if s:
        print("sessions per second, %d devices booting at once (cap 64 in flight): %.0f sessions/s "
              "(%d sessions in %.1f s); simulator CPU %.2f ms per session; answer latency p50/p90/p99 "
              "%s/%s/%s ms" % (n, s["sessions"] / s["all_served_s"], s["sessions"], s["all_served_s"],
                               s["cpu_s"] * 1000.0 / s["sessions"], s["p50_ms"], s["p90_ms"], s["p99_ms"]))
    if a.storm:
        acs = AcsProcess(a.rate)
        try:
            s = fleet(acs.url, a.storm, cap=500, scale=a.time_scale, limit=3600.0)
        finally:
            acs.stop()
        t, per = storm_model(a.storm, a.rate, a.time_scale)
        pace = s["sessions"] / s["all_served_s"]  # the attempts this run made a second, on average
        tp, perp = storm_model(a.storm, a.rate, a.time_scale, pace)
        print("boot storm, %d devices, ACS admits %d Informs/s, retry waits / %g: all served in %.1f s, "
              "%.2f attempts per device (%d failed sessions); retry-policy model, all first attempts at once: "
              "%.1f s, %.2f attempts per device; model, attempts paced at %.0f/s: %.1f s, %.2f attempts per "
              "device; lower bound %.1f s" % (a.storm, a.rate, a.time_scale, s["all_served_s"] or -1,
                                               s["attempts_per_device"], s["failed"], t, per, pace, tp, perp,
                                               a.storm / float(a.rate)))


if __name__ == "__main__":
    main()
