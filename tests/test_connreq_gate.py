"""The admission gate's rules (rocket.connreq.gate), table-driven, with an
injected clock: no sockets, no sleeps. The end-to-end tests of each kind
are in test_connreq.py, test_udpcr.py and test_xmpp.py."""

import pytest

from rocket.connreq import gate as g


@pytest.mark.parametrize("per_minute, times, want", [
    # no limit
    (0, [0, 0, 0, 0], [True, True, True, True]),
    # two a minute: the third within the window is refused, not counted
    (2, [0, 1, 2, 59.9], [True, True, False, False]),
    # the window slides: 60 s after the first, its slot is free again
    (2, [0, 1, 60, 60.5, 61], [True, True, True, False, True]),
    # refusals do not extend the wait
    (1, [0, 30, 59, 60], [True, False, False, True]),
    (3, [0, 0, 0, 0, 100, 100, 100, 100], [True, True, True, False, True, True, True, False]),
])
def test_rate_limit(per_minute, times, want):
    r = g.RateLimit()
    assert [r.allow(t, per_minute) for t in times] == want


def test_rate_limit_follows_a_changed_setting():
    r = g.RateLimit()
    assert [r.allow(0, 2), r.allow(1, 2), r.allow(2, 2)] == [True, True, False]
    assert r.allow(3, 3) is True  # raised by a reload: room at once
    assert r.allow(4, 1) is False  # lowered: the admissions in the window count


@pytest.mark.parametrize("burst, times, want", [
    # (shown, count of the minute that ended, reported now)
    (2, [0, 1, 2, 3], [(True, 0), (True, 0), (False, 0), (False, 0)]),
    (2, [0, 1, 2, 3, 60], [(True, 0), (True, 0), (False, 0), (False, 0), (True, 2)]),
    (1, [0, 59.9, 60, 200], [(True, 0), (False, 0), (True, 1), (True, 0)]),
    (3, [10, 20, 30], [(True, 0)] * 3),
])
def test_log_budget(burst, times, want):
    b = g.LogBudget(burst)
    assert [b.take(t) for t in times] == want


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class _Loop:
    def __init__(self):
        self.clock = _Clock()


class _Policy:
    remote = True


class _Audit:
    def __init__(self):
        self.records = []

    def record(self, kind, **fields):
        self.records.append(dict(fields, kind=kind))


class _Events:
    def __init__(self):
        self.added = []

    def add(self, code, key=""):
        self.added.append(code)


class _Cfg:
    def __init__(self, per_minute):
        self.per_minute = per_minute

    def int(self, sec, key, lo=None, hi=None):
        assert (sec, key) == ("connection_request", "max_per_minute")
        return self.per_minute


class _Agent:
    """What the gate uses of the agent, recording what it is asked."""

    def __init__(self, per_minute=30, policy=None):
        self.loop = _Loop()
        self.cfg = _Cfg(per_minute)
        self.policy = policy
        self.audit = _Audit()
        self.events = _Events()
        self.after_session = []
        self.in_session = False
        self.calls = []

    def add_event(self, code):
        self.calls.append(("add_event", code))

    def request_session(self):
        self.calls.append(("request_session",))


@pytest.mark.parametrize("remote, per_minute, n, want", [
    (None, 2, 3, [None, None, g.RATE_LIMITED]),  # no policy installed
    (True, 2, 3, [None, None, g.RATE_LIMITED]),
    (True, 0, 3, [None, None, None]),
    (False, 2, 2, [g.REMOTE_OFF, g.REMOTE_OFF]),  # the owner said no: not even counted
])
def test_admit(remote, per_minute, n, want):
    pol = None
    if remote is not None:
        pol = _Policy()
        pol.remote = remote
    agent = _Agent(per_minute, pol)
    gate = g.Gate(agent)
    assert [gate.admit(kind, "p") for kind in ("http", "udp", "xmpp")[:n]] == want
    if remote is False:
        pol.remote = True
        assert gate.admit("http", "p") is None  # the refusals used no budget


def test_one_budget_for_every_kind():
    agent = _Agent(per_minute=3)
    gate = g.Gate(agent)
    assert [gate.admit(k, "p") for k in ("http", "udp", "xmpp", "http")] == [None] * 3 + [g.RATE_LIMITED]
    agent.loop.clock.now += 60
    assert gate.admit("udp", "p") is None


def test_accepted_when_idle_queues_the_event_at_once():
    agent = _Agent()
    gate = g.Gate(agent)
    gate.accepted("udp", "192.0.2.1:7547")
    gate.accepted("http", "192.0.2.1", "digest ok")
    assert agent.calls == [("add_event", "6 CONNECTION REQUEST")] * 2  # coalesced by the agent
    assert [(r["channel"], r["result"], r.get("auth")) for r in agent.audit.records] == [
        ("udp", "accepted", None), ("http", "accepted", "digest ok")]


def test_a_burst_during_a_session_gives_one_followup_carrying_the_event():
    agent = _Agent()
    gate = g.Gate(agent)
    agent.in_session = True
    for kind in ("http", "udp", "xmpp"):
        gate.accepted(kind, "p")
    assert agent.events.added == []  # not in the running session's Inform
    assert ("add_event", "6 CONNECTION REQUEST") not in agent.calls
    agent.in_session = False
    agent.calls = []
    for cb in agent.after_session:
        cb(True)
    assert agent.events.added == ["6 CONNECTION REQUEST"]
    assert agent.calls == [("request_session",)]
    for cb in agent.after_session:  # the next session's end: nothing more
        cb(True)
    assert agent.events.added == ["6 CONNECTION REQUEST"] and agent.calls == [("request_session",)]


def test_refusals_are_logged_and_audited_within_the_budget(caplog):
    agent = _Agent()
    gate = g.Gate(agent)
    shown = [gate.refused("http", "192.0.2.9", "bad request", 400) for _ in range(g.LOG_BURST + 5)]
    assert shown == [True] * g.LOG_BURST + [False] * 5
    assert len(agent.audit.records) == g.LOG_BURST
    assert agent.audit.records[0] == {"kind": "connection_request", "channel": "http",
                                      "result": "refused", "peer": "192.0.2.9",
                                      "reason": "bad request", "status": 400}
    lines = [r.getMessage() for r in caplog.records]
    assert lines.count("connreq: refused 400 from 192.0.2.9: bad request") == g.LOG_BURST
    agent.loop.clock.now += 60
    assert gate.refused("xmpp", "acs@example.com/x", "wrong credentials") is True
    assert "connreq: 5 more refusals in the last minute not logged" in [r.getMessage() for r in caplog.records]
    assert agent.audit.records[-2] == {"kind": "connection_request", "result": "refused", "count": 5,
                                       "reason": "more refusals, not detailed"}
    assert agent.audit.records[-1]["channel"] == "xmpp" and "status" not in agent.audit.records[-1]
    assert caplog.records[-1].getMessage() == \
        "connreq: refused xmpp request from acs@example.com/x: wrong credentials"


@pytest.mark.parametrize("a, b, want", [
    ("secret", "secret", True), ("secret", "Secret", False), ("", "", True), ("a", "", False),
    ("pässword", "pässword", True), ("\udcff", "\udcff", True),  # surrogate-escaped bytes compare too
])
def test_same(a, b, want):
    assert g.same(a, b) is want
