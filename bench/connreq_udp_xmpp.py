#!/usr/bin/env python3
"""Latency of UDP and XMPP connection requests, loopback, real peers.

    .venv/bin/python bench/connreq_udp_xmpp.py [--rounds 20]

Builds the zipapp and runs the agent the way a router does
(``python3 -I -S rocket.pyz``) with STUN against coturn and XMPP against
prosody (both on loopback, as in the tests), and the development ACS in
this process. For each round it sends one valid connection request and
measures the time until the Inform carrying "6 CONNECTION REQUEST" arrives
at the ACS; the next round starts once that session has ended.

Reported with the floor measured in the same run: start time and peak RSS
of ``python3 -I -S -c "import selectors, socket, http.client,
xml.etree.ElementTree"``. The agent's peak RSS (VmHWM) is read from /proc.
"""

import argparse
import configparser
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

FLOOR = "import selectors, socket, http.client, xml.etree.ElementTree"


def floor(n=10):
    """Median start time (s) and peak RSS (KiB) of the bare interpreter floor."""
    times, rss = [], []
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "subprocess.run([sys.executable, '-I', '-S', '-c', %r]); "
             "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
             % FLOOR)
    for _ in range(n):
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
        t, r = out.split()
        times.append(float(t))
        rss.append(int(r))
    return statistics.median(times), statistics.median(rss)


def vmhwm(pid):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"VmHWM:\s+(\d+) kB", f.read())
    return int(m.group(1)) if m else 0


def wait(cond, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit("bench: timed out waiting")
        time.sleep(0.001)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()

    from peers import Coturn, Prosody, XmppTestClient, free_port
    from rocket.devacs import Acs, send_udp_cr

    floor_t, floor_rss = floor()
    with tempfile.TemporaryDirectory() as tmp:
        pyz = os.path.join(tmp, "rocket.pyz")
        subprocess.check_call([sys.executable, os.path.join(ROOT, "build_zipapp.py"), "--output", pyz],
                              stdout=subprocess.DEVNULL)
        coturn = Coturn(tmp)
        prosody = Prosody(tmp, users=[("cpe", "cpe-secret"), ("acs", "acs-secret")])
        acs = Acs().start()
        udp_port = free_port(__import__("socket").SOCK_DGRAM)
        cfg = configparser.ConfigParser(interpolation=None)
        cfg.read_dict({
            "acs": {"url": acs.url, "periodic_inform_interval": "86400", "session_timeout": "10"},
            "cpe": {"serial_number": "BENCH-1", "oui": "00AA11"},
            "connection_request": {"port": "0", "username": "cr-user", "password": "cr-pass",
                                   "max_per_minute": "0"},
            "stun": {"enable": "true", "server_address": "127.0.0.1", "server_port": str(coturn.port)},
            "udp_connection_request": {"address": "127.0.0.1", "port": str(udp_port)},
            "xmpp": {"enable": "true", "jid": "cpe@rocket.test/rocket", "password": "cpe-secret",
                     "server": "127.0.0.1", "port": str(prosody.port), "ca_file": prosody.ca_file,
                     "allowed_jids": "acs@rocket.test"},
            "backends": {"dir": os.path.join(tmp, "backends")},
            "state": {"dir": os.path.join(tmp, "state")},
            "audit": {"file": os.path.join(tmp, "audit.log")},
            "log": {"level": "warning"},
        })
        os.makedirs(os.path.join(tmp, "backends"))
        conf = os.path.join(tmp, "rocket.conf")
        with open(conf, "w") as f:
            cfg.write(f)
        agent = subprocess.Popen([sys.executable, "-I", "-S", pyz, "-c", conf, "--boot"],
                                 stderr=open(os.path.join(tmp, "agent.log"), "w"))
        client = None
        try:
            # boot session, then the learned UDP address and JID as value changes
            wait(lambda: any("UDPConnectionRequestAddress" in (s.inform or "") and
                             "127.0.0.1:%d" % udp_port in s.inform for s in acs.sessions)
                 and any("cpe@rocket.test/rocket" in (s.inform or "") for s in acs.sessions))
            wait(lambda: all(s.ended for s in acs.sessions))
            time.sleep(0.3)
            wait(lambda: all(s.ended for s in acs.sessions))

            def measure(send):
                out = []
                for i in range(args.rounds):
                    n = len(acs.sessions)
                    t0 = time.monotonic()
                    send(i)
                    wait(lambda: len(acs.sessions) > n)
                    s = acs.sessions[n]
                    assert "6 CONNECTION REQUEST" in s.inform
                    out.append(s.started_at - t0)
                    wait(lambda: s.ended)
                    time.sleep(0.05)
                return out

            base_ts = int(time.time())
            udp = measure(lambda i: send_udp_cr("127.0.0.1", udp_port, "cr-user", "cr-pass",
                                                ts=base_ts + i, msg_id="b%d" % i))
            client = XmppTestClient(prosody.port, "acs@rocket.test", "acs-secret", prosody.ca_file)
            iq_rtt = []

            def xmpp_cr(i):
                t = time.monotonic()
                iq = client.request("cpe@rocket.test/rocket", "cr-user", "cr-pass", "cr%d" % i)
                iq_rtt.append(time.monotonic() - t)
                assert iq.get("type") == "result"
            xm = measure(xmpp_cr)
            rss = vmhwm(agent.pid)
        finally:
            if client is not None:
                client.close()
            agent.terminate()
            agent.wait(10)
            acs.stop()
            prosody.stop()
            coturn.stop()

    def ms(x):
        return x * 1000.0

    print("floor: python3 -I -S -c %r: start %.1f ms, peak RSS %d KiB" % (FLOOR, ms(floor_t), floor_rss))
    for name, xs in (("UDP connection request", udp), ("XMPP connection request", xm)):
        med = statistics.median(xs)
        print("%-24s -> Inform at the ACS: median %.1f ms (min %.1f, max %.1f, n=%d) = %.2f x floor start"
              % (name, ms(med), ms(min(xs)), ms(max(xs)), len(xs), med / floor_t))
    print("XMPP IQ round trip (ACS client -> prosody -> agent -> result): median %.1f ms"
          % ms(statistics.median(iq_rtt)))
    print("agent peak RSS with STUN + XMPP running: %d KiB = %.2f x floor" % (rss, rss / float(floor_rss)))


if __name__ == "__main__":
    main()
