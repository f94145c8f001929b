#!/usr/bin/env python3
"""Connection-request latency and timer lateness while a peer stalls.

    .venv/bin/python bench/stall.py [--requests 20] [--tick 0.05]

An agent runs in-process (its loop in a thread, as in the tests) against
the development ACS on 127.0.0.1. In each case one peer stalls at one step
of its exchange and stays stalled while the benchmark

- sends --requests valid connection requests (digest, two round trips,
  the ACS's side) one after the other and times each whole exchange;
- watches a nested-safe timer due every --tick seconds (the kind the STUN
  keep-alives, XMPP reconnects and the periodic schedule use) and records
  how late each firing is.

Cases: idle (no session: the floor), then the ACS stalling at dns (a DNS
server on 127.53.x.y that never answers; root needed), connect (full
backlog), tls (handshake never answered), headers, body; then a file
server (a Download the ACS asked for) stalling at the same steps. Printed
per case: median and max CR latency, median and max timer lateness (ms),
and the ratios of the medians to the idle floor measured in the same run.
The goal is a CR answered within 50 ms and timers on time. Nothing is
asserted.
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from conftest import write_conf  # noqa: E402
from crclient import connection_request, wait_for  # noqa: E402
from dnsserver import DnsServer  # noqa: E402
from fileserver import FileServer  # noqa: E402
from stallpeers import STEPS, Stall, stall_hook  # noqa: E402
from transfer_util import download_rpc  # noqa: E402

from rocket.agent import Agent  # noqa: E402
from rocket.base.config import Config  # noqa: E402
from rocket.devacs import Acs  # noqa: E402
from rocket import plugins  # noqa: E402

USER, PW = "cr-user", "cr-pass"


def measure(tmp, url, dns, n, tick, ready, tx=None, hold=True):
    """(CR latencies, timer lateness) while the agent is in the state ``ready`` waits for."""
    from pathlib import Path
    conf = write_conf(Path(tmp), url, dns=dns, transfer=tx or {},
                      acs={"session_timeout": "60", "periodic_inform_enable": "false"})
    agent = Agent(Config.load(conf), boot=True, once=False)
    plugins.install(agent)
    late = []
    state = {"due": None}

    def fire():
        late.append(time.monotonic() - state["due"])
        state["due"] = time.monotonic() + tick
        agent.loop.call_later(tick, fire, "bench-tick", nested=True)
    done = threading.Event()
    agent.start()

    def run():
        while not done.is_set():
            agent.loop.run_once(max_wait=0.05)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    lat = []
    try:
        if not wait_for(lambda: ready(agent), timeout=30):
            return None, None
        time.sleep(0.3)
        state["due"] = time.monotonic() + tick
        agent.loop.call_later(tick, fire, "bench-tick", nested=True)
        url = agent.model.value(agent.model.ms("ConnectionRequestURL"))
        for _ in range(n):
            t0 = time.monotonic()
            if connection_request(url, USER, PW) != 200:
                return None, None
            lat.append(time.monotonic() - t0)
            time.sleep(0.02)
        if hold and not ready(agent):
            return None, None  # the stall ended before the measurement did
        return lat, list(late)
    finally:
        done.set()
        agent.loop.stop()
        t.join(90)
        agent.stop()


def row(name, lat, late, floor):
    if lat is None:
        print("%-16s  (case did not hold its stall; skipped)" % name)
        return None
    ml, xl = statistics.median(lat) * 1000, max(lat) * 1000
    mt = statistics.median(late) * 1000 if late else float("nan")
    xt = max(late) * 1000 if late else float("nan")
    ratio = "" if floor is None else "  x%.2f  x%.2f" % (ml / floor[0], mt / floor[1] if floor[1] else 0)
    print("%-16s %8.1f %8.1f %10.1f %10.1f%s" % (name, ml, xl, mt, xt, ratio))
    return ml, max(mt, 0.001)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--tick", type=float, default=0.05)
    a = ap.parse_args()
    steps = [s for s in STEPS if s != "dns" or DnsServer.available()]
    print("%-16s %8s %8s %10s %10s  %s" % ("case", "CR med", "CR max", "late med", "late max",
                                          "ratios to idle (CR, late)"))
    with tempfile.TemporaryDirectory() as d, Acs() as acs:
        port = acs.server.server_address[1]
        n = [0]

        def sub():
            n[0] += 1
            p = os.path.join(d, "c%d" % n[0])
            os.makedirs(p)
            return p
        idle = lambda ag: not ag.in_session and ag.session_timer is None and ag.last_result  # noqa: E731
        lat, late = measure(sub(), acs.url, {}, a.requests, a.tick, idle, hold=False)
        floor = row("idle", lat, late, None)
        for step in steps:
            release = threading.Event()
            tmp = sub()
            st = Stall(step, tmp, port)
            acs.hook = stall_hook(step, release) if step in ("headers", "body") else None
            try:
                lat, late = measure(tmp, st.url, st.dns_conf(), a.requests, a.tick,
                                    lambda ag: ag.in_session)
            finally:
                release.set()
                st.close()
                acs.hook = None
            row("acs-" + step, lat, late, floor)
        files = FileServer().start()
        try:
            for step in steps:
                tmp = sub()
                st = Stall(step, tmp, files.server.server_address[1], path="/f")
                url = st.url
                if step == "headers":
                    files.raw["/f"], files.raw_linger = b"", 60
                elif step == "body":
                    files.files["/f"], files.stall["/f"] = b"x" * 100000, 1000
                acs.queue = [download_rpc(url, "3 Vendor Configuration File", "stall-" + step)]
                tx = {"download_dir": os.path.join(tmp, "dl"), "timeout": "60", "config_hook": "/bin/true"}

                def downloading(ag):
                    return not ag.in_session and ag.last_result is not None and any(
                        getattr(s, "active", None) is not None for s in ag.services)
                try:
                    lat, late = measure(tmp, acs.url, st.dns_conf(), a.requests, a.tick,
                                        downloading, tx)
                finally:
                    st.close()
                    files.raw.pop("/f", None)
                    files.stall.pop("/f", None)
                row("file-" + step, lat, late, floor)
        finally:
            files.stop()


if __name__ == "__main__":
    main()
