"""Transfers and device operations: Download, Upload, ScheduleDownload,
GetQueuedTransfers, GetAllQueuedTransfers, CancelTransfer,
AutonomousTransferComplete, Reboot, FactoryReset and ScheduleInform.

Life of a transfer (each step is written to the journal, rocket.journal,
before anything depends on it):

1. The RPC is checked (file type, URL scheme, sizes, queue room), recorded
   as ``queued`` and ``staged``, and only then answered (Status 1, Unknown
   Times). Synchronous refusals are faults: 9003 bad arguments or an
   unsupported file type, 9013 a URL scheme other than http/https, 9004 no
   room (FileSize above the free space or ``max_size``, queue full).
2. Staged work starts only after a session has ended cleanly. Transfers
   then run one at a time, started from the loop's top level, never from
   inside a session; rocket.net.fileclient streams the body to ``download_dir`` from
   a loop reader, so it keeps arriving while a later session runs, and the
   install step waits for that session to end.
3. The outcome is recorded (``done`` with its FaultStruct and times), then
   "7 TRANSFER COMPLETE" + "M Download"/"M Upload"/"M ScheduleDownload"
   are added and a session is requested. Every session carries a
   TransferComplete for every ``done`` transfer; one is removed from the
   journal when the ACS acknowledges it, and the events go when none is
   left (``EventQueue.deliver``).

Installing a downloaded file: the record is switched to ``installing``
(with the complete time, a provisional FaultCode 0 and the running
SoftwareVersion) and written with fsync BEFORE the install hook runs, so a
hook that reboots the device (sysupgrade) or a power cut never loses the
result. A firmware hook that returns 0 moves the record to ``installed``
and the reboot hook runs. After the reboot (agent started with --boot) the
SoftwareVersion is compared with the recorded one: changed means FaultCode
0; unchanged means 9018 "file corrupted" (the device refused or rolled back
the image: we report it as a bad image, not as a generic failure). An
agent restarted without --boot while a firmware hook was running reports
9010 (install interrupted). Other file types keep their provisional result.

A transfer that was ``running`` when the agent died starts again from
scratch (up to three times, then 9017).

Hook exit codes: 0 success, 18 file corrupted (9018), 19 file
authentication/signature failure (9019), anything else 9010. Hooks get
their data in the environment (ROCKET_FILE, ROCKET_FILE_TYPE,
ROCKET_FILE_SIZE, ROCKET_TARGET_NAME, ROCKET_COMMAND_KEY, ROCKET_OUTPUT,
ROCKET_REASON), never on the command line.

Autonomous transfers (done by the device on its own): ``rocket.pyz ctl
autonomous file_type=... [fault_code=...]`` on the control socket, or a
JSON file dropped in the spool directory (default ``STATE_DIR/spool``),
written to a temporary name first and renamed to ``*.json`` (see
``write_autonomous``; this works while the agent is down too). The agent
picks spool files up at start, after each session and every
``spool_interval`` seconds, and reports each with AutonomousTransferComplete
and "10 AUTONOMOUS TRANSFER COMPLETE" (CWMP 1.1 and later), if
``ManagementServer.AutonomousTransferCompletePolicy`` lets it through (Enable,
transfer, result and file type filters, applied when the file is picked up;
one left out is logged and dropped). ``rocket.pyz ctl transfers`` lists the
journal.

Reboot, FactoryReset and ScheduleInform are applied after the session has
ended cleanly too. Reboot: the CommandKey is journalled, the reboot hook
runs, and the next start with --boot reports "1 BOOT" + "M Reboot".
FactoryReset: ParameterKey, attributes, ACS overrides, pending events and
transfers and the bootstrap record are cleared, then the factory reset hook
runs; the next session carries "0 BOOTSTRAP". ScheduleInform keeps an
absolute deadline across restarts; pending ones are dropped when a
"0 BOOTSTRAP" goes out.
"""

import os

from rocket.cwmp import events as ev
from rocket.cwmp import soap
from rocket.ops.journal import Journal
from rocket.base.log import log
from rocket.cwmp.rpc import arg, uint
from rocket.cwmp.session import CpeRequest
from rocket.cwmp.soap import CwmpFault
from rocket.base.booleans import CONFIG_TRUE

UNKNOWN = "0001-01-01T00:00:00Z"
MAX_QUEUE = 16
MAX_RESTARTS = 3

DOWNLOAD_TYPES = {"1": "1 Firmware Upgrade Image", "2": "2 Web Content",
                  "3": "3 Vendor Configuration File", "4": "4 Tone File", "5": "5 Ringer File"}
UPLOAD_TYPES = {"1": "1 Vendor Configuration File", "2": "2 Vendor Log File",
                "3": "3 Vendor Configuration File", "4": "4 Vendor Log File"}
_HOOK_FAULTS = {17: 9017, 18: 9018, 19: 9019}
_STATE_NUM = {"queued": 1, "running": 2, "installing": 2, "installed": 2, "done": 3}
_M_EVENT = {"download": ev.M_DOWNLOAD, "upload": ev.M_UPLOAD, "schedule": ev.M_SCHEDULE_DOWNLOAD}
_TC_EVENTS = (ev.TRANSFER_COMPLETE, ev.M_DOWNLOAD, ev.M_UPLOAD, ev.M_SCHEDULE_DOWNLOAD)
_ATC = "AutonomousTransferCompletePolicy."
_STD_TYPES = ("1 Firmware Upgrade Image", "2 Web Content", "3 Vendor Configuration File", "4 Vendor Log File")


