"""The admission gate every connection request goes through (HTTP, UDP, XMPP).

What it is for: the rules the three kinds share, once. Each kind first
checks the proof it carries (Digest for HTTP, the HMAC signature for UDP,
the credentials inside the IQ for XMPP; ``same`` compares secrets in
constant time); then it asks the gate. Not for: parsing, sockets, answers
on the wire (each kind answers in its own protocol).

Rules, in order, for a request whose credentials are proven (``admit``):

1. the owner policy has turned remote management off: refused (REMOTE_OFF);
2. ``[connection_request] max_per_minute`` requests were already accepted in
   the last 60 seconds, all kinds together: refused (RATE_LIMITED), nothing
   started (0: no limit);
3. otherwise it counts against the limit, and once the kind has answered,
   ``accepted`` logs one line, records one audit entry and queues
   "6 CONNECTION REQUEST": at once when no session runs (a burst before the
   session starts gives that one session), else exactly one follow-up
   session after the current one, which carries the event (queued when the
   current session is over, so its InformResponse cannot swallow it).

Refusals (``refused``): one warning line each, at most LOG_BURST a minute;
beyond that they are only counted, and the count is logged and audited once
the minute is over. The audit records the same refusals the log shows, so a
flood cannot fill the audit trail either.

``RateLimit`` and ``LogBudget`` are pure (the time is passed in); ``Gate``
applies them with the loop's clock.
"""

import collections

from rocket.base.log import log
from rocket.cwmp.events import CONNECTION_REQUEST
from rocket.net.digestserver import same  # noqa: F401 (the one constant-time compare, for every kind)

WINDOW = 60.0
LOG_BURST = 20  # refusal lines per minute before they are only counted
REMOTE_OFF = "remote management is off (owner policy)"
RATE_LIMITED = "rate limited"


class RateLimit:
    """At most ``per_minute`` admissions in any WINDOW seconds (0: no limit)."""

    def __init__(self):
        self.times = collections.deque()  # clock of the admissions in the window

    def allow(self, now, per_minute):
        """Count one admission at ``now``; False (not counted) if it is one too many."""
        times = self.times
        while times and times[0] <= now - WINDOW:
            times.popleft()
        if per_minute and len(times) >= per_minute:
            return False
        times.append(now)
        return True


class LogBudget:
    """LOG_BURST lines per minute; ``take(now)`` -> (show this one, the
    count left unshown in the minute that just ended, to report now)."""

    def __init__(self, burst=LOG_BURST):
        self.burst = burst
        self.start = None
        self.shown = self.hidden = 0

    def take(self, now):
        ended = 0
        if self.start is None or now - self.start >= WINDOW:
            ended = self.hidden
            self.start, self.shown, self.hidden = now, 0, 0
        if self.shown < self.burst:
            self.shown += 1
            return True, ended
        self.hidden += 1
        return False, ended


class Gate:
    """The shared state: rate limit, log budget, the pending follow-up."""

    def __init__(self, agent):
        self.agent = agent
        self.clock = agent.loop.clock
        self.limit = RateLimit()
        self.budget = LogBudget()
        self.followup = False  # accepted during a session: one more session after it
        agent.after_session.append(self._after_session)

    def per_minute(self):
        return self.agent.cfg.int("connection_request", "max_per_minute", 0)

    def admit(self, kind, peer):
        """None: go ahead (answer the request, then call ``accepted``);
        else the reason to refuse (REMOTE_OFF or RATE_LIMITED)."""
        policy = self.agent.policy
        if policy is not None and not policy.remote:
            return REMOTE_OFF
        if not self.limit.allow(self.clock(), self.per_minute()):
            return RATE_LIMITED
        return None

    def accepted(self, kind, peer, how=""):
        """Log, audit, and queue "6 CONNECTION REQUEST" (coalesced)."""
        agent = self.agent
        log.info("connreq: accepted from %s (%s%s)%s", peer, kind, ", " + how if how else "",
                 ": session follows the current one" if agent.in_session else "")
        fields = {"auth": how} if how else {}
        agent.audit.record("connection_request", channel=kind, result="accepted", peer=peer, **fields)
        if agent.in_session:
            self.followup = True
            agent.request_session()  # sets the agent's follow-up flag
        else:
            agent.add_event(CONNECTION_REQUEST)

    def refused(self, kind, peer, reason, status=None):
        """One warning line and one audit record, within the log budget.
        True if this one was shown."""
        shown = self.warn("connreq: refused %s from %s: %s",
                          status if status is not None else kind + " request", peer, reason)
        if shown:
            fields = {"status": status} if status is not None else {}
            self.agent.audit.record("connection_request", channel=kind, result="refused", peer=peer,
                                    reason=reason, **fields)
        return shown

    def warn(self, fmt, *args):
        """A warning line within the log budget; True if it was shown."""
        shown, ended = self.budget.take(self.clock())
        if ended:
            log.warning("connreq: %d more refusals in the last minute not logged", ended)
            self.agent.audit.record("connection_request", result="refused", count=ended,
                                    reason="more refusals, not detailed")
        if shown:
            log.warning(fmt, *args)
        return shown

    def _after_session(self, ok):
        if self.followup:
            self.followup = False
            self.agent.events.add(CONNECTION_REQUEST)
            self.agent.request_session()
