#!/usr/bin/env python3
"""What the idle agent holds beyond the floor, module by module.

    .venv/bin/python bench/idle_modules.py [--python /usr/bin/python3] [--top 30]

Runs the zipapp (``--bytecode`` for --python) with the default
configuration against the development ACS on 127.0.0.1 until its first
session (Inform, a GPV of ``Device.``) is over, then, in the idle agent:

- VmRSS next to the floor's (``python3 -I -S -c "import selectors, socket,
  http.client, xml.etree.ElementTree"``, run in the same run), split by
  mapping (/proc/PID/smaps: anonymous memory and the malloc heap, which
  hold Python objects, the interpreter's binary, shared libraries);
- for each module imported beyond the floor's: the bytes of the objects it
  owns (its dict, its functions' code, its classes), counted once by
  ``sys.getsizeof`` (a walk in the agent, started by SIGUSR2). The walk's
  own memory comes after the VmRSS figures.

Linux only. Nothing is asserted: it says where the idle agent's memory
goes, to pick what to import only when used (tests/test_standby.py lists
what an idle agent must not have imported).
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from agentproc import kib  # noqa: E402
from rocket.devacs import Acs, build_rpc  # noqa: E402

FLOOR = "import selectors, socket, http.client, xml.etree.ElementTree"

# Runs the zipapp as ``python3 -I -S rocket.pyz`` would; on SIGUSR2 writes
# "SIZE MODULE" lines (every module in sys.modules) to OUT.
WALK = r'''
import sys, zipimport, signal
out, pyz = sys.argv[1], sys.argv[2]
sys.argv = [pyz] + sys.argv[3:]
sys.path.insert(0, pyz)


def walk(mod, seen):
    import types
    name, n, todo = mod.__name__, 0, [mod.__dict__]
    while todo:
        o = todo.pop()
        if id(o) in seen or isinstance(o, (type, types.FunctionType)) and o.__module__ != name:
            continue
        seen.add(id(o))
        n += sys.getsizeof(o)
        if isinstance(o, dict):
            todo.extend(o.keys())
            todo.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            todo.extend(o)
        elif isinstance(o, types.FunctionType):
            todo += [o.__code__, o.__dict__, o.__defaults__, o.__kwdefaults__]
        elif isinstance(o, types.CodeType):
            todo += list(o.co_consts) + [o.co_code, o.co_names, o.co_varnames,
                                         getattr(o, "co_linetable", None) or getattr(o, "co_lnotab", b"")]
        elif isinstance(o, type):
            todo.append(dict(o.__dict__))
        elif isinstance(o, (staticmethod, classmethod)):
            todo.append(o.__func__)
        elif isinstance(o, property):
            todo += [o.fget, o.fset]
    return n


def dump(*_):
    seen = set()
    rows = ["%d %s" % (walk(m, seen), n) for n, m in sorted(sys.modules.items()) if hasattr(m, "__dict__")]
    with open(out, "w") as f:
        f.write("\n".join(rows) + "\n")


signal.signal(signal.SIGUSR2, dump)
loader = zipimport.zipimporter(pyz)
exec(loader.get_code("__main__"), {"__name__": "__main__", "__file__": pyz + "/__main__.py",
                                   "__builtins__": __builtins__, "__package__": "", "__loader__": loader})
'''


def smaps(pid):
    """KiB of RSS per mapping kind: anon, heap, python (the binary), libs."""
    out, kind = {"anon": 0, "heap": 0, "python": 0, "libs": 0}, "anon"
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if parts[0] == "Rss:":
                out[kind] += int(parts[1])
            elif "-" in parts[0] and not parts[0].endswith(":"):
                path = parts[5] if len(parts) > 5 else ""
                kind = ("heap" if path == "[heap]" else "anon" if not path.startswith("/")
                        else "python" if "/bin/" in path else "libs")
    return out


def arguments(doc):
    """The parser of an idle-memory bench: ``--python`` to measure."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                    else sys.executable)
    return ap


def session_acs():
    """The development ACS on 127.0.0.1; every session: a GPV of Device."""
    acs = Acs().start()
    acs.every_session = [build_rpc("GetParameterValues", ["Device."])]
    return acs


def wait_first_session(p, log, timeout=60):
    """Until the agent ``p`` (stderr in ``log``) logs its first session's
    end, then half a second more for it to settle idle."""
    deadline = time.monotonic() + timeout
    while b"session: end ok" not in open(log, "rb").read():
        if time.monotonic() > deadline or p.poll() is not None:
            sys.exit("bench: no session:\n" + open(log).read()[-2000:])
        time.sleep(0.05)
    time.sleep(0.5)


def main():
    ap = arguments(__doc__)
    ap.add_argument("--top", type=int, default=30)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="rocket-bench-")
    acs = session_acs()
    try:
        from conftest import write_conf
        import pathlib
        conf = write_conf(pathlib.Path(tmp), acs.url)
        pyz, walker, out = (os.path.join(tmp, n) for n in ("rocket.pyz", "walk.py", "modules.txt"))
        subprocess.check_call([sys.executable, os.path.join(ROOT, "build_zipapp.py"), "--output", pyz,
                               "--bytecode", a.python], stdout=subprocess.DEVNULL)
        with open(walker, "w") as f:
            f.write(WALK)
        floor = subprocess.Popen([a.python, "-I", "-S", "-c", FLOOR + "; import sys, time; "
                                  "sys.stdout.write(sorted(sys.modules).__repr__() + '\\n'); sys.stdout.flush(); "
                                  "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
        floor_mods = set(eval(floor.stdout.readline()))
        floor_maps = smaps(floor.pid)
        floor.kill()
        floor.wait()
        log = os.path.join(tmp, "log")
        with open(log, "wb") as lf:
            p = subprocess.Popen([a.python, "-I", "-S", walker, out, pyz, "-c", conf, "--boot"],
                                 stdin=subprocess.DEVNULL, stdout=lf, stderr=lf)
        try:
            wait_first_session(p, log)
            deadline = time.monotonic() + 30
            with open("/proc/%d/status" % p.pid) as f:
                rss = kib(f.read().split("VmRSS:")[1].split("\n")[0])
            maps = smaps(p.pid)
            p.send_signal(signal.SIGUSR2)
            while not os.path.exists(out) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)
        finally:
            p.kill()
            p.wait()
        print("| idle agent after its first session | agent | floor | diff |")
        print("|---|---:|---:|---:|")
        print("| VmRSS | %d KiB | %d KiB | %+d KiB |" % (rss, sum(floor_maps.values()), rss - sum(floor_maps.values())))
        for k in ("anon", "heap", "python", "libs"):
            print("| %s | %d KiB | %d KiB | %+d KiB |" % (k, maps[k], floor_maps[k], maps[k] - floor_maps[k]))
        rows = []
        with open(out) as f:
            for line in f:
                size, name = line.split()
                if name not in floor_mods:
                    rows.append((int(size), name))
        rows.sort(reverse=True)
        print("\n%d modules beyond the floor's, %d KiB of objects; the largest:\n" % (
            len(rows), sum(s for s, _ in rows) // 1024))
        print("| module | KiB |\n|---|---:|")
        for size, name in rows[:a.top]:
            print("| %s | %.1f |" % (name, size / 1024))
    finally:
        acs.stop()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
