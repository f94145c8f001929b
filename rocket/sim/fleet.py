"""The fleet: N simulated CPEs in one loop, each with the agent's session rules.

Rules (as on the agent, per device):

- Pending events live in an ``EventQueue`` (rocket.cwmp.events) kept in
  memory: the same single/multiple, delivery and discard rules. A device
  starts with "0 BOOTSTRAP" + "1 BOOT".
- A failed session keeps its events (but "6 CONNECTION REQUEST") and waits
  ``retry_wait`` (TR-069 §3.2.1.1, rocket.cwmp.schedule) with the device's
  own CWMPRetryMinimumWaitInterval / IntervalMultiplier; only a connection
  request cuts the wait short. The Inform carries RetryCount.
- Periodic Informs: a random phase within the first interval, then every
  PeriodicInformInterval (the device's, if the ACS changed it).
- One session per device at a time; a connection request during a session
  gives one follow-up session with "6 CONNECTION REQUEST".
- Reboot / FactoryReset (after the session that asked): the device is gone
  for ``reboot_time`` seconds (connection requests go unanswered), then
  informs "1 BOOT" + "M Reboot" / "0 BOOTSTRAP" + "1 BOOT" (a reset also
  drops everything the ACS wrote). ScheduleInform: "3 SCHEDULED" + "M
  ScheduleInform" after DelaySeconds. Download / Upload: after the session
  and DelaySeconds, a real GET (body discarded) or PUT, then a
  TransferComplete with its fault, "7 TRANSFER COMPLETE" and "M Download" /
  "M Upload" until the ACS acknowledged it.

Theory of operation. Each session is a ``Run``: the pure
``rocket.cwmp.session.Session`` fed by a callback-driven ``wire.Http``, ACS
requests answered by the agent's ``Dispatcher`` over a ``tree.View`` of the
device. At most ``max_sessions`` run at once; the others wait in a FIFO.
Device durations (periodic interval, retry waits, reboot time, delays) are
simulated seconds, divided by ``time_scale`` on the loop's clock; UpTime
and counters advance ``time_scale`` times faster.
"""

import collections
import random
import socket
from urllib.parse import urlsplit

from rocket.base.timefmt import iso_now
from rocket.cwmp import events as ev
from rocket.cwmp import soap
from rocket.cwmp.events import EventQueue
from rocket.cwmp.rpc import Dispatcher, arg, uint
from rocket.cwmp.schedule import retry_wait
from rocket.cwmp.session import AcsRequest, CpeRequest, Finished, Inform, InformAcked, RequestAcked, Send, Session
from rocket.net.resolver import default_resolver
from rocket.sim.tree import View
from rocket.sim.wire import Deadlines, Http

IDLE, QUEUED, RUNNING, DOWN = range(4)
_TC_EVENTS = (ev.TRANSFER_COMPLETE, ev.M_DOWNLOAD, ev.M_UPLOAD)


class _Memory:
    """The state directory of an in-memory EventQueue: nothing on disk."""

    def load(self, name, default, schema=None):
        return default

    def save(self, name, data, sync=True):
        pass


_MEMORY = _Memory()


class Device:
    __slots__ = ("n", "tpl", "events", "vals", "attrs", "added", "deleted", "last", "key", "retry", "state",
                 "booted", "timer", "retry_timer", "followup", "todo", "done", "ok")

    def __init__(self, n, tpl):
        self.n = n
        self.tpl = tpl
        self.events = EventQueue(_MEMORY)
        self.vals = self.attrs = self.added = self.deleted = self.last = self.todo = self.done = None
        self.key = ""
        self.retry = 0
        self.state = DOWN
        self.booted = 0.0
        self.timer = self.retry_timer = None
        self.followup = 0  # 1: a session after this one, 2: with 6 CONNECTION REQUEST
        self.ok = 0  # sessions that ended well

    def forget(self):
        """Factory reset: nothing the ACS wrote survives."""
        self.vals = self.attrs = self.added = self.deleted = self.last = self.done = None
        self.key = ""


