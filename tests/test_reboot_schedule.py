"""ManagementServer.ScheduleReboot and DelayReboot really reboot the device
(through the reboot hook), at the right time, after the session, once; and
DelayReboot reads -1 again after the reboot (TR-181)."""

import os

from peers import utc_in, wait_for
from rocket.devacs import build_rpc
from transfer_util import hook

MS = "Device.ManagementServer."


def setup(tmp_path, make_agent, acs, rpcs, boot=True):
    (tmp_path / "hooks").mkdir(exist_ok=True)
    marks = tmp_path / "reboots"
    tx = {"reboot_hook": hook(tmp_path / "hooks" / "reboot", 'echo "$ROCKET_REASON" >> "%s"' % marks)}
    acs.queue = rpcs
    agent = make_agent(acs.url, once=False, boot=boot, transfer=tx)
    agent.start()
    return agent, marks


def test_delay_reboot_after_the_session(acs, make_agent, tmp_path):
    agent, marks = setup(tmp_path, make_agent, acs, [build_rpc("SetParameterValues", [MS + "DelayReboot=1:int"])])
    wait_for(agent, lambda: len(acs.sessions) == 1 and acs.sessions[0].ended)
    assert b"SetParameterValuesResponse" in acs.sessions[0].answers[0][1]
    assert not marks.exists()  # not during the session, and not at once
    wait_for(agent, lambda: marks.exists())
    assert marks.read_text() == "DelayReboot\n"
    # the next start is a boot: DelayReboot reads -1 again, and persists so
    agent2 = make_agent(acs.url, once=False, transfer={"reboot_hook": "/bin/true"})
    agent2.start()
    assert agent2.model.value(MS + "DelayReboot") == "-1"
    assert agent2.model.overrides["DelayReboot"][0] == "-1"
    sched = [s for s in agent2.services if type(s).__name__ == "RebootSchedule"][0]
    assert "delay" not in sched.timers and sched.doc["delay_due"] is None
    agent2.stop()


def test_schedule_reboot_at_its_time_and_not_in_the_past(acs, make_agent, tmp_path):
    agent, marks = setup(tmp_path, make_agent, acs, [
        build_rpc("SetParameterValues", [MS + "ScheduleReboot=%s:dateTime" % utc_in(2)])])
    wait_for(agent, lambda: len(acs.sessions) == 1 and acs.sessions[0].ended)
    assert not marks.exists()
    wait_for(agent, lambda: marks.exists())
    assert marks.read_text().startswith("ScheduleReboot ")
    # a time already past does nothing
    (tmp_path / "b").mkdir()
    agent2, marks2 = setup(tmp_path / "b", make_agent, acs, [
        build_rpc("SetParameterValues", [MS + "ScheduleReboot=%s:dateTime" % utc_in(-3600)])])
    wait_for(agent2, lambda: len(acs.sessions) == 2 and acs.sessions[1].ended)
    sched = [s for s in agent2.services if type(s).__name__ == "RebootSchedule"][0]
    assert "schedule" not in sched.timers and not os.path.exists(str(marks2))
    agent2.stop()
