#!/usr/bin/env python3
"""Audit and policy costs: flash writes per session, memory, time.

    .venv/bin/python bench/audit.py [--python /usr/bin/python3] [--runs 5]

Flash writes are counted from the outside with ``strace -f -y`` (every
write(2), fsync(2) and rename(2) of the agent, with the path of its file
descriptor), for one typical provisioning session run by the zipapp
(``--once``: Inform, GetParameterValues, SetParameterValues of two
parameters one of which a password, GetParameterNames, AddObject on
InformParameter, SetParameterValues on it, SetParameterAttributes,
DeleteObject), first as a bootstrap session on a fresh state directory,
then as a later session. The baseline is what the agent core writes to its
own state directory in the same session. Configurations:

- audit file in RAM (the default, /tmp on OpenWrt): writes that cost no
  flash at all;
- audit file on flash (``[audit] file`` in the state directory);
- with a flash copy refreshed at every session (``persist_interval = 0``,
  the worst case; the default interval is a day);
- audit disabled (``[audit] enable = false``): the core alone.

The agent's own counters (``Audit.bytes_written``/``fsyncs``) are checked
against strace when strace is missing (then they are the only source).

Also: peak RSS (VmHWM) and wall time of a whole ``--once`` session with
audit and an owner policy vs. without, as ratios to the floor (``python3 -I
-S -c "import selectors, socket, http.client, xml.etree.ElementTree"``);
the cost of the read masks on a GetParameterValues of 10,000 parameters;
the cost of one ``Audit.record``. Nothing is asserted: the output is a
table for the report.
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import core as corebench  # noqa: E402  (bench/core.py: floor, launcher, zipapp build)
from rocket.devacs import build_rpc  # noqa: E402

MS = "Device.ManagementServer."
IP = MS + "InformParameter."
SESSION = [
    build_rpc("GetParameterValues", [MS + "URL", "Device.DeviceInfo.SoftwareVersion", MS + "ParameterKey"]),
    build_rpc("SetParameterValues", [MS + "PeriodicInformInterval=600:unsignedInt",
                                     MS + "ConnectionRequestPassword=bench-secret"]),
    build_rpc("GetParameterNames", [MS, "1"]),
    build_rpc("AddObject", [IP]),
    build_rpc("SetParameterValues", [IP + "1.ParameterName=Device.DeviceInfo.UpTime",
                                     IP + "1.Enable=true:boolean"]),
    build_rpc("SetParameterAttributes", [MS + "PeriodicInformInterval=1"]),
    build_rpc("DeleteObject", [IP + "1."]),
]
POLICY = """[management]
factory_reset = no
[parameters]
deny_write = Device.Users. Device.ManagementServer.URL
deny_read = Device.WiFi.AccessPoint.*.Security.KeyPassphrase Device.Users.User.*.Password
[download]
from = https://fw.example.net/
"""

_CALL = re.compile(r"^\d+\s+(\w+)\((\d+)<([^>]*)>(?:, \"[^\n]*?\"(?:\.\.\.)?, (\d+))?.*= (-?\d+)")
_RENAME = re.compile(r"^\d+\s+rename(?:at2?)?\(.*?\"([^\"]+)\".*?\"([^\"]+)\".*= 0")


def parse_strace(path, dirs):
    """{label: [bytes, writes, fsyncs, renames]} for files under each dir of ``dirs``."""
    out = {label: [0, 0, 0, 0] for label in dirs}

    def label_of(p):
        for label, d in dirs.items():
            if p.startswith(d + os.sep):
                return label
        return None

    with open(path, errors="replace") as f:
        for line in f:
            m = _CALL.match(line)
            if m:
                call, _, fpath, _, ret = m.groups()
                lab = label_of(fpath)
                if lab is None:
                    continue
                if call in ("write", "pwrite64", "writev") and int(ret) > 0:
                    out[lab][0] += int(ret)
                    out[lab][1] += 1
                elif call in ("fsync", "fdatasync"):
                    out[lab][2] += 1
                continue
            m = _RENAME.match(line)
            if m:
                lab = label_of(m.group(2))
                if lab is not None:
                    out[lab][3] += 1
    # fsync of a directory fd: its path is the directory itself
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"^\d+\s+fsync\(\d+<([^>]*)>\)", line)
            if m:
                for label, d in dirs.items():
                    if m.group(1) == d:
                        out[label][2] += 1
    return out


def conf_for(d, url, audit_extra="", policy=False):
    extra = "[audit]\n" + audit_extra
    if policy:
        pol = os.path.join(d, "policy.conf")
        os.makedirs(d, exist_ok=True)
        with open(pol, "w") as f:
            f.write(POLICY)
        os.chmod(pol, 0o600)
        extra += "[policy]\nfile = %s\n" % pol
    return corebench.write_conf(d, url, extra=extra)


def traced_session(py, pyz, conf, trace, boot):
    args = [py, "-I", "-S", pyz, "-c", conf, "--once"] + (["--boot"] if boot else [])
    if shutil.which("strace"):
        args = ["strace", "-f", "-y", "-qq", "-o", trace, "-e",
                "trace=write,pwrite64,writev,fsync,fdatasync,rename,renameat,renameat2"] + args
    rc = subprocess.call(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    if rc != 0:
        sys.exit("bench: session failed (%d): %s" % (rc, " ".join(args)))


def mask_cost(n, reps):
    """Seconds for a GPV of ``n`` parameters without / with the owner policy's hooks."""
    from rocket.base.config import Config
    from rocket.datamodel.model import DataModel
    from rocket.owner.policy import Enforcer, Policy
    from rocket.datamodel.store import Param
    m = DataModel("Device.")
    m.build_builtin(Config())
    s = m.store
    for i in range(n // 10):
        base = "Device.WiFi.AccessPoint.%d.Security." % (i + 1)
        for j in range(9):
            s.add(base + "P%d" % j, Param("v", "string", True))
        s.add(base + "KeyPassphrase", Param("secret", "string", True))

    def gpv():
        t0 = time.perf_counter()
        out = m.get_values(["Device."])
        gpn = m.get_names("Device.", False)
        return time.perf_counter() - t0, out, gpn

    plain = min(gpv()[0] for _ in range(reps))

    class FakeAgent:
        model = m
        in_session = True
    enf = Enforcer(FakeAgent(), Policy.parse(POLICY))
    m.masks.append(enf.masked)
    m.locks.append(enf.locked)
    m.checks.append(enf.check)
    masked = min(gpv()[0] for _ in range(reps))
    _, out, _ = gpv()
    hidden = sum(1 for p, _, v in out if p.endswith("KeyPassphrase") and v == "")
    return plain, masked, len(out), hidden


def record_cost(n):
    from rocket.owner.audit import Audit
    d = tempfile.mkdtemp()
    try:
        a = Audit(os.path.join(d, "audit.log"), buffer_bytes=1 << 30, max_bytes=1 << 30)
        t0 = time.perf_counter()
        for i in range(n):
            a.record("set", path="Device.X.%d.Name" % i, old="old value", new="new value")
        rec = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        a.flush()
        return rec, time.perf_counter() - t0, a.bytes_written
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                    else sys.executable, help="interpreter the agent runs under (the router's)")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    py = a.python
    rows = []

    def row(name, value, unit, floor=None, note=""):
        rows.append((name, value, unit, floor, note))
        print("  %-58s %10.1f %s" % (name, value, unit), file=sys.stderr, flush=True)

    tmp = tempfile.mkdtemp(prefix="rocket-bench-audit-")
    acs = corebench.TimedAcs().start()
    try:
        if not shutil.which("strace"):
            print("bench: strace not found: flash figures come from the audit's own counters",
                  file=sys.stderr)
        pyz = os.path.join(tmp, "rocket.pyz")
        corebench.build(pyz)

        # ---- flash writes of one typical session
        acs.every_session = SESSION
        setups = [
            ("audit in RAM (default)", "file = {ram}/audit.log\n"),
            ("audit on flash", "file = {flash}/audit.log\n"),
            ("audit in RAM + flash copy every session",
             "file = {ram}/audit.log\npersist = {flash}/audit.log\npersist_interval = 0\n"),
            ("audit disabled (core alone)", "enable = false\n"),
        ]
        for label, extra in setups:
            d = os.path.join(tmp, re.sub(r"\W+", "-", label))
            dirs = {"state": os.path.join(d, "state"), "ram": os.path.join(d, "ram"),
                    "flash": os.path.join(d, "flash")}
            conf = conf_for(d, acs.url, extra.format(**dirs), policy=True)
            for n, boot in ((1, True), (2, False), (3, False)):
                trace = os.path.join(d, "trace%d" % n)
                traced_session(py, pyz, conf, trace, boot)
                if n == 2:
                    continue  # 3 is the steady state (2 still settles files the first one made)
                what = "bootstrap session" if boot else "later session"
                if os.path.exists(trace):
                    got = parse_strace(trace, dirs)
                else:
                    got = {k: [0, 0, 0, 0] for k in dirs}
                core, rm, fl = got["state"], got["ram"], got["flash"]
                row("%s, %s: core state writes" % (label, what), core[0], "B", None,
                    "%d writes, %d fsyncs, %d renames" % (core[1], core[2], core[3]))
                if "disabled" in label:
                    continue
                row("%s, %s: audit flash bytes" % (label, what), fl[0], "B", core[0] if fl[0] else None,
                    "%d writes, %d fsyncs, %d renames; ratio to the core's own bytes" % (fl[1], fl[2], fl[3]))
                if rm[0]:
                    row("%s, %s: audit RAM bytes (tmpfs, no flash)" % (label, what), rm[0], "B", None,
                        "%d write, %d fsync" % (rm[1], rm[2]))
        # ---- memory and time of a whole session, audit + policy vs none
        for label, extra, policy in (("no audit, no policy", "enable = false\n", False),
                                     ("audit + owner policy", "file = {d}/audit.log\n", True)):
            times, peaks = [], []
            for i in range(a.runs):
                d = os.path.join(tmp, "rss-%s-%d" % (re.sub(r"\W+", "-", label), i))
                conf = conf_for(d, acs.url, extra.format(d=d), policy=policy)
                t, rc, peak = corebench.launch(py, pyz, conf, 0, "--once", "--boot")
                if rc != 0:
                    sys.exit("bench: session failed")
                times.append(t)
                peaks.append(peak)
            row("--once session (%s): wall time" % label, statistics.median(times) * 1000, "ms", None)
            row("--once session (%s): peak RSS" % label, statistics.median(peaks) / 1024, "MiB", None)
        acs.every_session = ()

        # ---- the floor
        ft, frss = [], []
        for _ in range(a.runs):
            ft.append(corebench.run_timed([py, "-I", "-S", "-c", corebench.FLOOR])[0])
            p = subprocess.run([py, "-I", "-S", "-c", corebench.FLOOR_HWM], capture_output=True, text=True)
            frss.append(corebench.hwm_of(p.stderr))
        floor_t, floor_rss = statistics.median(ft), statistics.median(frss)
        row("floor: start time", floor_t * 1000, "ms")
        row("floor: peak RSS", floor_rss / 1024, "MiB")
        for i, r in enumerate(rows):
            if r[0].startswith("--once session"):
                rows[i] = (r[0], r[1], r[2], floor_t * 1000 if r[2] == "ms" else floor_rss / 1024, r[4])

        # ---- in-process costs
        plain, masked, n, hidden = mask_cost(10000, 5)
        row("GPV+GPN of %d parameters, no policy" % n, plain * 1000, "ms")
        row("GPV+GPN of %d parameters, policy masks and locks" % n, masked * 1000, "ms", plain * 1000,
            "%d values masked" % hidden)
        rec, flush, nbytes = record_cost(10000)
        row("Audit.record (one parameter change)", rec * 1e6, "us")
        row("flush of 10000 records (%d KiB)" % (nbytes // 1024), flush * 1000, "ms")
    finally:
        acs.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print("| measure | value | baseline | ratio | notes |")
    print("|---|---:|---:|---:|---|")
    for name, value, unit, floor, note in rows:
        if floor:
            print("| %s | %.1f %s | %.1f %s | %.2fx | %s |" % (name, value, unit, floor, unit,
                                                              value / floor, note))
        else:
            print("| %s | %.1f %s | | | %s |" % (name, value, unit, note))
    return 0


if __name__ == "__main__":
    sys.exit(main())
