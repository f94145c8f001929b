#!/usr/bin/env python3
"""Core benchmarks of the agent, as ratios to a floor measured in the same run.

    .venv/bin/python bench/core.py [--python /usr/bin/python3] [--runs 10]
                                   [--sessions 100] [--idle 10] [--params 10000]

The floor is what this design cannot go below: the start time and peak RSS
of ``python3 -I -S -c "import selectors, socket, http.client,
xml.etree.ElementTree"``. Every figure runs the built zipapp as a router
does (``python3 -I -S rocket.pyz``) against the development ACS on
127.0.0.1, and is printed with its ratio (and difference) to the floor:

- zipapp size, default build and ``--bytecode`` build;
- start to first Inform: agent started -> Inform received by the ACS
  (median of --runs), at the boot of a provisioned device (state directory
  from an earlier run) and at the very first start (empty state: every
  state file is created, fsync'd);
- peak RSS of a whole ``--once`` session (boot Inform, one GPV, end);
- RSS of the idle agent before its first session;
- idle RSS after 1, 10 and --sessions periodic sessions (1 s interval,
  each with a GetParameterValues of the whole tree): growth must be ~0;
- peak RSS of a session answering a GetParameterValues of --params
  parameters (added to the store by a small launcher, see LAUNCH);
- wake-ups of the idle agent over --idle seconds (context switches and
  CPU ticks from /proc/PID/status and /proc/PID/stat): must be 0.

Peak RSS is VmHWM from /proc/PID/status: read by the process itself as
it ends (the floor, and the agent run through LAUNCH), or read from
outside while a long-running agent idles.
Linux only. Nothing is asserted: the output is a table for the report.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from agentproc import AgentProcess, kib  # noqa: E402
from rocket.devacs import Acs, build_rpc, parse_values  # noqa: E402

FLOOR = "import selectors, socket, http.client, xml.etree.ElementTree"

# Peak RSS is the process's own VmHWM, read by the process itself as it
# ends: wait4()'s ru_maxrss cannot be used, Linux carries the spawning
# process's high-water mark over exec into it.
FLOOR_HWM = FLOOR + "; import sys; sys.stderr.write(open('/proc/self/status').read())"

# Run the agent exactly as cli.main does (optionally with N extra
# parameters in the store: there is no static backend in the core; they go
# in through the plugins hook, the one place features plug in), then print
# the process's VmHWM.
LAUNCH = r"""
import sys
pyz, n = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, pyz)  # the --bytecode build: plain zipimport (its __main__.py has no importer)
import zipimport
_zi = zipimport.zipimporter(pyz)
_boot = _zi.get_data("__main__.py").decode().rsplit("\nfrom rocket.cli import main", 1)[0]
exec(_boot, {"__loader__": _zi, "__file__": pyz + "/__main__.py", "__name__": "rocket_bundle"})
from rocket import cli
from rocket import plugins
from rocket.datamodel.store import Param
_install = plugins.install
def install(agent):
    _install(agent)
    if not n:
        return
    s = agent.model.store
    base = agent.root + "X_BENCH_Table."
    s.add_object(base)
    for i in range(n // 10):
        obj = "%s%d." % (base, i + 1)
        s.add_object(obj)
        for j in range(10):
            s.add("%sParam%d" % (obj, j), Param("value-%d-%d" % (i, j), "string"))
plugins.install = install
rc = cli.main(sys.argv[3:])
sys.stdout.write(open("/proc/self/status").read())
sys.exit(rc)
"""


class TimedAcs(Acs):
    """The development ACS, noting when the first POST of a run arrives and
    queueing ``every_session`` RPCs into every session."""

    first_post = None
    every_session = ()

    def _post(self, h):
        if self.first_post is None:
            self.first_post = time.monotonic()
        if self.every_session and not self.queue:
            self.queue = list(self.every_session)
        return super()._post(h)


def run_timed(argv):
    """Run to completion: (seconds, exit status)."""
    t0 = time.monotonic()
    rc = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    return time.monotonic() - t0, rc


def hwm_of(text):
    """VmHWM in KiB from a /proc/PID/status dump."""
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return kib(line.split(":", 1)[1])
    raise RuntimeError("no VmHWM in the output")


def launch(py, pyz, conf, nparams=0, *args):
    """Run the agent through LAUNCH: (seconds, exit status, VmHWM KiB)."""
    t0 = time.monotonic()
    p = subprocess.run([py, "-I", "-S", "-c", LAUNCH, pyz, str(nparams), "-c", conf] + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True)
    return time.monotonic() - t0, p.returncode, hwm_of(p.stdout)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_conf(d, url, interval=3600, extra=""):
    """A configuration in directory ``d``. Its connection-request port is
    fixed (a free one), so that a restart with the same file does not
    change ConnectionRequestURL (which would be a "4 VALUE CHANGE")."""
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "rocket.conf")
    with open(path, "w") as f:
        f.write("[acs]\nurl = %s\nperiodic_inform_interval = %d\nsession_timeout = 20\n"
                "[cpe]\nserial_number = BENCH-1\noui = 00AA11\n"
                "[connection_request]\nport = %d\nbind = 127.0.0.1\n[backends]\ndir = %s\n[state]\ndir = %s\n%s"
                % (url, interval, free_port(), d, os.path.join(d, "state"), extra))
        if "[audit]" not in extra:  # the bench's own directory, not the shared /tmp/rocket
            f.write("[audit]\nfile = %s\n" % os.path.join(d, "audit.log"))
    return path


def build(out, bytecode=None):
    cmd = [sys.executable, os.path.join(ROOT, "build_zipapp.py"), "--output", out]
    if bytecode:
        cmd += ["--bytecode", bytecode]
    subprocess.check_call(cmd, stdout=subprocess.DEVNULL)
    return os.path.getsize(out)


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def switches(agent):
    st = agent.status()
    return int(st["voluntary_ctxt_switches"]) + int(st["nonvoluntary_ctxt_switches"])


def _python38():
    """A working python3.8 on PATH, else the newest pyenv 3.8 ($PYENV_ROOT or ~/.pyenv), else None."""
    import glob
    import shutil
    cands = [shutil.which("python3.8")]
    for root in (os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv")):
        if root:
            cands += sorted(glob.glob(os.path.join(root, "versions", "3.8.*", "bin", "python3")), reverse=True)
    for py in cands:
        if py and subprocess.run([py, "-c", "import sys; assert sys.version_info[:2] == (3, 8)"],
                                 capture_output=True).returncode == 0:
            return py
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                    else sys.executable, help="interpreter the agent runs under (the router's)")
    ap.add_argument("--bytecode-python", default=_python38(),
                    help="interpreter of the --bytecode build (default: a CPython 3.8 on PATH or in pyenv)")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument("--idle", type=float, default=10.0)
    ap.add_argument("--params", type=int, default=10000)
    ap.add_argument("--build", choices=("bytecode", "source"), default="bytecode",
                    help="zipapp for the memory figures: compiled for --python (as shipped to a "
                         "device with build_zipapp.py --bytecode) or source")
    a = ap.parse_args()
    py = a.python
    rows = []

    def row(name, value, unit, floor=None, target=""):
        rows.append((name, value, unit, floor, target))
        print("  %-44s %10.1f %s" % (name, value, unit), file=sys.stderr, flush=True)

    tmp = tempfile.mkdtemp(prefix="rocket-bench-")
    acs = TimedAcs().start()
    try:
        ver = subprocess.check_output([py, "-c", "import sys; print(sys.version.split()[0])"], text=True)
        print("interpreter: %s (Python %s)" % (py, ver.strip()), file=sys.stderr)

        # ---- the floor (start time: measured again below, interleaved)
        rss = []
        for _ in range(a.runs):
            p = subprocess.run([py, "-I", "-S", "-c", FLOOR_HWM], capture_output=True, text=True)
            rss.append(hwm_of(p.stderr))
        floor_rss = statistics.median(rss)
        row("floor: peak RSS", floor_rss / 1024, "MiB")

        # ---- sizes
        pyz = os.path.join(tmp, "rocket.pyz")
        size = build(pyz)
        row("zipapp size (default build)", size / 1024, "KiB", None, "< 120 KiB")
        if a.bytecode_python and os.path.exists(a.bytecode_python):
            size_bc = build(os.path.join(tmp, "rocket-bc.pyz"), a.bytecode_python)
            row("zipapp size (--bytecode python3.8)", size_bc / 1024, "KiB", None, "< 120 KiB")

        # ---- start to first Inform (source build, and bytecode for this
        # interpreter: zipimport cannot cache compiled modules, so a source
        # zipapp compiles every module at every start); peak RSS of a session
        pyz_bc = os.path.join(tmp, "rocket-native.pyz")
        size_native = build(pyz_bc, py)
        row("zipapp size (--bytecode for the bench's python)", size_native / 1024, "KiB")
        acs.every_session = [build_rpc("GetParameterValues", ["Device."])]

        def start_to_inform(app, i, fresh=True):
            """Seconds from exec to the Inform at the ACS. ``fresh``: the very
            first start (empty state directory: BOOTSTRAP, a new
            connection-request path, every state file written); otherwise
            the boot of a device already provisioned (state left by an
            earlier run), the start a router makes at every power-up."""
            d = os.path.join(tmp, "start%s%d%s" % (os.path.basename(app), i, "f" if fresh else "b"))
            conf = write_conf(d, acs.url)
            if not fresh:
                subprocess.call([py, "-I", "-S", app, "-c", conf, "--once"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            acs.first_post = None
            t0 = time.monotonic()
            status = subprocess.call([py, "-I", "-S", app, "-c", conf, "--once", "--boot"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            if status != 0 or acs.first_post is None:
                sys.exit("bench: the --once session failed (status %d)" % status)
            return acs.first_post - t0

        # floor, bytecode build, source build, one after the other in each
        # round, so that the machine's load weighs on all three alike
        times, boot_bc, boot_src, first_bc, first_src = [], [], [], [], []
        for i in range(a.runs):
            times.append(run_timed([py, "-I", "-S", "-c", FLOOR])[0])
            boot_bc.append(start_to_inform(pyz_bc, i, fresh=False))
            boot_src.append(start_to_inform(pyz, i, fresh=False))
            first_bc.append(start_to_inform(pyz_bc, i))
            first_src.append(start_to_inform(pyz, i))
        floor_t = statistics.median(times)
        row("floor: start time (median)", floor_t * 1000, "ms")
        for label, got in (("boot, bytecode build", boot_bc), ("boot, source build", boot_src),
                           ("first start ever, bytecode build", first_bc),
                           ("first start ever, source build", first_src)):
            row("start to first Inform: %s" % label, statistics.median(got) * 1000, "ms",
                floor_t * 1000, "< 1.5x floor")
        for label, app in (("bytecode", pyz_bc), ("source", pyz)):
            peaks = []
            for i in range(a.runs):
                conf = write_conf(os.path.join(tmp, "peak%s%d" % (label, i)), acs.url)
                _, status, peak = launch(py, app, conf, 0, "--once", "--boot")
                if status != 0:
                    sys.exit("bench: the --once session failed (status %d)" % status)
                peaks.append(peak)
            row("peak RSS of a --once session, %s build" % label, statistics.median(peaks) / 1024, "MiB",
                floor_rss / 1024)
        # the rest runs the build chosen with --build
        pyz = pyz_bc if a.build == "bytecode" else pyz
        print("memory figures below: %s build" % a.build, file=sys.stderr)

        # ---- idle agent: RSS before the first session, wake-ups
        d = os.path.join(tmp, "idle")
        conf = write_conf(d, acs.url)
        run_timed([py, "-I", "-S", pyz, "-c", conf, "--once", "--boot"])  # bootstrap done
        n0 = len(acs.sessions)
        with AgentProcess(pyz, conf, python=py, log_path=os.path.join(d, "log")) as agent:
            agent.wait_log("starting")
            time.sleep(1.0)
            st = agent.status()
            row("RSS idle, before the first session", kib(st["VmRSS"]) / 1024, "MiB", floor_rss / 1024,
                "within 2 MiB of floor")
            sw0, cpu0 = switches(agent), cpu_ticks(agent.pid)
            time.sleep(a.idle)
            sw1, cpu1 = switches(agent), cpu_ticks(agent.pid)
            if len(acs.sessions) != n0:
                print("bench: a session ran while idle:\n" + agent.text()[-1500:], file=sys.stderr)
            row("idle wake-ups in %.0f s (context switches)" % a.idle, sw1 - sw0, "", None, "0")
            row("idle CPU in %.0f s" % a.idle, (cpu1 - cpu0) * 1000.0 / os.sysconf("SC_CLK_TCK"), "ms",
                None, "0")

        # ---- 100 sessions at a 1 s period: RSS must not grow
        d = os.path.join(tmp, "many")
        conf = write_conf(d, acs.url, interval=1)
        n0 = len(acs.sessions)
        marks = {}
        with AgentProcess(pyz, conf, "--boot", python=py, log_path=os.path.join(d, "log")) as agent:
            for k in sorted({1, 10, a.sessions}):
                if not agent.wait_log("session: end ok", k, timeout=a.sessions * 3 + 30):
                    sys.exit("bench: the agent stopped informing:\n" + agent.text()[-2000:])
                time.sleep(0.3)  # idle between two sessions
                marks[k] = kib(agent.status()["VmRSS"])
            hwm = kib(agent.status()["VmHWM"])
        answers = [s.answers for s in acs.sessions[n0:] if s.answers]
        if len(answers) < a.sessions:
            print("bench: only %d sessions answered a GPV" % len(answers), file=sys.stderr)
        for k in sorted(marks):
            row("idle RSS after %d session%s" % (k, "" if k == 1 else "s"), marks[k] / 1024, "MiB",
                floor_rss / 1024, "within 2 MiB of floor" if k == a.sessions else "")
        row("RSS growth, session 10 -> %d" % a.sessions, (marks[a.sessions] - marks[10]) / 1024, "MiB",
            None, "0")
        row("peak RSS over %d sessions (VmHWM)" % a.sessions, hwm / 1024, "MiB", floor_rss / 1024)

        # ---- a GPV of N parameters
        d = os.path.join(tmp, "gpv")
        conf = write_conf(d, acs.url)
        acs.every_session = [build_rpc("GetParameterValues", ["Device."])]
        n0 = len(acs.sessions)
        t, rc, peak = launch(py, pyz, conf, a.params, "--once", "--boot")
        if rc != 0:
            sys.exit("bench: the %d-parameter session failed" % a.params)
        got = len(parse_values(acs.sessions[n0].answers[0][1]))
        row("GPV of %d parameters: values answered" % a.params, got, "")
        row("GPV of %d parameters: session peak RSS" % a.params, peak / 1024, "MiB", floor_rss / 1024,
            "within 10 MiB of floor")
        row("GPV of %d parameters: whole run" % a.params, t * 1000, "ms", None)
    finally:
        acs.stop()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print("Interpreter %s; memory figures from the idle agent on use the %s build." % (py, a.build))
    print()
    print("| measure | value | floor | ratio | diff | target |")
    print("|---|---:|---:|---:|---:|---|")
    for name, value, unit, floor, target in rows:
        if floor:
            print("| %s | %.1f %s | %.1f %s | %.2fx | %+.1f %s | %s |"
                  % (name, value, unit, floor, unit, value / floor, value - floor, unit, target))
        else:
            print("| %s | %.1f %s | | | | %s |" % (name, value, unit, target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
