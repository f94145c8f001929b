"""Retry after failed sessions (TR-069 §3.2.1.1), event persistence, periodic informs."""

import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import write_conf
from rocket.agent import Agent, next_periodic, parse_datetime, retry_wait
from rocket.base.config import Config
from rocket.net.loop import Loop

# ------------------------------------------------------------- pure rules


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 12), m=st.integers(1, 65535), k=st.integers(1000, 65535),
       seed=st.integers(0, 2 ** 32))
def test_retry_wait_bounds(n, m, k, seed):
    import random
    w = retry_wait(n, m, k, random.Random(seed))
    c = min(n, 10)
    lo, hi = m * (k / 1000) ** (c - 1), m * (k / 1000) ** c
    assert lo * (1 - 1e-9) <= w <= hi * (1 + 1e-9)


def test_retry_wait_covers_the_range():
    import random
    rng = random.Random(7)
    ws = [retry_wait(1, 5, 2000, rng) for _ in range(2000)]
    assert min(ws) < 5.1 and max(ws) > 9.9  # randomized over [5, 10], not a constant
    assert 5 <= min(retry_wait(12, 5, 2000, rng) for _ in range(100)) / 512 <= 10


@given(now=st.integers(0, 2 ** 40), interval=st.integers(1, 10 ** 7), phase=st.integers(0, 2 ** 40))
def test_next_periodic_alignment(now, interval, phase):
    d = next_periodic(now, interval, phase)
    assert 0 < d <= interval
    assert (now + d - phase) % interval == 0


def test_next_periodic_examples():
    assert next_periodic(1000, 100, 950) == 50  # phase in the past
    assert next_periodic(1000, 100, 5030) == 30  # phase in the future
    assert next_periodic(1000, 100, 1000) == 100  # strictly after now
    assert next_periodic(1000, 100, None) == 100  # Unknown Time
    assert parse_datetime("0001-01-01T00:00:00Z") is None
    assert parse_datetime("") is None
    assert parse_datetime("2026-01-01T00:00:00Z") == 1767225600
    assert parse_datetime("2026-01-01T01:00:00+01:00") == 1767225600
    assert parse_datetime("0999-01-01T00:00:00Z") is None  # relative to boot


