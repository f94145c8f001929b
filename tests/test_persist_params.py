"""Every writable parameter the agent owns survives a restart, whether the
ACS or the owner (`ctl set`) wrote it, and the restart reports no change."""

import re

from peers import run_until
from rocket.devacs import build_rpc, parse_values
from rocket.datamodel.store import HIDDEN, Param

XSD = {"boolean": "boolean", "unsignedInt": "unsignedInt", "int": "int", "string": "string",
       "dateTime": "dateTime"}
SPECIAL = {"STUNServerAddress": "127.0.0.1", "ConnReqAllowedJabberIDs": "acs@example.test",
           "FileTypeFilter": "X 00AA11 Blob"}


def writable_agent_params(agent):
    """The agent's own configuration (ManagementServer, DeviceInfo); diagnostics
    requests (rocket.diag) are operations, not settings: they are not kept."""
    st = agent.model.store
    out = {}
    for path in st.keys():
        p = st.get(path)
        if not path.startswith(("Device.ManagementServer.", "Device.DeviceInfo.")):
            continue
        if isinstance(p, Param) and p.owner is None and p.writable and ".InformParameter." not in path:
            out[path] = p
    return out


def new_value(path, p):
    name = path.rsplit(".", 1)[1]
    if name in SPECIAL:
        return SPECIAL[name]
    if p.type == "boolean":
        return "false" if p.value == "true" else "true"
    if p.type in ("unsignedInt", "int"):
        return "1234" if p.value != "1234" else "1235"
    if p.type == "dateTime":
        return "2030-01-02T03:04:05.25Z"
    if isinstance(p.limit, tuple):  # an enumeration
        return p.value
    return "set-" + name


def events_of(inform):
    return re.findall(r"<EventCode>([^<]*)<", inform)


def test_every_writable_agent_parameter_survives_a_restart(acs, make_agent):
    sections = dict(stun={"enable": "false"}, xmpp={"enable": "false"})
    probe = make_agent(acs.url, **sections)
    params = writable_agent_params(probe)
    assert "Device.DeviceInfo.ProvisioningCode" in params and "Device.ManagementServer.UpgradesManaged" in params
    params.pop("Device.ManagementServer.URL")  # a new URL is a new ACS (tested on its own)
    want = {path: new_value(path, p) for path, p in params.items()}
    acs.queue = [build_rpc("SetParameterValues", ["%s=%s:%s" % (k, v, XSD[params[k].type])
                                                  for k, v in sorted(want.items())])]
    assert make_agent(acs.url, **sections).run() == 0
    assert b"<Status>" in acs.sessions[0].answers[0][1], acs.sessions[0].answers[0][1][:400]
    # restart (not a boot): everything reads back as written
    acs.queue = [build_rpc("GetParameterValues", sorted(want))]
    again = make_agent(acs.url, boot=False, **sections)
    assert again.run() == 0
    got = {k: again.model.store.get(k).value for k in want}
    assert got == want
    seen = parse_values(acs.sessions[1].answers[0][1])
    assert {k: v for k, v in seen.items() if not params[k].flags & HIDDEN} == \
        {k: v for k, v in want.items() if not params[k].flags & HIDDEN}
    assert "4 VALUE CHANGE" not in events_of(acs.sessions[1].inform)


def test_provisioning_code_set_locally_survives_a_restart_silently(acs, make_agent):
    from rocket.owner import ctl
    agent = make_agent(acs.url, once=False, notify={"settle": "0"})
    agent.start()
    try:
        assert run_until(agent, lambda: acs.sessions and acs.sessions[-1].ended and not agent.in_session)
        control = [s for s in agent.services if isinstance(s, ctl.ControlServer)][0]
        assert control.handle(b"set Device.DeviceInfo.ProvisioningCode=PC-local").startswith("ok")
        assert run_until(agent, lambda: len(acs.sessions) == 2 and acs.sessions[1].ended and not agent.in_session)
        assert "4 VALUE CHANGE" in events_of(acs.sessions[1].inform)
    finally:
        agent.stop()
    again = make_agent(acs.url, boot=False)
    assert again.run() == 0
    assert again.model.value("Device.DeviceInfo.ProvisioningCode") == "PC-local"
    assert "<Value xsi:type=\"xsd:string\">PC-local</Value>" in acs.sessions[2].inform
    assert "4 VALUE CHANGE" not in events_of(acs.sessions[2].inform)


def test_the_file_wins_again_when_its_provisioning_code_changes(acs, make_agent):
    acs.queue = [build_rpc("SetParameterValues", ["Device.DeviceInfo.ProvisioningCode=ACS-1"])]
    assert make_agent(acs.url, cpe={"provisioning_code": "FILE-1", "manufacturer": "Test Co", "oui": "00AA11",
                                     "product_class": "TestBox", "serial_number": "TB-0001"}).run() == 0
    a = make_agent(acs.url, boot=False, cpe={"provisioning_code": "FILE-1"})
    assert a.model.value("Device.DeviceInfo.ProvisioningCode") == "ACS-1"  # the ACS's write stands
    a = make_agent(acs.url, boot=False, cpe={"provisioning_code": "FILE-2"})
    assert a.model.value("Device.DeviceInfo.ProvisioningCode") == "FILE-2"  # the operator edited the file
