"""Pending Inform events, kept in the state directory until delivered.

TR-069 §3.7.1.5 rules as implemented (see the table in the README):

- Numbered events ("0 BOOTSTRAP" ... "14 HEARTBEAT") are single: at most one
  of each is pending. "M ..." events are multiple: one per CommandKey.
- Most events are delivered by the InformResponse. "7 TRANSFER COMPLETE" and
  "M Download"/"M Upload"/"M ScheduleDownload" are delivered only when every
  pending TransferComplete has been acknowledged; "10 AUTONOMOUS TRANSFER
  COMPLETE" when the AutonomousTransferCompletes are; "11 DU STATE CHANGE
  COMPLETE" + "M ChangeDUState" and "12 AUTONOMOUS DU STATE CHANGE COMPLETE"
  when their DUStateChangeCompletes are (rocket.swmod); "9 REQUEST DOWNLOAD" and
  "5 KICKED" with their RPCs. The owner of those RPCs calls ``deliver``.
- A failed session drops "6 CONNECTION REQUEST" (never retried); the rest
  stay for the retry.
- A reboot drops "1 BOOT" (a new one is added), "4 VALUE CHANGE",
  "6 CONNECTION REQUEST" and "8 DIAGNOSTICS COMPLETE"; a plain restart of the
  agent drops only "6 CONNECTION REQUEST".
- "0 BOOTSTRAP" discards every other undelivered event, except those tied to
  a pending TransferComplete (which MUST NOT be lost) and the "1 BOOT" of the
  same start.
- At most 64 events go into one Inform (the schema's limit); the rest wait.
"""

BOOTSTRAP = "0 BOOTSTRAP"
BOOT = "1 BOOT"
PERIODIC = "2 PERIODIC"
SCHEDULED = "3 SCHEDULED"
VALUE_CHANGE = "4 VALUE CHANGE"
KICKED = "5 KICKED"
CONNECTION_REQUEST = "6 CONNECTION REQUEST"
TRANSFER_COMPLETE = "7 TRANSFER COMPLETE"
DIAGNOSTICS_COMPLETE = "8 DIAGNOSTICS COMPLETE"
REQUEST_DOWNLOAD = "9 REQUEST DOWNLOAD"
AUTONOMOUS_TRANSFER_COMPLETE = "10 AUTONOMOUS TRANSFER COMPLETE"
HEARTBEAT = "14 HEARTBEAT"  # never queued: a heartbeat session carries it alone
M_REBOOT = "M Reboot"
M_SCHEDULE_INFORM = "M ScheduleInform"
M_DOWNLOAD = "M Download"
M_UPLOAD = "M Upload"
M_SCHEDULE_DOWNLOAD = "M ScheduleDownload"
DU_STATE_CHANGE_COMPLETE = "11 DU STATE CHANGE COMPLETE"
AUTONOMOUS_DU_STATE_CHANGE_COMPLETE = "12 AUTONOMOUS DU STATE CHANGE COMPLETE"
M_CHANGE_DU_STATE = "M ChangeDUState"

# Delivered by something other than the InformResponse.
_TRANSFER_EVENTS = (TRANSFER_COMPLETE, M_DOWNLOAD, M_UPLOAD, M_SCHEDULE_DOWNLOAD, DU_STATE_CHANGE_COMPLETE,
                    M_CHANGE_DU_STATE, AUTONOMOUS_DU_STATE_CHANGE_COMPLETE)
LATE_DELIVERY = frozenset(_TRANSFER_EVENTS + (AUTONOMOUS_TRANSFER_COMPLETE, REQUEST_DOWNLOAD, KICKED))
_DROP_ON_REBOOT = frozenset((BOOT, VALUE_CHANGE, CONNECTION_REQUEST, DIAGNOSTICS_COMPLETE))
MAX_PER_INFORM = 64


def is_multiple(code):
    return code.startswith("M ")


