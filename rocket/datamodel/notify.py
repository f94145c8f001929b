"""Value-change notifications: passive (1) and active (2), TR-069 §3.2.1 and A.3.2.4.

A parameter notifies when its Notification attribute (set by the ACS with
SetParameterAttributes, or declared as a default by its backend) is 1 or 2,
or when the data model forces it active (``activeNotify`` forceEnabled, e.g.
``DeviceInfo.SoftwareVersion``; forceDefaultEnabled, e.g.
``ManagementServer.ConnectionRequestURL``, unless the ACS turned it off).

``Notifier`` keeps a *baseline*: the value of each notifying parameter that
the ACS last heard of (reported in an Inform the ACS answered, written by
the ACS itself, or first seen), persisted as ``notify.json`` in the state
directory and rewritten only when it changes. A value that differs from its
baseline is a change: the parameter joins ``EventQueue.changed`` with a
pending "4 VALUE CHANGE" (both persisted with the events), its current value
goes in the next Inform's ParameterList, and both are dropped once that
Inform is answered; the value sent becomes the baseline. Changes made by
the ACS itself (SetParameterValues, AddObject, DeleteObject, a new
attribute) only move the baseline: they never notify. A local write through
the control socket does notify. A reboot drops the pending event (TR-069
§3.7.1.5), but a value that still differs from its baseline is noticed again
at start.

Changes are found by:

- a push: ``rocket.pyz ctl notify PREFIX`` from a hotplug script, LuCI...
  re-reads the notifying parameters under PREFIX (``check``);
- ``DataModel.set_internal`` on an agent-owned parameter (the connection
  request listener changing ConnectionRequestURL), seen at once;
- a slow poll (``[notify] poll_interval``, default 300 s) of the notifying
  parameters only: one ``load`` per backend that owns at least one of
  them, agent-owned ones read with ``DataModel.value``;
- at start, against the persisted baseline: a restart with unchanged values
  is silent, a new SoftwareVersion after a firmware upgrade notifies.

Volatile parameters (``UpTime``) never notify. Hidden ones (passwords) are
compared through a SHA-256 digest, so no secret lands in ``notify.json``;
their Inform value is the empty string, as for any read.

An active change asks for a session, ``[notify] settle`` seconds later (so a
burst of pushes ends in one session) and no sooner than
``ManagementServer.DefaultActiveNotificationThrottle`` seconds after the end
of the last successful session; later changes join the one waiting request.
A session that runs earlier for any other reason carries the pending
changes, and the waiting request then has nothing left to do. After a
failed session the retry wait of §3.2.1.1 rules, as for any event. A
passive change only waits for the next session.
"""


from rocket.cwmp import events as ev
from rocket.base.log import log
from rocket.datamodel.store import (
    ACTIVE_DEFAULT,
    ACTIVE_FORCED,
    HIDDEN,
    VOLATILE,
    Param,
    parent_of,
)



def level(model, path, p):
    """The effective Notification attribute (0 to 6) of parameter ``p``."""
    if p.flags & VOLATILE:
        return 0
    if p.flags & ACTIVE_FORCED:
        return 2
    a = model.attrs.get(path)
    if a is not None:
        return a[0]
    if p.flags & ACTIVE_DEFAULT:
        return 2
    return p.notification


def _digest(value):
    import hashlib
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


