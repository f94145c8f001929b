#!/usr/bin/env python3
"""Does an idle agent get memory back by unloading what its sessions imported?

    .venv/bin/python bench/unload.py [--python /usr/bin/python3] [--runs 3]

In a fresh ``python3 -I -S`` that has imported only ``selectors`` and
``socket`` (what an idle agent needs before any session), imports the
standard library modules a session pulls in (``http.client`` and with it
``email`` and ``ssl``, ``xml.etree.ElementTree``, ``json``), then removes
every module imported since from ``sys.modules`` and runs the cycle
collector, as an agent would between sessions. Prints, at each step,
VmRSS and CPython's small-object allocator (pymalloc: bytes in used
blocks, arenas held, from ``sys._debugmallocstats``), next to the floor
(``python3 -I -S -c "import selectors, socket, http.client,
xml.etree.ElementTree"``, VmHWM) measured in the same run.

What it shows: the unloaded modules' objects are freed (pymalloc's used
bytes fall) but the arenas that held them stay, interleaved with what
remains, and so does VmRSS: an agent cannot shed a session's code once it
has run in its process. Linux only; nothing is asserted.
"""

import argparse
import os
import statistics
import subprocess
import sys

FLOOR = "import selectors, socket, http.client, xml.etree.ElementTree"

PROBE = r'''
import gc, importlib, os, sys, selectors, socket


def rss():
    with open("/proc/self/status") as f:
        return int(next(l for l in f if l.startswith("VmRSS:")).split()[1])


def pymalloc():
    r, w = os.pipe()
    old = os.dup(2)
    os.dup2(w, 2)
    sys._debugmallocstats()
    os.dup2(old, 2)
    os.close(w)
    out = b""
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        out += b
    os.close(r)
    get = lambda k: int(next(l for l in out.decode().splitlines() if k in l).split("=")[1].replace(",", ""))
    return get("bytes in allocated blocks") // 1024, get("arenas allocated current")


gc.collect()
before = set(sys.modules)
rows = [("idle, before a session",) + (rss(),) + pymalloc()]
for m in ("http.client", "xml.etree.ElementTree", "json"):
    importlib.import_module(m)
n = len(set(sys.modules) - before)
rows.append(("after the session's imports (%d modules)" % n,) + (rss(),) + pymalloc())
for name in set(sys.modules) - before:
    del sys.modules[name]
m = None
gc.collect()
rows.append(("after unloading them and gc.collect()",) + (rss(),) + pymalloc())
print(repr(rows))
'''


def floor_hwm(py):
    out = subprocess.run([py, "-I", "-S", "-c", FLOOR + "; import sys; sys.stdout.write(open('/proc/self/status').read())"],
                         capture_output=True, text=True, check=True).stdout
    return int(next(line for line in out.splitlines() if line.startswith("VmHWM:")).split()[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    floors, runs = [], []
    for _ in range(a.runs):
        floors.append(floor_hwm(a.python))
        out = subprocess.run([a.python, "-I", "-S", "-c", PROBE], capture_output=True, text=True, check=True).stdout
        runs.append(eval(out))  # our own probe's repr
    floor = statistics.median(floors)
    v = subprocess.run([a.python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                       text=True).stdout.strip()
    print("Python %s, median of %d runs; floor (VmHWM of `%s`): %d KiB\n" % (v, a.runs, FLOOR, floor))
    print("| step | VmRSS | vs floor | pymalloc used | pymalloc arenas |")
    print("|---|---:|---:|---:|---:|")
    for i, row in enumerate(runs[0]):
        r = statistics.median(run[i][1] for run in runs)
        used = statistics.median(run[i][2] for run in runs)
        arenas = statistics.median(run[i][3] for run in runs)
        print("| %s | %d KiB | %+d KiB | %d KiB | %d |" % (row[0], r, r - floor, used, arenas))
    return 0


if __name__ == "__main__":
    sys.exit(main())
