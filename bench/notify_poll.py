#!/usr/bin/env python3
"""Cost of the notification poll: backend processes, wall time and memory per poll.

    python3 bench/notify_poll.py [--polls 20]

The agent holds a 10,000-parameter tree from an in-process backend plus three
script backends (``rocket.backend``, real ``sh`` scripts with manifests) of
1,000 parameters each. Notification attributes are set as an ACS's
SetParameterAttributes would. Scenarios:

- agent:   only the agent's forced parameters notify (SoftwareVersion...)
- one:     20 passive parameters in one shell backend
- three:   20 passive parameters in each of the three shell backends
- big:     1,000 passive parameters in the in-process 10,000-parameter tree

For each: processes spawned per poll, wall time per poll, and the peak RSS
of the whole agent process after the polls. The floor is measured in the
same run: start time and peak RSS of
``python3 -I -S -c "import selectors, socket, http.client, xml.etree.ElementTree"``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLOOR = "import selectors, socket, http.client, xml.etree.ElementTree"


def _hwm(text):
    """VmHWM in KiB from a /proc/self/status dump (wait4's ru_maxrss carries
    the parent's high-water mark over exec: useless here)."""
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def floor():
    best_t, rss = None, 0
    code = FLOOR + "; import sys; sys.stdout.write(open('/proc/self/status').read())"
    for _ in range(5):
        t0 = time.perf_counter()
        out = subprocess.check_output([sys.executable, "-I", "-S", "-c", code], text=True)
        dt = time.perf_counter() - t0
        best_t = dt if best_t is None else min(best_t, dt)
        rss = max(rss, _hwm(out))
    return best_t, rss


CHILD = r'''
import os, sys, time, json
sys.path.insert(0, sys.argv[1])
from rocket.agent import Agent
from rocket.base.config import Config
from rocket.datamodel.store import Param
from rocket.datamodel import backend
from rocket.datamodel import notify

def _hwm(text):
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

scenario, polls, tmp = sys.argv[2], int(sys.argv[3]), sys.argv[4]
bdir = os.path.join(tmp, "backends")
os.makedirs(bdir)
SCRIPT = """#!/bin/sh
cat > /dev/null
[ "$1" = get ] || exit 0
i=0
while [ $i -lt 1000 ]; do printf 'Device.X_SH%d.%d.Value\\tv%d\\n' {k} $i $i; i=$((i+1)); done
"""
for k in range(3):
    with open(os.path.join(bdir, "sh%d" % k), "w") as f:
        f.write(SCRIPT.replace("{k}", str(k)))
    os.chmod(os.path.join(bdir, "sh%d" % k), 0o755)
    with open(os.path.join(bdir, "sh%d.manifest" % k), "w") as f:
        f.write("prefix Device.X_SH%d.\nparam Device.X_SH%d.{i}.Value string rw\n" % (k, k))
cfg = Config()
cfg.set("state", "dir", os.path.join(tmp, "state"))
cfg.set("backends", "dir", bdir)
cfg.set("acs", "url", "")
agent = Agent(cfg)

class Big:
    name = "big"; prefixes = ["Device.X_BIG."]
    def load(self, store):
        for i in range(10000):
            p = "Device.X_BIG.%d.Value" % i
            q = store.get(p)
            if q is None:
                store.add(p, Param("v%d" % i, "string", True, owner="big"))
            else:
                q.value = "v%d" % i

agent.model.add_backend(Big())
shells = backend.load_backends(agent)
n = notify.install(agent)
# the ACS asked for passive notification (SetParameterAttributes)
attrs = agent.model.attrs
if scenario == "big":
    for i in range(0, 10000, 10):
        attrs["Device.X_BIG.%d.Value" % i] = [1, []]
for k in range(3):
    if scenario == "three" or (scenario == "one" and k == 0):
        for i in range(0, 1000, 50):
            attrs["Device.X_SH%d.%d.Value" % (k, i)] = [1, []]
# a session's worth of discovery first: every backend read once (as after
# an ACS's GetParameterNames of the root)
agent.model.begin_session()
agent.model.touch(agent.root)
agent.model.end_session()
n.started = True
n.check()
notifying = len(n.baseline)
spawned = sum(b.spawned for b in shells)
loads = n.loads
t0 = time.perf_counter()
for _ in range(polls):
    n.check()
dt = (time.perf_counter() - t0) / polls
print(json.dumps({"scenario": scenario, "params": len(agent.model.store), "notifying": notifying,
                  "processes_per_poll": (sum(b.spawned for b in shells) - spawned) / polls,
                  "loads_per_poll": (n.loads - loads) / polls, "ms_per_poll": dt * 1000,
                  "peak_rss_kb": _hwm(open("/proc/self/status").read())}))
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--polls", type=int, default=20)
    a = ap.parse_args()
    ft, frss = floor()
    print("floor: start %.1f ms, peak RSS %d KiB" % (ft * 1000, frss))
    print("%-7s %7s %9s %10s %9s %10s %9s" % ("case", "params", "notifying", "procs/poll", "ms/poll",
                                              "x floor t", "x floor RSS"))
    for scenario in ("agent", "one", "three", "big"):
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.check_output([sys.executable, "-I", "-S", "-c", CHILD, ROOT, scenario,
                                           str(a.polls), tmp])
        r = json.loads(out)
        print("%-7s %7d %9d %10.1f %9.1f %10.2f %9.2f" % (
            scenario, r["params"], r["notifying"], r["processes_per_poll"], r["ms_per_poll"],
            r["ms_per_poll"] / 1000 / ft, r["peak_rss_kb"] / frss))
    return 0


if __name__ == "__main__":
    sys.exit(main())