# ------------------------------------------------------- in-process agent
class Clock:
    """Monotonic time plus an offset the test moves forward."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self):
        return time.monotonic() + self.offset


def agent_with_clock(tmp_path, url, **sections):
    clock = Clock()
    conf = write_conf(tmp_path, url, **sections)
    agent = Agent(Config.load(conf), boot=True, once=False, loop=Loop(clock=clock))
    return agent, clock


def drive(agent, cond, timeout=20):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        agent.loop.run_once(max_wait=0.05)


def retry_counts(acs):
    return [int(re.search(rb"<RetryCount>(\d+)</RetryCount>", r.body).group(1))
            for r in acs.requests if b"<cwmp:Inform>" in r.body]


def test_retry_count_and_waits_across_failed_sessions(acs, tmp_path):
    m, k = 3, 2500
    acs.status_override = (503, b"busy")
    agent, clock = agent_with_clock(tmp_path, acs.url, acs={
        "retry_minimum_wait_interval": m, "retry_interval_multiplier": k,
        "periodic_inform_enable": "false"})
    agent.start()
    for n in range(1, 6):
        drive(agent, lambda: len(retry_counts(acs)) == n and not agent.in_session
              and agent.retry_timer is not None)
        delay = agent.retry_timer.when - clock()
        assert m * (k / 1000) ** (n - 1) - 0.5 <= delay <= m * (k / 1000) ** n
        assert retry_counts(acs) == list(range(n))
        clock.offset += delay + 0.01  # the wait is over
    acs.status_override = None
    drive(agent, lambda: len(acs.sessions) == 1 and acs.sessions[0].ended and not agent.in_session)
    assert retry_counts(acs)[-1] == 5
    assert agent.retry_count == 0 and agent.retry_timer is None
    assert agent.last_result[0] is True
    events = re.findall(r"<EventCode>([^<]*)<", acs.sessions[0].inform)
    assert sorted(events) == ["0 BOOTSTRAP", "1 BOOT"]  # kept through every failure
    agent.request_session()
    drive(agent, lambda: len(acs.sessions) == 2 and acs.sessions[1].ended and not agent.in_session)
    assert retry_counts(acs)[-1] == 0
    agent.stop()


def test_connection_request_event_dropped_after_failed_session(acs, tmp_path):
    acs.status_override = (500, b"")
    agent, clock = agent_with_clock(tmp_path, acs.url, acs={"periodic_inform_enable": "false"})
    agent.start()
    agent.events.add("6 CONNECTION REQUEST")  # before the first session runs
    drive(agent, lambda: len(acs.requests) == 1 and agent.retry_timer is not None)
    assert b"<EventCode>6 CONNECTION REQUEST</EventCode>" in acs.requests[0].body
    assert not agent.events.has("6 CONNECTION REQUEST") and agent.events.has("1 BOOT")
    acs.status_override = None
    clock.offset += agent.retry_timer.when - clock() + 0.01
    drive(agent, lambda: len(acs.sessions) == 1 and acs.sessions[0].ended and not agent.in_session)
    assert "6 CONNECTION REQUEST" not in acs.sessions[0].inform
    assert "1 BOOT" in acs.sessions[0].inform
    agent.stop()


def test_periodic_session_happens(acs, tmp_path):
    agent, clock = agent_with_clock(tmp_path, acs.url, acs={
        "periodic_inform_interval": "1", "periodic_inform_time": "2020-01-01T00:00:00Z"})
    agent.start()
    drive(agent, lambda: sum(1 for s in acs.sessions if s.ended) >= 3)
    agent.stop()
    evs = [re.findall(r"<EventCode>([^<]*)<", s.inform) for s in acs.sessions]
    assert "1 BOOT" in evs[0]
    assert evs[1] == ["2 PERIODIC"] and evs[2] == ["2 PERIODIC"]


def test_periodic_timer_alignment_in_agent(acs, tmp_path):
    now = [1_000_000_123.0]
    conf = write_conf(tmp_path, acs.url, acs={"periodic_inform_interval": "100",
                                              "periodic_inform_time": "1970-01-01T00:00:30Z"})
    agent = Agent(Config.load(conf), once=False, wallclock=lambda: now[0])
    agent.schedule_periodic()
    d = agent.periodic_timer.when - agent.loop.clock()
    assert math.isclose(d, 7.0, abs_tol=0.5)  # next :30 after ...123
    conf = write_conf(tmp_path, acs.url, acs={"periodic_inform_interval": "100"})
    agent = Agent(Config.load(conf), once=False, wallclock=lambda: now[0])
    agent.schedule_periodic()  # Unknown Time: random phase within one interval
    assert 0 <= agent.periodic_timer.when - agent.loop.clock() <= 100.5


# --------------------------------------------- persistence across kill -9
def _pyz_proc(pyz, conf, *args):
    return subprocess.Popen([sys.executable, "-I", "-S", pyz, "-c", conf] + list(args),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _block_on(acs, predicate):
    """Make the ACS hang (never answer) on the first POST matching predicate."""
    reached, release = threading.Event(), threading.Event()

    def hook(a, h, body):
        if not reached.is_set() and predicate(body):
            reached.set()
            release.wait(20)
            return True
        return False
    acs.hook = hook
    return reached, release


def events_file(tmp_path):
    with open(os.path.join(str(tmp_path), "state", "events.json")) as f:
        return sorted(c for c, _ in json.load(f))


def test_events_survive_kill_before_inform_response(acs, pyz, tmp_path):
    conf = write_conf(tmp_path, acs.url)
    reached, release = _block_on(acs, lambda b: b"<cwmp:Inform>" in b)
    p = _pyz_proc(pyz, conf, "--boot")
    try:
        assert reached.wait(30)
        p.send_signal(signal.SIGKILL)
        p.wait(10)
    finally:
        release.set()
        if p.poll() is None:
            p.kill()
    assert events_file(tmp_path) == ["0 BOOTSTRAP", "1 BOOT"]
    acs.hook = None
    r = subprocess.run([sys.executable, "-I", "-S", pyz, "-c", conf, "--once"], capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert sorted(re.findall(r"<EventCode>([^<]*)<", acs.sessions[0].inform)) == ["0 BOOTSTRAP",
                                                                                  "1 BOOT"]
    assert events_file(tmp_path) == []
    r = subprocess.run([sys.executable, "-I", "-S", pyz, "-c", conf, "--once"], capture_output=True,
                       timeout=60)
    assert r.returncode == 0
    assert re.findall(r"<EventCode>([^<]*)<", acs.sessions[1].inform) == []  # exactly once


def test_events_delivered_once_inform_response_arrived(acs, pyz, tmp_path):
    conf = write_conf(tmp_path, acs.url)
    reached, release = _block_on(acs, lambda b: b == b"")  # hang on the empty POST
    p = _pyz_proc(pyz, conf, "--boot")
    try:
        assert reached.wait(30)
        p.send_signal(signal.SIGKILL)
        p.wait(10)
    finally:
        release.set()
        if p.poll() is None:
            p.kill()
    assert events_file(tmp_path) == []
    acs.hook = None
    r = subprocess.run([sys.executable, "-I", "-S", pyz, "-c", conf, "--once"], capture_output=True,
                       timeout=60)
    assert r.returncode == 0
    assert re.findall(r"<EventCode>([^<]*)<", acs.sessions[1].inform) == []


def test_periodic_inform_time_keeps_fractional_seconds(acs, tmp_path):
    """...T16:34:10.509Z is the ACS's grid: an Inform at :10.000 would be early."""
    assert parse_datetime("2026-01-01T00:00:00.509Z") == 1767225600.509
    assert parse_datetime("2026-01-01T01:00:00.25+01:00") == 1767225600.25
    now = [1_767_225_600.0 + 1000.0]  # on a whole second, 1000 s after the phase's second
    conf = write_conf(tmp_path, acs.url, acs={"periodic_inform_interval": "60",
                                              "periodic_inform_time": "2026-01-01T00:00:00.509Z"})
    agent = Agent(Config.load(conf), once=False, wallclock=lambda: now[0])
    agent.schedule_periodic()
    assert math.isclose(agent.periodic_timer.when - agent.loop.clock(), 20.509, abs_tol=0.05)
    # set by the ACS: the value reads back with its fraction and drives the timer
    ms = agent.model.ms("PeriodicInformTime")
    agent.model.begin_session()
    agent.model.set_values([(ms, "2026-01-01T00:00:10.75Z", None)], "k")
    agent.model.end_session()
    assert agent.model.value(ms) == "2026-01-01T00:00:10.75Z"
    agent.schedule_periodic()
    assert math.isclose(agent.periodic_timer.when - agent.loop.clock(), 30.75, abs_tol=0.05)


