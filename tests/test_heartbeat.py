"""Heartbeat (TR-069 Annex O, ManagementServer.HeartbeatPolicy) over real
sessions with the loopback ACS: "14 HEARTBEAT" alone, the Forced Inform
parameters only, no requests of the CPE, never retried, its own schedule."""

import re

from peers import utc_in, wait_for
from rocket.devacs import build_rpc

MS = "Device.ManagementServer."
HB = MS + "HeartbeatPolicy."


def events(s):
    return re.findall(r"<EventCode>([^<]*)<", s.inform)


def names(s):
    return re.findall(r"<Name>([^<]*)</Name>", s.inform)


def enable(at):
    return build_rpc("SetParameterValues", [HB + "Enable=true:boolean", HB + "ReportingInterval=30:unsignedInt",
                                            HB + "InitiationTime=%s:dateTime" % at])


def test_heartbeat_session_carries_its_event_alone(acs, make_agent):
    acs.queue = [enable(utc_in(3))]
    agent = make_agent(acs.url, once=False, acs={"get_rpc_methods": "true"})
    agent.start()
    wait_for(agent, lambda: len(acs.sessions) == 1 and acs.sessions[0].ended)
    assert b"SetParameterValuesResponse" in acs.sessions[0].answers[0][1]
    # something pending for the next ordinary session: it must not ride along
    agent.events.note_changed(MS + "PeriodicInformInterval")
    agent.events.add("4 VALUE CHANGE")
    wait_for(agent, lambda: len(acs.sessions) == 2 and acs.sessions[1].ended)
    hb = acs.sessions[1]
    assert events(hb) == ["14 HEARTBEAT"]
    forced = {n for n in names(acs.sessions[0]) if not n.startswith(MS + "Periodic")}
    assert set(names(hb)) <= forced and MS + "ParameterKey" in names(hb)
    assert hb.cpe_requests == []  # no GetRPCMethods, no TransferComplete in a heartbeat session
    assert agent.events.has("4 VALUE CHANGE")  # still pending for its own session
    assert agent.heartbeat_timer is not None  # the next one is laid
    nxt = agent.heartbeat_timer.when - agent.loop.clock()
    assert 20 < nxt <= 30.5, nxt
    # the values persist like every writable agent parameter
    assert agent.model.overrides["HeartbeatPolicy.Enable"][0] == "true"


def test_failed_heartbeat_is_not_retried(acs, make_agent):
    acs.queue = [enable(utc_in(3))]
    agent = make_agent(acs.url, once=False)
    agent.start()
    wait_for(agent, lambda: len(acs.sessions) == 1 and acs.sessions[0].ended)
    acs.inform_fault = 8002  # the ACS refuses the next Inform
    wait_for(agent, lambda: agent.last_result is not None and not agent.last_result[0])
    assert events(acs.sessions[-1]) == ["14 HEARTBEAT"]
    assert agent.retry_timer is None and agent.retry_count == 0
    assert not agent.events.has("14 HEARTBEAT")  # never queued, never persisted


def test_reporting_interval_has_the_tr181_minimum(acs, make_agent):
    acs.queue = [build_rpc("SetParameterValues", [HB + "ReportingInterval=29:unsignedInt"])]
    agent = make_agent(acs.url)
    assert agent.run() == 0
    assert b"<FaultCode>9007</FaultCode>" in acs.sessions[0].answers[0][1]
    assert agent.heartbeat_timer is None  # disabled by default
