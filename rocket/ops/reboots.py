"""Reboots the ACS schedules through parameters (TR-181 2.10):
``ManagementServer.ScheduleReboot`` (an absolute time) and ``DelayReboot``
(seconds after the end of the session that set it).

Rules, as TR-181 words them:

- ScheduleReboot: at that time the device reboots; a session in progress
  then ends first. A time already past does nothing (so the value can stay
  after the reboot it caused).
- DelayReboot: N >= 0 reboots N seconds after the end of the session in
  which the ACS set it; -1 (the default) cancels a pending one. Whenever the
  device reboots, the agent sets it back to -1 (persisted).
- Either goes through the configured reboot hook, like the Reboot RPC (the
  owner policy's ``[management] reboot = no`` already refuses the writes),
  and is audited as a reboot with its reason.
- A pending delayed reboot survives an agent restart (its due time is kept
  in ``reboots.json``); a device reboot clears it.

Not here: the Reboot RPC itself (rocket.ops.deviceops, whose reboot this
uses).
"""

from rocket.base.log import log
from rocket.base.timefmt import parse_datetime

_DOC = {"delay_due": (int, float, type(None))}


class RebootSchedule:
    """A service: ``start(agent)`` / ``stop()``; ``reboot(reason)`` does it."""

    def __init__(self, agent, reboot):
        self.agent = agent
        self.reboot = reboot
        self.model = agent.model
        self.p_schedule = agent.model.ms("ScheduleReboot")
        self.p_delay = agent.model.ms("DelayReboot")
        self.timers = {}  # "schedule" / "delay" -> loop timer
        self.due_after_session = None  # the reason of a reboot that waits for the session's end
        self.delay_set = False  # DelayReboot written in the running session
        self.doc = {"delay_due": None}

    def install(self):
        a = self.agent
        self.model.on_set.append(self._on_set)
        a.after_session.append(self._after_session)
        a.services.append(self)

    # --------------------------------------------------------- lifecycle
    def start(self, agent):
        saved = agent.state.load("reboots", {"delay_due": None}, _DOC)
        self.doc = saved if isinstance(saved, dict) else {"delay_due": None}
        if agent.boot:
            # TR-181: whenever the CPE reboots, DelayReboot goes back to -1
            self.doc["delay_due"] = None
            self._save()
            if self.model.value(self.p_delay) not in (None, "-1"):
                self.model.set_persisted(self.p_delay, "-1")
        self._arm_schedule()
        self._arm_delay()

    def stop(self):
        for t in self.timers.values():
            t.cancel()
        self.timers = {}

    def _save(self):
        self.agent.state.save("reboots", self.doc)

    # ---------------------------------------------------------- triggers
    def _on_set(self, path, value):
        if path == self.p_delay:
            self.delay_set = True
        elif path == self.p_schedule:
            self._arm_schedule()

    def _after_session(self, ok):
        if ok and self.delay_set:
            try:
                n = int(self.model.value(self.p_delay))
            except (TypeError, ValueError):
                n = -1
            self.doc["delay_due"] = None if n < 0 else self.agent.wallclock() + n
            self._save()
            self._arm_delay()
        self.delay_set = False
        if self.due_after_session is not None:
            reason, self.due_after_session = self.due_after_session, None
            self._fire(reason)

    # ------------------------------------------------------------ timers
    def _arm(self, name, at, reason):
        old = self.timers.pop(name, None)
        if old is not None:
            old.cancel()
        if at is None:
            return
        delay = at - self.agent.wallclock()
        if delay < 0 and name == "schedule":
            return  # a past time: no reboot (TR-181)
        log.info("reboot: %s in %.0f s", reason, max(0.0, delay))
        self.timers[name] = self.agent.loop.call_later(max(0.0, delay), lambda: self._due(name, reason),
                                                       "reboot-" + name, nested=True)

    def _arm_schedule(self):
        when = parse_datetime(self.model.value(self.p_schedule))
        self._arm("schedule", when, "ScheduleReboot %s" % self.model.value(self.p_schedule))

    def _arm_delay(self):
        self._arm("delay", self.doc.get("delay_due"), "DelayReboot")

    def _due(self, name, reason):
        self.timers.pop(name, None)
        if name == "delay":
            self.doc["delay_due"] = None
            self._save()
        if self.agent.in_session:
            self.due_after_session = reason  # TR-181: the session ends first
            return
        self._fire(reason)

    def _fire(self, reason):
        self.reboot(reason)


def install(agent, reboot):
    """Add the schedule to ``agent``; ``reboot(reason)`` performs a reboot."""
    s = RebootSchedule(agent, reboot)
    s.install()
    return s
