"""The audit trail: what the ACS did to this device, kept for its owner.

Every ACS action becomes one line of JSON in an append-only file: sessions
(``session_start`` / ``session_end``: ACS URL without credentials, events,
TLS, how the CPE authenticated), every RPC (``rpc``: method, the names it
touched, the result or fault, ``policy`` when the owner policy refused it),
every change it made (``set`` path/old/new, ``add``, ``delete``,
``attributes``; a change made between sessions, through the control
socket, is recorded at once with ``"by":"local"``), and what other modules
report through ``record``:
``transfer``, ``reboot``, ``factory_reset``, ``connection_request``,
``denied``. A line looks like::

    {"time":"2026-11-23T13:28:02Z","kind":"set","path":"Device.WiFi.SSID.1.SSID","old":"home","new":"Home"}

Secrets never reach the file: values of hidden parameters, of parameters
whose name looks like a secret (``*Password*``, ``*Passphrase*``, ``*Key*``
except ``ParameterKey``, ``*Secret*``, ``PIN``...) and of parameters the
owner policy keeps from the ACS are written as ``***`` (an empty value stays
empty, so "the ACS cleared the password" remains visible); fields named like
a secret (``password``...) are masked whoever records them; URLs lose their
userinfo and the values of their query parameters.

Flash wear: records are buffered in RAM and appended in one write (and one
fsync) at the end of each session, on shutdown, and when the buffer passes
``buffer_bytes``. The file is bounded: when the next write would make it
larger than ``max_bytes`` it is renamed to ``FILE.1`` (replacing the older
one) and a new file is started, so at most ``2 * max_bytes`` are kept. The
default location is ``/var/run/rocket/audit.log`` (RAM; outside systemd's
PrivateTmp, so ``ctl audit`` in an admin shell reads the same file); ``persist``
names a copy on flash, refreshed at most every ``persist_interval`` seconds
and on shutdown, and restored into the RAM location after a reboot.

Other modules call ``agent.audit.record(kind, **fields)`` at the moment the
thing happens (the agent holds a do-nothing stand-in until this module is
installed, so the call is always safe). ``agent.audit.flush(persist=True)``
before a reboot or a factory reset makes sure nothing is lost.

``rocket.pyz ctl audit [--since TIME] [--path PREFIX] [--json]`` reads the
files directly (``ctl_main`` below); it needs no running agent.
"""

import json  # already loaded by rocket.base.statedir at start
import os
import re
import time

from rocket.base.log import clean_url, log

MAX_STR = 300  # characters of one string field
MAX_LIST = 16  # items of one list field
MAX_LINE = 4096  # bytes of one record; longer ones are cut further
MASK = "***"

# Last segment of a parameter path that names a secret. Case matters for
# the CamelCase words (``Key`` must not hit ``Rekeying``); X_ vendor names
# are matched without case for the obvious words.
_SECRET_SEG = re.compile(r"Pass(?:word|phrase)|Secret|Key|PIN|PSK|Credential|Token"
                         r"|(?i:password|passphrase|passwd|secret)")
_NOT_SECRET_SEG = ("ParameterKey",)
# Field names whose values are secrets, whoever records them.
_SECRET_FIELD = re.compile(r"(?i)pass(?:word|phrase|wd)?$|secret|token|credential|psk")


def secret_name(path):
    """True if the parameter ``path`` looks like it holds a secret."""
    seg = path.rstrip(".").rsplit(".", 1)[-1]
    if seg in _NOT_SECRET_SEG or seg.endswith("NumberOfEntries"):
        return False
    return _SECRET_SEG.search(seg) is not None


