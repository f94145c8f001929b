"""Signals on the running zipapp: SIGTERM/SIGINT stop it cleanly with the
state saved, SIGHUP reloads the configuration (seen at the ACS)."""

import re
import signal

import pytest

from agentproc import AgentProcess, state_file
from conftest import write_conf
from rocket.devacs import Acs


def events_of(inform):
    return re.findall(r"<EventCode>([^<]*)</EventCode>", inform)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_stop_signal_while_idle_exits_0_and_keeps_state(acs, pyz, tmp_path, signum):
    conf = write_conf(tmp_path, acs.url, acs={"periodic_inform_interval": "3600"})
    with AgentProcess(pyz, conf, "--boot") as agent:
        assert agent.wait_log("session: end ok"), agent.text()
        assert agent.proc.poll() is None  # not --once: it stays up, idle
        agent.signal(signum)
        assert agent.wait(30) == 0, agent.text()
    assert "Traceback" not in agent.text()
    name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
    assert len([ln for ln in agent.text().splitlines() if name + ": stopping" in ln]) == 1, agent.text()
    saved = state_file(str(tmp_path / "state"), "session")
    assert saved["bootstrapped_url"] == acs.url
    assert state_file(str(tmp_path / "state"), "events") == []


def test_stop_keeps_undelivered_events_for_the_next_start(pyz, tmp_path):
    """An ACS that fails: the BOOT stays pending through a SIGTERM during the
    retry wait, and the next start delivers it."""
    down = Acs().start()
    down.status_override = (500, b"")
    conf = write_conf(tmp_path, down.url, acs={"periodic_inform_interval": "3600",
                                               "retry_minimum_wait_interval": "600"})
    try:
        with AgentProcess(pyz, conf, "--boot") as agent:
            assert agent.wait_log("session: retry 1"), agent.text()
            agent.signal(signal.SIGTERM)
            assert agent.wait(30) == 0, agent.text()
    finally:
        down.stop()
    pending = [e[0] for e in state_file(str(tmp_path / "state"), "events")]
    assert "1 BOOT" in pending and "0 BOOTSTRAP" in pending
    up = Acs().start()
    try:
        conf = write_conf(tmp_path, up.url)
        with AgentProcess(pyz, conf, "--once") as agent:
            assert agent.wait(30) == 0, agent.text()
        assert "1 BOOT" in events_of(up.sessions[0].inform)
    finally:
        up.stop()


def test_sighup_rereads_periodic_interval(acs, pyz, tmp_path):
    conf = write_conf(tmp_path, acs.url, acs={"periodic_inform_interval": "3600"})
    with AgentProcess(pyz, conf, "--boot") as agent:
        assert agent.wait_log("session: end ok"), agent.text()
        assert len(acs.sessions) == 1
        write_conf(tmp_path, acs.url, acs={"periodic_inform_interval": "1"})
        agent.signal(signal.SIGHUP)
        assert agent.wait_log("reload: configuration re-read"), agent.text()
        assert acs.wait_sessions(3, timeout=30), agent.text()
        assert agent.proc.poll() is None
        agent.signal(signal.SIGTERM)
        assert agent.wait(30) == 0
    assert "2 PERIODIC" in events_of(acs.sessions[1].inform)
    assert "2 PERIODIC" in events_of(acs.sessions[2].inform)


def test_sighup_new_acs_url_bootstraps_there(acs, pyz, tmp_path):
    conf = write_conf(tmp_path, acs.url, acs={"periodic_inform_interval": "3600"})
    other = Acs().start()
    try:
        with AgentProcess(pyz, conf, "--boot") as agent:
            assert agent.wait_log("session: end ok"), agent.text()
            write_conf(tmp_path, other.url, acs={"periodic_inform_interval": "3600"})
            agent.signal(signal.SIGHUP)
            assert other.wait_sessions(1, timeout=30), agent.text()
            agent.signal(signal.SIGTERM)
            assert agent.wait(30) == 0
        assert "0 BOOTSTRAP" in events_of(other.sessions[0].inform)
        assert len(acs.sessions) == 1
    finally:
        other.stop()


def test_sighup_with_broken_file_keeps_running_on_old_config(acs, pyz, tmp_path):
    conf = write_conf(tmp_path, acs.url, acs={"periodic_inform_interval": "3600"})
    with AgentProcess(pyz, conf, "--boot") as agent:
        assert agent.wait_log("session: end ok"), agent.text()
        with open(conf, "w") as f:
            f.write("[acs]\nperiodic_inform_interval = often\n")
        agent.signal(signal.SIGHUP)
        assert agent.wait_log("configuration not reloaded"), agent.text()
        assert agent.proc.poll() is None
        agent.signal(signal.SIGTERM)
        assert agent.wait(30) == 0
    assert len(acs.sessions) == 1
