#!/usr/bin/env python3
"""Connection-request listener under abuse, and CR -> Inform latency.

    python3 bench/connreq.py [--bad N] [--slow N] [--latency N] [--json]

Runs the zipapp agent (``python3 -I -S rocket.pyz``, built into a temporary
directory) against the loopback development ACS, then:

1. latency: N valid connection requests (Digest MD5), one at a time; for
   each, the time from sending the authenticated GET to the Inform arriving
   at the ACS (median, min, max);
2. bad auth: ``--bad`` requests (default 10,000) with a wrong password from
   8 client threads; meanwhile one valid request, timed;
3. slowloris: ``--slow`` connections (default 1,000) that send a few header
   bytes and stall; while they are open, one valid request, timed;
4. sessions started by 2 and 3 (must be zero besides the valid ones), and
   the agent's RSS before and after (VmRSS) and its peak (VmHWM).

Memory is reported as a ratio to the floor: the peak RSS of
``python3 -I -S -c "import selectors, socket, http.client, xml.etree.ElementTree"``
measured in the same run (and its start time, for scale).
"""

import argparse
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from crclient import challenges, digest_header, get  # noqa: E402
from rocket.devacs import Acs  # noqa: E402

USER, PW = "cr-user", "cr-pass"


def floor():
    """Peak RSS (KiB) and wall time (s) of the bare interpreter with the
    modules any agent of this kind needs."""
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, "-I", "-S", "-c",
                          "import selectors, socket, http.client, xml.etree.ElementTree"])
    _, _, ru = os.wait4(p.pid, 0)
    return ru.ru_maxrss, time.monotonic() - t0


def proc_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"^%s:\s+(\d+) kB" % field, f.read(), re.M)
    return int(m.group(1))


def valid_request(url):
    """The whole ACS exchange; (status, seconds for both round trips,
    monotonic time the authenticated GET was sent)."""
    t0 = time.monotonic()
    ch, _ = challenges(url)
    path = url[url.index("/", 8):]
    auth = digest_header(ch, USER, PW, path)
    t1 = time.monotonic()
    status = get(url, {"Authorization": auth})[0]
    return status, time.monotonic() - t0, t1