def utc(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _short(v, n=MAX_STR, items=MAX_LIST):
    if isinstance(v, str):
        return v if len(v) <= n else "%s...(%d chars)" % (v[:n], len(v))
    if isinstance(v, (list, tuple)):
        out = [_short(x, n, items) for x in v[:items]]
        if len(v) > items:
            out.append("...(%d more)" % (len(v) - items))
        return out
    if v is None or isinstance(v, (bool, int, float)):
        return v
    return _short(str(v), n, items)


class Audit:
    """The buffered, size-bounded audit file of one agent."""

    enabled = True

    def __init__(self, path, max_bytes=65536, buffer_bytes=8192, persist="", persist_interval=86400,
                 clock=time.time, monotonic=time.monotonic):
        self.path = path
        self.max_bytes = max(2 * MAX_LINE, int(max_bytes))
        self.buffer_bytes = max(1, min(int(buffer_bytes), self.max_bytes))
        self.persist = persist
        self.persist_interval = persist_interval
        self.clock = clock
        self.monotonic = monotonic
        self.model = None  # rocket.datamodel.model.DataModel: hidden flags and the policy's read masks
        self.acs_active = None  # callable: True while an ACS session runs (else a change is local)
        self._buf = []  # encoded lines not yet written
        self._buffered = 0
        self._pending = []  # change records of the RPC being handled
        self._notes = {}  # extra fields for the record of the RPC being handled
        self._last_persist = None
        self.closed = False  # after stop(): every record is written at once
        # counters, for tests and bench/audit.py
        self.records = 0
        self.bytes_written = 0
        self.writes = 0
        self.fsyncs = 0
        self.rotations = 0
        self.persist_writes = 0
        self.persist_bytes = 0
        self.lost = 0

    # --------------------------------------------------------- recording
    def secret(self, path):
        """True if the value of ``path`` must not appear in the audit."""
        if secret_name(path):
            return True
        m = self.model
        if m is None:
            return False
        p = m.store.get(path)
        if p is not None and getattr(p, "flags", 0) & 2:  # store.HIDDEN
            return True
        return any(mask(path) for mask in m.masks)

    def record(self, kind, **fields):
        """Append one record (buffered). Never raises."""
        try:
            self._buffer(self._line(kind, fields))
        except Exception:  # the audit must never break what it watches
            log.exception("audit: cannot record %s", kind)

    def _line(self, kind, fields):
        rec = {"time": utc(self.clock()), "kind": kind}
        path = fields.get("path")
        hide = isinstance(path, str) and self.secret(path)
        for k, v in fields.items():
            if k in ("time", "kind"):
                k = "_" + k
            if _SECRET_FIELD.search(k) or (hide and k in ("old", "new", "value")):
                v = MASK if v else v
            elif (k == "url" or k.endswith("url")) and isinstance(v, str):
                v = clean_url(v)
            rec[k] = _short(v)
        line = json.dumps(rec, separators=(",", ":"))
        if len(line) >= MAX_LINE:
            for k, v in rec.items():
                if k not in ("time", "kind"):
                    rec[k] = _short(v, 64, 4)
            rec["truncated"] = True
            line = json.dumps(rec, separators=(",", ":"))[:MAX_LINE - 2]
            if not line.endswith("}"):
                line = json.dumps({"time": rec["time"], "kind": kind, "truncated": True})
        return (line + "\n").encode("ascii")

    def _buffer(self, line):
        self.records += 1
        self._buf.append(line)
        self._buffered += len(line)
        if self.closed or self._buffered >= self.buffer_bytes:
            self.flush()

    # ------------------------------------------- hooks into the core
    def on_change(self, change):
        """DataModel.on_change: one record per change, after its RPC line."""
        kind, path, old, new = change
        if kind == "attributes":
            rec = (kind, {"path": path, "notification": new[0], "access": list(new[1])})
        elif kind in ("add", "delete"):
            rec = (kind, {"path": path})
        else:
            rec = ("set", {"path": path, "old": old, "new": new})
        if self.acs_active is not None and not self.acs_active():
            # the owner's own write (control socket), not the ACS's: say so
            rec[1]["by"] = "local"
            self.record(*rec[:1], **rec[1])
            return
        self._pending.append(rec)

    def note(self, **fields):
        """Extra fields for the ``rpc`` record of the request being handled
        (e.g. the policy's count of masked values)."""
        self._notes.update(fields)

    def after_rpc(self, msg, fault):
        """Dispatcher.after: the RPC line, then the changes it made."""
        fields = {"rpc": msg.name}
        try:
            fields.update(rpc_summary(msg))
        except Exception:
            log.exception("audit: cannot summarise %s", msg.name)
        fields.update(self._notes)
        self._notes = {}
        if fault is None:
            fields["result"] = "ok"
        else:
            fields["result"] = "fault"
            fields["fault"] = fault.code
            fields["reason"] = fault.string
            if fault.param_faults:
                fields["faults"] = ["%s %d" % (n, c) for n, c, _ in fault.param_faults]
            policy = getattr(fault, "policy", None)
            if policy:
                fields["policy"] = policy
        self.record("rpc", **fields)
        self._drain_pending()

    def _drain_pending(self):
        pending, self._pending = self._pending, []
        attrs = [f for k, f in pending if k == "attributes"]
        if len(attrs) > MAX_LIST:  # an SPA on a whole subtree: one line, not thousands
            first = attrs[0]
            pending = [(k, f) for k, f in pending if k != "attributes"]
            pending.append(("attributes", {"paths": [f["path"] for f in attrs], "count": len(attrs),
                                           "notification": first["notification"],
                                           "access": first["access"]}))
        for kind, f in pending:
            self.record(kind, **f)

    # ------------------------------------------------------------- files
    def flush(self, persist=False):
        """Write the buffer out (one append, one fsync). Returns bytes written."""
        if self._pending:
            self._drain_pending()
        n = 0
        if self._buf:
            lines, self._buf, self._buffered = self._buf, [], 0
            try:
                n = self._append(lines)
            except OSError as e:
                log.error("audit: cannot write %s: %s", self.path, e.strerror or e)
                kept = sum(len(x) for x in lines)
                if kept <= self.max_bytes:  # try again next time
                    self._buf, self._buffered = lines + self._buf, kept + self._buffered
                else:
                    self.lost += len(lines)
        if self.persist:
            now = self.monotonic()
            due = self._last_persist is None or now - self._last_persist >= self.persist_interval
            if persist or (due and n):
                self._last_persist = now
                self.persist_now()
        return n

    def _append(self, lines):
        """Append ``lines`` to the file, rotating so it never passes max_bytes."""
        d = os.path.dirname(self.path)
        if d:
            os.makedirs(d, mode=0o700, exist_ok=True)
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            size = 0
        total = 0
        i = 0
        while i < len(lines):
            chunk = []
            room = self.max_bytes - size
            while i < len(lines) and len(lines[i]) <= room:
                chunk.append(lines[i])
                room -= len(lines[i])
                i += 1
            if not chunk:
                os.replace(self.path, self.path + ".1")
                self.rotations += 1
                size = 0
                continue
            data = b"".join(chunk)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                    self.writes += 1
                os.fsync(fd)
                self.fsyncs += 1
            finally:
                os.close(fd)
            size += len(data)
            total += len(data)
        self.bytes_written += total
        return total

    def persist_now(self):
        """Copy the audit files to ``persist`` where their content changed."""
        from rocket.base.statedir import atomic_write
        for suffix in ("", ".1"):
            try:
                with open(self.path + suffix, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                continue
            except OSError as e:
                log.error("audit: cannot read %s: %s", self.path + suffix, e.strerror)
                continue
            dst = self.persist + suffix
            try:
                with open(dst, "rb") as f:
                    if f.read() == data:
                        continue
            except OSError:
                pass
            try:
                d = os.path.dirname(dst)
                if d:
                    os.makedirs(d, mode=0o700, exist_ok=True)
                atomic_write(dst, data)
            except OSError as e:
                log.error("audit: cannot copy to %s: %s", dst, e.strerror or e)
                continue
            self.persist_writes += 1
            self.persist_bytes += len(data)
            self.fsyncs += 2  # the file and its directory

    def restore(self):
        """After a reboot the RAM copy is gone: start again from the persisted one."""
        if not self.persist or os.path.exists(self.path):
            return
        for suffix in (".1", ""):
            try:
                with open(self.persist + suffix, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            d = os.path.dirname(self.path)
            if d:
                os.makedirs(d, mode=0o700, exist_ok=True)
            fd = os.open(self.path + suffix, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            log.info("audit: restored %s from %s", self.path + suffix, self.persist + suffix)

    # ------------------------------------------------ agent service
    def start(self, agent):
        self.closed = False

    def stop(self):
        self.flush(persist=True)
        self.closed = True


# ------------------------------------------------------- RPC summaries
def _texts(elem, name):
    from rocket.cwmp.soap import child
    c = child(elem, name)
    return [] if c is None else [(m.text or "").strip() for m in c]


def rpc_summary(msg):
    """The fields of an ``rpc`` record for ACS request ``msg``: names and
    arguments worth keeping, never the Username/Password of a transfer."""
    from rocket.cwmp.soap import child, text
    b = msg.body
    name = msg.name

    def t(n):
        return (text(b, n) or "").strip()

    if name in ("GetParameterValues", "GetParameterAttributes"):
        return {"paths": _texts(b, "ParameterNames")}
    if name == "GetParameterNames":
        return {"path": t("ParameterPath"), "next_level": t("NextLevel")}
    if name == "SetParameterValues":
        c = child(b, "ParameterList")
        paths = [] if c is None else [(text(s, "Name") or "").strip() for s in c]
        return {"paths": paths, "parameter_key": t("ParameterKey")}
    if name == "SetParameterAttributes":
        c = child(b, "ParameterList")
        return {"paths": [] if c is None else [(text(s, "Name") or "").strip() for s in c]}
    if name in ("AddObject", "DeleteObject"):
        return {"path": t("ObjectName"), "parameter_key": t("ParameterKey")}
    if name in ("Download", "ScheduleDownload"):
        return {"command_key": t("CommandKey"), "file_type": t("FileType"), "url": t("URL"),
                "file_size": t("FileSize"), "target": t("TargetFileName")}
    if name == "Upload":
        return {"command_key": t("CommandKey"), "file_type": t("FileType"), "url": t("URL")}
    if name in ("Reboot", "CancelTransfer"):
        return {"command_key": t("CommandKey")}
    if name == "ScheduleInform":
        return {"delay": t("DelaySeconds"), "command_key": t("CommandKey")}
    if name == "ChangeDUState":
        from rocket.cwmp.soap import operations
        urls = [(text(op, "URL") or "").strip() for op in operations(b)]
        return {"command_key": t("CommandKey"), "urls": [u for u in urls if u]}
    return {}


# -------------------------------------------------------------- wiring
def from_config(cfg):
    """An ``Audit`` as ``[audit]`` describes it, or None if disabled."""
    if not cfg.bool("audit", "enable"):
        return None
    return Audit(cfg.get("audit", "file"), cfg.int("audit", "max_bytes", 2 * MAX_LINE),
                 cfg.int("audit", "buffer_bytes", 1), cfg.get("audit", "persist"),
                 cfg.int("audit", "persist_interval", 0))


def install(agent):
    """Give ``agent`` its audit trail (``agent.audit``) and the hooks that
    feed it (rocket.plugins installs it when ``[audit] enable`` is set)."""
    audit = from_config(agent.cfg)
    audit.model = agent.model
    audit.acs_active = lambda: agent.in_session
    audit.restore()
    agent.audit = audit
    agent.model.on_change.append(audit.on_change)
    agent.rpc.after.append(audit.after_rpc)
    agent.after_session.append(lambda ok: audit.flush())
    agent.services.append(audit)

    def reload():
        audit.flush()
        new = from_config(agent.cfg)
        if new is None:
            log.warning("audit: [audit] enable cannot be turned off by a reload; restart to do so")
            return
        audit.path, audit.max_bytes, audit.buffer_bytes = new.path, new.max_bytes, new.buffer_bytes
        audit.persist, audit.persist_interval = new.persist, new.persist_interval

    agent.on_reload.append(reload)
    return audit


# ---------------------------------------------------------- ctl audit
def parse_since(s, now=None):
    """``--since``: 30m / 2h / 7d / 1w ago, an ISO date or date and time
    (local time unless it ends in Z or an offset). Epoch seconds."""
    import calendar
    now = time.time() if now is None else now
    s = s.strip()
    m = re.match(r"^(\d+)\s*([smhdw])$", s)
    if m:
        return now - int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d))?)?\s*(Z|[+-]\d\d:?\d\d)?$", s)
    if not m:
        raise ValueError("--since: %r is not 30m/2h/7d or YYYY-MM-DD[THH:MM[:SS]][Z]" % s)
    parts = [int(x or 0) for x in m.groups()[:6]]
    tz = m.group(7)
    tm = (parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], 0, 0, -1)
    if tz is None:
        return time.mktime(tm)
    t = calendar.timegm(tm)
    if tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        t -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return t