def test_only_a_connection_request_cuts_a_retry_wait_short(acs, tmp_path):
    """§3.2.1.1 with an injected clock: during a retry wait an active
    notification (ctl set), ctl inform and ctl autonomous are queued; a
    connection request starts the session at once."""
    from rocket.owner import ctl
    from rocket import plugins
    acs.status_override = (503, b"busy")
    agent, clock = agent_with_clock(tmp_path, acs.url, acs={
        "periodic_inform_enable": "false", "retry_minimum_wait_interval": "60"},
        notify={"settle": "1"})
    plugins.install(agent)
    agent.start()
    try:
        drive(agent, lambda: len(acs.requests) == 1 and agent.retry_timer is not None
              and not agent.in_session)
        acs.status_override = None
        assert agent.events.has("0 BOOTSTRAP")  # kept: it must not open the wait either
        control = [s for s in agent.services if isinstance(s, ctl.ControlServer)][0]
        assert control.handle(b"set Device.DeviceInfo.ProvisioningCode=PC-9").startswith("ok")
        answer = control.handle(b"inform")
        assert answer.startswith("ok") and "retry 1 in" in answer, answer
        answer = control.handle(b"autonomous file_type=3 Vendor Configuration File\tis_download=1")
        assert answer.startswith("ok"), answer
        for _ in range(3):  # past the notification's settle time, well inside the retry wait
            clock.offset += 2
            end = time.monotonic() + 0.3
            while time.monotonic() < end:
                agent.loop.run_once(max_wait=0.05)
        assert len(acs.requests) == 1 and agent.retry_timer is not None
        agent.add_event("6 CONNECTION REQUEST")
        drive(agent, lambda: len(acs.sessions) == 1 and acs.sessions[0].ended and not agent.in_session)
        events = re.findall(r"<EventCode>([^<]*)<", acs.sessions[0].inform)
        assert "6 CONNECTION REQUEST" in events and "4 VALUE CHANGE" in events
        assert agent.retry_timer is None
    finally:
        agent.stop()
