"""The transfer RPCs: Download, Upload, ScheduleDownload, GetQueuedTransfers,
GetAllQueuedTransfers, CancelTransfer; and their reports, TransferComplete
and AutonomousTransferComplete.

Rules:

- A request is checked (file type, URL scheme, sizes, queue room), added
  to the journal as a STAGED Transfer, and only then answered (Status 1,
  Unknown Times). Refusals are faults: 9003 bad arguments or an unsupported
  file type, 9013 a URL scheme other than http/https, 9004 no room
  (FileSize above the free space or ``max_size``, queue of MAX_QUEUE full).
  The same request again (the ACS never saw our answer) is kept once.
- CancelTransfer removes the transfers of a CommandKey that have not
  started; one that has is 9021.
- Every session carries a TransferComplete for every DONE transfer (an
  AutonomousTransferComplete for an autonomous one). One is removed from
  the journal when the ACS acknowledges it; "7 TRANSFER COMPLETE" and the
  "M Download"/"M Upload"/"M ScheduleDownload" events go when none is left
  (``EventQueue.deliver``), "10 AUTONOMOUS TRANSFER COMPLETE" likewise.
  At start the events are made to match the journal exactly
  (``EventQueue.sync``).

Not here: running the transfers (rocket.ops.transfer_runner), the
record's states (rocket.cwmp.transfer), the wiring (rocket.ops.service,
which imports this module at its first use).
"""

from rocket.base.log import log
from rocket.cwmp import events as ev
from rocket.cwmp import soap
from rocket.cwmp.rpc import arg, command_key, uint
from rocket.cwmp.session import CpeRequest
from rocket.cwmp.soap import CwmpFault
from rocket.cwmp.transfer import DONE, DOWNLOAD_TYPES, QUEUE_STATE, UNKNOWN, UPLOAD_TYPES, Transfer, type_number
from rocket.ops.hooks import download_hook

MAX_QUEUE = 16
_M_EVENT = {"download": ev.M_DOWNLOAD, "upload": ev.M_UPLOAD, "schedule": ev.M_SCHEDULE_DOWNLOAD}
_TC_EVENTS = (ev.TRANSFER_COMPLETE, ev.M_DOWNLOAD, ev.M_UPLOAD, ev.M_SCHEDULE_DOWNLOAD)
_STATUS = "<Status>1</Status><StartTime>%s</StartTime><CompleteTime>%s</CompleteTime>" % (UNKNOWN, UNKNOWN)