def read_records(path, persist=""):
    """Every record of ``path.1`` then ``path`` (or of the persisted copy
    when the RAM files are gone), oldest first; (records, bad lines)."""
    files = [path + ".1", path]
    if persist and not any(os.path.exists(f) for f in files):
        files = [persist + ".1", persist]
    out, bad = [], 0
    for f in files:
        try:
            with open(f, "rb") as fh:
                for raw in fh:
                    try:
                        rec = json.loads(raw.decode("utf-8"))
                    except ValueError:
                        bad += 1  # a torn last line after a power cut
                        continue
                    if isinstance(rec, dict):
                        out.append(rec)
        except FileNotFoundError:
            continue
    return out, bad


def _epoch(rec):
    import calendar
    try:
        return calendar.timegm(time.strptime(rec.get("time", ""), "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return 0


def _paths(rec):
    out = []
    for k in ("path", "paths"):
        v = rec.get(k)
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, list):
            out.extend(x for x in v if isinstance(x, str))
    return out


def matches(rec, since=None, prefix=None):
    if since is not None and _epoch(rec) < since:
        return False
    if prefix:
        # a record about the prefix, something below it, or a whole subtree holding it
        return any(p.startswith(prefix) or (p.endswith(".") and prefix.startswith(p))
                   for p in _paths(rec) if p)
    return True


def _fmt(v):
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return ",".join(_fmt(x) for x in v) if v else "-"
    if v is None:
        return "-"
    return str(v)


def describe(rec):
    """One readable line for the table."""
    k = rec.get("kind", "?")
    g = rec.get
    extra = [(x, y) for x, y in rec.items() if x not in ("time", "kind")]

    def rest(*skip):
        return " ".join("%s=%s" % (x, _fmt(y)) for x, y in extra if x not in skip)

    if k == "set":
        return "%s: %s -> %s" % (g("path"), _fmt(g("old")), _fmt(g("new")))
    if k in ("add", "delete"):
        return str(g("path"))
    if k == "attributes":
        what = g("path") or "%d parameters (%s...)" % (g("count", 0), _fmt((g("paths") or [])[:3]))
        return "%s: notification=%s access=%s" % (what, _fmt(g("notification")), _fmt(g("access")))
    if k == "rpc":
        res = "ok" if g("result") == "ok" else "FAULT %s %s" % (g("fault"), g("reason", ""))
        if g("policy"):
            res += " [owner policy: %s]" % g("policy")
        args = rest("rpc", "result", "fault", "reason", "policy")
        return "%s %s-> %s" % (g("rpc"), args + " " if args else "", res)
    if k == "session_start":
        return "start %s events=[%s] %s" % (g("url"), _fmt(g("events")), rest("url", "events"))
    if k == "session_end":
        return ("end ok " if g("ok") else "end FAILED ") + rest("ok")
    if k == "policy":
        if g("error"):
            return "%s NOT loaded: %s (%s)" % (g("file"), g("error"), _fmt(g("kept")))
        return "%s: %s" % (g("file") or "(no policy file)", g("summary"))
    if k == "denied":
        return "%s refused [owner policy: %s] %s" % (g("action"), g("rule"), rest("action", "rule"))
    return rest()


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(s):
    """Control characters (terminal escapes an ACS could hide in a value or
    a name) shown as \\xNN, never sent to the owner's terminal."""
    return _CONTROL.sub(lambda m: "\\x%02x" % ord(m.group()), s)


def print_table(recs, out):
    out.write("%-19s  %-14s  %s\n" % ("TIME (local)", "WHAT", "DETAILS"))
    for r in recs:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(_epoch(r)))
        out.write("%-19s  %-14s  %s\n" % (when, printable(str(r.get("kind", "?"))), printable(describe(r))))