def _pick(n, share, salt):
    """Is device ``n`` among the ``share`` (0..1) picked for fault ``salt``? Stable."""
    return share > 0 and ((n * 2654435761 + salt * 40503) % 1000003) / 1000003.0 < share


class Fleet:
    def __init__(self, cfg, templates, count, loop=None, serial_prefix="SIM", first=1, time_scale=1.0,
                 boot_within=0.0, reboot_time=30.0, max_sessions=200, cr_address="127.0.0.1",
                 cr_port=0, wrong_password=0.0, slow=0.0, slow_delay=5.0, drop=0.0, rng=None, stats=None,
                 state_dir=None):
        from rocket.net.loop import Loop
        from rocket.sim.connreq import Listener
        from rocket.sim.report import Stats
        self.cfg = cfg
        self.templates = templates
        self.loop = loop or Loop()
        self.rng = rng or random.Random()
        self.prefix, self.first = serial_prefix, first
        self.scale = float(time_scale)
        self.boot_within, self.reboot_time = boot_within, reboot_time
        self.max_sessions = max_sessions
        self.faults = (wrong_password, slow, slow_delay, drop)
        self.state_dir = state_dir
        self.stats = stats or Stats(self.loop)
        self.devices = [Device(n, templates[n % len(templates)]) for n in range(count)]
        self.waiting = collections.deque()
        self.deadlines = Deadlines(self.loop)
        self.in_flight = 0
        self._pumping = False
        self.version = cfg.get("cpe", "cwmp_version")
        self.timeout = cfg.int("acs", "session_timeout")
        self.max_body = cfg.int("acs", "max_body")
        self.cr = Listener(self, cr_address, cr_port)
        self.rpc = Dispatcher(None)
        for name in ("Reboot", "FactoryReset", "ScheduleInform", "Download", "Upload"):
            self.rpc.register(name, getattr(self, "do_" + name))
        self.current = None  # the Run whose ACS request is being answered
        url = cfg.get("acs", "url")
        u = urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError("[acs] url: not an http:// or https:// URL: %r" % url[:80])
        self.tls = None
        if u.scheme == "https":
            from rocket.net.httpclient import tls_context
            self.tls = tls_context(cfg.get("acs", "ca_file"), cfg.get("acs", "client_cert"),
                                   cfg.get("acs", "client_key"), cfg.bool("acs", "insecure"))
        self.acs_addr = _address(u.hostname, u.port or (443 if self.tls else 80))
        self.acs_host = u.netloc.rpartition("@")[2]
        self.acs_path = (u.path or "/") + ("?" + u.query if u.query else "")

    # -------------------------------------------------------- the devices
    def serial(self, d):
        return "%s%06d" % (self.prefix, self.first + d.n)

    def device_for(self, serial):
        rest = serial[len(self.prefix):] if serial.startswith(self.prefix) else ""
        n = int(rest) - self.first if rest.isdigit() and len(rest) >= 6 else -1
        return self.devices[n] if 0 <= n < len(self.devices) and self.serial(self.devices[n]) == serial else None

    def cr_credentials(self, d):
        s = self.serial(d)
        v = d.vals or {}
        ms = d.tpl.ms
        return (v.get(ms + "ConnectionRequestUsername") or _sub(self.cfg.get("connection_request", "username"), s, s),
                v.get(ms + "ConnectionRequestPassword") or _sub(self.cfg.get("connection_request", "password"), s, s))

    def uptime(self, d):
        return max(0.0, (self.loop.clock() - d.booted) * self.scale)

    def view(self, d):
        t = d.tpl
        ms, di = t.ms, t.root + "DeviceInfo."
        c = {di + "SerialNumber": self.serial, di + "UpTime": lambda d: str(int(self.uptime(d))),
             ms + "ParameterKey": lambda d: d.key,
             ms + "ConnectionRequestURL": lambda d: self.cr.url(self.serial(d)),
             ms + "ConnectionRequestUsername": lambda d: self.cr_credentials(d)[0],
             ms + "ConnectionRequestPassword": lambda d: self.cr_credentials(d)[1]}
        return View(t, d, c, self.uptime(d), self._on_set)

    def _on_set(self, path, value):
        if "PeriodicInform" in path:
            self.current.periodic = True

    def later(self, seconds, fn, name="sim"):
        """``fn()`` after ``seconds`` of simulated time."""
        return self.loop.call_later(seconds / self.scale, fn, name)

    # ------------------------------------------------------- kept state
    _KEPT = ("vals", "attrs", "key", "added", "deleted", "last", "done")

    def _state_file(self, d):
        import os
        return os.path.join(self.state_dir, self.serial(d) + ".json")

    def load(self):
        """Each device's state from ``state_dir`` (written by ``save``): a
        device found there powers on with "1 BOOT", not "0 BOOTSTRAP"."""
        import json
        for d in self.devices:
            try:
                with open(self._state_file(d), encoding="utf-8") as fh:
                    doc = json.load(fh)
            except (OSError, ValueError):
                continue
            d.events.pending = [tuple(e) for e in doc.get("events") or ()]
            d.vals, d.key, d.added, d.last, d.done = (doc.get(k) for k in ("vals", "key", "added", "last", "done"))
            d.key = d.key or ""
            d.attrs = {k: [a[0], tuple(a[1]), a[2]] for k, a in doc["attrs"].items()} if doc.get("attrs") else None
            d.deleted = set(doc["deleted"]) if doc.get("deleted") else None
            d.booted = 1.0  # provisioned before: no BOOTSTRAP

    def save(self):
        """Each device's state into ``state_dir``, one JSON file per device."""
        import json
        import os
        os.makedirs(self.state_dir, exist_ok=True)
        for d in self.devices:
            doc = {k: getattr(d, k) for k in self._KEPT}
            doc["events"] = d.events.pending
            doc["deleted"] = sorted(d.deleted or ())
            path = self._state_file(d)
            with open(path + ".tmp", "w", encoding="utf-8") as fh:
                json.dump(doc, fh)
            os.replace(path + ".tmp", path)

    # ------------------------------------------------------------- start
    def start(self):
        if self.state_dir:
            self.load()
        self.cr.open()
        self.stats.start(self)
        offsets = sorted((self.rng.uniform(0, self.boot_within), n) for n in range(len(self.devices)))
        ramp = collections.deque(offsets)
        t0 = self.loop.clock()

        def boot_some():
            now = self.loop.clock()
            while ramp and t0 + ramp[0][0] / self.scale <= now:
                self.power_on(self.devices[ramp.popleft()[1]])
            if ramp:
                self.loop.call_at(t0 + ramp[0][0] / self.scale, boot_some, "sim-boot")
        boot_some()
        self._watch()

    def _watch(self):
        """Every [notify] poll_interval: parameters under notification whose
        value moved queue "4 VALUE CHANGE"; an active one asks for a session."""
        if self.cr.sock is None:
            return  # stopped
        for d in self.devices:
            if d.attrs and d.state == IDLE:
                changes = self.view(d).changes()
                for path, _ in changes:
                    d.events.note_changed(path)
                if changes:
                    d.events.add(ev.VALUE_CHANGE, save=False)
                    if any(n == 2 for _, n in changes):
                        self.request(d)
        self.later(self.cfg.int("notify", "poll_interval", 1), self._watch, "sim-notify")

    def stop(self):
        """Close the listener; the summary (a dict)."""
        self.cr.close()
        if self.state_dir:
            self.save()
        return self.stats.finish()

    def power_on(self, d, reset=False):
        if d.booted == 0.0 or reset:
            d.events.add(ev.BOOTSTRAP, save=False)
        d.events.on_start(True)
        d.booted = self.loop.clock()
        d.state = IDLE
        d.retry = 0
        self.schedule_periodic(d, first=True)
        self.request(d)

    def go_down(self, d, key=None, reset=False):
        d.state = DOWN
        for t in (d.timer, d.retry_timer):
            if t is not None:
                t.cancel()
        d.timer = d.retry_timer = None
        self.stats.count("reboots")

        def back():
            if reset:
                d.forget()
                d.events.reset(boot=False)
            elif key is not None:
                d.events.add(ev.M_REBOOT, key, save=False)
            self.power_on(d, reset)
        self.later(self.reboot_time, back, "sim-reboot")

    def ms_int(self, d, name, default):
        p = d.tpl.ms + name
        v = d.vals.get(p) if d.vals else None
        try:
            return int(v if v is not None else d.tpl.store.nodes[p].value)
        except (KeyError, TypeError, ValueError):
            return default

    def schedule_periodic(self, d, first=False):
        if d.timer is not None:
            d.timer.cancel()
            d.timer = None
        p = d.tpl.ms + "PeriodicInformEnable"
        if ((d.vals or {}).get(p) or d.tpl.store.nodes[p].value) not in ("true", "1"):
            return
        interval = max(1, self.ms_int(d, "PeriodicInformInterval", 86400))
        d.timer = self.later(self.rng.uniform(0, interval) if first else interval,
                             lambda: self._periodic(d), "sim-periodic")

    def _periodic(self, d):
        d.timer = None
        d.events.add(ev.PERIODIC, save=False)
        self.schedule_periodic(d)
        self.request(d)

    # ---------------------------------------------------------- sessions
    def request(self, d, cr=False):
        """A session for ``d`` soon (coalesced; a retry wait holds it unless ``cr``)."""
        if d.state == RUNNING:
            d.followup = max(d.followup, 2 if cr else 1)  # one more session when this one is over
            return
        if d.state != IDLE:
            return
        if d.retry_timer is not None:
            if not cr:
                return
            d.retry_timer.cancel()
            d.retry_timer = None
        d.state = QUEUED
        self.waiting.append(d)
        self._pump()

    def _pump(self):
        if self._pumping:
            return
        self._pumping = True
        try:
            while self.waiting and self.in_flight < self.max_sessions:
                Run(self, self.waiting.popleft()).step()
        finally:
            self._pumping = False

    def ended(self, run, ok, reason, retry):
        d = run.d
        self.in_flight -= 1
        d.state = IDLE
        self.stats.session(ok, retry, ok and d.ok == 0, reason)
        if ok:
            d.retry = 0
            d.ok += 1
        else:
            d.events.session_failed()
            d.retry += 1
            wait = retry_wait(d.retry, self.ms_int(d, "CWMPRetryMinimumWaitInterval", 5),
                              self.ms_int(d, "CWMPRetryIntervalMultiplier", 2000), self.rng)

            def due():
                d.retry_timer = None
                self.request(d)
            d.retry_timer = self.later(wait, due, "sim-retry")
        todo, d.todo = d.todo, None
        if run.periodic:
            self.schedule_periodic(d)
        for job in todo or ():
            if job[0] in ("reboot", "reset"):
                self.go_down(d, key=job[1] if job[0] == "reboot" else None, reset=job[0] == "reset")
                return self._pump()
            self._job(d, job)
        if d.followup:
            cr, d.followup = d.followup == 2, 0
            if cr:
                d.events.add(ev.CONNECTION_REQUEST, save=False)
            self.request(d, cr)
        elif ok and any(c in (ev.BOOTSTRAP, ev.CONNECTION_REQUEST) for c, _ in d.events.pending):
            self.request(d)
        self._pump()

    def up(self, d):
        return d.state != DOWN

    def connection_request(self, d):
        """An authenticated connection request for ``d`` (which is up)."""
        self.stats.count("connection_requests")
        if d.state == RUNNING:
            d.followup = 2
        else:
            d.events.add(ev.CONNECTION_REQUEST, save=False)
            self.request(d, cr=True)

    # -------------------------------------------------------- device RPCs
    def _key(self, msg):
        key = arg(msg.body, "CommandKey", required=False)
        if len(key) > 32:
            raise soap.CwmpFault(9003, "CommandKey longer than 32 characters")
        return key

    def _todo(self, job):
        d = self.current.d
        d.todo = (d.todo or []) + [job]

    def do_Reboot(self, msg):
        self._todo(("reboot", self._key(msg)))
        return [soap.rpc("RebootResponse")]

    def do_FactoryReset(self, msg):
        self._todo(("reset",))
        return [soap.rpc("FactoryResetResponse")]

    def do_ScheduleInform(self, msg):
        key = self._key(msg)
        delay = uint(msg.body, "DelaySeconds")
        if delay <= 0:
            raise soap.CwmpFault(9003, "DelaySeconds must be greater than 0")
        self._todo(("inform", key, delay))
        return [soap.rpc("ScheduleInformResponse")]

    def _transfer(self, msg, kind):
        b = msg.body
        key = self._key(msg)
        arg(b, "FileType")
        url = arg(b, "URL").strip()
        if not url.startswith("http://"):
            raise soap.CwmpFault(9013 if kind == "Download" else 9003, "only http:// transfers are simulated")
        self._todo((kind, key, uint(b, "DelaySeconds", required=False), url,
                    arg(b, "Username", required=False), arg(b, "Password", required=False)))
        return [soap.rpc(kind + "Response", "<Status>1</Status><StartTime>%s</StartTime><CompleteTime>%s"
                         "</CompleteTime>" % (_UNKNOWN, _UNKNOWN))]

    def do_Download(self, msg):
        return self._transfer(msg, "Download")

    def do_Upload(self, msg):
        return self._transfer(msg, "Upload")

    def _job(self, d, job):
        if job[0] == "inform":
            def due():
                d.events.add(ev.SCHEDULED, save=False)
                d.events.add(ev.M_SCHEDULE_INFORM, job[1], save=False)
                self.request(d)
            self.later(job[2], due, "sim-inform")
            return
        kind, key, delay, url, user, password = job
        self.later(delay, lambda: self._transfer_now(d, kind, key, url, user, password), "sim-transfer")

    def _transfer_now(self, d, kind, key, url, user, password):
        if d.state == DOWN:
            return
        start = iso_now()
        u = urlsplit(url)

        def done(status, body, err):
            if err is None and 200 <= status < 300:
                fault = (0, "")
            else:
                fault = (9010 if kind == "Download" else 9011, err or "HTTP status %d" % status)
            self.stats.count("transfers")
            tc = ("<CommandKey>%s</CommandKey><FaultStruct><FaultCode>%d</FaultCode><FaultString>%s"
                  "</FaultString></FaultStruct><StartTime>%s</StartTime><CompleteTime>%s</CompleteTime>"
                  % (soap.esc(key), fault[0], soap.esc(fault[1][:256]), start, iso_now()))
            d.done = (d.done or []) + [tc]
            d.events.add(ev.TRANSFER_COMPLETE, save=False)
            d.events.add(ev.M_DOWNLOAD if kind == "Download" else ev.M_UPLOAD, key, save=False)
            self.request(d)

        def resolved(addrs, err):
            if err or not addrs:
                return done(None, None, "cannot resolve %s: %s" % (u.hostname, err or "no address"))
            h = Http(self.deadlines, addrs[0], u.netloc.rpartition("@")[2],
                     (u.path or "/") + ("?" + u.query if u.query else ""), user, password, self.timeout, 0)
            h.discard = True
            if kind == "Download":
                h.request("GET", b"", done)
            else:
                h.request("PUT", ("simulated upload from %s\n" % self.serial(d)).encode(), done, "text/plain")
        try:
            port = u.port or 80
        except ValueError as e:
            return done(None, None, "bad URL: %s" % e)
        if not u.hostname:
            return done(None, None, "bad URL: no host")
        # through the loop: a lookup that takes seconds holds up no other device
        default_resolver().lookup(self.loop, u.hostname, port, resolved, self.loop.clock() + self.timeout)


