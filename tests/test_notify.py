"""Value-change notifications (rocket.datamodel.notify) over real sessions with the loopback ACS."""

import json
import os
import re
import time

import pytest

from conftest import run_pyz, write_conf
from rocket.devacs import build_rpc, parse_values
from rocket.datamodel.store import Param

VALUE_CHANGE = "4 VALUE CHANGE"
SV = "Device.DeviceInfo.SoftwareVersion"
PII = "Device.ManagementServer.PeriodicInformInterval"
CRURL = "Device.ManagementServer.ConnectionRequestURL"
THROTTLE = "Device.ManagementServer.DefaultActiveNotificationThrottle"
PC = "Device.DeviceInfo.ProvisioningCode"


def events_of(inform):
    return re.findall(r"<EventCode>([^<]*)</EventCode>", inform)


def inform_values(inform):
    """{name: value} of the Inform's ParameterList; fails on a duplicate name."""
    pairs = re.findall(r"<ParameterValueStruct><Name>([^<]*)</Name><Value[^>]*>([^<]*)</Value>", inform)
    names = [n for n, _ in pairs]
    assert len(names) == len(set(names)), "a parameter is listed twice"
    return dict(pairs)


def attributes(reply):
    return dict(re.findall(r"<Name>([^<]*)</Name><Notification>(\d)</Notification>",
                           reply.decode() if isinstance(reply, bytes) else reply))


def fault_code(reply):
    m = re.search(rb"<FaultCode>(\d+)</FaultCode>", reply)
    return int(m.group(1)) if m else None


class FileBackend:
    """A backend whose device is a JSON file {path: value} (the test edits it
    to play the outside world). Counts its loads."""

    def __init__(self, file, name="filetest", prefix="Device.X_TEST_Box.", notify=None):
        self.name = name
        self.prefixes = [prefix]
        self.file = str(file)
        self.notify = notify or {}  # default notification declared per path
        self.loads = 0
        self.staged = []

    def read(self):
        with open(self.file) as f:
            return json.load(f)

    def write(self, **kv):
        data = self.read()
        data.update({self.prefixes[0] + k: v for k, v in kv.items()})
        with open(self.file, "w") as f:
            json.dump(data, f)

    def load(self, store):
        self.loads += 1
        for path, value in self.read().items():
            p = store.get(path)
            if p is None:
                # re-created on every load, like a script backend would
                store.add(path, Param(value, "string", True, owner=self.name,
                                      notification=self.notify.get(path, 0), limit=64))
            else:
                p.value = value

    def set(self, changes):
        self.staged = list(changes)

    def commit(self):
        data = self.read()
        data.update(self.staged)
        with open(self.file, "w") as f:
            json.dump(data, f)
        self.staged = []
        return 0

    def abort(self):
        self.staged = []

    def apply(self):
        pass


def file_backend(tmp_path, **kw):
    f = tmp_path / ("%s.json" % kw.get("name", "filetest"))
    prefix = kw.get("prefix", "Device.X_TEST_Box.")
    if not f.exists():
        f.write_text(json.dumps({prefix + "Status": "Up", prefix + "Name": "box", prefix + "Mode": "a"}))
    return FileBackend(f, **kw)