def raw_request(host, port, data, timeout=10):
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return out
            out += chunk


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bad", type=int, default=10000)
    ap.add_argument("--slow", type=int, default=1000)
    ap.add_argument("--latency", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.slow + 512)), hard))

    floor_rss, floor_time = floor()
    tmp = tempfile.mkdtemp(prefix="rocket-bench-")
    pyz = os.path.join(tmp, "rocket.pyz")
    subprocess.check_call([sys.executable, os.path.join(ROOT, "build_zipapp.py"), "--output", pyz],
                          stdout=subprocess.DEVNULL)
    acs = Acs().start()
    conf = os.path.join(tmp, "rocket.conf")
    with open(conf, "w") as f:
        f.write("[acs]\nurl = %s\nperiodic_inform_interval = 86400\n"
                "[cpe]\nserial_number = BENCH-1\n"
                "[connection_request]\nport = 0\nbind = 127.0.0.1\nusername = %s\npassword = %s\n"
                "max_per_minute = 1000\n"
                "[backends]\ndir = %s\n[state]\ndir = %s\n[log]\nlevel = warning\n"
                "[audit]\nfile = %s\n"
                % (acs.url, USER, PW, tmp, os.path.join(tmp, "state"), os.path.join(tmp, "audit.log")))
    agent = subprocess.Popen([sys.executable, "-I", "-S", pyz, "-c", conf, "--boot"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr_lines = []
    threading.Thread(target=lambda: stderr_lines.extend(agent.stderr), daemon=True).start()
    out = {}
    try:
        assert acs.wait_sessions(1), "no boot session"
        url = acs.cr_url
        host, port = "127.0.0.1", int(url.split(":")[2].split("/")[0])
        time.sleep(0.2)
        rss0 = proc_kib(agent.pid, "VmRSS")

        # 1. valid CR -> Inform at the ACS
        lat = []
        for i in range(args.latency):
            n = len(acs.sessions)
            status, _, sent = valid_request(url)
            assert status == 200, status
            assert acs.wait_sessions(n + 1)
            lat.append(acs.sessions[n].started - sent)
        out["cr_to_inform_ms"] = {"median": statistics.median(lat) * 1e3, "min": min(lat) * 1e3,
                                  "max": max(lat) * 1e3, "n": len(lat)}
        sessions_before = len(acs.sessions)

        # 2. bad-auth flood, a valid request in the middle of it
        ch, _ = challenges(url)
        path = url[url.index("/", 8):]
        bad = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: %s\r\n\r\n" % (
            path, host, port, digest_header(ch, USER, "wrong", path))).encode()
        counts = {}
        lock = threading.Lock()
        per = args.bad // 8

        def flood():
            mine = {}
            for _ in range(per):
                try:
                    st = raw_request(host, port, bad)[9:12].decode() or "closed"
                except OSError as e:
                    st = type(e).__name__
                mine[st] = mine.get(st, 0) + 1
            with lock:
                for k, v in mine.items():
                    counts[k] = counts.get(k, 0) + v
        t0 = time.monotonic()
        ts = [threading.Thread(target=flood) for _ in range(8)]
        for t in ts:
            t.start()
        time.sleep(0.5)
        mid_status, mid_time, _ = valid_request(url)
        for t in ts:
            t.join()
        flood_time = time.monotonic() - t0
        assert acs.wait_sessions(sessions_before + 1)
        out["bad_auth"] = {"requests": per * 8, "answers": counts, "seconds": flood_time,
                           "per_second": per * 8 / flood_time,
                           "valid_request_during_flood": {"status": mid_status,
                                                          "ms": mid_time * 1e3}}
        rss_flood = proc_kib(agent.pid, "VmRSS")

        # 3. slowloris, a valid request while they stall
        socks = []
        refused = 0
        t0 = time.monotonic()
        for i in range(args.slow):
            try:
                s = socket.create_connection((host, port), timeout=5)
                s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nX-a: " % path.encode())
                socks.append(s)
            except OSError:
                refused += 1
        open_time = time.monotonic() - t0
        slow_status, slow_time, _ = valid_request(url)
        rss_slow = proc_kib(agent.pid, "VmRSS")
        for s in socks:
            s.close()
        time.sleep(0.5)
        assert acs.wait_sessions(sessions_before + 2)
        time.sleep(1.0)
        sessions_after = len(acs.sessions)
        out["slowloris"] = {"connections": args.slow, "connect_failed": refused,
                            "open_seconds": open_time,
                            "valid_request_while_stalled": {"status": slow_status,
                                                            "ms": slow_time * 1e3}}
        rss1 = proc_kib(agent.pid, "VmRSS")
        hwm = proc_kib(agent.pid, "VmHWM")
        out["sessions_started_by_abuse"] = sessions_after - sessions_before - 2
        out["rss_kib"] = {"before": rss0, "after_bad_auth": rss_flood, "during_slowloris": rss_slow,
                          "after": rss1, "peak": hwm}
        out["floor"] = {"peak_rss_kib": floor_rss, "start_ms": floor_time * 1e3}
        out["ratios_to_floor"] = {"rss_before": rss0 / floor_rss, "rss_after": rss1 / floor_rss,
                                  "rss_peak": hwm / floor_rss,
                                  "valid_request_during_flood_vs_floor_start":
                                      mid_time / floor_time,
                                  "valid_request_while_stalled_vs_floor_start":
                                      slow_time / floor_time,
                                  "cr_to_inform_median_vs_floor_start":
                                      statistics.median(lat) / floor_time}
    finally:
        agent.terminate()
        try:
            agent.wait(10)
        except subprocess.TimeoutExpired:
            agent.kill()
        acs.stop()
    logged = sum(1 for ln in stderr_lines if b"connreq: refused" in ln)
    out["refusal_log_lines"] = logged
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    c = out["cr_to_inform_ms"]
    b = out["bad_auth"]
    s = out["slowloris"]
    r = out["rss_kib"]
    q = out["ratios_to_floor"]
    print("floor: peak RSS %d KiB, start %.1f ms" % (floor_rss, floor_time * 1e3))
    print("CR -> Inform at the ACS: median %.1f ms (min %.1f, max %.1f, n=%d) = %.2fx floor start"
          % (c["median"], c["min"], c["max"], c["n"], q["cr_to_inform_median_vs_floor_start"]))
    print("bad auth: %d requests in %.1f s (%.0f/s), answers %s" % (
        b["requests"], b["seconds"], b["per_second"], b["answers"]))
    print("  valid request during the flood: %s in %.1f ms" % (
        b["valid_request_during_flood"]["status"], b["valid_request_during_flood"]["ms"]))
    print("slowloris: %d stalled connections opened in %.1f s (%d failed to connect)" % (
        s["connections"], s["open_seconds"], s["connect_failed"]))
    print("  valid request while they stall: %s in %.1f ms" % (
        s["valid_request_while_stalled"]["status"], s["valid_request_while_stalled"]["ms"]))
    print("sessions started by the abuse: %d" % out["sessions_started_by_abuse"])
    print("agent RSS KiB: before %d, after bad auth %d, during slowloris %d, after %d, peak %d"
          % (r["before"], r["after_bad_auth"], r["during_slowloris"], r["after"], r["peak"]))
    print("  = %.2fx / %.2fx / peak %.2fx the floor's peak RSS" % (
        q["rss_before"], q["rss_after"], q["rss_peak"]))
    print("refusal lines logged: %d (of %d refusals; the rest counted per minute)" % (
        logged, b["requests"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
