#!/usr/bin/env python3
"""Benchmark: software modules (ChangeDUState, Device.SoftwareModules.).

    .venv/bin/python bench/swmod.py [--runs 5] [--packages 1000]

1. Install latency: a long-running zipapp agent (``python3 -I -S
   rocket.pyz``) with ``[software]`` on an isolated dpkg root is sent a
   ChangeDUState installing a small .deb (served over loopback HTTP with
   Digest); measured on the ACS side from the moment the CPE's
   ChangeDUStateResponse arrives to the moment the Inform of the
   DUStateChangeComplete session (``11 DU STATE CHANGE COMPLETE``) arrives:
   end of session, download, dpkg, re-read, new session. Compared with
   ``dpkg --root ... -i`` of the same file on a fresh root in the same run
   (the floor of the work itself). Medians of --runs (install, then uninstall
   between runs).
2. Listing: a dpkg database of --packages installed packages (20 of them
   shipping an init script) is read by one ``--once`` session whose ACS asks
   one GetParameterValues of ``Device.SoftwareModules.``: wall time of the
   whole run, peak RSS (the agent's own VmHWM) and processes started
   (``strace -f`` execve count, when strace is there), each also against an
   empty session of the same agent and against the floor: the start time
   and peak RSS of
   ``python3 -I -S -c "import selectors, socket, http.client, xml.etree.ElementTree"``.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from rocket.devacs import Acs, _connection_request  # noqa: E402

FLOOR = "import selectors, socket, http.client, xml.etree.ElementTree"
AGENT = ("import runpy, sys\n"
         "sys.argv = sys.argv[1:]\n"
         "try:\n"
         "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
         "except SystemExit as e:\n"
         "    code = e.code\n"
         "else:\n"
         "    code = 0\n"
         "for line in open('/proc/self/status'):\n"
         "    if line.startswith('VmHWM'):\n"
         "        sys.stderr.write('\\nHWM ' + line.split()[1] + '\\n')\n"
         "sys.exit(code)\n")


def conf(d, url, root, cr_port):
    os.makedirs(os.path.join(d, "backends"), exist_ok=True)
    for n in ("swmod-dpkg", "swmod-service", "lib.sh"):
        shutil.copy(os.path.join(ROOT, "rocket", "backends", n), os.path.join(d, "backends", n))
    path = os.path.join(d, "rocket.conf")
    with open(path, "w") as f:
        f.write("""[acs]
