"""Autonomous transfers: files the device fetched or sent on its own, to be
reported with AutonomousTransferComplete.

How they arrive: ``rocket.pyz ctl autonomous file_type=... [fault_code=...]``
on the control socket, or a JSON file dropped in the spool directory
(default ``STATE_DIR/spool``), written to a temporary name first and
renamed to ``*.json`` (``write_autonomous`` does it; this works while the
agent is down too). The agent picks spool files up at start, after each
session and every ``spool_interval`` seconds.

Rules: a spool file becomes a DONE Transfer in the journal (then the file
is removed) only if ``ManagementServer.AutonomousTransferCompletePolicy``
lets it through (Enable, transfer, result and file type filters, applied
when the file is picked up; one left out is logged and dropped); an
unreadable one is moved aside as ``*.bad``. Each reported one adds
"10 AUTONOMOUS TRANSFER COMPLETE" (CWMP 1.1 and later).

Not here: sending and acknowledging the reports (rocket.ops.transfer_rpcs).
"""

import os

from rocket.base.log import log
from rocket.cwmp import events as ev
from rocket.cwmp.transfer import DONE, UNKNOWN, Transfer

ATC = "AutonomousTransferCompletePolicy."
_STD_TYPES = ("1 Firmware Upgrade Image", "2 Web Content", "3 Vendor Configuration File", "4 Vendor Log File")


def write_autonomous(spool_dir, is_download, file_type, transfer_url="", file_size=0, target="",
                     fault_code=0, fault_string="", start="", complete="", announce_url=""):
    """Record a transfer the device did on its own, for the agent to report.

    Safe to call from another process: the file appears atomically.
    """
    import json
    import time

    from rocket.base.statedir import atomic_write
    os.makedirs(spool_dir, mode=0o700, exist_ok=True)
    rec = {"is_download": bool(is_download), "file_type": file_type, "transfer_url": transfer_url,
           "announce_url": announce_url, "file_size": int(file_size), "target": target,
           "fault_code": int(fault_code), "fault_string": fault_string,
           "start": start or UNKNOWN, "complete": complete or UNKNOWN}
    # the agent reports spool files in name order: nanoseconds keep two records
    # written in the same millisecond in the order they were written
    name = "%019d-%d-%s.json" % (time.time_ns(), os.getpid(), os.urandom(3).hex())
    atomic_write(os.path.join(spool_dir, name), json.dumps(rec).encode("utf-8"))
    return name


def csv(v):
    return [x.strip() for x in v.split(",") if x.strip()]


def check_file_types(path, value):
    """FileTypeFilter: a list of the standard types and "X <OUI> <name>" (9007)."""
    if path.endswith(ATC + "FileTypeFilter"):
        import re
        for x in csv(value):
            if x not in _STD_TYPES and not re.match(r"X [0-9A-F]{6} .", x):
                from rocket.cwmp.values import BadValue
                raise BadValue("unknown file type %r" % x)


def unlink(path):
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass


