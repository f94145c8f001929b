"""The agent: owns the loop, decides when sessions run, and drives them.

This is where the sans-I/O pieces meet the world. ``Agent`` keeps the pending
events, the retry count and the timers (periodic inform, retry, scheduled
informs); ``run_session`` feeds a ``rocket.cwmp.session.Session`` with what an
``AcsClient`` brought back and hands ACS requests to the ``Dispatcher``.

When sessions run (TR-069 §3.2.1):

- at start if any event is pending (BOOT, BOOTSTRAP, anything left over);
- when the periodic timer fires (phase from PeriodicInformTime);
- when something asks for one (connection request, ScheduleInform, an
  active notification, the control socket) through ``request_session``;
- after a failed session, when the retry wait of §3.2.1.1 has passed.

Only one session runs at a time. A request for a session while one runs
sets ``followup`` and exactly one more session starts when it is over.
"""

import random
import time

from rocket.cwmp import events as ev
from rocket.cwmp import soap
from rocket.cwmp.schedule import next_periodic, retry_wait
from rocket.base.config import Config
from rocket.cwmp.events import EventQueue
from rocket.base.log import log
from rocket.net.loop import Loop
from rocket.net import resolver
from rocket.datamodel.model import DataModel
from rocket.cwmp.rpc import Dispatcher
from rocket.cwmp.session import (
    AcsRequest,
    CpeRequest,
    Finished,
    Inform,
    InformAcked,
    RequestAcked,
    Send,
    Session,
)
from rocket.base.statedir import StateDir
from rocket.base.timefmt import iso_now, parse_datetime  # noqa: F401 (iso_now: used by callers of rocket.agent)

_VERSION_STEPS = ("1.4", "1.1", "1.0")  # one per namespace, newest first