def ctl_main(argv, out=None, err=None):
    """``rocket.pyz ctl audit [-c CONF] [--file PATH] [--since TIME] [--path PREFIX] [--json]``."""
    import argparse
    import sys
    out = out or sys.stdout
    err = err or sys.stderr
    ap = argparse.ArgumentParser(prog="rocket ctl audit",
                                 description="Show what the ACS did to this device.")
    ap.add_argument("-c", "--config", help="configuration file (default /etc/rocket/rocket.conf)")
    ap.add_argument("--file", help="audit file (default: [audit] file of the configuration)")
    ap.add_argument("--since", help="only records from then on: 30m, 2h, 7d, 2026-11-23, 2026-11-23T13:00")
    ap.add_argument("--path", help="only records about parameters under this path prefix")
    ap.add_argument("--json", action="store_true", help="one JSON object per line, for tools")
    a = ap.parse_args(argv)
    persist = ""
    path = a.file
    if path is None:
        from rocket.base.config import Config, ConfigError
        try:
            cfg = Config.load(a.config)
        except ConfigError as e:
            err.write("rocket ctl audit: %s\n" % e)
            return 2
        path, persist = cfg.get("audit", "file"), cfg.get("audit", "persist")
    try:
        since = parse_since(a.since) if a.since else None
    except ValueError as e:
        err.write("rocket ctl audit: %s\n" % e)
        return 2
    recs, bad = read_records(path, persist)
    recs = [r for r in recs if matches(r, since, a.path)]
    if a.json:
        for r in recs:
            out.write(json.dumps(r, separators=(",", ":")) + "\n")
    else:
        print_table(recs, out)
    if bad:
        err.write("rocket ctl audit: %d unreadable line%s skipped\n" % (bad, "" if bad == 1 else "s"))
    return 0
