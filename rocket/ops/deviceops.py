"""Reboot, FactoryReset and ScheduleInform: the RPCs, and doing them after
the session that asked for them has ended cleanly.

Rules:

- Each is journalled (rocket.ops.journal) before it is answered, and
  applied only after a clean end of the session (a failed session leaves it
  staged for the next one).
- Reboot: the CommandKey is journalled, the reboot hook runs, and the next
  start with --boot reports "1 BOOT" + "M Reboot". The reboot hook must be
  configured and executable when the RPC arrives (else 9001/9002).
- FactoryReset: each owner of ACS-given state resets itself (the data
  model: ParameterKey, attributes, ACS overrides; the agent's session
  record; the journal; the event queue, which keeps only "0 BOOTSTRAP"),
  then the factory reset hook runs. A reset interrupted by a power cut is
  finished at the next start.
- ScheduleInform keeps an absolute deadline across restarts; when it is
  due, "3 SCHEDULED" + "M ScheduleInform" go out. Pending ones (and
  ScheduleDownloads not yet started) are dropped when a "0 BOOTSTRAP" goes
  out.

Not here: transfers (rocket.ops.transfer_rpcs, transfer_runner), the
reboots the ACS schedules through parameters (rocket.ops.reboots, which
uses ``reboot``).
"""

from rocket.base.log import log
from rocket.cwmp import events as ev
from rocket.cwmp import soap
from rocket.cwmp.rpc import command_key, uint
from rocket.cwmp.soap import CwmpFault


class DeviceOps:
    def __init__(self, agent, journal, hooks, runner):
        self.agent = agent
        self.journal = journal
        self.hooks = hooks
        self.runner = runner  # asked to stop and forget its transfers on a factory reset
        self._inform_timer = None

    def install(self, rpc):
        for name in ("Reboot", "FactoryReset", "ScheduleInform"):
            rpc.register(name, getattr(self, "do_" + name))

    # --------------------------------------------------------------- RPCs
    def do_Reboot(self, msg):
        key = command_key(msg.body)
        self.hooks.ready("reboot_hook")
        self.journal.set_reboot(key, "staged")
        return [soap.rpc("RebootResponse")]

    def do_FactoryReset(self, msg):
        self.hooks.ready("factory_reset_hook")
        self.journal.set_reset("staged")
        return [soap.rpc("FactoryResetResponse")]

    def do_ScheduleInform(self, msg):
        key = command_key(msg.body)
        delay = uint(msg.body, "DelaySeconds")
        if delay <= 0:
            raise CwmpFault(9003, "DelaySeconds must be greater than 0")
        self.journal.add_inform(key, self.agent.wallclock() + delay)
        return [soap.rpc("ScheduleInformResponse")]

    # ---------------------------------------------------------- lifecycle
    def start(self, boot):
        """Recover what a restart interrupted; True when a reset or reboot
        holds the transfers back."""
        j = self.journal
        r = j.reboot
        if r is not None and (boot or r["state"] == "rebooting"):
            self.agent.events.add(ev.M_REBOOT, r.get("key", ""))
            j.set_reboot("", None)
        if j.reset_state == "resetting":
            log.info("factory reset: finishing after restart")
            self._wipe()
            j.set_reset(None)
        self._arm_informs()

    def stop(self):
        if self._inform_timer is not None:
            self._inform_timer.cancel()

    def busy(self):
        """A reset or a reboot is under way: no transfer may start."""
        return bool(self.journal.reset_state) or (self.journal.reboot or {}).get("state") == "rebooting"

    def on_bootstrap(self):
        """A "0 BOOTSTRAP" goes out: scheduled informs and downloads that the
        previous ACS asked for are dropped (those of this session stay)."""
        j = self.journal
        old = [i.get("id") for i in j.informs if not i.get("staged")]
        old += [t.id for t in j.transfers if t.kind == "schedule" and t.state == "queued"]
        if old:
            log.info("transfer: BOOTSTRAP: pending scheduled informs and downloads dropped")
            j.drop(old)
            self._arm_informs()

    def after_session(self):
        """The session ended cleanly: apply what it asked for; True when a
        reset or reboot is under way."""
        self._arm_informs()
        j = self.journal
        if j.reset_state == "staged":
            self._factory_reset()
            return True
        r = j.reboot
        if r is not None and r["state"] == "staged":
            j.set_reboot(r["key"], "rebooting")
            self.reboot("Reboot RPC (CommandKey %r)" % r["key"])
            return True
        return False

    # ------------------------------------------------------ ScheduleInform
    def _arm_informs(self):
        if self._inform_timer is not None:
            self._inform_timer.cancel()
            self._inform_timer = None
        live = [i["at"] for i in self.journal.informs if not i.get("staged")]
        if live:
            delay = max(0.0, min(live) - self.agent.wallclock())
            self._inform_timer = self.agent.loop.call_later(delay, self._informs_due, "schedule-inform")

    def _informs_due(self):
        self._inform_timer = None
        now = self.agent.wallclock()
        due = [i for i in self.journal.informs if not i.get("staged") and i["at"] <= now]
        if due:
            q = self.agent.events
            for i in due:
                q.add(ev.SCHEDULED, save=False)
                q.add(ev.M_SCHEDULE_INFORM, i["key"], save=False)
            q.save()
            self.journal.drop(i.get("id") for i in due)
            log.info("schedule inform: %d due", len(due))
            self.agent.request_session()
        self._arm_informs()

    # ------------------------------------------------------ device ops
    def reboot(self, reason):
        a = self.agent
        log.info("reboot: %s", reason)
        a.audit.record("reboot", reason=reason)
        a.audit.flush(persist=True)  # the device may be gone before the hook returns
        if self.hooks.run("reboot_hook", {"ROCKET_REASON": reason}) == 0:
            log.info("reboot: hook done; the agent stops and waits for the system to go down")
            a.stop()
        else:
            log.error("reboot: the reboot hook failed; the device was not rebooted")
            a.audit.record("reboot", reason=reason, result="failed: the hook failed")

    def _factory_reset(self):
        a = self.agent
        self.journal.set_reset("resetting")
        log.info("factory reset: clearing the agent's state")
        a.audit.record("factory_reset", reason="FactoryReset RPC")
        a.audit.flush(persist=True)  # the device may be gone before the hook returns
        self._wipe()
        if self.hooks.run("factory_reset_hook", {"ROCKET_REASON": "FactoryReset RPC"}) == 0:
            log.info("factory reset: hook done; the agent stops and waits for the system to go down")
            a.stop()
            return
        log.error("factory reset: the hook failed; continuing with the cleared agent state")
        self.journal.set_reset(None)
        a.request_session()

    def _wipe(self):
        """Forget everything the ACS set up (idempotent): each owner resets itself."""
        a = self.agent
        a.model.factory_reset()
        a.forget_acs()
        self.runner.reset()
        self.journal.reset()
        a.events.reset(a.boot)
        self._arm_informs()