_UNKNOWN = "0001-01-01T00:00:00Z"


class Run:
    """One session of one device."""

    __slots__ = ("f", "d", "sess", "http", "sent", "t0", "view", "drop", "retry", "periodic", "asked")

    def __init__(self, fleet, d):
        f = self.f = fleet
        self.d = d
        f.in_flight += 1
        d.state = RUNNING
        d.followup = 0
        self.t0 = f.loop.clock()
        self.retry = d.retry
        self.periodic = False
        self.sent = d.events.for_inform()
        self.view = f.view(d)
        changes = self.view.changes()
        if changes:
            for path, _ in changes:
                d.events.note_changed(path)
            d.events.add(ev.VALUE_CHANGE, save=False)
            self.sent = d.events.for_inform()
        codes = [c for c, _ in self.sent]
        serial = f.serial(d)
        inform = Inform(d.tpl.device_id + (serial,), self.sent,
                        self.view.inform_params(d.events.changed if ev.VALUE_CHANGE in codes else ()),
                        d.retry, iso_now())
        reqs = [CpeRequest("TransferComplete", tc, tc) for tc in d.done or ()]
        self.sess = Session(inform, f.version, f.timeout, reqs)
        wrong, slow, _, drop = f.faults
        user = _sub(f.cfg.get("acs", "username"), serial)
        password = _sub(f.cfg.get("acs", "password"), serial)
        if _pick(d.n, wrong, 1):
            password += "-wrong"
        self.http = Http(f.deadlines, f.acs_addr, f.acs_host, f.acs_path, user, password, f.timeout, f.max_body,
                         tls=f.tls, allow_basic=f.cfg.bool("acs", "allow_basic_over_http"))
        self.drop = drop > 0 and f.rng.random() < drop
        self.asked = 0.0

    def step(self):
        try:
            self._step()
        except Exception as e:  # a bug must not end the fleet: this session fails
            from rocket.base.log import log
            log.exception("sim: %s: internal error", self.f.serial(self.d))
            if self.retry is not None:
                self.http.abort()
                self._end(False, "internal error: %s" % e)

    def _end(self, ok, reason):
        self.retry, retry = None, self.retry  # ended once
        self.f.ended(self, ok, reason, retry)

    def _step(self):
        sess, f = self.sess, self.f
        while True:
            e = sess.next_event()
            if e is None:
                return
            if isinstance(e, Send):
                if self.drop and e.what != "Inform":
                    self.http.abort()
                    sess.fail("connection dropped (fault injection)")
                    continue
                self.asked = f.loop.clock()
                self.http.request("POST", e.body, self._answer)
                return
            if isinstance(e, AcsRequest):
                m = e.message
                f.current, f.rpc.model = self, self.view
                try:
                    body, label = f.rpc.handle(m, m.ns or sess.ns)
                finally:
                    f.current = f.rpc.model = None
                f.stats.count("rpc:" + m.name)
                wrong, slow, delay, _ = f.faults
                if _pick(self.d.n, slow, 2):
                    def later(body=body, label=label):
                        if self.retry is not None:  # not ended meanwhile
                            sess.respond(body, label)
                            self.step()
                    f.later(delay * f.scale, later, "sim-slow")  # real seconds
                    return
                sess.respond(body, label)
            elif isinstance(e, InformAcked):
                self.d.events.delivered_by_inform(self.sent)
                self.d.retry = 0
            elif isinstance(e, RequestAcked):
                d = self.d
                d.done = [x for x in d.done if x is not e.tag] or None
                if d.done is None:
                    d.events.deliver(_TC_EVENTS)
            elif isinstance(e, Finished):
                self.http.abort()
                return self._end(e.ok, e.reason)

    def _answer(self, status, body, err):
        self.f.stats.latency(self.f.loop.clock() - self.asked)
        if err is not None:
            self.sess.fail(err)
        else:
            self.sess.receive(status, body)
        self.step()


def _sub(template, serial, default=""):
    """A configured value with ``{serial}`` replaced; empty: ``default``."""
    return template.replace("{serial}", serial) if template else default


def _address(host, port):
    """(family, sockaddr) of the ACS: resolved once, before the loop runs (or a literal address)."""
    fam, _, _, _, sa = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    return fam, sa