def run_until(agent, cond, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        agent.loop.run_once(max_wait=0.05)


def assert_nothing_follows(agent, acs, n):
    """No session follows: once the running one is over and what is due now
    has run, no session runs or is due, no active-notification request waits
    with a change to carry, and the ACS saw n sessions."""
    run_until(agent, lambda: not agent.in_session)
    agent.loop.run_once(max_wait=0)
    assert not agent.in_session and agent.session_timer is None
    t = agent.notifier._active_timer
    assert t is None or t.cancelled or not agent.events.has(VALUE_CHANGE)
    assert len(acs.sessions) == n


def spin(agent, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        agent.loop.run_once(max_wait=0.05)


def start(agent):
    """Start and run what is due now (the start check), not a session."""
    agent.start()
    agent.loop.run_once(max_wait=0)


def ended(acs):
    return sum(1 for s in acs.sessions if s.ended)


def live_agent(acs, make_agent, tmp_path, boot=True, backend=True, **sections):
    sections.setdefault("notify", {}).setdefault("settle", "0")
    sections.setdefault("control", {}).setdefault("enable", "false")
    agent = make_agent(acs.url, boot=boot, once=False, **sections)
    b = None
    if backend:
        b = file_backend(tmp_path)
        agent.model.add_backend(b)
    return agent, b


BOX = "Device.X_TEST_Box."


def test_passive_change_rides_next_inform(acs, make_agent, tmp_path):
    acs.queue = [build_rpc("SetParameterAttributes", [BOX + "Status=1"])]
    agent, b = live_agent(acs, make_agent, tmp_path)
    agent.start()
    run_until(agent, lambda: ended(acs) == 1)
    assert b"SetParameterAttributesResponse" in acs.sessions[0].answers[0][1]
    b.write(Status="Down")
    assert agent.notifier.check([BOX]) == [BOX + "Status"]
    # passive: no session of its own, but the change is pending and persisted
    assert_nothing_follows(agent, acs, 1)
    assert agent.events.has(VALUE_CHANGE)
    with open(os.path.join(agent.state.path, "changed.json")) as f:
        assert json.load(f) == [BOX + "Status"]
    agent.add_event("2 PERIODIC")
    run_until(agent, lambda: ended(acs) == 2)
    inform = acs.sessions[1].inform
    assert set(events_of(inform)) == {"2 PERIODIC", VALUE_CHANGE}
    assert inform_values(inform)[BOX + "Status"] == "Down"
    # delivered: cleared, and the next Inform does not repeat it
    assert agent.events.changed == [] and not agent.events.has(VALUE_CHANGE)
    agent.add_event("2 PERIODIC")
    run_until(agent, lambda: ended(acs) == 3)
    assert VALUE_CHANGE not in events_of(acs.sessions[2].inform)
    assert BOX + "Status" not in inform_values(acs.sessions[2].inform)
    agent.stop()


def test_active_change_starts_session_and_poll_loads_once_per_backend(acs, make_agent, tmp_path):
    acs.queue = [build_rpc("SetParameterAttributes", [BOX + "Name=2"])]
    agent, b = live_agent(acs, make_agent, tmp_path, notify={"poll_interval": "1"})
    quiet = file_backend(tmp_path, name="quiet", prefix="Device.X_TEST_Quiet.")
    agent.model.add_backend(quiet)
    agent.start()
    run_until(agent, lambda: ended(acs) == 1)
    quiet_loads = quiet.loads
    b.write(Name="renamed")
    polls = agent.notifier.polls
    loads = b.loads
    run_until(agent, lambda: ended(acs) == 2)  # found by the poll, no push
    inform = acs.sessions[1].inform
    assert events_of(inform) == [VALUE_CHANGE]
    assert inform_values(inform)[BOX + "Name"] == "renamed"
    assert agent.notifier.polls > polls
    # one load of the notifying backend per poll; the other is never read by the poll
    assert b.loads - loads == agent.notifier.polls - polls
    assert quiet.loads == quiet_loads
    agent.stop()


def test_throttle_coalesces_a_burst(acs, make_agent, tmp_path):
    acs.queue = [build_rpc("SetParameterValues", [THROTTLE + "=2:unsignedInt"]),
                 build_rpc("SetParameterAttributes", [BOX + "Status=2", BOX + "Name=2", BOX + "Mode=2"])]
    agent, b = live_agent(acs, make_agent, tmp_path)
    agent.start()
    run_until(agent, lambda: ended(acs) == 1)
    for k, v in (("Status", "Down"), ("Name", "x"), ("Mode", "b")):
        b.write(**{k: v})
        agent.notifier.check([BOX + k])
    t = agent.notifier._active_timer
    assert t is not None and t.when >= agent.notifier._last_end + 2
    run_until(agent, lambda: ended(acs) == 2)
    vals = inform_values(acs.sessions[1].inform)
    assert (vals[BOX + "Status"], vals[BOX + "Name"], vals[BOX + "Mode"]) == ("Down", "x", "b")
    assert_nothing_follows(agent, acs, 2)
    agent.stop()


def test_session_for_another_reason_carries_pending_active_change(acs, make_agent, tmp_path):
    acs.queue = [build_rpc("SetParameterValues", [THROTTLE + "=3600:unsignedInt"]),
                 build_rpc("SetParameterAttributes", [BOX + "Status=2"])]
    agent, b = live_agent(acs, make_agent, tmp_path)
    agent.start()
    run_until(agent, lambda: ended(acs) == 1)
    b.write(Status="Down")
    agent.notifier.check()
    agent.loop.run_once(max_wait=0)
    assert len(acs.sessions) == 1 and not agent.in_session and agent.session_timer is None
    t = agent.notifier._active_timer  # throttled: its request waits an hour
    assert t is not None and not t.cancelled and t.when > agent.loop.clock() + 3000
    agent.add_event("2 PERIODIC")
    run_until(agent, lambda: ended(acs) == 2)
    assert set(events_of(acs.sessions[1].inform)) == {"2 PERIODIC", VALUE_CHANGE}
    agent.notifier._active_timer.callback()  # the throttled request finds nothing to do
    assert_nothing_follows(agent, acs, 2)
    agent.stop()


def test_acs_writes_do_not_notify(acs, make_agent, tmp_path):
    acs.queue = [build_rpc("SetParameterAttributes", [BOX + "Status=2", PII + "=2"])]
    agent, b = live_agent(acs, make_agent, tmp_path)
    agent.start()
    run_until(agent, lambda: ended(acs) == 1)
    acs.queue = [build_rpc("SetParameterValues", [BOX + "Status=Maintenance", PII + "=120:unsignedInt"])]
    agent.add_event("2 PERIODIC")
    run_until(agent, lambda: ended(acs) == 2)
    assert b"<Status>0</Status>" in acs.sessions[1].answers[0][1]
    assert agent.notifier.check() == []
    assert_nothing_follows(agent, acs, 2)
    assert not agent.events.has(VALUE_CHANGE)
    # ParameterKey changed by that SPV, notifying passively: still not a change
    assert b.read()[BOX + "Status"] == "Maintenance"
    agent.stop()


def test_parameter_key_notification_is_not_triggered_by_acs(acs, make_agent, tmp_path):
    acs.queue = [build_rpc("SetParameterAttributes", ["Device.ManagementServer.ParameterKey=1"]),
                 build_rpc("SetParameterValues", [PII + "=99:unsignedInt"])]
    agent, _ = live_agent(acs, make_agent, tmp_path, backend=False)
    agent.start()
    run_until(agent, lambda: ended(acs) == 1)
    assert agent.model.parameter_key == "devacs"
    assert agent.notifier.check() == []
    assert not agent.events.has(VALUE_CHANGE)
    agent.stop()


def test_restart_unchanged_is_silent_changed_notifies(acs, make_agent, tmp_path):
    acs.queue = [build_rpc("SetParameterAttributes", [BOX + "Mode=1"])]
    agent, b = live_agent(acs, make_agent, tmp_path)
    agent.start()
    run_until(agent, lambda: ended(acs) == 1)
    agent.stop()
    # a plain restart, nothing changed: no VALUE CHANGE, nothing to start a session
    agent, b = live_agent(acs, make_agent, tmp_path, boot=False)
    start(agent)
    assert not agent.events.has(VALUE_CHANGE), agent.events.changed
    assert agent.session_timer is None
    writes = agent.state.writes
    agent.stop()
    assert agent.state.writes == writes  # the baseline is not rewritten when nothing changed
    # changed while the agent was down: noticed at start, passive so it waits
    b.write(Mode="c")
    agent, b = live_agent(acs, make_agent, tmp_path, boot=False)
    start(agent)
    assert agent.events.changed == [BOX + "Mode"]
    assert agent.session_timer is None
    agent.add_event("2 PERIODIC")
    run_until(agent, lambda: ended(acs) == 2)
    assert inform_values(acs.sessions[1].inform)[BOX + "Mode"] == "c"
    assert VALUE_CHANGE in events_of(acs.sessions[1].inform)
    agent.stop()


def test_software_version_change_across_upgrade_notifies(acs, pyz, tmp_path):
    conf = write_conf(tmp_path, acs.url)
    r = run_pyz(pyz, conf, "--once", "--boot")
    assert r.returncode == 0, r.stderr
    assert VALUE_CHANGE not in events_of(acs.sessions[0].inform)
    r = run_pyz(pyz, conf, "--once", "--boot")  # same firmware: silent
    assert r.returncode == 0, r.stderr
    assert VALUE_CHANGE not in events_of(acs.sessions[1].inform)
    conf = write_conf(tmp_path, acs.url, cpe={"software_version": "2.0.0"})
    r = run_pyz(pyz, conf, "--once", "--boot")
    assert r.returncode == 0, r.stderr
    inform = acs.sessions[2].inform
    assert set(events_of(inform)) == {"1 BOOT", VALUE_CHANGE}
    assert inform_values(inform)[SV] == "2.0.0"
    assert "notify: value change of %s (active)" % SV in r.stderr
    r = run_pyz(pyz, conf, "--once", "--boot")
    assert VALUE_CHANGE not in events_of(acs.sessions[3].inform)


def test_connection_request_url_change_notifies_actively(acs, make_agent, tmp_path):
    agent, _ = live_agent(acs, make_agent, tmp_path, backend=False)
    agent.start()
    run_until(agent, lambda: ended(acs) == 1)
    # the device's address changes: the listener publishes a new URL
    cr = [s for s in agent.services if hasattr(s, "check_url")][0]
    agent.cfg.set("connection_request", "address", "127.0.0.2")
    new = cr.check_url()
    assert new.startswith("http://127.0.0.2:")
    run_until(agent, lambda: ended(acs) == 2)
    inform = acs.sessions[1].inform
    assert events_of(inform) == [VALUE_CHANGE]
    assert inform_values(inform)[CRURL] == new
    # the ACS turns it off (forceDefaultEnabled allows that): no more sessions for it
    acs.queue = [build_rpc("SetParameterAttributes", [CRURL + "=0"])]
    agent.add_event("2 PERIODIC")
    run_until(agent, lambda: ended(acs) == 3)
    agent.cfg.set("connection_request", "address", "127.0.0.3")
    assert cr.check_url().startswith("http://127.0.0.3:")
    assert_nothing_follows(agent, acs, 3)
    assert not agent.events.has(VALUE_CHANGE)
    agent.stop()


def test_spa_9009_cases_and_gpa_survives_restart(acs, make_agent, tmp_path):
    def spa(*args):
        return build_rpc("SetParameterAttributes", list(args))
    gpa = build_rpc("GetParameterAttributes", [SV, "Device.DeviceInfo.ProvisioningCode", CRURL,
                                               BOX + "Status", PII, "Device.DeviceInfo.UpTime"])
    acs.queue = [spa(SV + "=0"), spa("Device.DeviceInfo.ProvisioningCode=1"),
                 spa("Device.DeviceInfo.UpTime=2"), spa(SV + "=7"),
                 spa("Device.DeviceInfo.=0"),  # partial path: forced ones are skipped, no fault
                 spa(CRURL + "=0", BOX + "Status=1", PII + "=2", "Device.DeviceInfo.UpTime=1"),
                 gpa]
    agent, _ = live_agent(acs, make_agent, tmp_path)
    agent.start()
    run_until(agent, lambda: ended(acs) == 1)
    answers = [a for _, a in acs.sessions[0].answers]
    assert [fault_code(a) for a in answers[:4]] == [9009, 9009, 9009, 9003]
    assert fault_code(answers[4]) is None and fault_code(answers[5]) is None
    want = {SV: "2", "Device.DeviceInfo.ProvisioningCode": "2", CRURL: "0", BOX + "Status": "1",
            PII: "2", "Device.DeviceInfo.UpTime": "1"}
    assert attributes(answers[6]) == want
    agent.stop()
    agent, _ = live_agent(acs, make_agent, tmp_path, boot=False)
    acs.queue = [gpa]
    agent.start()
    agent.add_event("2 PERIODIC")
    run_until(agent, lambda: ended(acs) == 2)
    assert attributes(acs.sessions[1].answers[0][1]) == want
    # UpTime is volatile: passive on it never produces a change
    assert "Device.DeviceInfo.UpTime" not in agent.notifier.baseline
    agent.stop()


def test_inform_parameters_follow_their_event_list(acs, make_agent, tmp_path):
    ip = "Device.ManagementServer.InformParameter."
    acs.queue = [build_rpc("AddObject", [ip]), build_rpc("AddObject", [ip]),
                 build_rpc("SetParameterValues", [ip + "1.Enable=true:boolean",
                                                  ip + "1.ParameterName=" + PII,
                                                  ip + "1.EventList=2 PERIODIC",
                                                  ip + "2.Enable=true:boolean",
                                                  ip + "2.ParameterName=" + BOX + "Name"]),
                 build_rpc("SetParameterAttributes", [BOX + "Status=1"])]
    agent, b = live_agent(acs, make_agent, tmp_path)
    agent.start()
    run_until(agent, lambda: ended(acs) == 1)
    assert b"<InstanceNumber>2</InstanceNumber>" in acs.sessions[0].answers[1][1]
    assert fault_code(acs.sessions[0].answers[2][1]) is None
    agent.add_event("2 PERIODIC")
    run_until(agent, lambda: ended(acs) == 2)
    vals = inform_values(acs.sessions[1].inform)
    assert PII in vals and vals[BOX + "Name"] == "box"
    agent.add_event("X 00AA11 Poke")
    run_until(agent, lambda: ended(acs) == 3)
    vals = inform_values(acs.sessions[2].inform)
    assert PII not in vals and BOX + "Name" in vals  # empty EventList: every event but VALUE CHANGE
    # a session whose only event is 4 VALUE CHANGE: neither
    acs.queue = [build_rpc("SetParameterAttributes", [BOX + "Status=2"])]
    agent.add_event("2 PERIODIC")
    run_until(agent, lambda: ended(acs) == 4)
    b.write(Status="Down")
    agent.notifier.check()
    run_until(agent, lambda: ended(acs) == 5)
    inform = acs.sessions[4].inform
    assert events_of(inform) == [VALUE_CHANGE]
    vals = inform_values(inform)
    assert PII not in vals and BOX + "Name" not in vals and vals[BOX + "Status"] == "Down"
    # patterns: '*' for instance numbers, and a partial path
    acs.queue = [build_rpc("AddObject", [ip]),
                 build_rpc("SetParameterValues", [ip + "3.Enable=true:boolean",
                                                  ip + "3.ParameterName=" + ip + "*.EventList",
                                                  ip + "3.EventList=X 00AA11 Poke"]),
                 build_rpc("SetParameterValues", [ip + "2.ParameterName=Device.X_TEST_Quiet."])]
    agent.add_event("2 PERIODIC")
    run_until(agent, lambda: ended(acs) == 6)
    agent.stop()
    # after a restart (the table persists) the backend has not been read yet: the Inform reads it
    agent, b = live_agent(acs, make_agent, tmp_path, boot=False)
    quiet = file_backend(tmp_path, name="quiet", prefix="Device.X_TEST_Quiet.")
    agent.model.add_backend(quiet)
    start(agent)
    assert quiet.loads == 0
    agent.add_event("X 00AA11 Poke")
    run_until(agent, lambda: ended(acs) == 7)
    vals = inform_values(acs.sessions[6].inform)
    assert vals[ip + "1.EventList"] == "2 PERIODIC" and vals[ip + "3.EventList"] == "X 00AA11 Poke"
    assert ip + "2.EventList" in vals
    assert vals["Device.X_TEST_Quiet.Name"] == "box" and vals["Device.X_TEST_Quiet.Mode"] == "a"
    assert quiet.loads == 1
    assert agent.model.value("Device.ManagementServer.InformParameterNumberOfEntries") == "3"
    agent.stop()


def test_backend_default_notification_and_deleted_params(acs, make_agent, tmp_path):
    agent, _ = live_agent(acs, make_agent, tmp_path, backend=False)
    b = file_backend(tmp_path, notify={BOX + "Status": 2})
    agent.model.add_backend(b)
    acs.queue = [build_rpc("GetParameterValues", [BOX])]
    agent.start()
    run_until(agent, lambda: ended(acs) == 1)
    # first seen during the ACS's GPV: baselined silently by the next check
    assert agent.notifier.check() == []
    assert BOX + "Status" in agent.notifier.baseline
    b.write(Status="Down")
    assert agent.notifier.check() == [BOX + "Status"]
    run_until(agent, lambda: ended(acs) == 2)
    assert parse_values(acs.sessions[0].answers[0][1])[BOX + "Status"] == "Up"
    assert inform_values(acs.sessions[1].inform)[BOX + "Status"] == "Down"
    agent.stop()


@pytest.mark.parametrize("boot", [True, False])
def test_pending_changes_survive_restart_and_reboot(acs, make_agent, tmp_path, boot):
    acs.queue = [build_rpc("SetParameterAttributes", [BOX + "Status=1"])]
    agent, b = live_agent(acs, make_agent, tmp_path)
    agent.start()
    run_until(agent, lambda: ended(acs) == 1)
    b.write(Status="Down")
    agent.notifier.check()
    agent.stop()
    agent, b = live_agent(acs, make_agent, tmp_path, boot=boot)
    if boot:
        # a reboot drops the event, but the value still differs from what
        # the ACS last heard: noticed again, in the BOOT Inform
        agent.start()
    else:
        start(agent)  # a restart keeps the pending change, and waits (passive)
        assert agent.events.changed == [BOX + "Status"]
        assert agent.session_timer is None
        agent.add_event("2 PERIODIC")
    run_until(agent, lambda: ended(acs) == 2)
    inform = acs.sessions[1].inform
    assert inform_values(inform)[BOX + "Status"] == "Down"
    assert set(events_of(inform)) == {"1 BOOT" if boot else "2 PERIODIC", VALUE_CHANGE}
    agent.stop()


def test_failed_session_keeps_the_change(acs, make_agent, tmp_path):
    acs.queue = [build_rpc("SetParameterAttributes", [BOX + "Status=1"])]
    agent, b = live_agent(acs, make_agent, tmp_path)
    agent.start()
    run_until(agent, lambda: ended(acs) == 1)
    b.write(Status="Down")
    agent.notifier.check()
    acs.inform_fault = 8002
    agent.add_event("2 PERIODIC")
    run_until(agent, lambda: agent.retry_count == 1)
    assert agent.events.changed == [BOX + "Status"]
    assert agent.notifier.baseline[BOX + "Status"] == "Up"  # not heard by the ACS yet
    acs.inform_fault = None
    agent.retry_timer.cancel()
    agent.run_session()
    inform = acs.sessions[-1].inform
    assert inform_values(inform)[BOX + "Status"] == "Down"
    assert agent.events.changed == [] and agent.notifier.baseline[BOX + "Status"] == "Down"
    agent.stop()


def test_connection_request_url_set_by_a_later_service(acs, make_agent, tmp_path):
    def boot(address):
        agent, _ = live_agent(acs, make_agent, tmp_path, backend=False,
                              connection_request={"address": address})
        n = len(acs.sessions)
        agent.start()
        run_until(agent, lambda: ended(acs) == n + 1)
        spin(agent, 0.1)
        agent.stop()
        return acs.sessions[n].inform
    first = boot("127.0.0.2")
    assert set(events_of(first)) == {"0 BOOTSTRAP", "1 BOOT"}  # first sight is not a change
    assert set(events_of(boot("127.0.0.2"))) == {"1 BOOT"}
    moved = boot("127.0.0.3")
    assert set(events_of(moved)) == {"1 BOOT", VALUE_CHANGE}
    assert inform_values(moved)[CRURL].startswith("http://127.0.0.3:")
    assert len(acs.sessions) == 3


def test_change_made_as_a_session_starts_rides_its_inform(acs, make_agent, tmp_path):
    agent, _ = live_agent(acs, make_agent, tmp_path, backend=False)
    codes = iter(["A", "A", "B"])  # as a DHCP hook setting ProvisioningCode would
    agent.before_session.append(lambda: agent.model.set_internal(PC, next(codes)))
    agent.start()
    run_until(agent, lambda: ended(acs) == 1)
    first = acs.sessions[0].inform
    assert VALUE_CHANGE in events_of(first) and inform_values(first)[PC] == "A"  # was empty
    agent.add_event("2 PERIODIC")
    run_until(agent, lambda: ended(acs) == 2)
    assert events_of(acs.sessions[1].inform) == ["2 PERIODIC"]
    agent.add_event("2 PERIODIC")
    run_until(agent, lambda: ended(acs) == 3)
    inform = acs.sessions[2].inform
    assert set(events_of(inform)) == {"2 PERIODIC", VALUE_CHANGE}
    assert inform_values(inform)[PC] == "B"
    assert_nothing_follows(agent, acs, 3)  # delivered: no session of its own afterwards
    assert agent.notifier.baseline[PC] == "B"
    agent.stop()