url = %s
periodic_inform_enable = false
session_timeout = 10
[cpe]
serial_number = BENCH-1
[connection_request]
port = %d
bind = 127.0.0.1
username = cr
password = crpw
[backends]
dir = %s/backends
[state]
dir = %s/state
[audit]
file = %s/audit.log
[transfer]
download_dir = %s/dl
[software]
enable = true
systems = dpkg
root = %s
init = sysvinit
poll_interval = 0
""" % (url, cr_port, d, d, d, d, root))
    return path


def dpkg_root(path):
    admin = os.path.join(path, "var", "lib", "dpkg")
    for sub in ("info", "updates", "triggers"):
        os.makedirs(os.path.join(admin, sub), exist_ok=True)
    for f in ("status", "available"):
        open(os.path.join(admin, f), "a").close()
    os.makedirs(os.path.join(path, "etc", "init.d"), exist_ok=True)
    return path


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run_measured(argv):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.stderr.close()
    m = re.search(rb"\nHWM (\d+)\n", err)
    return wall, int(m.group(1)) if m else ru.ru_maxrss


def floor(python, runs):
    code = (FLOOR + "\nimport sys\nfor line in open('/proc/self/status'):\n    if line.startswith('VmHWM'):\n"
            "        sys.stderr.write('\\nHWM ' + line.split()[1] + '\\n')\n")
    got = [run_measured([python, "-I", "-S", "-c", code]) for _ in range(runs)]
    return statistics.median(w for w, _ in got), statistics.median(r for _, r in got)


def build(pyz):
    subprocess.check_call([sys.executable, os.path.join(ROOT, "build_zipapp.py"), "--output", pyz],
                          stdout=subprocess.DEVNULL)


# ---------------------------------------------------------------- part 1
def install_latency(python, pyz, tmp, runs):
    from fileserver import FileServer
    from swmod_util import build_deb, cdus, op
    deb = build_deb(tmp, "bench-small", "1.0")
    debfile = os.path.join(tmp, "bench-small_1.0_all.deb")
    files = FileServer().start()
    files.files["/s.deb"] = deb
    files.auth = ("digest", "pkg", "pw")
    acs = Acs().start()
    acs.cr_auth = ("cr", "crpw")
    marks = {}

    def hook(a, h, body):
        t = time.perf_counter()
        if b"ChangeDUStateResponse" in body:
            marks["answer"] = t
        elif b"<EventCode>11 DU STATE CHANGE COMPLETE</EventCode>" in body and "answer" in marks:
            marks.setdefault("report", t)
        return False

    acs.hook = hook
    d = os.path.join(tmp, "agent")
    os.makedirs(d)
    root = dpkg_root(os.path.join(d, "root"))
    c = conf(d, acs.url, root, free_port())
    p = subprocess.Popen([python, "-I", "-S", pyz, "-c", c, "--boot"], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(d, "agent.log"), "wb"))
    agent, native = [], []
    try:
        acs.wait_sessions(1, timeout=30)
        time.sleep(0.5)
        from rocket.swmod.ops import du_uuid
        uuid = du_uuid("bench-small", "Test Co <pkg@example.net>")
        for i in range(runs):
            for kind in ("Install", "Uninstall"):
                marks.clear()
                n = len(acs.sessions)
                if kind == "Install":
                    acs.queue = [cdus([op("Install", URL=files.url("/s.deb"), Username="pkg", Password="pw")],
                                      key="b%d" % i)]
                else:
                    acs.queue = [cdus([op("Uninstall", UUID=uuid)], key="u%d" % i)]
                _connection_request(acs)
                deadline = time.time() + 60
                while "report" not in marks or len([s for s in acs.sessions[n:] if s.ended]) < 2:
                    assert time.time() < deadline, open(os.path.join(d, "agent.log")).read()[-3000:]
                    time.sleep(0.005)
                if kind == "Install":
                    agent.append(marks["report"] - marks["answer"])
                time.sleep(0.3)
            r2 = dpkg_root(os.path.join(tmp, "native%d" % i))
            t0 = time.perf_counter()
            subprocess.check_call(["dpkg", "--root=" + r2, "--force-script-chrootless", "-i", debfile],
                                  stdout=subprocess.DEVNULL)
            native.append(time.perf_counter() - t0)
    finally:
        p.terminate()
        p.wait(10)
        acs.stop()
        files.stop()
    return statistics.median(agent), statistics.median(native), min(agent), max(agent)


# ---------------------------------------------------------------- part 2
def fake_db(root, n, services=20):
    admin = os.path.join(root, "var", "lib", "dpkg")
    with open(os.path.join(admin, "status"), "w") as f:
        for i in range(n):
            f.write("Package: pkg-%04d\nStatus: install ok installed\nPriority: optional\nSection: misc\n"
                    "Installed-Size: 12\nMaintainer: Bench Maintainers <bench@example.net>\nArchitecture: all\n"
                    "Version: 1.%d-1\nDescription: benchmark package number %d\n a longer text\n\n" % (i, i, i))
    for i in range(n):
        lines = ["/usr/share/doc/pkg-%04d" % i, "/usr/share/doc/pkg-%04d/copyright" % i]
        if i < services:
            lines.append("/etc/init.d/svc-%04d" % i)
            s = os.path.join(root, "etc", "init.d", "svc-%04d" % i)
            with open(s, "w") as f:
                f.write("#!/bin/sh\ncase \"$1\" in status) exit 3 ;; esac\n")
            os.chmod(s, 0o755)
        with open(os.path.join(admin, "info", "pkg-%04d.list" % i), "w") as f:
            f.write("\n".join(lines) + "\n")


def listing(python, pyz, tmp, n, runs):
    acs = Acs().start()
    d = os.path.join(tmp, "list")
    os.makedirs(d)
    root = dpkg_root(os.path.join(d, "root"))
    fake_db(root, n)
    c = conf(d, acs.url, root, free_port())
    strace = shutil.which("strace")
    gpv = ('<cwmp:GetParameterValues><ParameterNames soap-enc:arrayType="xsd:string[1]">'
           '<string>Device.SoftwareModules.</string></ParameterNames></cwmp:GetParameterValues>')
    out = {}
    try:
        for name, queue in (("empty session", []), ("GPV SoftwareModules.", [gpv])):
            walls, rss, procs = [], [], None
            for _ in range(runs):
                acs.queue = list(queue)
                w, r = run_measured([python, "-I", "-S", "-c", AGENT, pyz, "-c", c, "--once"])
                walls.append(w)
                rss.append(r)
            if queue:
                ans = acs.sessions[-1].answers[0][1]
                count = len(re.findall(rb"<ParameterValueStruct>", ans))
            else:
                count = 0
            if strace:
                acs.queue = list(queue)
                tr = os.path.join(d, "trace")
                subprocess.run([strace, "-f", "-qq", "-e", "trace=execve", "-o", tr, python, "-I", "-S", pyz, "-c", c,
                                "--once"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                with open(tr) as f:
                    procs = sum(1 for line in f if "execve(" in line and "= 0" in line) - 1
            out[name] = (statistics.median(walls), statistics.median(rss), procs, count)
    finally:
        acs.stop()
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--packages", type=int, default=1000)
    a = ap.parse_args(argv)
    if not shutil.which("dpkg-deb"):
        print("bench/swmod.py: dpkg-deb is needed")
        return 2
    tmp = tempfile.mkdtemp(prefix="rocket-bench-swmod-")
    try:
        pyz = os.path.join(tmp, "rocket.pyz")
        build(pyz)
        fw, fr = floor(a.python, a.runs)
        print("floor (python3 -I -S, selectors/socket/http.client/ElementTree): start %.0f ms, peak RSS %.1f MiB"
              % (fw * 1000, fr / 1024))
        med, native, lo, hi = install_latency(a.python, pyz, tmp, a.runs)
        print("install latency, ChangeDUStateResponse -> DUStateChangeComplete Inform: median %.0f ms "
              "(min %.0f, max %.0f); dpkg -i of the same file: %.0f ms; ratio %.1f"
              % (med * 1000, lo * 1000, hi * 1000, native * 1000, med / native))
        res = listing(a.python, pyz, tmp, a.packages, a.runs)
        for name, (w, r, procs, count) in res.items():
            print("%-22s %4d values  wall %.0f ms (%.1fx floor)  peak RSS %.1f MiB (%.2fx floor)  processes %s"
                  % (name, count, w * 1000, w / fw, r / 1024, r / fr, "?" if procs is None else procs))
        e, g = res["empty session"], res["GPV SoftwareModules."]
        print("cost of listing %d packages in one GPV: +%.0f ms, +%.1f MiB, +%s processes"
              % (a.packages, (g[0] - e[0]) * 1000, (g[1] - e[1]) / 1024,
                 "?" if g[2] is None else g[2] - e[2]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
