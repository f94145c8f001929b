"""ManagementServer.AutonomousTransferCompletePolicy over real sessions:
only the autonomous transfers its filters let through are reported."""

import os

from rocket.devacs import build_rpc
from rocket.ops import autonomous
from transfer_util import assert_idle, drive, ended, events_of, tc_requests

P = "Device.ManagementServer.AutonomousTransferCompletePolicy."


def spool(tmp_path, down, ftype, fault=0):
    autonomous.write_autonomous(str(tmp_path / "state" / "spool"), down, ftype, "http://vendor.example/f",
                              10, "", fault, "bad" if fault else "", "", "")


def spooled(tmp_path):
    return os.listdir(tmp_path / "state" / "spool")


def agent(make_agent, acs):
    return make_agent(acs.url, once=False, acs={"periodic_inform_enable": "false"},
                      transfer={"spool_interval": "1"})


def test_defaults_report_every_standard_type(acs, make_agent):
    acs.queue = [build_rpc("GetParameterValues", [P])]
    a = agent(make_agent, acs)
    drive(a, lambda: len(ended(acs)) == 1)
    got = acs.sessions[0].answers[0][1].decode()
    for name, value in (("Enable", "true"), ("TransferTypeFilter", "Both"), ("ResultTypeFilter", "Both"),
                        ("FileTypeFilter", "1 Firmware Upgrade Image,2 Web Content,"
                                           "3 Vendor Configuration File,4 Vendor Log File")):
        assert "<Name>%s%s</Name><Value xsi:type=\"xsd:%s\">%s</Value>" % (
            P, name, "boolean" if name == "Enable" else "string", value) in got


def test_filters_select_what_is_reported(acs, make_agent, tmp_path):
    acs.queue = [build_rpc("SetParameterValues", [P + "TransferTypeFilter=Download:string",
                                                  P + "ResultTypeFilter=Failure:string",
                                                  P + "FileTypeFilter=1 Firmware Upgrade Image,"
                                                                    "X 00AA11 Blob:string"])]
    a = agent(make_agent, acs)
    drive(a, lambda: len(ended(acs)) == 1)
    assert b"<Status>0</Status>" in acs.sessions[0].answers[0][1]
    spool(tmp_path, True, "1 Firmware Upgrade Image")  # success: filtered out
    spool(tmp_path, False, "1 Firmware Upgrade Image", 9011)  # upload: filtered out
    spool(tmp_path, True, "3 Vendor Configuration File", 9010)  # file type: filtered out
    drive(a, lambda: not spooled(tmp_path), start=False)
    assert_idle(a)
    assert len(acs.sessions) == 1 and not a.events.pending  # nothing to report, no session
    spool(tmp_path, True, "1 Firmware Upgrade Image", 9010)
    spool(tmp_path, True, "X 00AA11 Blob", 9002)
    drive(a, lambda: len(ended(acs)) == 2, start=False)
    assert ("10 AUTONOMOUS TRANSFER COMPLETE", "") in events_of(acs.sessions[1].inform)
    atc = tc_requests(acs, "AutonomousTransferComplete")
    assert len(atc) == 2 and "Firmware" in atc[0] and "X 00AA11 Blob" in atc[1]
    # the policy persists across a restart
    a.stop()
    b = agent(make_agent, acs)
    assert b.model.value(P + "ResultTypeFilter") == "Failure"
    assert b.model.value(P + "FileTypeFilter").endswith("X 00AA11 Blob")


def test_disabled_or_empty_file_types_report_nothing(acs, make_agent, tmp_path):
    acs.queue = [build_rpc("SetParameterValues", [P + "Enable=false:boolean"])]
    a = agent(make_agent, acs)
    drive(a, lambda: len(ended(acs)) == 1)
    spool(tmp_path, True, "1 Firmware Upgrade Image")
    drive(a, lambda: not spooled(tmp_path), start=False)
    acs.queue = [build_rpc("SetParameterValues", [P + "Enable=true:boolean", P + "FileTypeFilter=:string"])]
    a.request_session()
    drive(a, lambda: len(ended(acs)) == 2, start=False)
    spool(tmp_path, True, "1 Firmware Upgrade Image")
    drive(a, lambda: not spooled(tmp_path), start=False)
    assert_idle(a)
    assert len(acs.sessions) == 2 and tc_requests(acs, "AutonomousTransferComplete") == []
    assert not a.events.has("10 AUTONOMOUS TRANSFER COMPLETE")


def test_bad_filter_values_are_9007(acs, make_agent):
    acs.queue = [build_rpc("SetParameterValues", [P + "TransferTypeFilter=Sideways:string"]),
                 build_rpc("SetParameterValues", [P + "FileTypeFilter=5 Music:string"])]
    a = agent(make_agent, acs)
    drive(a, lambda: len(ended(acs)) == 1)
    for _, reply in acs.sessions[0].answers:
        assert b"<FaultCode>9007</FaultCode>" in reply


def test_spool_names_keep_the_order_of_writing(tmp_path):
    """The agent reports spool files in name order; records written in one
    millisecond must not be reordered by the random part of their names."""
    d = str(tmp_path / "spool")
    written = [autonomous.write_autonomous(d, True, "1 Firmware Upgrade Image") for _ in range(40)]
    assert sorted(written) == written and sorted(os.listdir(d)) == written