class TransferRpcs:
    def __init__(self, agent, journal, hooks, free_space):
        self.agent = agent
        self.journal = journal
        self.hooks = hooks
        self.free_space = free_space  # () -> bytes free in download_dir, or None

    def _types(self, key):
        return set(self.agent.cfg.get("transfer", key).replace(",", " ").split())

    # -------------------------------------------------------- validation
    def _check_queue(self):
        if sum(1 for t in self.journal.transfers if t.pending) >= MAX_QUEUE:
            raise CwmpFault(9004, "transfer queue full (%d)" % MAX_QUEUE)

    @staticmethod
    def _check_url(url):
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
        limit = self.agent.cfg.int("transfer", "max_size")
        if limit and size > limit:
            raise CwmpFault(9004, "file of %d bytes above max_size %d" % (size, limit))
        if size:
            free = self.free_space()
            if free is not None and size > free:
                raise CwmpFault(9004, "file of %d bytes, %d bytes free" % (size, free))

    def _transfer(self, b, kind, table, types):
        """A STAGED Transfer from the common arguments of a Download,
        ScheduleDownload or Upload, checked; and its FileType number."""
        key = command_key(b)
        file_type = arg(b, "FileType").strip()
        url = arg(b, "URL").strip()
        user = arg(b, "Username", required=False)
        password = arg(b, "Password", required=False)
        if len(user) > 256 or len(password) > 256:
            raise CwmpFault(9003, "argument too long")
        self._check_url(url)
        parsed = type_number(file_type, table)
        if parsed is None or parsed[0] not in self._types(types):
            raise CwmpFault(9003, "unsupported FileType %r" % file_type[:64])
        return Transfer(id=0, kind=kind, key=key, file_type=file_type, url=url, username=user,
                        password=password), parsed[0]

    def _download(self, msg, kind):
        b = msg.body
        t, num = self._transfer(b, kind, DOWNLOAD_TYPES, "download_types")
        t.size = uint(b, "FileSize", required=False)
        t.target = arg(b, "TargetFileName", required=False)
        if len(t.target) > 256:
            raise CwmpFault(9003, "argument too long")
        hook = download_hook(num)
        if self.hooks.argv(hook) is not None:
            self.hooks.ready(hook)
        elif num in ("1", "3"):
            raise CwmpFault(9003, "FileType %r: no %s configured" % (t.file_type[:64], hook))
        self._check_space(t.size)
        return t

    def _accept(self, t):
        from rocket.base.log import clean_url
        self._check_queue()
        for old in self.journal.transfers:
            if (old.pending and old.kind == t.kind and old.key == t.key and old.url == t.url
                    and old.file_type == t.file_type):
                # The same request again (the ACS never saw our answer): one copy.
                log.info("transfer %d: %s repeated with key %r, already queued", old.id, t.kind, t.key)
                return
        t.id = self.journal.next_id()
        self.journal.add(t)
        log.info("transfer %d: %s %s accepted (key %r, %s)", t.id, t.kind, t.file_type, t.key,
                 clean_url(t.url))

    # --------------------------------------------------------------- RPCs
    def do_Download(self, msg):
        t = self._download(msg, "download")
        t.not_before = self.agent.wallclock() + uint(msg.body, "DelaySeconds", required=False)
        self._accept(t)
        return [soap.rpc("DownloadResponse", _STATUS)]

    def do_Upload(self, msg):
        b = msg.body
        t, num = self._transfer(b, "upload", UPLOAD_TYPES, "upload_types")
        t.not_before = self.agent.wallclock() + uint(b, "DelaySeconds", required=False)
        if not self.hooks.argv("upload_hook"):
            raise CwmpFault(9003, "unsupported FileType %r" % t.file_type[:64])
        self.hooks.ready("upload_hook")
        from rocket.ops import vendorfiles
        t.vendor = vendorfiles.pick(self.agent.model, *type_number(t.file_type, UPLOAD_TYPES))
        self._accept(t)
        return [soap.rpc("UploadResponse", _STATUS)]

    def do_ScheduleDownload(self, msg):
        t = self._download(msg, "schedule")
        now = self.agent.wallclock()
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
        t.windows = windows
        self._accept(t)
        return [soap.rpc("ScheduleDownloadResponse")]

    def _queued(self, name, uploads_too):
        ts = [t for t in self.journal.transfers
              if t.kind != "autonomous" and (uploads_too or t.kind != "upload")][:MAX_QUEUE]
        e = soap.esc
        members = []
        for t in ts:
            m = "<CommandKey>%s</CommandKey><State>%d</State>" % (e(t.key), QUEUE_STATE[t.state])
            if uploads_too:
                m += ("<IsDownload>%s</IsDownload><FileType>%s</FileType><FileSize>%d</FileSize>"
                      "<TargetFileName>%s</TargetFileName>" % ("true" if t.download else "false",
                                                               e(t.file_type), t.size, e(t.target)))
            members.append("<%s>%s</%s>" % (name, m, name))
        return [soap.rpc("Get%sResponse" % name.replace("Struct", "s"),
                         soap.array("TransferList", "cwmp:" + name, members, len(members)))]

    def do_GetQueuedTransfers(self, msg):
        return self._queued("QueuedTransferStruct", False)

    def do_GetAllQueuedTransfers(self, msg):
        return self._queued("AllQueuedTransferStruct", True)

    def do_CancelTransfer(self, msg):
        key = command_key(msg.body)
        hits = [t for t in self.journal.transfers if t.key == key and t.kind != "autonomous"]
        if not hits:
            raise CwmpFault(9003, "no transfer with CommandKey %r" % key)
        if not all(t.cancellable for t in hits):
            raise CwmpFault(9021)
        self.journal.drop(t.id for t in hits)
        log.info("transfer: %d transfer(s) with key %r cancelled", len(hits), key)
        return [soap.rpc("CancelTransferResponse")]

    # ------------------------------------------------------------ reports
    def completed(self, t):
        """``t`` is DONE (journalled): its TransferComplete goes out in a session."""
        q = self.agent.events
        q.add(ev.TRANSFER_COMPLETE, save=False)
        q.add(_M_EVENT[t.kind], t.key)
        self.agent.request_session()

    def sync_events(self):
        """Make the transfer events match the journal exactly."""
        want = []
        for t in self.journal.transfers:
            if t.state != DONE:
                continue
            if t.kind == "autonomous":
                want.append((ev.AUTONOMOUS_TRANSFER_COMPLETE, ""))
            else:
                want.append((ev.TRANSFER_COMPLETE, ""))
                want.append((_M_EVENT[t.kind], t.key))
        self.agent.events.sync(_TC_EVENTS + (ev.AUTONOMOUS_TRANSFER_COMPLETE,), want)

    def requests(self):
        out = []
        e = soap.esc
        for t in self.journal.transfers:
            if t.state != DONE:
                continue
            code, reason = t.fault
            fs = ("<FaultStruct><FaultCode>%d</FaultCode><FaultString>%s</FaultString></FaultStruct>"
                  % (code, e(reason[:256])))
            if t.kind == "autonomous":
                inner = ("<AnnounceURL>%s</AnnounceURL><TransferURL>%s</TransferURL>"
                         "<IsDownload>%s</IsDownload><FileType>%s</FileType><FileSize>%d</FileSize>"
                         "<TargetFileName>%s</TargetFileName>%s<StartTime>%s</StartTime>"
                         "<CompleteTime>%s</CompleteTime>"
                         % (e(t.announce_url), e(t.url), "true" if t.is_download else "false",
                            e(t.file_type), t.size, e(t.target), fs, t.start, t.complete))
                out.append(CpeRequest("AutonomousTransferComplete", inner, t.id, "1.1"))
            else:
                inner = ("<CommandKey>%s</CommandKey>%s<StartTime>%s</StartTime>"
                         "<CompleteTime>%s</CompleteTime>" % (e(t.key), fs, t.start, t.complete))
                out.append(CpeRequest("TransferComplete", inner, t.id))
        return out

    def _acked(self, tag, autonomous):
        j = self.journal
        t = j.get(tag)
        if t is not None and t.state == DONE:
            j.drop([tag])
            log.info("transfer %d: %s acknowledged", tag,
                     "AutonomousTransferComplete" if autonomous else "TransferComplete")
        if not any(t.state == DONE and (t.kind == "autonomous") == autonomous for t in j.transfers):
            self.agent.events.deliver((ev.AUTONOMOUS_TRANSFER_COMPLETE,) if autonomous else _TC_EVENTS)
