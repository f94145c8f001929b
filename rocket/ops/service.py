"""Transfers and device operations wired into the agent: one journal, its
hooks, the RPCs, the runner, the spool of autonomous transfers and the
device operations, each owning its part (see their modules).

Order at start: a reboot or factory reset in progress is finished
(rocket.ops.deviceops), interrupted transfers are recovered
(transfer_runner.recover), the events are made to match the journal, the
spool is read, then the runner looks for work. After each session the spool
is read; after a clean one, what the session staged is released, and a
reset or reboot it asked for happens before any transfer starts.

transfer_rpcs and transfer_runner are imported at their first use: a
transfer RPC, a transfer or a transfer event in the journal at start, a
TransferComplete to send, a factory reset; an agent that never transfers
never loads them.

``rocket.pyz ctl transfers`` lists the journal.
"""

from rocket.cwmp import events as ev
from rocket.cwmp.transfer import DONE
from rocket.ops.autonomous import Spool, check_file_types
from rocket.ops.deviceops import DeviceOps
from rocket.ops.hooks import Hooks
from rocket.ops.journal import Journal

RPCS = ("Download", "Upload", "ScheduleDownload", "GetQueuedTransfers", "GetAllQueuedTransfers", "CancelTransfer")
EVENTS = (ev.TRANSFER_COMPLETE, ev.M_DOWNLOAD, ev.M_UPLOAD, ev.M_SCHEDULE_DOWNLOAD, ev.AUTONOMOUS_TRANSFER_COMPLETE)


class Transfers:
    """A service: ``start(agent)`` / ``stop()``."""

    def __init__(self, agent):
        self.agent = agent
        self.journal = j = Journal(agent.state)
        self.hooks = Hooks(agent)
        self._runner = self._rpcs = None
        self.devops = DeviceOps(agent, j, self.hooks, self)  # self.reset: the runner's
        self.spool = Spool(agent, j)

    @property
    def runner(self):
        """rocket.ops.transfer_runner.Runner (and the RPCs), made at the first use."""
        if self._runner is None:
            from rocket.ops.transfer_rpcs import TransferRpcs
            from rocket.ops.transfer_runner import Runner
            a, j = self.agent, self.journal
            self._runner = Runner(a, j, self.hooks, self._completed, self._reboot)
            self._runner.held = self.devops.busy
            self._rpcs = TransferRpcs(a, j, self.hooks, self._runner.free_space)
        return self._runner

    @property
    def rpcs(self):
        """rocket.ops.transfer_rpcs.TransferRpcs, made with the runner."""
        return self.runner and self._rpcs

    def _completed(self, t):
        self.rpcs.completed(t)

    def _reboot(self, reason):
        self.devops.reboot(reason)

    def reset(self):
        self.runner.reset()

    def _rpc(self, name):
        return lambda msg: getattr(self.rpcs, "do_" + name)(msg)

    def _requests(self):
        done = any(t.state == DONE for t in self.journal.transfers)
        return self.rpcs.requests() if done else []

    def _kick(self):
        if self._runner is not None or self.journal.transfers:
            self.runner.kick()

    def install(self):
        a = self.agent
        for name in RPCS:  # as TransferRpcs.install, each loading it when called
            a.rpc.register(name, self._rpc(name))
        a.cpe_requests.append(self._requests)
        a.acked["TransferComplete"] = lambda tag: self.rpcs._acked(tag, False)
        a.acked["AutonomousTransferComplete"] = lambda tag: self.rpcs._acked(tag, True)
        self.devops.install(a.rpc)
        a.cpe_requests.insert(0, self._session_starts)
        a.model.value_checks.append(check_file_types)
        a.after_session.append(self._after_session)
        a.services.append(self)
        from rocket.ops import reboots, reqdl
        reboots.install(a, self._reboot)
        reqdl.install(a)  # RequestDownload, asked for on the control socket
        ctl = a.ctl  # the control socket, when there is one
        if ctl is not None:
            ctl.handlers["transfers"] = self._ctl_transfers
            ctl.handlers["autonomous"] = self.spool.ctl_autonomous

    def start(self, agent):
        self.devops.start(agent.boot)
        if self.journal.transfers or any(agent.events.has(c) for c in EVENTS):
            self.runner.recover(agent.boot)
            self.rpcs.sync_events()
        self.spool.start()
        self._kick()

    def stop(self):
        if self._runner is not None:
            self._runner.stop()
        self.devops.stop()
        self.spool.stop()

    def _session_starts(self):
        if self.agent.events.has(ev.BOOTSTRAP):
            self.devops.on_bootstrap()
        return []

    def _after_session(self, ok):
        self.spool.scan()
        if ok:
            self.journal.release()
            if not self.devops.after_session():
                self._kick()

    def _ctl_transfers(self, rest):
        from rocket.owner.ctl import escape
        j = self.journal
        lines = ["%d %s %s key=%s type=%s%s" % (
            t.id, t.kind, "queued (staged)" if t.state == "staged" else t.state, escape(t.key),
            escape(t.file_type), " fault=%d" % t.fault_code if t.state == "done" else "")
            for t in j.transfers]
        now = self.agent.wallclock()
        lines += ["inform key=%s in %.0f s%s" % (escape(i["key"]), i["at"] - now,
                                                 " (staged)" if i.get("staged") else "") for i in j.informs]
        if j.reboot:
            lines.append("reboot key=%s %s" % (escape(j.reboot["key"]), j.reboot["state"]))
        if j.reset_state:
            lines.append("factory-reset %s" % j.reset_state)
        return lines


def install(agent):
    Transfers(agent).install()