class EventQueue:
    """Ordered pending events, persisted as ``events.json``."""

    def __init__(self, state):
        self.state = state
        self.pending = [tuple(e) for e in state.load("events", [], [[str, str]])]
        # Parameters whose value change rides with "4 VALUE CHANGE" (their
        # current values go in the Inform). Kept with the events, discarded
        # with that event.
        changed = state.load("changed", [], [str])
        self.changed = ([c for c in changed if isinstance(c, str)]
                        if isinstance(changed, list) and self.has(VALUE_CHANGE) else [])
        # Events in the Inform of the running session, and those among them
        # that happened again after the Inform was built (a connection
        # request during the session): the InformResponse must not drop
        # those, they are the next session's.
        self.inflight = set()
        self.again = set()

    def save(self):
        if not self.has(VALUE_CHANGE):
            self.changed = []
        self.state.save("events", [list(e) for e in self.pending])
        self.state.save("changed", self.changed)

    def has(self, code):
        return any(c == code for c, _ in self.pending)

    def add(self, code, command_key="", save=True):
        ev = (code, command_key if is_multiple(code) else "")
        if (ev in self.pending) if is_multiple(code) else self.has(code):
            if ev in self.inflight:
                self.again.add(ev)
            return
        if code == BOOTSTRAP:
            self.pending = [e for e in self.pending if e[0] in _TRANSFER_EVENTS or e[0] == BOOT]
            self.changed = []
        self.pending.append(ev)
        if save:
            self.save()

    def note_changed(self, path):
        """``path``'s value change rides with the next "4 VALUE CHANGE"
        (the caller adds that event; nothing is saved here)."""
        if path not in self.changed:
            self.changed.append(path)

    def sync(self, codes, want):
        """Make the pending events of ``codes`` exactly ``want`` (a list of
        (code, command key)), keeping the others and their order; saved.
        The owner of a completion journal (transfers, software modules)
        calls this with what its journal still has to report."""
        self.pending = [e for e in self.pending if e[0] not in codes or e in want]
        for code, key in want:
            self.add(code, key, save=False)
        self.save()

    def reset(self, boot):
        """Factory reset: nothing pending but "0 BOOTSTRAP" (and "1 BOOT"
        when this start is a boot); saved."""
        self.pending = []
        self.changed = []
        self.add(BOOTSTRAP, save=False)
        if boot:
            self.add(BOOT, save=False)
        self.save()

    def on_start(self, boot):
        """Apply the restart/reboot discard rules once, at agent start."""
        drop = _DROP_ON_REBOOT if boot else frozenset((CONNECTION_REQUEST,))
        self.pending = [e for e in self.pending if e[0] not in drop]
        if boot:
            self.add(BOOT, save=False)
        self.save()

    def for_inform(self):
        """The events to list in the next Inform (at most 64)."""
        def order(e):
            head = e[0].split(" ", 1)[0]
            return (0, int(head)) if head.isdigit() else (1, 0)
        out = sorted(self.pending, key=order)[:MAX_PER_INFORM]
        self.inflight = set(out)
        self.again = set()
        return out

    def delivered_by_inform(self, sent):
        """InformResponse arrived: drop what it delivers among ``sent``."""
        sent = set(e for e in sent if e[0] not in LATE_DELIVERY) - self.again
        self.pending = [e for e in self.pending if e not in sent]
        if any(e[0] == VALUE_CHANGE for e in sent):
            self.changed = []
        self.inflight = set()
        self.again = set()
        self.save()

    def deliver(self, codes, command_key=None):
        """Drop the given codes (all CommandKeys, or only ``command_key``)."""
        self.pending = [e for e in self.pending
                        if not (e[0] in codes and (command_key is None or e[1] == command_key))]
        self.save()

    def session_failed(self):
        """Drop the "6 CONNECTION REQUEST" this session carried (never
        retried); one that arrived during the session stays for the next."""
        cr = (CONNECTION_REQUEST, "")
        drop = cr in self.inflight and cr not in self.again
        self.inflight = set()
        self.again = set()
        if drop and self.has(CONNECTION_REQUEST):
            self.pending = [e for e in self.pending if e[0] != CONNECTION_REQUEST]
            self.save()