class Notifier:
    """Detects value changes of notifying parameters; see the module docstring."""

    def __init__(self, agent):
        self.agent = agent
        self.model = agent.model
        self.events = agent.events
        self.loop = agent.loop
        self.poll_interval = agent.cfg.int("notify", "poll_interval", 0)
        self.settle = agent.cfg.int("notify", "settle", 0)
        self.baseline = {}  # path -> last value seen or reported (digest if hidden)
        self.started = False
        self.local = False  # True while the control socket writes: those writes notify
        self.local_writes = set()
        self._acs_written = set()  # notifying paths the ACS wrote this session
        self._deferred = []  # (path, level) changes seen while a session ran
        self._reported = {}  # path -> value sent in this session's Inform
        self._informed = False  # this session's Inform is built (later changes wait)
        self._last_end = None  # loop clock at the end of the last successful session
        self._poll_timer = None
        self._active_timer = None
        self._start_timer = None
        self.loads = 0  # backend loads done (for benchmarks and tests)
        self.polls = 0

    # -------------------------------------------------------------- service
    def start(self, agent):
        saved = self.agent.state.load("notify", {}, {"baseline": dict})
        base = saved.get("baseline") if isinstance(saved, dict) else None
        self.baseline = dict(base) if isinstance(base, dict) else {}
        self.started = True
        # Compare against the last run (changes made while the agent was
        # down: a firmware upgrade, a new address) once every service has
        # started and set its values (the connection request listener sets
        # ConnectionRequestURL): from a timer due now, which runs before the
        # first session's timer, due no earlier.
        self._start_timer = self.loop.call_at(self.loop.clock(), self._start_check, "notify-start")

    def _start_check(self):
        self._start_timer = None
        try:
            self.check(also=self._declaring())
        except Exception:
            log.exception("notify: start check failed")
        if self._active_changed_pending():
            self._want_active()
        self._schedule_poll()

    def stop(self):
        for t in (self._poll_timer, self._active_timer, self._start_timer):
            if t is not None:
                t.cancel()
        self._save()

    def _save(self):
        self.agent.state.save("notify", {"baseline": self.baseline})

    def _schedule_poll(self):
        if self._poll_timer is not None:
            self._poll_timer.cancel()
            self._poll_timer = None
        if self.poll_interval > 0:
            self._poll_timer = self.loop.call_later(self.poll_interval, self._poll_due, "notify-poll")

    def _poll_due(self):
        self._poll_timer = None
        self.polls += 1
        try:
            self.check()
        except Exception:  # a broken backend must not end the polling
            log.exception("notify: poll failed")
        self._schedule_poll()

    # ------------------------------------------------------------ detection
    def _current(self, path, p):
        if p.flags & HIDDEN:
            return _digest(p.value)
        v = self.model.value(path) if p.owner is None else p.value
        return "" if v is None else v

    def _owner(self, path):
        """The backend to read for ``path``: None for the agent's own
        parameters, even inside a backend's subtree (DeviceInfo.SoftwareVersion
        under a backend owning DeviceInfo.)."""
        p = self.model.store.get(path)
        if isinstance(p, Param):
            if p.owner is None:
                if p.value:
                    return None
                # Empty, and a backend declares it: the backend fills it in
                # (SoftwareVersion from /etc/os-release when [cpe] has none).
                b = self.model.owner(path)
                return b if b is not None and _declares(b, path) else None
            for b in self.model.backends:
                if b.name == p.owner:
                    return b
        return self.model.owner(path)

    def _declaring(self):
        """Backends whose declaration gives some of their own parameters a
        notification: read once at start so those parameters are known."""
        out = []
        store = self.model.store
        for b in self.model.backends:
            specs = getattr(getattr(b, "manifest", None), "specs", None) or {}
            for path, spec in specs.items():
                if spec.notification or spec.flags & (ACTIVE_FORCED | ACTIVE_DEFAULT):
                    p = store.get(path)
                    if isinstance(p, Param) and p.owner is None:
                        continue  # the agent's own (checked without it)
                    out.append(b)
                    break
        return out

    def notifying(self, prefixes=None):
        """Paths of the parameters known to notify (under ``prefixes``)."""
        model = self.model
        nodes = model.store.nodes
        paths = set(self.baseline)
        paths.update(k for k, a in model.attrs.items() if a and a[0])
        if prefixes is None:
            items = nodes.items()
        else:
            items = []
            for pre in prefixes:
                if pre.endswith("."):
                    items.extend(model.store.params_under(pre))
                elif pre in nodes:
                    items.append((pre, nodes[pre]))
        for k, node in items:
            if isinstance(node, Param) and (node.notification or node.flags & (ACTIVE_FORCED | ACTIVE_DEFAULT)):
                paths.add(k)
        if prefixes is not None:
            paths = set(k for k in paths if any(_under(k, pre) for pre in prefixes))
        return paths

    def check(self, prefixes=None, also=()):
        """Re-read the notifying parameters (all, or under ``prefixes``) and
        record the changes; ``also``: backends to read in any case. Returns
        the changed paths."""
        model = self.model
        store = model.store
        paths = self.notifying(prefixes)
        owners = {b.name: b for b in also}
        for path in paths:
            b = self._owner(path)
            if b is not None:
                owners[b.name] = b
        failed = set()
        for name in sorted(owners):
            self.loads += 1
            try:
                model.load_backend(owners[name])
            except Exception as e:  # CwmpFault from a broken script, or a bug
                log.warning("notify: backend %s could not be read: %s", name, e)
                failed.add(name)
        if also:
            paths = self.notifying(prefixes)  # what the declared backends brought
        changes = []
        pending = set(self.events.changed)
        for path in sorted(paths):
            p = store.get(path)
            owner = self._owner(path)
            if owner is not None and owner.name in failed:
                continue
            if not isinstance(p, Param):
                self.baseline.pop(path, None)  # gone (instance deleted)
                continue
            lvl = level(model, path, p)
            if lvl == 0:
                self.baseline.pop(path, None)
                continue
            v = self._current(path, p)
            old = self.baseline.get(path)
            if old is None:
                self.baseline[path] = v  # first sight: the reference, not a change
            elif old != v and path not in pending:
                changes.append((path, lvl))
        self._record(changes)
        self._save()
        return [c for c, _ in changes]

    def _record(self, changes):
        """Queue value changes for the next Inform; ask for a session if active."""
        if not changes:
            return
        if self.agent.in_session and self._informed:
            # The Inform of this session is already out: they go in the next.
            self._deferred.extend(changes)
            return
        lw = [(c, lvl) for c, lvl in changes if lvl > 2]
        if lw:
            # Lightweight (3 to 6, Annex M): the UDP sender (rocket.ops.lwnotif)
            # takes them; 3 and 5 are lightweight only, their value is reported
            # now; 4 and 6 are also passive CWMP changes.
            if self.agent.lwnotif is not None:
                self.agent.lwnotif.changed([(c, lvl in (5, 6)) for c, lvl in lw])
            for c, lvl in lw:
                if lvl in (3, 5):
                    self.baseline[c] = self._current(c, self.model.store.get(c))
            changes = [(c, 1 if lvl > 2 else lvl) for c, lvl in changes if lvl not in (3, 5)]
            if not changes:
                return
        evq = self.events
        for path, _ in changes:
            evq.note_changed(path)
        active = [c for c, lvl in changes if lvl == 2]
        log.info("notify: value change of %s (%s)", _names(c for c, _ in changes),
                 "active" if active else "passive")
        evq.add(ev.VALUE_CHANGE, save=False)
        evq.save()
        if active and not self.agent.in_session:
            self._want_active()

    def _active_changed_pending(self):
        if not self.events.has(ev.VALUE_CHANGE):
            return False
        store = self.model.store
        for path in self.events.changed:
            p = store.get(path)
            if isinstance(p, Param) and level(self.model, path, p) == 2:
                return True
        return False

    def _want_active(self):
        """A session for an active notification: settle, throttle, coalesce."""
        try:
            throttle = max(0, int(self.agent.ms("DefaultActiveNotificationThrottle") or 0))
        except ValueError:
            throttle = 0
        when = self.loop.clock() + self.settle
        if self._last_end is not None:
            when = max(when, self._last_end + throttle)
        t = self._active_timer
        if t is not None and not t.cancelled:
            if t.when <= when:
                return  # a request is already waiting: this change joins it
            t.cancel()
        self._active_timer = self.loop.call_at(when, self._active_due, "notify-active")

    def _active_due(self):
        self._active_timer = None
        if self.events.has(ev.VALUE_CHANGE):
            self.agent.request_session()

    # ---------------------------------------------------------------- hooks
    def on_change(self, change):
        """DataModel.on_change: an ACS write (or a local one, see ``local``)."""
        if not self.started:
            return
        kind, path = change.kind, change.path
        if self.local:
            if kind != "attributes":
                self.local_writes.add(path)
            return
        model = self.model
        if kind == "attributes":
            p = model.store.get(path)
            if isinstance(p, Param) and level(model, path, p):
                self.baseline[path] = self._current(path, p)
            else:
                self.baseline.pop(path, None)
            return
        if kind in ("add", "delete"):
            if kind == "delete":
                for k in [k for k in self.baseline if k.startswith(path)]:
                    del self.baseline[k]
            # The table's NumberOfEntries moves with it: the ACS's doing.
            table = parent_of(path)
            counter = table[:-1] + "NumberOfEntries"
            p = model.store.get(counter)
            if isinstance(p, Param) and (counter in self.baseline or level(model, counter, p)):
                if p.owner is None:
                    self.baseline[counter] = self._current(counter, p)
                else:
                    self._acs_written.add(counter)
            return
        p = model.store.get(path)
        if isinstance(p, Param) and (path in self.baseline or level(model, path, p)):
            self.baseline[path] = self._current(path, p)
            if p.owner is not None:
                self._acs_written.add(path)

    def on_internal(self, path, old, new):
        """DataModel.on_internal: the agent changed one of its parameters."""
        if not self.started:
            return
        p = self.model.store.get(path)
        if not isinstance(p, Param):
            return
        lvl = level(self.model, path, p)
        if not lvl:
            return
        v = self._current(path, p)
        prev = self.baseline.get(path)
        if prev is None or (self._informed and not self.local):
            # First sight; or during a session once the Inform is out, where
            # only the ACS's requests change agent parameters (ParameterKey,
            # InformParameterNumberOfEntries). Before the Inform (the
            # before_session hooks), a change rides this session's Inform.
            self.baseline[path] = v
        elif prev != v and path not in self.events.changed:
            self._record([(path, lvl)])
        self._save()

    def on_inform(self, params):
        """DataModel.on_inform: remember the values reported for the changes;
        they become the baseline once the ACS has answered that Inform."""
        self._informed = True
        changed = set(self.events.changed)
        store = self.model.store
        self._reported = {}
        for name, _, value in params:
            if name in changed:
                p = store.get(name)
                if isinstance(p, Param):
                    self._reported[name] = _digest(p.value) if p.flags & HIDDEN else value

    def after_session(self, ok):
        self._informed = False
        if ok:  # the throttle counts from the end of the last successful session
            self._last_end = self.loop.clock()
        reported, self._reported = self._reported, {}
        pending = set(self.events.changed)
        for path, value in reported.items():
            if path not in pending:  # delivered with its InformResponse
                self.baseline[path] = value
        written, self._acs_written = self._acs_written, set()
        if written:
            # A fresh baseline of what the ACS wrote, read back from the
            # backends after their apply: their own spelling of the value,
            # not a change.
            self._rebaseline(written)
        deferred, self._deferred = self._deferred, []
        self._record(deferred)
        self._save()

    def _rebaseline(self, paths):
        model = self.model
        owners = {}
        for path in paths:
            b = self._owner(path)
            if b is not None:
                owners[b.name] = b
        for name in sorted(owners):
            self.loads += 1
            try:
                model.load_backend(owners[name])
            except Exception as e:
                log.warning("notify: backend %s could not be read: %s", name, e)
        for path in paths:
            p = model.store.get(path)
            if isinstance(p, Param) and level(model, path, p):
                self.baseline[path] = self._current(path, p)

    def status(self):
        """(seconds until the active-notification session or None, pending changed paths)."""
        t = self._active_timer
        left = None if t is None or t.cancelled else max(0.0, t.when - self.loop.clock())
        return left, list(self.events.changed)


def _declares(backend, path):
    m = getattr(backend, "manifest", None)
    return m is not None and hasattr(m, "spec") and m.spec(path) is not None


def _under(path, prefix):
    return path.startswith(prefix) if prefix.endswith(".") else path == prefix


def _names(paths, limit=5):
    paths = list(paths)
    s = ", ".join(paths[:limit])
    if len(paths) > limit:
        s += " and %d more" % (len(paths) - limit)
    return s


def install(agent):
    n = Notifier(agent)
    agent.notifier = n
    agent.services.append(n)
    agent.model.on_change.append(n.on_change)
    agent.model.on_internal.append(n.on_internal)
    agent.model.on_inform.append(n.on_inform)
    agent.after_session.append(n.after_session)
    return n