def _type_number(file_type, table):
    """'3 Vendor Configuration File 2' -> ('3', '2'); None if not standard."""
    ft = file_type.strip()
    num = ft.split(" ", 1)[0]
    name = table.get(num)
    if name is None or not ft.startswith(name):
        return None
    rest = ft[len(name):].strip()
    if rest and not (num in ("3", "4") and table is UPLOAD_TYPES and rest.isdigit()):
        return None
    return num, rest


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
    name = "%d-%d-%s.json" % (time.time() * 1000, os.getpid(), os.urandom(3).hex())
    atomic_write(os.path.join(spool_dir, name), json.dumps(rec).encode("utf-8"))
    return name


class Transfers:
    """The service: RPC handlers, the journal, the transfer runner."""

    def __init__(self, agent):
        self.agent = agent
        self.loop = agent.loop
        self.journal = Journal(agent.state)
        self.active = None  # FileGet in progress
        self._kick_timer = None
        self._inform_timer = None
        self._spool_timer = None
        self._tls = None

    # ------------------------------------------------------------ config
    @property
    def cfg(self):
        return self.agent.cfg  # replaced on SIGHUP: always read the current one

    def _c(self, key):
        return self.cfg.get("transfer", key)

    @property
    def download_dir(self):
        return self._c("download_dir") or os.path.join(self.agent.state.path, "downloads")

    @property
    def spool_dir(self):
        return self._c("spool_dir") or os.path.join(self.agent.state.path, "spool")

    def _types(self, key):
        return set(self._c(key).replace(",", " ").split())

    def _policy(self, name):
        """The owner policy's URL check (rocket.owner.policy), or None without one."""
        return getattr(self.agent.policy, name, None)

    def _hook(self, name):
        cmd = self._c(name)
        if not cmd:
            return None
        import shlex
        return shlex.split(cmd)

    def _ready_hook(self, name, code=9001):
        """The argv of hook ``name``, checked now, when the RPC arrives: a
        device operation is never acknowledged and then not done. Not
        configured: ``code`` (9001 for Reboot and FactoryReset); configured
        but missing or not executable: 9002, with the reason."""
        argv = self._hook(name)
        if argv is None:
            raise CwmpFault(code, "no %s configured" % name)
        from rocket.datamodel.backend import missing_tools
        if missing_tools(argv[:1]):
            why = "does not exist or is not executable" if "/" in argv[0] else "is not found on PATH"
            log.error("transfer: [transfer] %s %s %s", name, argv[0], why)
            raise CwmpFault(9002, "%s %s %s" % (name, argv[0][:200], why))
        return argv

    def _download_hook(self, num):
        if num == "1":
            return "firmware_hook"
        if num == "3":
            return "config_hook"
        return "file_hook"

    def _tls_context(self):
        """The ACS's trust settings ([acs] ca_file, client_cert, client_key, insecure)."""
        c = self.cfg
        if self._tls is None or self._tls[0] is not c:
            from rocket.net.acsclient import tls_context
            self._tls = (c, tls_context(c.get("acs", "ca_file"), c.get("acs", "client_cert"),
                                        c.get("acs", "client_key"), c.bool("acs", "insecure")))
        return self._tls[1]

    def _now(self):
        return self.agent.wallclock()

    def _iso(self):
        from rocket.base.timefmt import iso_now
        return iso_now(self._now())

    def _sw_version(self):
        return self.agent.model.value(self.agent.root + "DeviceInfo.SoftwareVersion") or ""

    # ------------------------------------------------------------- start
    def start(self, agent):
        """Recover from the journal (restart, reboot, power cut)."""
        j = self.journal
        boot = agent.boot
        r = j.doc.get("reboot")
        if r is not None and (boot or r.get("state") == "rebooting"):
            agent.events.add(ev.M_REBOOT, r.get("key", ""))
            j.doc["reboot"] = None
            j.save()
        if j.doc.get("reset") == "resetting":
            log.info("factory reset: finishing after restart")
            self._wipe()
            j.doc["reset"] = None
            j.save()
        for t in list(j.transfers):
            st = t["state"]
            if st == "running":
                t["restarts"] = t.get("restarts", 0) + 1
                self._unlink(t.get("file"))
                if t["restarts"] > MAX_RESTARTS:
                    self._finish(t, 9017, "interrupted %d times" % MAX_RESTARTS, events=False)
                else:
                    log.info("transfer %d: interrupted, will start again", t["id"])
                    t["state"] = "queued"
            elif st in ("installing", "installed"):
                self._resolve_install(t, boot)
        j.save()
        self._reconcile_events()
        self.scan_spool()
        self._arm_informs()
        interval = self.cfg.int("transfer", "spool_interval")
        if interval > 0:
            self._spool_timer = self.loop.call_later(interval, self._spool_tick, "spool")
        self._kick()

    def stop(self):
        if self.active is not None:
            self.active.cancel(9017, "agent stopping")
        for t in (self._kick_timer, self._inform_timer, self._spool_timer):
            if t is not None:
                t.cancel()

    def _resolve_install(self, t, boot):
        if t["file_type"].startswith("1"):
            now = self._sw_version()
            before = t.get("sw_before", "")
            if now and now != before:
                log.info("transfer %d: firmware now %s (was %s)", t["id"], now, before)
                self._finish(t, 0, "", events=False)
            elif boot or t["state"] == "installed":
                self._finish(t, 9018, "software version still %s after the upgrade" % before[:64],
                             events=False)
            else:
                self._finish(t, 9010, "install interrupted (agent restarted during the firmware hook)",
                             events=False)
        else:
            code, reason = t.get("fault") or (0, "")
            self._finish(t, code, reason, events=False)

    def _reconcile_events(self):
        """Make the transfer events match the journal exactly."""
        want = []
        for t in self.journal.transfers:
            if t["state"] != "done":
                continue
            if t["kind"] == "autonomous":
                want.append((ev.AUTONOMOUS_TRANSFER_COMPLETE, ""))
            else:
                want.append((ev.TRANSFER_COMPLETE, ""))
                want.append((_M_EVENT[t["kind"]], t["key"]))
        self.agent.events.sync(_TC_EVENTS + (ev.AUTONOMOUS_TRANSFER_COMPLETE,), want)

    # ------------------------------------------------------------ wiring
    def install(self):
        a = self.agent
        for name in ("Download", "Upload", "ScheduleDownload", "GetQueuedTransfers",
                     "GetAllQueuedTransfers", "CancelTransfer", "Reboot", "FactoryReset",
                     "ScheduleInform"):
            a.rpc.register(name, getattr(self, "do_" + name))
        a.cpe_requests.append(self._requests)
        a.model.value_checks.append(_check_file_types)
        a.acked["TransferComplete"] = self._tc_acked
        a.acked["AutonomousTransferComplete"] = self._atc_acked
        a.after_session.append(self._after_session)
        a.services.append(self)
        from rocket.ops import reboots, reqdl
        reboots.install(a, self._reboot)
        reqdl.install(a)  # RequestDownload, asked for on the control socket
        ctl = a.ctl  # the control socket, when there is one
        if ctl is not None:
            ctl.handlers["transfers"] = self._ctl_transfers
            ctl.handlers["autonomous"] = self._ctl_autonomous

    # ------------------------------------------------------ control socket
    def _ctl_transfers(self, rest):
        j = self.journal
        lines = []
        for t in j.transfers:
            code = (t.get("fault") or [0])[0]
            lines.append("%d %s %s key=%s type=%s%s" % (
                t["id"], t["kind"], t["state"] + (" (staged)" if t.get("staged") else ""),
                _ctl_escape(t["key"]), _ctl_escape(t["file_type"]),
                " fault=%d" % code if t["state"] == "done" else ""))
        for i in j.informs:
            lines.append("inform key=%s in %.0f s%s" % (_ctl_escape(i["key"]), i["at"] - self._now(),
                                                       " (staged)" if i.get("staged") else ""))
        if j.doc.get("reboot"):
            lines.append("reboot key=%s %s" % (_ctl_escape(j.doc["reboot"]["key"]), j.doc["reboot"]["state"]))
        if j.doc.get("reset"):
            lines.append("factory-reset %s" % j.doc["reset"])
        return lines

    def _ctl_autonomous(self, rest):
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
        name = write_autonomous(self.spool_dir, down, ft, fields.get("transfer_url", ""), size,
                                fields.get("target", ""), code, fields.get("fault_string", ""),
                                fields.get("start", ""), fields.get("complete", ""),
                                fields.get("announce_url", ""))
        self.scan_spool()
        return ["queued %s" % name]

    # -------------------------------------------------------- validation
    def _check_queue(self):
        if sum(1 for t in self.journal.transfers if t["state"] != "done") >= MAX_QUEUE:
            raise CwmpFault(9004, "transfer queue full (%d)" % MAX_QUEUE)

    def _check_url(self, url):
        from urllib.parse import urlsplit
        if len(url) > 1024 or not url:
            raise CwmpFault(9003, "URL missing or too long")
        try:
            p = urlsplit(url)
        except ValueError:
            raise CwmpFault(9003, "URL does not parse") from None
        if p.scheme.lower() not in ("http", "https"):
            raise CwmpFault(9013, "unsupported protocol %r" % p.scheme[:16])
        if not p.hostname or p.username is not None:
            raise CwmpFault(9003, "URL without a host, or with userinfo")

    def _check_space(self, size):
        limit = self.cfg.int("transfer", "max_size")
        if limit and size > limit:
            raise CwmpFault(9004, "file of %d bytes above max_size %d" % (size, limit))
        if size:
            free = self._free_space()
            if free is not None and size > free:
                raise CwmpFault(9004, "file of %d bytes, %d bytes free" % (size, free))

    def _free_space(self):
        d = self.download_dir
        try:
            os.makedirs(d, mode=0o700, exist_ok=True)
            s = os.statvfs(d)
        except OSError:
            return None
        return s.f_bavail * s.f_frsize

    def _key(self, body):
        key = arg(body, "CommandKey", required=False)
        if len(key) > 32:
            raise CwmpFault(9003, "CommandKey longer than 32 characters")
        return key

    def _transfer_args(self, b):
        """CommandKey, FileType, URL, Username and Password of a Download,
        ScheduleDownload or Upload, checked."""
        key = self._key(b)
        file_type = arg(b, "FileType").strip()
        url = arg(b, "URL").strip()
        user = arg(b, "Username", required=False)
        password = arg(b, "Password", required=False)
        if len(user) > 256 or len(password) > 256:
            raise CwmpFault(9003, "argument too long")
        self._check_url(url)
        return key, file_type, url, user, password

    def _download_args(self, msg, kind):
        b = msg.body
        key, file_type, url, user, password = self._transfer_args(b)
        size = uint(b, "FileSize", required=False)
        target = arg(b, "TargetFileName", required=False)
        if len(target) > 256:
            raise CwmpFault(9003, "argument too long")
        parsed = _type_number(file_type, DOWNLOAD_TYPES)
        if parsed is None or parsed[0] not in self._types("download_types"):
            raise CwmpFault(9003, "unsupported FileType %r" % file_type[:64])
        hook = self._download_hook(parsed[0])
        if parsed[0] in ("1", "3") and self._hook(hook) is None:
            raise CwmpFault(9003, "FileType %r: no %s configured" % (file_type[:64], hook))
        if self._hook(hook) is not None:
            self._ready_hook(hook)
        self._check_space(size)
        self._check_queue()
        return {"id": self.journal.next_id(), "kind": kind, "key": key, "file_type": file_type,
                "url": url, "username": user, "password": password, "size": size, "target": target,
                "state": "queued", "staged": True, "not_before": 0, "start": UNKNOWN,
                "complete": UNKNOWN, "attempts": 0}

    def _accept(self, t):
        from rocket.net.fileclient import safe_url
        for old in self.journal.transfers:
            if (old["state"] != "done" and old["kind"] == t["kind"] and old["key"] == t["key"]
                    and old["url"] == t["url"] and old["file_type"] == t["file_type"]):
                # The same request again (the ACS never saw our answer): one copy.
                log.info("transfer %d: %s repeated with key %r, already queued", old["id"], t["kind"],
                         t["key"])
                return
        self.journal.transfers.append(t)
        self.journal.save()
        log.info("transfer %d: %s %s accepted (key %r, %s)", t["id"], t["kind"], t["file_type"],
                 t["key"], safe_url(t["url"]))

    # --------------------------------------------------------------- RPCs
    def do_Download(self, msg):
        t = self._download_args(msg, "download")
        t["not_before"] = self._now() + uint(msg.body, "DelaySeconds", required=False)
        self._accept(t)
        return [soap.rpc("DownloadResponse", "<Status>1</Status><StartTime>%s</StartTime>"
                         "<CompleteTime>%s</CompleteTime>" % (UNKNOWN, UNKNOWN))]

    def do_Upload(self, msg):
        b = msg.body
        key, file_type, url, user, password = self._transfer_args(b)
        delay = uint(b, "DelaySeconds", required=False)
        parsed = _type_number(file_type, UPLOAD_TYPES)
        if parsed is None or parsed[0] not in self._types("upload_types") or not self._hook("upload_hook"):
            raise CwmpFault(9003, "unsupported FileType %r" % file_type[:64])
        self._ready_hook("upload_hook")
        self._check_queue()
        t = {"id": self.journal.next_id(), "kind": "upload", "key": key, "file_type": file_type,
             "url": url, "username": user, "password": password, "size": 0, "target": "",
             "state": "queued", "staged": True, "not_before": self._now() + delay, "start": UNKNOWN,
             "complete": UNKNOWN, "attempts": 0}
        self._accept(t)
        return [soap.rpc("UploadResponse", "<Status>1</Status><StartTime>%s</StartTime>"
                         "<CompleteTime>%s</CompleteTime>" % (UNKNOWN, UNKNOWN))]

    def do_ScheduleDownload(self, msg):
        t = self._download_args(msg, "schedule")
        now = self._now()
        windows = []
        for w in soap.items(msg.body, "TimeWindowList"):
            start = uint(w, "WindowStart")
            end = uint(w, "WindowEnd")
            mode = arg(w, "WindowMode").strip()
            message = arg(w, "UserMessage", required=False)
            try:
                retries = int(arg(w, "MaxRetries", required=False, default="0").strip() or "0")
            except ValueError:
                raise CwmpFault(9003, "MaxRetries is not an int") from None
            if end <= start or retries < -1 or len(message) > 256:
                raise CwmpFault(9003, "bad TimeWindow")
            if not (mode[:2] in ("1 ", "2 ", "3 ", "4 ") or mode.startswith("X ")):
                raise CwmpFault(9003, "unknown WindowMode %r" % mode[:64])
            if windows and start < windows[-1]["end"] - now:
                raise CwmpFault(9003, "time windows overlap or are out of order")
            windows.append({"start": now + start, "end": now + end, "mode": mode,
                            "message": message, "max_retries": retries})
        if not 1 <= len(windows) <= 2:
            raise CwmpFault(9003, "TimeWindowList needs one or two windows")
        t["windows"] = windows
        self._accept(t)
        return [soap.rpc("ScheduleDownloadResponse")]

    def _queued_list(self, all_kinds):
        out = []
        for t in self.journal.transfers:
            if t["kind"] == "autonomous" or (not all_kinds and t["kind"] == "upload"):
                continue
            out.append(t)
        return out[:MAX_QUEUE]

    def do_GetQueuedTransfers(self, msg):
        ts = self._queued_list(False)
        e = soap.esc
        members = ["<QueuedTransferStruct><CommandKey>%s</CommandKey><State>%d</State>"
                   "</QueuedTransferStruct>" % (e(t["key"]), _STATE_NUM[t["state"]]) for t in ts]
        return [soap.rpc("GetQueuedTransfersResponse",
                         soap.array("TransferList", "cwmp:QueuedTransferStruct", members, len(members)))]

    def do_GetAllQueuedTransfers(self, msg):
        ts = self._queued_list(True)
        e = soap.esc
        members = ["<AllQueuedTransferStruct><CommandKey>%s</CommandKey><State>%d</State>"
                   "<IsDownload>%s</IsDownload><FileType>%s</FileType><FileSize>%d</FileSize>"
                   "<TargetFileName>%s</TargetFileName></AllQueuedTransferStruct>"
                   % (e(t["key"]), _STATE_NUM[t["state"]], "false" if t["kind"] == "upload" else "true",
                      e(t["file_type"]), t.get("size", 0), e(t.get("target", ""))) for t in ts]
        return [soap.rpc("GetAllQueuedTransfersResponse",
                         soap.array("TransferList", "cwmp:AllQueuedTransferStruct", members, len(members)))]

    def do_CancelTransfer(self, msg):
        key = self._key(msg.body)
        hits = [t for t in self.journal.transfers if t["key"] == key and t["kind"] != "autonomous"]
        if not hits:
            raise CwmpFault(9003, "no transfer with CommandKey %r" % key)
        if any(t["state"] != "queued" for t in hits):
            raise CwmpFault(9021)
        for t in hits:
            self.journal.remove(t["id"])
        self.journal.save()
        log.info("transfer: %d transfer(s) with key %r cancelled", len(hits), key)
        return [soap.rpc("CancelTransferResponse")]

    def do_Reboot(self, msg):
        key = self._key(msg.body)
        self._ready_hook("reboot_hook")
        self.journal.doc["reboot"] = {"key": key, "state": "staged"}
        self.journal.save()
        return [soap.rpc("RebootResponse")]

    def do_FactoryReset(self, msg):
        self._ready_hook("factory_reset_hook")
        self.journal.doc["reset"] = "staged"
        self.journal.save()
        return [soap.rpc("FactoryResetResponse")]

    def do_ScheduleInform(self, msg):
        key = self._key(msg.body)
        delay = uint(msg.body, "DelaySeconds")
        if delay <= 0:
            raise CwmpFault(9003, "DelaySeconds must be greater than 0")
        self.journal.informs.append({"id": self.journal.next_id(), "key": key,
                                     "at": self._now() + delay, "staged": True})
        self.journal.save()
        return [soap.rpc("ScheduleInformResponse")]

    # ----------------------------------------------------- session hooks
    def _requests(self):
        j = self.journal
        if self.agent.events.has(ev.BOOTSTRAP):
            before = (len(j.informs), len(j.transfers))
            j.doc["informs"] = [i for i in j.informs if i.get("staged")]
            j.doc["transfers"] = [t for t in j.transfers
                                  if not (t["kind"] == "schedule" and t["state"] == "queued"
                                          and not t.get("staged"))]
            if (len(j.informs), len(j.transfers)) != before:
                log.info("transfer: BOOTSTRAP: pending scheduled informs and downloads dropped")
                j.save()
                self._arm_informs()
        out = []
        for t in j.transfers:
            if t["state"] != "done":
                continue
            code, reason = t["fault"]
            fs = ("<FaultStruct><FaultCode>%d</FaultCode><FaultString>%s</FaultString></FaultStruct>"
                  % (code, soap.esc(reason[:256])))
            if t["kind"] == "autonomous":
                inner = ("<AnnounceURL>%s</AnnounceURL><TransferURL>%s</TransferURL>"
                         "<IsDownload>%s</IsDownload><FileType>%s</FileType><FileSize>%d</FileSize>"
                         "<TargetFileName>%s</TargetFileName>%s<StartTime>%s</StartTime>"
                         "<CompleteTime>%s</CompleteTime>"
                         % (soap.esc(t.get("announce_url", "")), soap.esc(t["url"]),
                            "true" if t["is_download"] else "false", soap.esc(t["file_type"]),
                            t.get("size", 0), soap.esc(t.get("target", "")), fs, t["start"],
                            t["complete"]))
                out.append(CpeRequest("AutonomousTransferComplete", inner, t["id"], "1.1"))
            else:
                inner = ("<CommandKey>%s</CommandKey>%s<StartTime>%s</StartTime>"
                         "<CompleteTime>%s</CompleteTime>" % (soap.esc(t["key"]), fs, t["start"],
                                                              t["complete"]))
                out.append(CpeRequest("TransferComplete", inner, t["id"]))
        return out

    def _tc_acked(self, tag):
        self._acked(tag, False)

    def _atc_acked(self, tag):
        self._acked(tag, True)

    def _acked(self, tag, autonomous):
        j = self.journal
        t = j.get(tag)
        if t is not None and t["state"] == "done":
            j.remove(tag)
            j.save()
            log.info("transfer %d: %s acknowledged", tag,
                     "AutonomousTransferComplete" if autonomous else "TransferComplete")
        left = [t for t in j.transfers if t["state"] == "done" and (t["kind"] == "autonomous") == autonomous]
        if not left:
            self.agent.events.deliver((ev.AUTONOMOUS_TRANSFER_COMPLETE,) if autonomous else _TC_EVENTS)

    def _after_session(self, ok):
        self.scan_spool()
        if not ok:
            return
        j = self.journal
        for t in j.transfers:
            t.pop("staged", None)
        for i in j.informs:
            i.pop("staged", None)
        reset = j.doc.get("reset") == "staged"
        reboot = j.doc.get("reboot")
        j.save()
        self._arm_informs()
        if reset:
            self._factory_reset()
            return
        if reboot is not None and reboot.get("state") == "staged":
            reboot["state"] = "rebooting"
            j.save()
            self._reboot("Reboot RPC (CommandKey %r)" % reboot["key"])
            return
        self._kick()

    # ------------------------------------------------------ device ops
    def _run_hook(self, name, extra_env):
        argv = self._hook(name)
        if argv is None:
            return None
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
               "ROCKET_STATE_DIR": self.agent.state.path}
        env.update(extra_env)
        r = self.loop.run_process(argv, timeout=self.cfg.int("transfer", "hook_timeout"), env=env)
        if r.timed_out:
            log.error("transfer: %s timed out", name)
            return 9010
        if r.returncode != 0:
            tail = r.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            log.error("transfer: %s exited with status %d %s", name, r.returncode, tail[0][:200])
            return _HOOK_FAULTS.get(r.returncode, 9010)
        return 0

    def _reboot(self, reason):
        log.info("reboot: %s", reason)
        self.agent.audit.record("reboot", reason=reason)
        self.agent.audit.flush(persist=True)  # the device may be gone before the hook returns
        code = self._run_hook("reboot_hook", {"ROCKET_REASON": reason})
        if code == 0:
            log.info("reboot: hook done; the agent stops and waits for the system to go down")
            self.agent.stop()
        else:
            log.error("reboot: the reboot hook failed; the device was not rebooted")
            self.agent.audit.record("reboot", reason=reason, result="failed: the hook failed")

    def _factory_reset(self):
        j = self.journal
        j.doc["reset"] = "resetting"
        j.save()
        log.info("factory reset: clearing the agent's state")
        self.agent.audit.record("factory_reset", reason="FactoryReset RPC")
        self.agent.audit.flush(persist=True)  # the device may be gone before the hook returns
        self._wipe()
        code = self._run_hook("factory_reset_hook", {"ROCKET_REASON": "FactoryReset RPC"})
        if code == 0:
            log.info("factory reset: hook done; the agent stops and waits for the system to go down")
            self.agent.stop()
            return
        log.error("factory reset: the hook failed; continuing with the cleared agent state")
        j.doc["reset"] = None
        j.save()
        self.agent.request_session()

    def _wipe(self):
        """Forget everything the ACS set up (idempotent)."""
        a = self.agent
        m = a.model
        m.parameter_key = ""
        p = m.store.get(m.ms("ParameterKey"))
        if p is not None:
            p.value = ""
        m.attrs = {}
        m.overrides = {}
        m.save()
        m._save_overrides()
        a.bootstrapped_url = None
        a.versions = {}
        a.state.save("session", {"bootstrapped_url": None, "versions": {}})
        for t in self.journal.transfers:
            self._unlink(t.get("file"))
        reset = self.journal.doc.get("reset")
        self.journal.clear()
        self.journal.doc["reset"] = reset
        self.journal.save()
        a.events.reset(a.boot)
        self._arm_informs()

    # ------------------------------------------------------ ScheduleInform
    def _arm_informs(self):
        if self._inform_timer is not None:
            self._inform_timer.cancel()
            self._inform_timer = None
        live = [i["at"] for i in self.journal.informs if not i.get("staged")]
        if live:
            delay = max(0.0, min(live) - self._now())
            self._inform_timer = self.loop.call_later(delay, self._informs_due, "schedule-inform")

    def _informs_due(self):
        self._inform_timer = None
        now = self._now()
        due = [i for i in self.journal.informs if not i.get("staged") and i["at"] <= now]
        if due:
            q = self.agent.events
            for i in due:
                q.add(ev.SCHEDULED, save=False)
                q.add(ev.M_SCHEDULE_INFORM, i["key"], save=False)
            q.save()
            self.journal.doc["informs"] = [i for i in self.journal.informs if i not in due]
            self.journal.save()
            log.info("schedule inform: %d due", len(due))
            self.agent.request_session()
        self._arm_informs()

    # -------------------------------------------------------- autonomous
    def _spool_tick(self):
        self.scan_spool()
        self._spool_timer = self.loop.call_later(self.cfg.int("transfer", "spool_interval"),
                                                 self._spool_tick, "spool")

    def scan_spool(self):
        import json
        d = self.spool_dir
        try:
            names = sorted(n for n in os.listdir(d) if n.endswith(".json"))
        except OSError:
            return
        j = self.journal
        added = 0
        for name in names:
            path = os.path.join(d, name)
            if not any(t.get("spool") == name for t in j.transfers):
                try:
                    with open(path, "rb") as f:
                        rec = json.loads(f.read(65536).decode("utf-8"))
                    t = {"id": j.next_id(), "kind": "autonomous", "spool": name, "state": "done",
                         "key": "", "is_download": bool(rec.get("is_download", True)),
                         "file_type": str(rec["file_type"])[:64],
                         "url": str(rec.get("transfer_url", ""))[:1024],
                         "announce_url": str(rec.get("announce_url", ""))[:1024],
                         "size": max(0, int(rec.get("file_size", 0))),
                         "target": str(rec.get("target", ""))[:256],
                         "fault": [int(rec.get("fault_code", 0)), str(rec.get("fault_string", ""))[:256]],
                         "start": str(rec.get("start") or UNKNOWN), "complete": str(rec.get("complete") or UNKNOWN)}
                except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
                    log.error("transfer: spool file %s unreadable (%s); moved aside", name, e)
                    try:
                        os.replace(path, path + ".bad")
                    except OSError:
                        pass
                    continue
                why = self._atc_refused(t)
                if why:
                    log.info("transfer: autonomous %s not reported (AutonomousTransferCompletePolicy: %s)",
                             t["file_type"], why)
                    self._unlink(path)
                    continue
                j.transfers.append(t)
                j.save()
                added += 1
                log.info("transfer %d: autonomous %s reported (%s)", t["id"], t["file_type"],
                         "fault %d" % t["fault"][0] if t["fault"][0] else "ok")
            self._unlink(path)
        if added:
            self.agent.add_event(ev.AUTONOMOUS_TRANSFER_COMPLETE)

    def _atc_refused(self, t):
        """Why AutonomousTransferCompletePolicy leaves ``t`` out, or None."""
        m = self.agent.model

        def v(n):
            return m.value(m.ms(_ATC + n)) or ""
        if v("Enable") != "true":
            return "disabled"
        if v("TransferTypeFilter") not in ("Both", "Download" if t["is_download"] else "Upload"):
            return "transfer type"
        if v("ResultTypeFilter") not in ("Both", "Failure" if t["fault"][0] else "Success"):
            return "result"
        if t["file_type"] not in _csv(v("FileTypeFilter")):
            return "file type"
        return None

    # ------------------------------------------------------------ runner
    def _kick(self, delay=0.0):
        if self._kick_timer is not None:
            self._kick_timer.cancel()
        self._kick_timer = self.loop.call_later(delay, self._run_next, "transfer")

    def _window(self, t, now):
        for i, w in enumerate(t["windows"]):
            if now >= w["end"] or w["mode"].startswith("4 ") or w["mode"].startswith("X "):
                continue  # over, or needs a confirmation nobody can give here
            if now < w["start"]:
                return "wait", w["start"]
            if t.get("win") != i:
                t["win"] = i
                t["win_tries"] = 0
            mr = w["max_retries"]
            if t["win_tries"] >= 1 + (2 if mr < 0 else mr):
                continue
            return "run", None
        return "expired", None

    def _run_next(self):
        self._kick_timer = None
        if self.active is not None or self.agent.in_session or self.loop.stopping:
            return
        if self.journal.doc.get("reset") or (self.journal.doc.get("reboot") or {}).get("state") == "rebooting":
            return
        now = self._now()
        wake = None
        for t in list(self.journal.transfers):
            if t["state"] != "queued" or t.get("staged"):
                continue
            if t["kind"] == "schedule":
                what, when = self._window(t, now)
                if what == "expired":
                    self._finish(t, 9020, t.get("last_error") or "no time window was usable")
                    continue
                if what == "wait":
                    wake = when if wake is None else min(wake, when)
                    continue
                t["win_tries"] += 1
            elif t["not_before"] > now:
                wake = t["not_before"] if wake is None else min(wake, t["not_before"])
                continue
            self._start(t)
            return
        if wake is not None:
            self._kick(wake - now)

    def _start(self, t):
        from rocket.net.fileclient import FetchError, FileGet, safe_url
        t["state"] = "running"
        t["attempts"] = t.get("attempts", 0) + 1
        t["start"] = self._iso()
        if t["kind"] == "upload":
            self.journal.save()
            self._upload(t)
            return
        d = self.download_dir
        try:
            os.makedirs(d, mode=0o700, exist_ok=True)
            path = os.path.join(d, "transfer-%d.part" % t["id"])
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as e:
            self.journal.save()
            self._failed(t, 9010, "cannot create the download file: %s" % (e.strerror or e))
            return
        t["file"] = path
        self.journal.save()
        log.info("transfer %d: downloading %s", t["id"], safe_url(t["url"]))
        free = self._free_space()
        limit = self.cfg.int("transfer", "max_size")
        if free is not None:
            limit = min(limit, free) if limit else free

        def done(code, reason):
            os.close(fd)
            self.active = None
            # never install from inside a session: continue from the top of the loop
            self.loop.call_later(0, lambda: self._downloaded(t, code, reason), "transfer-done")

        g = FileGet(self.loop, t["url"], fd, done, t.get("username", ""), t.get("password", ""),
                    self._tls_context, self.cfg.int("transfer", "timeout"),
                    self.cfg.bool("transfer", "allow_basic_over_http"), limit,
                    allowed=self._policy("download_allowed"))
        self.active = g
        try:
            g.start()
        except FetchError as e:
            done(e.code, e.reason)
        except Exception as e:  # never let a bug end the agent
            log.exception("transfer %d: internal error", t["id"])
            done(9010, "internal error: %s" % e)

    def _downloaded(self, t, code, reason):
        if self.journal.get(t["id"]) is not t:
            return  # cancelled or wiped meanwhile
        path = t.get("file")
        if code:
            self._unlink(path)
            self._failed(t, code, reason)
            return
        size = os.path.getsize(path)
        t["bytes"] = size
        log.info("transfer %d: downloaded %d bytes", t["id"], size)
        num = t["file_type"].split(" ", 1)[0]
        hook = self._download_hook(num)
        if self._hook(hook) is None:
            # stored for others to use: TargetFileName (basename only) in download_dir
            name = os.path.basename(t.get("target") or "")
            if not name or name.startswith(".") or name.endswith(".part"):
                name = "transfer-%d" % t["id"]
            dest = os.path.join(self.download_dir, name)
            try:
                os.replace(path, dest)
            except OSError as e:
                self._finish(t, 9010, "cannot store the file: %s" % (e.strerror or e))
                return
            t["complete"] = self._iso()
            self._finish(t, 0, "")
            return
        t["state"] = "installing"
        t["complete"] = self._iso()
        t["fault"] = [0, ""]
        if num == "1":
            t["sw_before"] = self._sw_version()
        self.journal.save()  # the TransferComplete record, durable BEFORE the hook runs
        log.info("transfer %d: running %s", t["id"], hook)
        rc = self._run_hook(hook, {"ROCKET_FILE": path, "ROCKET_FILE_TYPE": t["file_type"],
                                   "ROCKET_FILE_SIZE": str(size), "ROCKET_TARGET_NAME": t.get("target", ""),
                                   "ROCKET_COMMAND_KEY": t["key"]})
        self._unlink(path)
        if self.journal.get(t["id"]) is not t:
            return
        if rc:
            self._finish(t, rc, "%s failed" % hook.replace("_", " "))
            return
        if num == "1":
            t["state"] = "installed"
            self.journal.save()
            if self._hook("reboot_hook") is not None:
                self._reboot("firmware upgrade (transfer %d)" % t["id"])
                return
            log.warning("transfer %d: no reboot_hook; the firmware hook must reboot the device", t["id"])
            return
        self._finish(t, 0, "")

    def _upload(self, t):
        from rocket.net.fileclient import FetchError, put_file, safe_url
        d = self.download_dir
        path = os.path.join(d, "upload-%d" % t["id"])
        try:
            os.makedirs(d, mode=0o700, exist_ok=True)
        except OSError:
            pass
        self._unlink(path)
        num, inst = _type_number(t["file_type"], UPLOAD_TYPES)
        rc = self._run_hook("upload_hook", {"ROCKET_OUTPUT": path, "ROCKET_FILE_TYPE": t["file_type"],
                                            "ROCKET_INSTANCE": inst, "ROCKET_COMMAND_KEY": t["key"]})
        if rc or not os.path.exists(path):
            self._unlink(path)
            self._failed(t, 9011, "upload hook produced no file")
            return
        method = self._c("upload_method").upper()
        t["bytes"] = os.path.getsize(path)
        log.info("transfer %d: uploading %d bytes with %s to %s", t["id"], t["bytes"], method,
                 safe_url(t["url"]))
        try:
            put_file(self.loop, t["url"], path, method, t.get("username", ""), t.get("password", ""),
                     self._tls_context, self.cfg.int("transfer", "timeout"),
                     self.cfg.bool("transfer", "allow_basic_over_http"),
                     allowed=self._policy("upload_allowed"))
        except FetchError as e:
            self._unlink(path)
            self._failed(t, e.code, e.reason)
            return
        except Exception as e:
            log.exception("transfer %d: internal error", t["id"])
            self._unlink(path)
            self._failed(t, 9011, "internal error: %s" % e)
            return
        self._unlink(path)
        t["complete"] = self._iso()
        self._finish(t, 0, "")

    def _failed(self, t, code, reason):
        log.warning("transfer %d: failed: %d %s", t["id"], code, reason)
        if t["kind"] == "schedule":
            t["state"] = "queued"
            t["last_error"] = "%d %s" % (code, reason)
            self.journal.save()
            self._kick(float(self._c("retry_delay") or 0))
            return
        t["complete"] = self._iso()
        self._finish(t, code, reason)

    def _finish(self, t, code, reason, events=True):
        """Record the final result (durably), then announce it."""
        t["state"] = "done"
        t["fault"] = [code, reason[:256]]
        if t["complete"] == UNKNOWN and t["start"] != UNKNOWN:
            t["complete"] = self._iso()
        for k in ("password", "username", "file", "windows", "sw_before"):
            t.pop(k, None)
        self.journal.save()
        if code == 0:
            log.info("transfer %d: complete", t["id"])
        else:
            log.warning("transfer %d: complete with fault %d %s", t["id"], code, reason)
        self.agent.audit.record("transfer", direction="upload" if t["kind"] == "upload" else "download",
                                command_key=t["key"], file_type=t["file_type"], url=t["url"],
                                size=t.get("bytes"), result="ok" if code == 0 else "fault",
                                fault=code or None, reason=reason or None)
        if events:
            self.agent.events.add(ev.TRANSFER_COMPLETE, save=False)
            self.agent.events.add(_M_EVENT[t["kind"]], t["key"])
            self.agent.request_session()
            self._kick()

    @staticmethod
    def _unlink(path):
        if path:
            try:
                os.unlink(path)
            except OSError:
                pass


def _csv(v):
    return [x.strip() for x in v.split(",") if x.strip()]


def _check_file_types(path, value):
    """FileTypeFilter: a list of the standard types and "X <OUI> <name>" (9007)."""
    if path.endswith(_ATC + "FileTypeFilter"):
        import re
        for x in _csv(value):
            if x not in _STD_TYPES and not re.match(r"X [0-9A-F]{6} .", x):
                from rocket.cwmp.values import BadValue
                raise BadValue("unknown file type %r" % x)


def _ctl_escape(s):
    from rocket.owner.ctl import escape
    return escape(s)


def install(agent):
    Transfers(agent).install()
