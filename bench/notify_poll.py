#!/usr/bin/env python3
"""Cost of the notification poll: backend processes, wall time and memory per poll.

    python3 bench/notify_poll.py [--polls 20]

The agent holds a 10,000-parameter tree from an in-process backend plus three
shell-style backends of 1,000 parameters each, whose ``load`` runs one
``sh`` process printing its subtree (as a script backend does). Scenarios:

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


def floor():
    best_t, rss = None, 0
    for _ in range(5):
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-I", "-S", "-c", FLOOR])
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        best_t = dt if best_t is None else min(best_t, dt)
        rss = max(rss, ru.ru_maxrss)
    return best_t, rss


CHILD = r'''
import sys, time, resource, json
sys.path.insert(0, sys.argv[1])
from rocket.agent import Agent
from rocket.config import Config
from rocket.store import Param
from rocket import notify

scenario, polls, tmp = sys.argv[2], int(sys.argv[3]), sys.argv[4]
cfg = Config()
cfg.set("state", "dir", tmp)
cfg.set("acs", "url", "")
agent = Agent(cfg)
n = notify.install(agent)
spawned = [0]
real_run = agent.loop.run_process
def counting(*a, **kw):
    spawned[0] += 1
    return real_run(*a, **kw)
agent.loop.run_process = counting

class Big:
    name = "big"; prefixes = ["Device.X_BIG."]
    def load(self, store):
        for i in range(10000):
            p = "Device.X_BIG.%d.Value" % i
            q = store.get(p)
            if q is None:
                store.add(p, Param("v%d" % i, "string", True, owner="big",
                                   notification=1 if scenario == "big" and i % 10 == 0 else 0))
            else:
                q.value = "v%d" % i

SCRIPT = 'i=0; while [ $i -lt 1000 ]; do printf "%s.%d.Value\tv%d\n" "$P" $i $i; i=$((i+1)); done'

class Sh:
    def __init__(self, k, notifying):
        self.name = "sh%d" % k; self.prefix = "Device.X_SH%d." % k; self.prefixes = [self.prefix]
        self.notifying = notifying
    def load(self, store):
        r = agent.loop.run_process(["sh", "-c", SCRIPT], env={"P": self.prefix[:-1], "PATH": "/usr/bin:/bin"})
        for i, line in enumerate(r.stdout.decode().splitlines()):
            path, _, value = line.partition("\t")
            q = store.get(path)
            if q is None:
                store.add(path, Param(value, "string", True, owner=self.name,
                                      notification=1 if self.notifying and i % 50 == 0 else 0))
            else:
                q.value = value

agent.model.add_backend(Big())
for k in range(3):
    agent.model.add_backend(Sh(k, scenario == "three" or (scenario == "one" and k == 0)))
# a session's worth of discovery: every backend loaded once, so the
# notifying parameters are known (as after the first GPN/GPV of an ACS)
agent.model.begin_session()
agent.model.touch(agent.root)
agent.model.end_session()
n.started = True
n.check()
notifying = len(n.baseline)
spawned[0] = 0
loads = n.loads
t0 = time.perf_counter()
for _ in range(polls):
    n.check()
dt = (time.perf_counter() - t0) / polls
print(json.dumps({"scenario": scenario, "params": len(agent.model.store), "notifying": notifying,
                  "processes_per_poll": spawned[0] / polls, "loads_per_poll": (n.loads - loads) / polls,
                  "ms_per_poll": dt * 1000,
                  "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
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
