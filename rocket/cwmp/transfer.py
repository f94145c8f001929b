"""One file transfer as a record with explicit states (no I/O here).

What it is for: the life of a Download, Upload, ScheduleDownload or
autonomous transfer, and the rules that decide it. What it is not: running
the transfer (rocket.ops.transfer_runner), answering the RPCs
(rocket.ops.transfer_rpcs) or writing the record down (rocket.ops.journal,
the only writer: ``Journal.apply(t.begin, ...)`` runs a transition and
makes it durable before anything depends on it).

States (``state``) and the transitions between them::

    STAGED --release--> QUEUED --begin--> RUNNING --install--> INSTALLING --installed--> INSTALLED
                          ^                 |  |                    |                        |
                          +--interrupted----+  +--finish/failed-->  DONE  <--finish----------+
                          +--failed (ScheduleDownload, retried in its windows)

Rules, in the order they bite:

1. A transfer is accepted STAGED: it must not start before the session
   that asked for it has ended cleanly (``release``). CancelTransfer may
   remove a STAGED or QUEUED one only (``cancellable``); later it is 9021.
2. A Download or Upload starts at ``not_before`` (its DelaySeconds); a
   ScheduleDownload only inside one of its time windows (``window``):
   "wait" before the next one opens, "run" inside one with tries left
   (1 + MaxRetries, -1 meaning the CPE's choice: 3), "expired" when no
   window is left (9020). Windows whose mode needs a user's confirmation
   ("4 ..." and vendor modes) are never usable here.
3. A failure of a ScheduleDownload puts it back in the queue for its
   windows (``failed`` returns False); any other failure is final.
4. A transfer that was RUNNING when the agent died starts again from the
   beginning (``interrupted``), at most ``MAX_RESTARTS`` times, then 9017.
5. A downloaded file to install: INSTALLING is recorded with the complete
   time, a provisional FaultCode 0 and the running SoftwareVersion BEFORE
   the hook runs, so a hook that reboots the device never loses the result.
   A firmware hook that succeeds moves it to INSTALLED (the reboot follows).
   ``settle`` decides after a restart: firmware whose SoftwareVersion
   changed is 0, unchanged after a reboot (or after INSTALLED) 9018, an
   agent restarted while the hook ran 9010; other files keep their
   provisional result.
6. DONE carries the FaultStruct and the times and keeps no credential; it
   stays until the ACS acknowledges its (Autonomous)TransferComplete.

An illegal transition raises ``TransitionError``: a bug, never a state.
"""

UNKNOWN = "0001-01-01T00:00:00Z"
MAX_RESTARTS = 3

STAGED, QUEUED, RUNNING, INSTALLING, INSTALLED, DONE = (
    "staged", "queued", "running", "installing", "installed", "done")
STATES = (STAGED, QUEUED, RUNNING, INSTALLING, INSTALLED, DONE)
KINDS = ("download", "upload", "schedule", "autonomous")
# TR-069 QueuedTransferStruct State: 1 not yet started, 2 in progress, 3 completed
QUEUE_STATE = {STAGED: 1, QUEUED: 1, RUNNING: 2, INSTALLING: 2, INSTALLED: 2, DONE: 3}

DOWNLOAD_TYPES = {"1": "1 Firmware Upgrade Image", "2": "2 Web Content",
                  "3": "3 Vendor Configuration File", "4": "4 Tone File", "5": "5 Ringer File"}
UPLOAD_TYPES = {"1": "1 Vendor Configuration File", "2": "2 Vendor Log File",
                "3": "3 Vendor Configuration File", "4": "4 Vendor Log File"}


def type_number(file_type, table):
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


class TransitionError(Exception):
    pass


# field -> default; a record is saved as a dict of the fields that differ
_FIELDS = {"id": 0, "kind": "download", "state": STAGED, "key": "", "file_type": "", "url": "",
           "username": "", "password": "", "size": 0, "target": "", "not_before": 0,
           "start": UNKNOWN, "complete": UNKNOWN, "attempts": 0, "restarts": 0, "file": None,
           "bytes": None, "fault": None, "sw_before": None, "windows": None, "win": None,
           "win_tries": 0, "last_error": "", "spool": None, "is_download": True, "announce_url": "",
           "vendor": None}  # vendor: the upload hook's environment naming its file (rocket.ops.vendorfiles)
_SECRET = ("username", "password", "file", "windows", "sw_before")