class Agent:
    def __init__(self, cfg, state_dir=None, boot=False, once=False, loop=None, wallclock=time.time,
                 rng=None):
        self.cfg = cfg
        cfg.validate()
        resolver.configure(cfg.get("dns", "resolv_conf"), cfg.get("dns", "hosts"))
        self.loop = loop or Loop()
        self.wallclock = wallclock
        self.rng = rng or random.Random()
        self.boot = boot
        self.once = once
        self.state = StateDir(state_dir or cfg.get("state", "dir"))
        self.events = EventQueue(self.state)
        self.rpc = Dispatcher(None)
        self.rebuild_model()
        saved = self.state.load("session", {}, {"bootstrapped_url": (str, type(None)), "versions": dict})
        self.bootstrapped_url = saved.get("bootstrapped_url")
        self.versions = saved.get("versions", {})
        self.retry_count = 0
        self.in_session = False
        self.followup = False
        self.session_timer = None
        self.periodic_timer = None
        self.retry_timer = None
        self.last_result = None  # (ok, reason, wall time)
        self.sessions = 0
        self.cpe_requests = []  # callables returning [CpeRequest] for the next session
        self.acked = {}  # CpeRequest name -> callback(tag) on its response
        self.after_session = []  # callables(ok) run once a session is over
        # callables() run just before a session starts (not yet in_session), so a
        # last look at the device (ConnectionRequestURL) goes into this Inform;
        # they may queue events but must not ask for a session
        self.before_session = []
        self.services = []  # objects with start(agent) / stop() (listeners, sockets)
        self.gates = []  # callables() -> None, or the reason no session may start now
        self.on_reload = []  # callables() run after SIGHUP re-read the configuration
        # The features the others may use, each None until plugins installs
        # it (one declared place, no probing of attributes):
        self.audit = _NoAudit()  # rocket.owner.audit.Audit once installed: audit.record(kind, **fields)
        self.policy = None  # rocket.owner.policy.Policy: the owner's limits
        self.notifier = None  # rocket.datamodel.notify.Notifier: value-change notifications
        self.ctl = None  # rocket.owner.ctl.ControlServer: the local control socket
        self.connreq = None  # rocket.connreq.httpcr: the HTTP connection-request listener
        self.lwnotif = None  # rocket.ops.lwnotif.Sender: lightweight notifications (Annex M)
        self._periodic_started = False  # the first periodic schedule is laid (random phase once)
        self._periodic_dirty = False  # the periodic schedule changed during a session
        self.heartbeat_timer = None
        self._heartbeat_started = False  # like _periodic_started, for HeartbeatPolicy
        self._heartbeat_due_now = False  # a heartbeat fell due while a session ran
        self.started = wallclock()
        self.exit_code = None

    def rebuild_model(self):
        """(Re)create the data model from ``self.cfg`` ([cpe] data_model and
        the DeviceInfo keys). Used at start, and by a feature that changes
        those keys while being installed (the static device backend), before
        any other feature holds on to the model."""
        self.root = self.cfg.get("cpe", "data_model") + "."
        self.model = DataModel(self.root, self.state)
        self.model.max_result = self.cfg.int("acs", "max_parameters", 1)
        self.model.build_builtin(self.cfg)
        self.model.on_set.append(self._on_param_set)
        self.model.value_checks.append(self._check_url)
        self.model.breathe = self.rpc.breathe = self.loop.breather()
        self.rpc.model = self.model

    # ------------------------------------------------------------ helpers
    def ms(self, name):
        return self.model.value(self.model.ms(name))

    @property
    def acs_url(self):
        return self.ms("URL") or ""

    # -------------------------------------------------------------- start
    def start(self):
        self.events.on_start(self.boot)
        if self.acs_url and self.acs_url != self.bootstrapped_url:
            if not self.events.has(ev.BOOTSTRAP):  # else forgotten when it was queued
                self._forget_versions()
            self.events.add(ev.BOOTSTRAP)
        for s in self.services:
            s.start(self)
        self.schedule_periodic()
        self.schedule_heartbeat()
        # A passive "4 VALUE CHANGE" alone waits for the next session; active
        # notifications ask for their own session (rocket.datamodel.notify).
        if any(c != ev.VALUE_CHANGE for c, _ in self.events.pending) or self.once:
            self.request_session()

    def stop(self):
        for s in self.services:
            try:
                s.stop()
            except Exception:
                log.exception("stopping %s", s)
        self.events.save()
        self.model.save()
        self.loop.stop()

    def run(self):
        self.start()
        self.loop.run()
        return self.exit_code or 0

    def reload(self):
        """SIGHUP: read the configuration file again."""
        try:
            cfg = Config.load(self.cfg.path)
            cfg.validate()
        except Exception as e:
            log.error("reload: configuration not reloaded: %s", e)
            return
        old_url = self.acs_url
        self.cfg = cfg
        resolver.configure(cfg.get("dns", "resolv_conf"), cfg.get("dns", "hosts"))
        self.model.reload_config(cfg)
        log.info("reload: configuration re-read from %s", cfg.path)
        self.schedule_periodic()
        self.schedule_heartbeat()
        for cb in list(self.on_reload):
            try:
                cb()
            except Exception:
                log.exception("reload: %s failed", cb)
        if self.acs_url != old_url:
            self._url_changed()

    # ----------------------------------------------------------- triggers
    def add_event(self, code, command_key="", start=True):
        self.events.add(code, command_key)
        if start:
            self.request_session()

    def request_session(self, delay=0.0):
        """Start a session soon; coalesced, never two at a time."""
        if self.in_session:
            self.followup = True
            return
        when = self.loop.clock() + delay
        if self.session_timer is not None and not self.session_timer.cancelled:
            if self.session_timer.when <= when:
                return
            self.session_timer.cancel()
        self.session_timer = self.loop.call_at(when, self._session_due, "session")

    def _session_due(self):
        self.session_timer = None
        if self.in_retry_wait():
            # §3.2.1.1: only a connection request (the ACS is evidently up)
            # cuts a retry wait short; everything else (notifications, local
            # requests, transfers) joins the retry when it is due.
            if not self.events.has(ev.CONNECTION_REQUEST):
                return
            self.retry_timer.cancel()
            self.retry_timer = None
        self.run_session()

    def in_retry_wait(self):
        return self.retry_timer is not None and not self.retry_timer.cancelled

    def schedule_periodic(self):
        if self.periodic_timer is not None:
            self.periodic_timer.cancel()
            self.periodic_timer = None
        if self.ms("PeriodicInformEnable") != "true":
            return
        try:
            interval = max(1, int(self.ms("PeriodicInformInterval")))
        except (TypeError, ValueError):
            interval = 86400
        phase = parse_datetime(self.ms("PeriodicInformTime"))
        delay = next_periodic(self.wallclock(), interval, phase)
        if phase is None and not self._periodic_started:
            # Unknown Time: a random phase within the first interval, so a
            # fleet that powers up together does not inform in lockstep.
            delay = self.rng.uniform(0, interval)
        self._periodic_started = True
        self.periodic_timer = self.loop.call_later(delay, self._periodic_due, "periodic", nested=True)

    def _periodic_due(self):
        self.periodic_timer = None
        self.events.add(ev.PERIODIC)
        self.schedule_periodic()
        if self.retry_timer is None or self.retry_timer.cancelled:
            self.request_session()

    # Heartbeat (TR-069 Annex O, ManagementServer.HeartbeatPolicy): its own
    # schedule, laid like the periodic one (InitiationTime + N x
    # ReportingInterval, a random phase for Unknown Time). A heartbeat
    # session carries "14 HEARTBEAT" alone, the Forced Inform parameters and
    # no other request of the CPE; pending events wait for a session of their
    # own. One that falls due during a session goes right after it; a failed
    # one is not retried (the next interval sends the next).
    def schedule_heartbeat(self):
        if self.heartbeat_timer is not None:
            self.heartbeat_timer.cancel()
            self.heartbeat_timer = None
        if self.ms("HeartbeatPolicy.Enable") != "true":
            return
        interval = max(30, _int(self.ms("HeartbeatPolicy.ReportingInterval"), 300))
        phase = parse_datetime(self.ms("HeartbeatPolicy.InitiationTime"))
        delay = next_periodic(self.wallclock(), interval, phase)
        if phase is None and not self._heartbeat_started:
            delay = self.rng.uniform(0, interval)
        self._heartbeat_started = True
        self.heartbeat_timer = self.loop.call_later(delay, self._heartbeat_due, "heartbeat", nested=True)

    def _heartbeat_due(self):
        self.heartbeat_timer = None
        self.schedule_heartbeat()
        self._heartbeat_run()

    def _heartbeat_run(self):
        if self.in_session:
            self._heartbeat_due_now = True  # right after this session
            return
        self.run_session(heartbeat=True)

    def _check_url(self, path, value):
        """SetParameterValues of ManagementServer.URL: a URL a session can use (else 9007)."""
        if value and path == self.model.ms("URL"):
            from rocket.base.config import url_problem
            why = url_problem(value)
            if why:
                from rocket.cwmp.values import BadValue
                raise BadValue("URL " + why)

    def _on_param_set(self, path, value):
        short = path[len(self.model.ms("")):]
        if short == "URL":
            self._url_changed()
        elif short in ("PeriodicInformEnable", "PeriodicInformInterval", "PeriodicInformTime"):
            self._periodic_dirty = True
        elif short.startswith("HeartbeatPolicy."):
            self._periodic_dirty = True  # both schedules are laid again at session end


    def _url_changed(self):
        log.info("ACS URL changed to %s: next session is a BOOTSTRAP", _safe(self.acs_url))
        self.events.add(ev.BOOTSTRAP)
        self._forget_versions()
        self.retry_count = 0
        if self.in_retry_wait():  # the wait was for the old ACS
            self.retry_timer.cancel()
            self.retry_timer = None
        self.request_session()

    def _forget_versions(self):
        """A new BOOTSTRAP (new or changed URL) offers our CWMP version again:
        a lower one is remembered after an 8006 only until then. Queued with
        the BOOTSTRAP, so the retries of that BOOTSTRAP keep a lowered one."""
        if self.versions:
            self.versions = {}
            self._save_session_state()

    # ------------------------------------------------------------ session
    def _device_id(self):
        di = self.root + "DeviceInfo."
        v = self.model.value
        return (v(di + "Manufacturer") or "", v(di + "ManufacturerOUI") or "",
                v(di + "ProductClass") or "", v(di + "SerialNumber") or "")

    def run_session(self, heartbeat=False):
        """Run one whole session now (blocking, but the loop keeps serving
        the nested-safe listeners while it waits on the network).
        ``heartbeat``: a "14 HEARTBEAT" session (see schedule_heartbeat)."""
        from rocket.net.acsclient import AcsClient, AcsError, safe_url
        if self.in_session:
            self.followup = True
            return None
        for gate in self.gates:
            why = gate()
            if why:
                log.warning("session: not started: %s", why)
                if self.once:
                    self.exit_code = 1
                    self.loop.stop()
                return False
        for cb in ([] if heartbeat else list(self.before_session)):
            try:
                cb()  # may queue events (add_event(..., start=False)) for this Inform
            except Exception:
                log.exception("before-session action failed")
        self.in_session = True
        self.followup = False
        self.sessions += 1
        url = self.acs_url
        sent_events = [(ev.HEARTBEAT, "")] if heartbeat else self.events.for_inform()
        if not url:
            log.error("session: no ACS URL configured ([acs] url); not starting a session")
            return self._session_over(False, "no ACS URL", sent_events, heartbeat=heartbeat)
        self.model.begin_session()
        version = self.cfg.get("cpe", "cwmp_version")
        remembered = self.versions.get(url)  # lowered after an 8006 from this ACS
        if remembered and _vt(remembered) < _vt(version):
            version = remembered
        inform = Inform(self._device_id(), sent_events,
                        self.model.inform_params(sent_events, self.events.changed, forced_only=heartbeat),
                        self.retry_count, iso_now(self.wallclock()))
        requests = []
        for src in ([] if heartbeat else self.cpe_requests):
            requests.extend(src())
        if self.cfg.bool("acs", "get_rpc_methods") and not heartbeat:
            requests.append(CpeRequest("GetRPCMethods", ""))
        timeout = self.cfg.int("acs", "session_timeout")
        sess = Session(inform, version, timeout, requests)
        sess.breathe = self.model.breathe
        tls = None
        if url.startswith("https:"):
            insecure = self.cfg.bool("acs", "insecure")
            if insecure:
                log.warning("session: TLS certificate checks are OFF ([acs] insecure); "
                            "the ACS is not authenticated")
            tls = {"ca_file": self.cfg.get("acs", "ca_file"),
                   "client_cert": self.cfg.get("acs", "client_cert"),
                   "client_key": self.cfg.get("acs", "client_key"), "insecure": insecure}
        password = self.model.store.get(self.model.ms("Password")).value
        client = AcsClient(url, self.ms("Username") or "", password, loop=self.loop, timeout=timeout, tls=tls,
                           allow_basic_over_http=self.cfg.bool("acs", "allow_basic_over_http"),
                           max_body=self.cfg.int("acs", "max_body"), gzip=self.ms("HTTPCompression") == "GZIP",
                           user_agent="rocket/%s" % _version())
        log.info("session: start %s events=[%s] retry=%d", safe_url(url),
                 ", ".join(_event(e) for e in sent_events), self.retry_count)
        self.audit.record("session_start", url=safe_url(url), events=[_event(e) for e in sent_events],
                          tls=bool(tls), retry=self.retry_count)
        result = None
        try:
            while result is None:
                e = sess.next_event()
                if isinstance(e, Send):
                    try:
                        status, body = client.post(e.body, may_redirect=e.what == "Inform")
                    except AcsError as err:
                        sess.fail(str(err))
                        continue
                    sess.receive(status, body)
                elif isinstance(e, AcsRequest):
                    m = e.message
                    body, label = self.rpc.handle(m, m.ns or sess.ns)
                    log.info("session: %s -> %s", m.name, label)
                    sess.respond(body, label)
                elif isinstance(e, InformAcked):
                    log.info("session: InformResponse (CWMP %s)", e.version)
                    if any(c == ev.BOOTSTRAP for c, _ in sent_events):
                        # Persist now: a crash later in this session must not
                        # make the next start send a second BOOTSTRAP.
                        self.bootstrapped_url = url
                        self._save_session_state()
                    if not heartbeat:
                        self.events.delivered_by_inform(sent_events)
                    self.retry_count = 0  # the Inform got through
                    self._inform_acked = True
                elif isinstance(e, RequestAcked):
                    log.info("session: %sResponse", e.name)
                    cb = self.acked.get(e.name)
                    if cb is not None:
                        cb(e.tag)
                elif isinstance(e, Finished):
                    result = e
        except Exception as err:  # never let a bug kill the agent
            log.exception("session: internal error")
            result = Finished(False, "internal error: %s" % err)
        finally:
            client.close()
        end = {"ok": result.ok, "auth": client.auth_method, "requests": len(sess.rpc_log)}
        if not result.ok:
            end["reason"] = result.reason
        if client.tls_version:
            end["tls"] = client.tls_version
        if client.redirected:
            end["redirected_to"] = safe_url(client.url)
        self.audit.record("session_end", **end)
        if result.downgrade:
            lower = [v for v in _VERSION_STEPS
                     if _vt(v) < _vt(version) and soap.ns_for_version(v) != soap.ns_for_version(version)]
            if lower:
                self.versions[url] = lower[0]
                log.warning("session: ACS refused CWMP %s; next session offers %s", version, lower[0])
        try:
            self.model.end_session()
        except Exception:
            log.exception("session: end-of-session apply failed")
        return self._session_over(result.ok, result.reason, sent_events, len(sess.rpc_log), heartbeat)

    def _session_over(self, ok, reason, sent_events, nrpc=0, heartbeat=False):
        self.in_session = False
        self.last_result = (ok, reason, self.wallclock())
        self._save_session_state()
        if ok:
            log.info("session: end ok (%d ACS request%s)", nrpc, "" if nrpc == 1 else "s")
            self.retry_count = 0
        elif heartbeat:
            log.warning("session: heartbeat failed: %s (not retried; the next one is due on schedule)", reason)
        else:
            log.warning("session: failed: %s", reason)
            self.events.session_failed()
            self.retry_count += 1
        for cb in list(self.after_session):
            try:
                cb(ok)
            except Exception:
                log.exception("after-session action failed")
        if self._periodic_dirty:
            self._periodic_dirty = False
            self.schedule_periodic()
            self.schedule_heartbeat()
        if self.once:
            self.exit_code = 0 if ok else 1
            self.loop.stop()
            return ok
        if self._heartbeat_due_now and not self.once:
            self._heartbeat_due_now = False
            self.loop.call_later(0, self._heartbeat_run, "heartbeat")
        if heartbeat and not ok:
            if self.followup or self._needs_session():
                self.followup = False
                self.request_session()
            return ok
        if not ok:
            m = _int(self.ms("CWMPRetryMinimumWaitInterval"), 5)
            k = _int(self.ms("CWMPRetryIntervalMultiplier"), 2000)
            wait = retry_wait(self.retry_count, m, k, self.rng)
            log.info("session: retry %d in %.0f s", self.retry_count, wait)
            if self.retry_timer is not None:
                self.retry_timer.cancel()
            self.retry_timer = self.loop.call_later(wait, self._retry_due, "retry")
        elif self.followup or self._needs_session():
            self.followup = False
            self.request_session()
        return ok

    def forget_acs(self):
        """Factory reset: no ACS was ever bootstrapped, no version remembered (saved)."""
        self.bootstrapped_url = None
        self.versions = {}
        self._save_session_state()

    def _save_session_state(self):
        self.state.save("session", {"bootstrapped_url": self.bootstrapped_url,
                                    "versions": self.versions})

    def _needs_session(self):
        """Events added during the session that want a session of their own."""
        return any(c in (ev.BOOTSTRAP, ev.CONNECTION_REQUEST) for c, _ in self.events.pending)

    def _retry_due(self):
        self.retry_timer = None
        self.run_session()


class _NoAudit:
    """Stands in for rocket.owner.audit.Audit when none is installed."""

    enabled = False

    def record(self, kind, **fields):
        pass

    def flush(self, persist=False):
        return 0


def _event(e):
    code, key = e
    return "%s %s" % (code, key) if key else code


def _vt(v):
    return tuple(int(x) for x in v.split("."))


def _int(v, default):
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def _safe(url):
    from rocket.net.acsclient import safe_url
    return safe_url(url)


def _version():
    from rocket import __version__
    return __version__