class Spool:
    def __init__(self, agent, journal):
        self.agent = agent
        self.journal = journal
        self._timer = None

    @property
    def dir(self):
        return self.agent.cfg.get("transfer", "spool_dir") or os.path.join(self.agent.state.path, "spool")

    def start(self):
        self.scan()
        interval = self.agent.cfg.int("transfer", "spool_interval")
        if interval > 0:
            self._timer = self.agent.loop.call_later(interval, self._tick, "spool")

    def stop(self):
        if self._timer is not None:
            self._timer.cancel()

    def _tick(self):
        self.scan()
        self._timer = self.agent.loop.call_later(self.agent.cfg.int("transfer", "spool_interval"),
                                                 self._tick, "spool")

    def scan(self):
        d = self.dir
        try:
            names = sorted(n for n in os.listdir(d) if n.endswith(".json"))
        except OSError:
            return
        j = self.journal
        added = 0
        for name in names:
            path = os.path.join(d, name)
            if not any(t.spool == name for t in j.transfers):
                t = self._read(path, name)
                if t is None:
                    continue
                why = self._refused(t)
                if why:
                    log.info("transfer: autonomous %s not reported (AutonomousTransferCompletePolicy: %s)",
                             t.file_type, why)
                    unlink(path)
                    continue
                j.add(t)
                added += 1
                log.info("transfer %d: autonomous %s reported (%s)", t.id, t.file_type,
                         "fault %d" % t.fault_code if t.fault_code else "ok")
            unlink(path)
        if added:
            self.agent.add_event(ev.AUTONOMOUS_TRANSFER_COMPLETE)

    def _read(self, path, name):
        import json
        try:
            with open(path, "rb") as f:
                rec = json.loads(f.read(65536).decode("utf-8"))
            return Transfer(id=self.journal.next_id(), kind="autonomous", spool=name, state=DONE,
                            is_download=bool(rec.get("is_download", True)),
                            file_type=str(rec["file_type"])[:64],
                            url=str(rec.get("transfer_url", ""))[:1024],
                            announce_url=str(rec.get("announce_url", ""))[:1024],
                            size=max(0, int(rec.get("file_size", 0))),
                            target=str(rec.get("target", ""))[:256],
                            fault=[int(rec.get("fault_code", 0)), str(rec.get("fault_string", ""))[:256]],
                            start=str(rec.get("start") or UNKNOWN),
                            complete=str(rec.get("complete") or UNKNOWN))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            log.error("transfer: spool file %s unreadable (%s); moved aside", name, e)
            try:
                os.replace(path, path + ".bad")
            except OSError:
                pass
            return None

    def _refused(self, t):
        """Why AutonomousTransferCompletePolicy leaves ``t`` out, or None."""
        m = self.agent.model

        def v(n):
            return m.value(m.ms(ATC + n)) or ""
        if v("Enable") != "true":
            return "disabled"
        if v("TransferTypeFilter") not in ("Both", "Download" if t.is_download else "Upload"):
            return "transfer type"
        if v("ResultTypeFilter") not in ("Both", "Failure" if t.fault_code else "Success"):
            return "result"
        if t.file_type not in csv(v("FileTypeFilter")):
            return "file type"
        return None

    def ctl_autonomous(self, rest):
        """``ctl autonomous NAME=VALUE...``: write a spool file and pick it up."""
        from rocket.base.booleans import CONFIG_TRUE
        from rocket.owner.ctl import RequestError, unescape
        fields = {}
        for item in rest.split("\t") if rest else []:
            k, sep, v = item.partition("=")
            try:
                fields[k.strip()] = unescape(v)
            except ValueError as e:
                raise RequestError(str(e)) from None
        allowed = {"file_type", "is_download", "transfer_url", "announce_url", "file_size", "target",
                   "fault_code", "fault_string", "start", "complete"}
        unknown = set(fields) - allowed
        if unknown:
            raise RequestError("unknown field(s): %s" % ", ".join(sorted(unknown)))
        ft = fields.get("file_type", "")
        if not ft or len(ft) > 64:
            raise RequestError("file_type is required (at most 64 characters)")
        try:
            size = int(fields.get("file_size", "0"))
            code = int(fields.get("fault_code", "0"))
        except ValueError:
            raise RequestError("file_size and fault_code are integers") from None
        if size < 0 or not (code == 0 or 9000 <= code <= 9899):
            raise RequestError("file_size >= 0; fault_code 0 or 9000-9899")
        down = fields.get("is_download", "true").lower() in CONFIG_TRUE
        name = write_autonomous(self.dir, down, ft, fields.get("transfer_url", ""), size,
                                fields.get("target", ""), code, fields.get("fault_string", ""),
                                fields.get("start", ""), fields.get("complete", ""),
                                fields.get("announce_url", ""))
        self.scan()
        return ["queued %s" % name]
