"""Figures of a simulated fleet: live lines, a summary, JSON lines.

What it is for: what an ACS team watches while the fleet runs (sessions
per second, sessions in flight, retries, failures and why, answer latency
percentiles) and what it plots afterwards. Every ``interval`` seconds one
line goes to ``out`` (stderr) and, with a report file, one JSON object
(``"kind": "interval"``); at the end a summary (``"kind": "summary"``).
Answer latency is the time from sending a message to the ACS to the end of
its answer (authentication round trips included). What it is not: a
per-session log (the fleet logs nothing per session).
"""

import collections
import json
from array import array


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(p / 100.0 * len(sorted_values)))]


def _ms(v):
    return None if v is None else round(v * 1000.0, 1)


class Stats:
    def __init__(self, loop, interval=0.0, out=None, report=None):
        self.loop = loop
        self.interval = interval
        self.out = out
        self.report = report  # a file open for writing, or None
        self.counts = collections.Counter()
        self.reasons = collections.Counter()
        self.lat = array("f")
        self.win = []
        self.last = collections.Counter()
        self.t0 = self.t_last = 0.0
        self.devices = 0
        self.all_served = None  # seconds from the start until every device had a good session
        self.fleet = None

    def start(self, fleet):
        self.fleet = fleet
        self.devices = len(fleet.devices)
        self.t0 = self.t_last = self.loop.clock()
        if self.interval:
            self.loop.call_later(self.interval, self._tick, "sim-stats")

    def count(self, name, n=1):
        self.counts[name] += n

    def session(self, ok, retry, first_ok, reason):
        c = self.counts
        c["sessions"] += 1
        c["ok" if ok else "failed"] += 1
        if retry:
            c["retries"] += 1
        if not ok:
            self.reasons[reason[:80]] += 1
        if first_ok:
            c["served"] += 1
            if c["served"] == self.devices:
                self.all_served = self.loop.clock() - self.t0

    def latency(self, seconds):
        self.lat.append(seconds)
        self.win.append(seconds)

    def _tick(self):
        now = self.loop.clock()
        win, self.win = sorted(self.win), []
        c = self.counts
        d = {k: c[k] - self.last[k] for k in ("sessions", "ok", "failed", "retries")}
        self.last = collections.Counter(c)
        span = max(1e-9, now - self.t_last)
        self.t_last = now
        row = {"kind": "interval", "t": round(now - self.t0, 3), "sessions_per_s": round(d["sessions"] / span, 1),
               "in_flight": self.fleet.in_flight, "waiting": len(self.fleet.waiting), "ok": d["ok"],
               "failed": d["failed"], "retries": d["retries"], "served": c["served"],
               "p50_ms": _ms(percentile(win, 50)), "p90_ms": _ms(percentile(win, 90)),
               "p99_ms": _ms(percentile(win, 99))}
        self._emit(row)
        self.loop.call_later(self.interval, self._tick, "sim-stats")

    def summary(self):
        elapsed = self.loop.clock() - self.t0
        lat = sorted(self.lat)
        c = self.counts
        row = {"kind": "summary", "elapsed_s": round(elapsed, 3), "devices": self.devices,
               "served": c["served"], "all_served_s": None if self.all_served is None else round(self.all_served, 3),
               "sessions": c["sessions"], "ok": c["ok"], "failed": c["failed"], "retries": c["retries"],
               "sessions_per_s": round(c["sessions"] / max(elapsed, 1e-9), 1),
               "attempts_per_device": round(c["sessions"] / max(1, self.devices), 3),
               "p50_ms": _ms(percentile(lat, 50)), "p90_ms": _ms(percentile(lat, 90)),
               "p99_ms": _ms(percentile(lat, 99)),
               "counts": {k: v for k, v in sorted(c.items()) if k not in ("sessions", "ok", "failed", "retries",
                                                                         "served")},
               "failures": dict(self.reasons.most_common(5))}
        return row

    def finish(self):
        row = self.summary()
        self._emit(row)
        return row

    def _emit(self, row):
        if self.out is not None:  # one line: "sim: interval t=5.0 sessions_per_s=12.5 ..."
            self.out.write("sim: %s %s\n" % (row["kind"], " ".join(
                "%s=%s" % (k, "-" if v is None else v) for k, v in row.items() if k != "kind")))
            self.out.flush()
        if self.report is not None:
            self.report.write(json.dumps(row, sort_keys=True) + "\n")
            self.report.flush()
