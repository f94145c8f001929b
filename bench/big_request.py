#!/usr/bin/env python3
"""Connection-request latency while the agent answers a huge GetParameterValues.

    .venv/bin/python bench/big_request.py [--python /usr/bin/python3] [--names 99000]

The built zipapp runs ``--once`` (through bench/core.py's LAUNCH, which adds
--names parameters to the store) against the development ACS on 127.0.0.1,
which sends one GetParameterValues naming every one of them. Meanwhile a
client sends connection requests (answered 401 or 404 by the listener) one
after the other, and notes how long each took to be answered.

Printed: the latency of those answered while the GPV was being handled
(between the ACS sending it and receiving the answer): median, 95th
percentile and maximum, as ratios to the floor, the median latency of the
same probe against the idle agent before the session (measured in the same
run). The goal is at most 50 ms while the big request is handled. Nothing
is asserted.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from core import LAUNCH, build, write_conf  # noqa: E402
from rocket.devacs import Acs, build_rpc  # noqa: E402


class GateAcs(Acs):
    """Holds the first answer (the InformResponse) until ``go`` is set (the
    floor is measured meanwhile), and notes when each POST arrived."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.go = threading.Event()
        self.marks = []

    def _post(self, h):
        n = len(self.marks)
        if n == 0:
            self.marks.append(("inform", time.monotonic()))
            self.go.wait(60)
        else:
            self.marks.append(("post", time.monotonic()))
        return super()._post(h)


def probe(port, stop, out):
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                got = s.recv(64)
        except OSError:
            time.sleep(0.01)
            continue
        if got.startswith(b"HTTP/1.1 "):
            out.append((t0, time.monotonic()))
        time.sleep(0.002)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                    else sys.executable)
    ap.add_argument("--names", type=int, default=99000)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="rocket-bench-big-")
    pyz = os.path.join(d, "rocket.pyz")
    build(pyz)
    acs = GateAcs().start()
    n = a.names - a.names % 10
    # short names (Device.B.1.P0): 99,000 of them fit in the 4 MiB envelope limit
    names = ["Device.B.%d.P%d" % (i + 1, j) for i in range(n // 10) for j in range(10)]
    acs.queue = [build_rpc("GetParameterValues", names)]
    conf = write_conf(d, acs.url)
    port = int(open(conf).read().split("port = ")[1].split()[0])
    launcher = LAUNCH.replace('"X_BENCH_Table."', '"B."').replace('"%sParam%d"', '"%sP%d"')
    assert launcher != LAUNCH
    p = subprocess.Popen([a.python, "-I", "-S", "-c", launcher, pyz, str(n), "-c", conf, "--once"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(d, "agent.log"), "wb"))
    stop = threading.Event()
    probes = []
    t = threading.Thread(target=probe, args=(port, stop, probes), daemon=True)
    t.start()
    while not acs.marks and p.poll() is None:
        time.sleep(0.05)
    time.sleep(2.0)  # idle probes: the floor
    floor = [b - a_ for a_, b in probes]
    acs.go.set()
    rc = p.wait(300)
    stop.set()
    t.join(30)
    acs.stop()
    posts = [m[1] for m in acs.marks if m[0] == "post"]
    if rc != 0 or len(posts) < 2:
        sys.exit("bench: the session failed (exit %d), see %s" % (rc, os.path.join(d, "agent.log")))
    start, end = posts[0], posts[1]  # the empty POST (answered with the GPV), the GPV's answer
    during = [b - a_ for a_, b in probes if a_ >= start and b <= end]
    f = pct(floor, 0.5)
    print("GPV of %d names handled in %.2f s; %d connection requests answered meanwhile"
          % (n, end - start, len(during)))
    print("floor (idle agent) median latency: %.2f ms over %d probes" % (f * 1000, len(floor)))
    for label, v in (("median", pct(during, 0.5)), ("p95", pct(during, 0.95)),
                     ("max", max(during) if during else float("nan"))):
        print("during the GPV, %-6s latency: %7.2f ms  (%.1fx floor)" % (label, v * 1000, v / f))


if __name__ == "__main__":
    main()
