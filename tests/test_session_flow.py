"""End-to-end sessions against the loopback ACS (real sockets)."""

import re

from conftest import run_pyz, write_conf
from rocket.devacs import build_rpc, parse_values


def events_of(inform):
    return re.findall(r"<EventCode>([^<]*)</EventCode>", inform)


def test_first_boot_session_via_zipapp(acs, pyz, tmp_path):
    conf = write_conf(tmp_path, acs.url)
    r = run_pyz(pyz, conf, "--once", "--boot")
    assert r.returncode == 0, r.stderr
    assert len(acs.sessions) == 1
    inform = acs.sessions[0].inform
    assert set(events_of(inform)) == {"0 BOOTSTRAP", "1 BOOT"}
    assert "<SerialNumber>TB-0001</SerialNumber>" in inform
    assert 'arrayType="cwmp:EventStruct[2]"' in inform
    # a second start without --boot has nothing due but --once still informs, no BOOTSTRAP again
    r = run_pyz(pyz, conf, "--once")
    assert r.returncode == 0, r.stderr
    assert events_of(acs.sessions[1].inform) == []


def test_gpv_and_spv_in_one_session(acs, make_agent):
    acs.queue = [build_rpc("GetParameterValues", ["Device.DeviceInfo.SerialNumber"]),
                 build_rpc("SetParameterValues", ["Device.ManagementServer.PeriodicInformInterval=77:unsignedInt"]),
                 build_rpc("GetParameterValues", ["Device.ManagementServer.PeriodicInformInterval"])]
    agent = make_agent(acs.url)
    assert agent.run() == 0
    answers = acs.sessions[0].answers
    assert parse_values(answers[0][1]) == {"Device.DeviceInfo.SerialNumber": "TB-0001"}
    assert b"<Status>0</Status>" in answers[1][1]
    assert parse_values(answers[2][1]) == {"Device.ManagementServer.PeriodicInformInterval": "77"}


def test_unknown_rpc_gets_9000(acs, make_agent):
    acs.queue = ["<cwmp:X_ACME_Frobnicate><A>1</A></cwmp:X_ACME_Frobnicate>"]
    assert make_agent(acs.url).run() == 0
    reply = acs.sessions[0].answers[0][1]
    assert b"<FaultCode>9000</FaultCode>" in reply
    assert b"<cwmp:ID soap-env:mustUnderstand=\"1\">acs-1</cwmp:ID>" in reply


def test_digest_auth_and_cookie(acs, make_agent):
    acs.auth = ("digest", "cpe", "s3cret")
    acs.queue = [build_rpc("GetParameterValues", ["Device.DeviceInfo.Manufacturer"])]
    agent = make_agent(acs.url, acs={"username": "cpe", "password": "s3cret"})
    assert agent.run() == 0
    ex = acs.sessions[0].exchanges
    assert all(e.headers.get("authorization", "").startswith("Digest ") for e in ex)
    assert "session=%s" % acs.sessions[0].id in ex[1].headers.get("cookie", "")


def test_wrong_password_fails_session(acs, make_agent):
    acs.auth = ("digest", "cpe", "s3cret")
    agent = make_agent(acs.url, acs={"username": "cpe", "password": "wrong"})
    assert agent.run() == 1
    assert acs.sessions == []


def test_answers_bigger_than_the_configured_limit_get_9004(acs, make_agent):
    acs.queue = [build_rpc("GetParameterValues", ["Device."]),
                 build_rpc("GetParameterNames", ["Device.", "0"]),
                 build_rpc("GetParameterAttributes", ["Device."]),
                 build_rpc("GetParameterValues", ["Device.DeviceInfo.SerialNumber"])]
    assert make_agent(acs.url, acs={"max_parameters": "5"}).run() == 0
    answers = [r for _, r in acs.sessions[0].answers]
    for reply in answers[:3]:
        assert b"<FaultCode>9004</FaultCode>" in reply
    assert parse_values(answers[3]) == {"Device.DeviceInfo.SerialNumber": "TB-0001"}
