#!/usr/bin/env python3
"""How low can an idle agent's memory go in one process? A lower bound.

    .venv/bin/python bench/idle_bound.py [--python /usr/bin/python3] [--runs 3]

The goal for the idle agent is VmRSS at most the floor (``python3 -I -S -c
"import selectors, socket, http.client, xml.etree.ElementTree"``) + 2 MiB.
This measures, each in a process of its own, next to the floor measured in
the same run (medians of ``--runs``); rows 2 to 6 import the agent's
modules from a ``--bytecode`` build unpacked in a directory (no compiling
in process, no zlib for zipimport), row 7 is the zipapp that ships:

1. the floor;
2. the floor + what a session needs from beyond it, imported and used once:
   defusedxml's parser (which loads its pure-Python copy of ElementTree)
   and ``json`` (every state file);
3. 2 + the session's own code, imported only: ``rocket.agent`` with the
   protocol (``rocket.cwmp``), the network (``rocket.net``) and the
   parameter store (``rocket.datamodel``) it imports, and nothing else;
4. the core agent: ``rocket.cli`` with no feature installed (no connection
   requests, audit, notifications, control socket, transfers...), idle
   after one session against the development ACS on 127.0.0.1 (Inform, a
   GetParameterValues of ``Device.``);
5. the agent with every feature installed and those that are on by default
   but can be switched off switched off (``[audit]``, ``[control]``,
   ``[connection_request] enable = false``), idle after the same session;
6. the agent, default configuration, idle after the same session;
7. the default zipapp (``build_zipapp.py``), default configuration, idle
   after the same session.

Rows 2 and 3 run none of the agent's code: they bound from below what any
agent that runs a CWMP session in its own process holds, whatever it
leaves out. Linux only; nothing is asserted.
"""

import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

sys.path.insert(0, os.path.join(ROOT, "bench"))

from idle_modules import FLOOR, arguments, session_acs, wait_first_session  # noqa: E402
STDLIB = ("import defusedxml.ElementTree as D, json; D.XMLParser(forbid_dtd=True).feed(b'<a/>'); "
          "json.loads(json.dumps({'a': [1, 'b']}))")
CORE = "import rocket.agent"

# Imports STMTS from the directory PYZ, says "ready" and sleeps.
IMPORTS = r'''
import sys, time
sys.path.insert(0, sys.argv[1])
exec(sys.argv[2])
import gc
gc.collect()
sys.stdout.write("ready\n")
sys.stdout.flush()
time.sleep(60)
'''

# rocket.cli.main from the directory PYZ; with "core" first, no feature
# installed (plugins.install does nothing).
AGENT = r'''
import sys
pyz, core = sys.argv[1], sys.argv[2] == "core"
sys.argv = [pyz] + sys.argv[3:]
sys.path.insert(0, pyz)
if core:
    import rocket.plugins
    rocket.plugins.install = lambda agent: None
import rocket.cli
sys.exit(rocket.cli.main())
'''

OFF = {"audit": {"enable": "false"}, "control": {"enable": "false"},
       "connection_request": {"enable": "false"}}


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(f.read().split("VmRSS:")[1].split()[0])


def imported(python, pyz, stmts):
    p = subprocess.Popen([python, "-I", "-S", "-c", IMPORTS, pyz, stmts], stdout=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True)
    try:
        if p.stdout.readline().strip() != "ready":
            sys.exit("bench: %r failed" % stmts)
        return rss(p.pid)
    finally:
        p.kill()
        p.wait()


def idle_after_session(cmd, log):
    with open(log, "wb") as lf:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=lf, stderr=lf)
    try:
        wait_first_session(p, log)
        return rss(p.pid)
    finally:
        p.kill()
        p.wait()
        os.unlink(log)


def main():
    ap = arguments(__doc__)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="rocket-bench-")
    acs = session_acs()
    try:
        from conftest import write_conf
        import pathlib
        for d in ("default", "off"):
            os.makedirs(os.path.join(tmp, d))
        conf = write_conf(pathlib.Path(tmp, "default"), acs.url)
        off = write_conf(pathlib.Path(tmp, "off"), acs.url, **OFF)
        pyz, shipped, pyc = (os.path.join(tmp, n) for n in ("bytecode.pyz", "rocket.pyz", "pyc"))
        subprocess.check_call([sys.executable, os.path.join(ROOT, "build_zipapp.py"), "--output", pyz,
                               "--bytecode", a.python], stdout=subprocess.DEVNULL)
        subprocess.check_call([sys.executable, os.path.join(ROOT, "build_zipapp.py"), "--output", shipped],
                              stdout=subprocess.DEVNULL)
        import zipfile
        with zipfile.ZipFile(pyz) as z:
            z.extractall(pyc)
        log = os.path.join(tmp, "log")

        def agent(kind, cf):
            return lambda: idle_after_session([a.python, "-I", "-S", "-c", AGENT, pyc, kind, "-c", cf,
                                               "--boot"], log)
        version = subprocess.check_output([a.python, "-c", "import platform; print(platform.python_version())"],
                                          text=True).strip()
        rows = [("1. the floor", lambda: imported(a.python, pyc, FLOOR)),
                ("2. + defusedxml's parser and json, used once", lambda: imported(a.python, pyc, FLOOR + "; " + STDLIB)),
                ("3. + rocket.agent and the protocol, network and store it imports (imported only)",
                 lambda: imported(a.python, pyc, FLOOR + "; " + STDLIB + "; " + CORE)),
                ("4. the core agent, no feature installed", agent("core", conf)),
                ("5. every feature installed, audit, control socket and HTTP connection requests off",
                 agent("all", off)),
                ("6. every feature installed, default configuration", agent("all", conf)),
                ("7. the default zipapp, default configuration",
                 lambda: idle_after_session([a.python, "-I", "-S", shipped, "-c", conf, "--boot"], log))]
        got = {name: [] for name, _ in rows}
        for _ in range(a.runs):
            for name, measure in rows:  # interleaved: each run measures every row once
                got[name].append(measure())
    finally:
        acs.stop()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    floor = statistics.median(got[rows[0][0]])
    print("CPython %s, median of %d runs, goal: floor + 2,048 KiB = %d KiB\n" % (version, a.runs, floor + 2048))
    print("| process (4 to 7: idle after one session) | VmRSS | vs floor |\n|---|---:|---:|")
    for name, _ in rows:
        v = statistics.median(got[name])
        print("| %s | %d KiB | %+d KiB |" % (name, v, v - floor))
    return 0


if __name__ == "__main__":
    sys.exit(main())
