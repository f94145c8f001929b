#!/usr/bin/env python3
"""Benchmark: what instance aliases and wildcards cost a GetParameterValues.

    python3 bench/aliases.py [--instances 2000] [--repeat 5]

In-process (the data model alone, no sockets): a table of N instances of
8 parameters each, every instance with a unique Alias. Each line is the best
of --repeat runs, and its ratio to the floor measured in the same run. The
floor is the same answer asked in plain form: GetParameterValues of the
table's partial path in InstanceNumber mode.

  alias mode      the same request with InstanceMode = InstanceAlias: every
                  path of the answer is rewritten
  wildcard        Table.*.Name (N parameters), against N explicit names
  by alias        N names Table.[alias].Name, against N names Table.<n>.Name
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from rocket.base.config import Config  # noqa: E402
from rocket.datamodel.model import DataModel  # noqa: E402
from rocket.datamodel.store import Param  # noqa: E402

T = "Device.X_00AA11_Table."


def model(n):
    m = DataModel()
    m.build_builtin(Config())
    m.begin_session()
    s = m.store
    s.add_object(T, writable=True, table=True)
    for i in range(1, n + 1):
        s.add_object("%s%d." % (T, i), writable=True)
        s.add("%s%d.Alias" % (T, i), Param("a%d" % i, writable=True))
        for k in range(7):
            s.add("%s%d.P%d" % (T, i, k), Param(str(i * k)))
    return m


def best(fn, repeat):
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    n = a.instances
    m = model(n)
    mode = m.ms("InstanceMode")
    floor = best(lambda: m.get_values([T]), a.repeat)
    m.store.get(mode).value = "InstanceAlias"
    alias_mode = best(lambda: m.get_values([T]), a.repeat)
    m.store.get(mode).value = "InstanceNumber"
    plain = ["%s%d.P1" % (T, i) for i in range(1, n + 1)]
    explicit = best(lambda: m.get_values(plain), a.repeat)
    star = best(lambda: m.get_values([T + "*.P1"]), a.repeat)
    by_alias = ["%s[a%d].P1" % (T, i) for i in range(1, n + 1)]
    aliased = best(lambda: m.get_values(by_alias), a.repeat)
    print("GPV of %d parameters (%d instances), best of %d" % (n * 8, n, a.repeat))
    print("%-34s %8.1f ms  1.00x (floor)" % ("partial path, InstanceNumber", floor * 1e3))
    print("%-34s %8.1f ms  %.2fx" % ("partial path, InstanceAlias", alias_mode * 1e3, alias_mode / floor))
    print("%-34s %8.1f ms  %.2fx" % ("%d explicit names" % n, explicit * 1e3, explicit / floor))
    print("%-34s %8.1f ms  %.2fx" % ("one wildcard name (%d answers)" % n, star * 1e3, star / floor))
    print("%-34s %8.1f ms  %.2fx" % ("%d names by alias" % n, aliased * 1e3, aliased / floor))


if __name__ == "__main__":
    main()