class Transfer:
    __slots__ = tuple(_FIELDS)

    def __init__(self, **fields):
        for k, v in _FIELDS.items():
            setattr(self, k, fields.pop(k, v))
        if fields:
            raise TypeError("unknown transfer fields %s" % sorted(fields))
        if self.state not in STATES or self.kind not in KINDS:
            raise ValueError("bad transfer state %r or kind %r" % (self.state, self.kind))

    @classmethod
    def from_dict(cls, d):
        """A saved record (raises ValueError/TypeError on a bad one)."""
        d = dict(d)
        if d.pop("staged", False) and d.get("state") == QUEUED:
            d["state"] = STAGED  # written by an older version
        if not isinstance(d.get("id"), int):
            raise ValueError("transfer without an id")
        return cls(**d)

    def to_dict(self):
        return {k: getattr(self, k) for k, v in _FIELDS.items() if k in ("id", "state") or getattr(self, k) != v}

    def __repr__(self):
        return "<Transfer %d %s %s>" % (self.id, self.kind, self.state)

    @property
    def download(self):
        return self.is_download if self.kind == "autonomous" else self.kind != "upload"

    @property
    def cancellable(self):
        return self.state in (STAGED, QUEUED)

    @property
    def pending(self):
        """Counts against the queue's room (not yet reported)."""
        return self.state != DONE

    @property
    def fault_code(self):
        return (self.fault or (0, ""))[0]

    # ------------------------------------------------------- transitions
    def _move(self, allowed, to):
        if self.state not in allowed:
            raise TransitionError("transfer %d: %s -> %s" % (self.id, self.state, to))
        self.state = to

    def release(self):
        """The session that asked for it ended cleanly (rule 1)."""
        self._move((STAGED,), QUEUED)

    def begin(self, now_iso, file=None):
        """It starts now; ``file`` is its scratch file (gone after a restart)."""
        self._move((QUEUED,), RUNNING)
        self.attempts += 1
        self.start = now_iso
        self.file = file

    def interrupted(self, now_iso):
        """The agent died while it ran (rule 4); True when it may run again."""
        self._move((RUNNING,), QUEUED)
        self.file = None
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            self.finish(9017, "interrupted %d times" % MAX_RESTARTS, now_iso)
            return False
        return True

    def failed(self, code, reason, now_iso):
        """A run failed (rule 3); True when that is final (now DONE)."""
        if self.kind == "schedule":
            self._move((RUNNING,), QUEUED)
            self.file = None
            self.last_error = "%d %s" % (code, reason)
            return False
        if self.state != RUNNING:
            raise TransitionError("transfer %d: failed in %s" % (self.id, self.state))
        self.complete = now_iso
        self.finish(code, reason)
        return True

    def install(self, now_iso, sw_before):
        """The file is here and its hook is about to run (rule 5)."""
        self._move((RUNNING,), INSTALLING)
        self.complete = now_iso
        self.fault = [0, ""]
        self.sw_before = sw_before

    def installed(self):
        """The firmware hook succeeded; the reboot follows (rule 5)."""
        self._move((INSTALLING,), INSTALLED)

    def settle(self, sw_now, boot, now_iso):
        """After a restart, the result of an install (rule 5)."""
        if self.state not in (INSTALLING, INSTALLED):
            raise TransitionError("transfer %d: settle in %s" % (self.id, self.state))
        if not self.file_type.startswith("1"):
            code, reason = self.fault or (0, "")
        elif sw_now and sw_now != (self.sw_before or ""):
            code, reason = 0, ""
        elif boot or self.state == INSTALLED:
            code, reason = 9018, "software version still %s after the upgrade" % (self.sw_before or "")[:64]
        else:
            code, reason = 9010, "install interrupted (agent restarted during the firmware hook)"
        self.finish(code, reason, now_iso)

    def finish(self, code, reason, now_iso=None):
        """The final result (rule 6)."""
        self._move((QUEUED, RUNNING, INSTALLING, INSTALLED), DONE)
        self.fault = [code, reason[:256]]
        if now_iso and self.complete == UNKNOWN and self.start != UNKNOWN:
            self.complete = now_iso
        for k in _SECRET:
            setattr(self, k, _FIELDS[k])

    # ------------------------------------------------------------ timing
    def window(self, now):
        """A ScheduleDownload's windows at ``now`` (rule 2): ("run", None),
        ("wait", opening time) or ("expired", None). "run" counts a try."""
        for i, w in enumerate(self.windows or ()):
            if now >= w["end"] or w["mode"].startswith("4 ") or w["mode"].startswith("X "):
                continue  # over, or needs a confirmation nobody can give here
            if now < w["start"]:
                return "wait", w["start"]
            if self.win != i:
                self.win = i
                self.win_tries = 0
            mr = w["max_retries"]
            if self.win_tries >= 1 + (2 if mr < 0 else mr):
                continue
            self.win_tries += 1
            return "run", None
        return "expired", None

    def due(self, now):
        """What to do with a QUEUED transfer at ``now``: ("run", None),
        ("wait", when) or ("expired", None) (rule 2)."""
        if self.kind == "schedule":
            return self.window(now)
        if self.not_before > now:
            return "wait", self.not_before
        return "run", None
