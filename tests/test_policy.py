"""The owner policy: every RPC family against a policy that denies it gets the
right fault, changes nothing (a following read shows it), and leaves an
audit line naming the rule. Also: masking, the master switch, reloads."""

import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import run_pyz, write_conf
from rocket.cwmp import soap
from rocket.owner.audit import read_records
from rocket.base.config import ConfigError
from rocket.devacs import build_rpc, parse_values
from rocket.owner.policy import Policy, _overlaps

MS = "Device.ManagementServer."
IP = MS + "InformParameter."


def fault_of(reply):
    m = re.search(rb"<FaultCode>(\d+)</FaultCode>", reply)
    return int(m.group(1)) if m else None


def param_faults(reply):
    return re.findall(rb"<SetParameterValuesFault><ParameterName>([^<]*)</ParameterName>"
                      rb"<FaultCode>(\d+)</FaultCode>", reply)


def write_policy(tmp_path, text, name="policy.conf"):
    p = tmp_path / name
    p.write_text(text)
    os.chmod(str(p), 0o600)
    return str(p)


def records(agent, kind=None):
    recs, bad = read_records(agent.audit.path)
    assert bad == 0
    return [r for r in recs if kind is None or r["kind"] == kind]


def rpc_lines(agent, name):
    return [r for r in records(agent, "rpc") if r["rpc"] == name]


def run(server, make_agent, tmp_path, policy, queue, setup=None, **sections):
    server.queue = list(queue)
    agent = make_agent(server.url, policy={"file": write_policy(tmp_path, policy)}, **sections)
    if setup is not None:
        setup(agent)
    assert agent.run() == 0
    return agent, [reply for _, reply in server.sessions[-1].answers]


# ------------------------------------------------------------ parameters
def test_spv_on_denied_path_is_9003_with_9008_and_nothing_applied(acs, make_agent, tmp_path):
    agent, replies = run(acs, make_agent, tmp_path, """
[parameters]
deny_write = Device.ManagementServer.URL
    Device.ManagementServer.PeriodicInformInterval
""", [build_rpc("SetParameterValues", [MS + "PeriodicInformInterval=60:unsignedInt",
                                        MS + "PeriodicInformEnable=false:boolean"]),
      build_rpc("GetParameterValues", [MS + "PeriodicInformInterval", MS + "PeriodicInformEnable",
                                       MS + "ParameterKey"])])
    assert fault_of(replies[0]) == 9003
    assert param_faults(replies[0]) == [((MS + "PeriodicInformInterval").encode(), b"9008")]
    # all or nothing: the allowed parameter in the same request is not applied either
    assert parse_values(replies[1]) == {MS + "PeriodicInformInterval": "3600",
                                        MS + "PeriodicInformEnable": "true", MS + "ParameterKey": ""}
    (line,) = rpc_lines(agent, "SetParameterValues")
    assert line["fault"] == 9003
    assert line["policy"] == "[parameters] deny_write: Device.ManagementServer.PeriodicInformInterval"
    assert line["faults"] == [MS + "PeriodicInformInterval 9008"]
    assert records(agent, "set") == []


@pytest.mark.parametrize("name", ["DelayReboot", "ScheduleReboot"])
def test_refused_reboot_parameter_names_the_reboot_rule(acs, make_agent, tmp_path, caplog, name):
    """Only reboot = no in the policy: the write is refused, and the audit and
    the log name that rule (not an empty deny_write)."""
    value = "30:int" if name == "DelayReboot" else "2030-01-01T00:00:00Z:dateTime"
    agent, replies = run(acs, make_agent, tmp_path, "[management]\nreboot = no\n",
                         [build_rpc("SetParameterValues", [MS + name + "=" + value])])
    assert fault_of(replies[0]) == 9003
    assert param_faults(replies[0]) == [((MS + name).encode(), b"9008")]
    (line,) = rpc_lines(agent, "SetParameterValues")
    assert line["policy"] == "[management] reboot = no"
    (log_line,) = [r.getMessage() for r in caplog.records if "refused for" in r.getMessage()]
    assert MS + name in log_line and "[management] reboot = no" in log_line


def test_each_refusing_rule_is_named_once(acs, make_agent, tmp_path, caplog):
    agent, replies = run(acs, make_agent, tmp_path, """
[management]
reboot = no
[parameters]
deny_write = Device.ManagementServer.URL Device.ManagementServer.PeriodicInformTime
    Device.ManagementServer.Username
""", [build_rpc("SetParameterValues", [MS + "DelayReboot=5:int", MS + "URL=http://x.test/:string",
                                        MS + "Username=u:string", MS + "ConnectionRequestUsername=c:string"])])
    assert fault_of(replies[0]) == 9003
    (line,) = rpc_lines(agent, "SetParameterValues")
    assert line["policy"] == ("[management] reboot = no; [parameters] deny_write: Device.ManagementServer.URL; "
                              "[parameters] deny_write: Device.ManagementServer.Username")
    (log_line,) = [r.getMessage() for r in caplog.records if "refused for" in r.getMessage()]
    assert line["policy"] in log_line


def test_gpn_reports_denied_paths_not_writable(acs, make_agent, tmp_path):
    agent, replies = run(acs, make_agent, tmp_path, """
[parameters]
deny_write = Device.ManagementServer.URL Device.ManagementServer.InformParameter.
""", [build_rpc("GetParameterNames", [MS, "1"])])
    names = dict(re.findall(rb"<Name>([^<]*)</Name><Writable>(true|false)</Writable>", replies[0]))
    assert names[(MS + "URL").encode()] == b"false"
    assert names[IP.encode()] == b"false"
    assert names[(MS + "Username").encode()] == b"true"


def test_addobject_on_denied_table_is_9001(acs, make_agent, tmp_path):
    agent, replies = run(acs, make_agent, tmp_path, """
[parameters]
deny_write = Device.ManagementServer.InformParameter.
""", [build_rpc("AddObject", [IP]),
      build_rpc("GetParameterValues", [MS + "InformParameterNumberOfEntries", MS + "ParameterKey"])])
    assert fault_of(replies[0]) == 9001
    assert parse_values(replies[1]) == {MS + "InformParameterNumberOfEntries": "0", MS + "ParameterKey": ""}
    (line,) = rpc_lines(agent, "AddObject")
    assert line["fault"] == 9001 and line["policy"] == "[parameters] deny_write: " + IP
    assert records(agent, "add") == []


def test_deleteobject_touching_a_denied_parameter_is_9001(acs, make_agent, tmp_path):
    def setup(agent):  # an instance made locally, not by the ACS
        agent.model._add_local(IP)
        agent.model.store.get(IP + "1.ParameterName").value = "Device.DeviceInfo.UpTime"

    agent, replies = run(acs, make_agent, tmp_path, """
[parameters]
deny_write = Device.ManagementServer.InformParameter.*.ParameterName
""", [build_rpc("DeleteObject", [IP + "1."]),
      build_rpc("GetParameterValues", [IP + "1.ParameterName"])], setup=setup)
    assert fault_of(replies[0]) == 9001
    assert parse_values(replies[1]) == {IP + "1.ParameterName": "Device.DeviceInfo.UpTime"}
    (line,) = rpc_lines(agent, "DeleteObject")
    assert line["fault"] == 9001
    assert line["policy"] == "[parameters] deny_write: Device.ManagementServer.InformParameter.*.ParameterName"
    assert records(agent, "delete") == []


def test_spa_on_denied_subtree_is_9001(acs, make_agent, tmp_path):
    agent, replies = run(acs, make_agent, tmp_path, """
[parameters]
deny_write = Device.ManagementServer.
""", [build_rpc("SetParameterAttributes", [MS + "PeriodicInformInterval=2"]),
      build_rpc("SetParameterAttributes", ["Device.=1"]),  # a subtree holding denied paths
      build_rpc("GetParameterAttributes", [MS + "PeriodicInformInterval"])])
    assert fault_of(replies[0]) == 9001
    assert fault_of(replies[1]) == 9001
    assert b"<Notification>0</Notification>" in replies[2]
    assert [r["fault"] for r in rpc_lines(agent, "SetParameterAttributes")] == [9001, 9001]
    assert records(agent, "attributes") == []


def test_denied_read_is_masked_everywhere_but_forced_inform(acs, make_agent, tmp_path):
    def setup(agent):
        agent.model._add_local(IP)
        agent.model.store.get(IP + "1.ParameterName").value = MS + "Username"
        agent.model.store.get(IP + "1.Enable").value = "true"

    agent, replies = run(acs, make_agent, tmp_path, """
[parameters]
deny_read = Device.ManagementServer.Username
    Device.DeviceInfo.
""", [build_rpc("GetParameterValues", [MS + "Username", MS + "URL", "Device.DeviceInfo."]),
      build_rpc("GetParameterNames", [MS + "Username", "0"]),
      build_rpc("GetParameterAttributes", [MS + "Username"])],
        setup=setup, acs={"username": "the-acs-user"})
    vals = parse_values(replies[0])
    assert vals[MS + "Username"] == ""
    assert vals[MS + "URL"] == acs.url
    assert vals["Device.DeviceInfo.Manufacturer"] == ""
    # Forced Inform parameters are not masked, not in GPV and not in the Inform
    assert vals["Device.DeviceInfo.SoftwareVersion"] == "1.0.0"
    assert b"<Name>" + (MS + "Username").encode() in replies[1]  # still listed
    assert fault_of(replies[2]) is None
    inform = acs.sessions[0].inform
    assert "<Name>Device.DeviceInfo.SoftwareVersion</Name><Value xsi:type=\"xsd:string\">1.0.0</Value>" in inform
    # an InformParameter naming a masked parameter carries the empty value
    assert re.search(r"<Name>Device.ManagementServer.Username</Name><Value[^>]*></Value>", inform)
    assert "the-acs-user" not in inform
    assert "the-acs-user" not in "".join(r.decode() for r in replies)
    (gpv,) = rpc_lines(agent, "GetParameterValues")
    # Username, and DeviceInfo Manufacturer, ManufacturerOUI, ProductClass, SerialNumber, UpTime,
    # DeviceImageNumberOfEntries
    assert gpv["masked"] == 7 and gpv["policy"] == "[parameters] deny_read"
    assert "masked" not in rpc_lines(agent, "GetParameterNames")[0]


# -------------------------------------------------- operations by RPC name
DOWNLOAD = ("<cwmp:Download><CommandKey>k1</CommandKey><FileType>{ft}</FileType><URL>{url}</URL>"
            "<Username>u</Username><Password>dl-pass</Password><FileSize>10</FileSize>"
            "<TargetFileName></TargetFileName><DelaySeconds>0</DelaySeconds><SuccessURL></SuccessURL>"
            "<FailureURL></FailureURL></cwmp:Download>")
SCHEDULE_DOWNLOAD = ("<cwmp:ScheduleDownload><CommandKey>k2</CommandKey><FileType>1 Firmware Upgrade Image"
                     "</FileType><URL>{url}</URL><Username></Username><Password></Password><FileSize>0"
                     "</FileSize><TargetFileName></TargetFileName><TimeWindowList/></cwmp:ScheduleDownload>")
UPLOAD = ("<cwmp:Upload><CommandKey>k3</CommandKey><FileType>2 Vendor Log File</FileType><URL>{url}</URL>"
          "<Username></Username><Password></Password><DelaySeconds>0</DelaySeconds></cwmp:Upload>")
CHANGE_DU = ("<cwmp:ChangeDUState><Operations><InstallOpStruct><URL>{url}</URL><UUID></UUID>"
             "</InstallOpStruct></Operations><CommandKey>k4</CommandKey></cwmp:ChangeDUState>")
FW = "1 Firmware Upgrade Image"
CFG = "3 Vendor Configuration File"
GOOD = "https://fw.example.net/images/x.bin"

CASES = [
    # (policy, rpc name, request XML, expected fault, expected rule)
    ("[management]\nreboot = no\n", "Reboot", build_rpc("Reboot", ["rk"]), 9001, "[management] reboot = no"),
    ("[management]\nfactory_reset = no\n", "FactoryReset", build_rpc("FactoryReset", []), 9001,
     "[management] factory_reset = no"),
    ("[download]\nallow = no\n", "Download", DOWNLOAD.format(ft=CFG, url=GOOD), 9001, "[download] allow = no"),
    ("[download]\nfirmware = no\n", "Download", DOWNLOAD.format(ft=FW, url=GOOD), 9001,
     "[download] firmware = no"),
    ("[download]\nconfig = no\n", "Download", DOWNLOAD.format(ft=CFG, url=GOOD), 9001,
     "[download] config = no"),
    ("[download]\nfrom = https://fw.example.net/images/\n", "Download",
     DOWNLOAD.format(ft=FW, url="https://fw.example.net.evil.test/images/x.bin"), 9001,
     "[download] from: URL not allowed"),
    ("[download]\nfrom = https://fw.example.net/images/\n", "Download",
     DOWNLOAD.format(ft=FW, url="https://fw.example.net/images/../other/x.bin"), 9001,
     "[download] from: URL not allowed"),
    ("[download]\nfrom = fw.example.net\n", "ScheduleDownload",
     SCHEDULE_DOWNLOAD.format(url="http://fw.example.net@evil.test/x.bin"), 9001,
     "[download] from: URL not allowed"),
    ("[download]\nallow = no\n", "ChangeDUState", CHANGE_DU.format(url=GOOD), 9001, "[download] allow = no"),
    ("[upload]\nallow = no\n", "Upload", UPLOAD.format(url="http://logs.example.net/up"), 9001,
     "[upload] allow = no"),
    ("[upload]\nto = .example.net\n", "Upload", UPLOAD.format(url="http://example.org/up"), 9001,
     "[upload] to: URL not allowed"),
    ("[management]\nremote = no\n", "GetRPCMethods", build_rpc("GetRPCMethods", []), 9001,
     "[management] remote = no"),
]


def _register_fakes(agent, called):
    """Stand-ins for handlers other modules provide: they would act, and they
    would write ProvisioningCode so that a following GPV shows they ran."""
    def make(name):
        def handler(msg):
            called.append(name)
            agent.model.set_internal("Device.DeviceInfo.ProvisioningCode", "RAN-" + name)
            return [soap.rpc(name + "Response")]
        return handler
    for name in ("Reboot", "FactoryReset", "Download", "ScheduleDownload", "Upload", "ChangeDUState"):
        agent.rpc.register(name, make(name))


@pytest.mark.parametrize("policy,name,request_xml,code,rule", CASES,
                         ids=["%s-%d" % (c[1], i) for i, c in enumerate(CASES)])
def test_operation_denied_by_policy(acs, make_agent, tmp_path, policy, name, request_xml, code, rule):
    called = []
    gpv = build_rpc("GetParameterValues", ["Device.DeviceInfo.ProvisioningCode"])
    if "remote = no" in policy:
        # the master switch also refuses requests in a session already running
        acs.queue = [request_xml, gpv]
        agent = make_agent(acs.url, policy={"file": write_policy(tmp_path, "")})
        _register_fakes(agent, called)
        agent.policy.use(Policy.parse(policy, "test"))
        agent.gates.clear()  # the session starts: the switch flips while it runs
        assert agent.run() == 0
        replies = [r for _, r in acs.sessions[-1].answers]
    else:
        agent, replies = run(acs, make_agent, tmp_path, policy, [request_xml, gpv],
                             setup=lambda a: _register_fakes(a, called))
    assert fault_of(replies[0]) == code
    assert called == []
    if "remote = no" not in policy:
        assert parse_values(replies[1]) == {"Device.DeviceInfo.ProvisioningCode": ""}
    (line,) = rpc_lines(agent, name)
    assert line["result"] == "fault" and line["fault"] == code and line["policy"] == rule


def test_allowed_operations_still_run(acs, make_agent, tmp_path):
    called = []
    agent, replies = run(acs, make_agent, tmp_path, """
[download]
firmware = yes
config = no
from = https://fw.example.net/images/ .cdn.example.net
[upload]
to = http://logs.example.net/
""", [DOWNLOAD.format(ft=FW, url=GOOD), DOWNLOAD.format(ft=FW, url="http://a.cdn.example.net/f.bin"),
      UPLOAD.format(url="http://logs.example.net/up/1"), build_rpc("Reboot", ["rk"])],
        setup=lambda a: _register_fakes(a, called))
    assert [fault_of(r) for r in replies] == [None] * 4
    assert called == ["Download", "Download", "Upload", "Reboot"]
    assert [r["result"] for r in records(agent, "rpc")] == ["ok"] * 4


def test_schedule_reboot_parameters_follow_the_reboot_rule(acs, make_agent, tmp_path):
    agent, replies = run(acs, make_agent, tmp_path, "[management]\nreboot = no\n",
                         [build_rpc("SetParameterValues", [MS + "DelayReboot=30:int"]),
                          build_rpc("GetParameterValues", [MS + "DelayReboot"])])
    assert param_faults(replies[0]) == [((MS + "DelayReboot").encode(), b"9008")]
    assert parse_values(replies[1]) == {MS + "DelayReboot": "-1"}


# ----------------------------------------------------------- master switch
def test_master_switch_no_session_reaches_the_acs(acs, make_agent, tmp_path, caplog):
    pol = write_policy(tmp_path, "[management]\nremote = no\n")
    agent = make_agent(acs.url, policy={"file": pol})
    with caplog.at_level("INFO", logger="rocket"):
        assert agent.run() == 1
    assert acs.sessions == [] and acs.server  # nothing reached the ACS
    assert "remote management is off" in caplog.text
    (line,) = records(agent, "denied")
    assert line["action"] == "session" and line["rule"] == "[management] remote = no"
    assert "0 BOOTSTRAP" in line["events"]


def test_master_switch_logs_each_trigger_and_comes_back_on_reload(acs, make_agent, tmp_path, caplog):
    pol = write_policy(tmp_path, "[management]\nremote = no\n")
    agent = make_agent(acs.url, once=False, policy={"file": pol})
    with caplog.at_level("INFO", logger="rocket"):
        agent.start()
        for _ in range(3):
            agent.request_session()
            agent.loop.run_once(max_wait=0.5)
        assert acs.sessions == []
        assert caplog.text.count("session: not started: remote management is off") == 3
        assert "remote management is OFF" in caplog.text  # said at start
        write_policy(tmp_path, "[management]\nremote = yes\n")
        agent.reload()
        for _ in range(50):
            agent.loop.run_once(max_wait=0.2)
            if acs.sessions and acs.sessions[0].ended:
                break
    agent.stop()
    assert len(acs.sessions) == 1
    assert "remote management is back on" in caplog.text
    assert len(records(agent, "denied")) == 3
    assert [r["kind"] for r in records(agent)][-2:] == ["session_start", "session_end"]


# ---------------------------------------------------------------- reload
def test_reload_applies_a_new_policy_and_keeps_the_old_on_error(acs, make_agent, tmp_path, caplog):
    pol = write_policy(tmp_path, "[management]\nreboot = yes\n")
    agent = make_agent(acs.url, policy={"file": pol})
    assert agent.policy.policy.reboot
    write_policy(tmp_path, "[management]\nreboot = no\n")
    agent.reload()
    assert not agent.policy.policy.reboot
    write_policy(tmp_path, "[management]\nreboot = maybe\n")
    with caplog.at_level("ERROR", logger="rocket"):
        agent.reload()
    assert not agent.policy.policy.reboot
    assert "previous policy stays in force" in caplog.text


def test_without_a_file_policy_is_imported_by_the_reload_that_names_one(acs, make_agent, tmp_path, caplog):
    from rocket import plugins
    assert plugins.NO_POLICY == Policy().summary()
    with caplog.at_level("INFO", logger="rocket"):
        agent = make_agent(acs.url)
        assert agent.policy is None and "no policy file, nothing restricted: " + plugins.NO_POLICY in caplog.text
        agent.reload()  # still no file: said and recorded, as a policy would
        agent.audit.flush()
        assert records(agent, "policy")[-1]["summary"] == plugins.NO_POLICY
        conf = write_conf(tmp_path, acs.url, policy={"file": write_policy(tmp_path, "[management]\nreboot = no\n")})
        assert conf == agent.cfg.path
        agent.reload()
    agent.audit.flush()
    assert not agent.policy.policy.reboot and agent.policy.before in agent.rpc.before
    assert "reboot=no" in records(agent, "policy")[-1]["summary"]
    acs.queue = [build_rpc("Reboot", ["k"])]
    assert agent.run() == 0
    assert fault_of(acs.sessions[-1].answers[0][1]) == 9001


def test_bad_policy_stops_the_agent_at_start(acs, pyz, tmp_path):
    pol = write_policy(tmp_path, "[parameters]\ndeny_writ = Device.WiFi.\n")
    conf = write_conf(tmp_path, acs.url, policy={"file": pol})
    r = run_pyz(pyz, conf, "--once")
    assert r.returncode == 2
    assert "unknown key deny_writ" in r.stderr
    assert acs.sessions == []
    conf = write_conf(tmp_path, acs.url, policy={"file": str(tmp_path / "missing.conf")})
    r = run_pyz(pyz, conf, "--once")
    assert r.returncode == 2 and "missing.conf" in r.stderr


def test_sample_policy_file_parses(tmp_path):
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    pol = Policy.load(os.path.join(here, "etc", "rocket-policy.conf"))
    assert pol.remote
    assert pol.read_denied("Device.WiFi.AccessPoint.3.Security.KeyPassphrase")
    assert not pol.read_denied("Device.WiFi.SSID.1.SSID")


# ----------------------------------------------------------------- units
@pytest.mark.parametrize("text,msg", [
    ("[management]\nremote = maybe\n", "not yes or no"),
    ("[nonsense]\nx = 1\n", "unknown section"),
    ("[parameters]\ndeny_read = Device.Wi Fi.\n", "not a parameter path"),
    ("[parameters]\ndeny_read = WiFi.\n", "not a parameter path"),
    ("[parameters]\ndeny_read = Device.WiFi.*x.\n", "not a parameter path"),
    ("[download]\nfrom = https://\n", "not a URL prefix"),
    ("no section\n", "policy"),
])
def test_policy_parse_errors(text, msg):
    with pytest.raises(ConfigError, match=re.escape(msg)):
        Policy.parse(text)


def test_patterns():
    p = Policy.parse("[parameters]\ndeny_write = Device.WiFi.AccessPoint.*.Security.KeyPassphrase "
                     "Device.Users.\n")
    assert p.write_denied("Device.WiFi.AccessPoint.12.Security.KeyPassphrase")
    assert not p.write_denied("Device.WiFi.AccessPoint.12.Security.KeyPassphraseX")
    assert not p.write_denied("Device.WiFi.AccessPoint.Security.KeyPassphrase")
    assert p.write_denied("Device.Users.User.1.Password")
    assert p.write_denied("Device.Users.")
    assert not p.write_denied("Device.UsersX.Y")
    assert p.structure_denied("Device.WiFi.AccessPoint.")  # AddObject there makes a KeyPassphrase
    assert p.structure_denied("Device.WiFi.AccessPoint.2.")
    assert p.structure_denied("")
    assert not p.structure_denied("Device.WiFi.SSID.")
    assert _overlaps("Device.", "Device.X.")
    assert not _overlaps("Device.X.Y", "Device.X.Y")


def test_url_allowed():
    p = Policy()
    places = ["https://fw.example.net/images/", "http://10.0.0.1:8080/fw", ".cdn.example.org", "files.example.com"]
    ok = ["https://fw.example.net/images/a.bin", "HTTPS://FW.example.net/images/a.bin?x=1",
          "http://10.0.0.1:8080/fw/a.bin", "http://10.0.0.1:8080/fw", "http://x.cdn.example.org/a",
          "ftp://files.example.com/a", "https://u:p@fw.example.net/images/a"]
    bad = ["https://fw.example.net/imagesX/a.bin", "http://fw.example.net/images/a.bin",
           "https://fw.example.net:444/images/a.bin", "https://fw.example.net.evil/images/a",
           "https://fw.example.net@evil.test/images/a", "http://10.0.0.1:8080/fwx/a",
           "http://10.0.0.1/fw/a", "https://fw.example.net/images/%2e%2e/x", "http://cdn.example.org.evil/a",
           "http://evilcdn.example.org/a", "http://files.example.com.evil/a", "not a url", "",
           "http://[::1/a"]
    for u in ok:
        assert p.url_allowed(u, places), u
    for u in bad:
        assert not p.url_allowed(u, places), u
    assert p.url_allowed("http://anything/", [])


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-@:/%?#[]", max_size=60))
def test_url_allowed_only_for_the_allowed_host(tail):
    from urllib.parse import urlsplit
    url = "https://" + tail
    p = Policy()
    if p.url_allowed(url, ["https://fw.example.net/images/", "cdn.example.org"]):
        host = urlsplit(url).hostname
        assert host in ("fw.example.net", "cdn.example.org")


def test_the_owner_is_not_restricted_by_the_acs_policy(acs, make_agent, tmp_path):
    """Control-socket reads and writes (between sessions) pass the policy and
    are audited as local; the ACS, in its session, is refused."""
    pol = write_policy(tmp_path, "[parameters]\ndeny_write = Device.ManagementServer.PeriodicInformInterval\n"
                                 "deny_read = Device.ManagementServer.Username\n")
    acs.queue = [build_rpc("SetParameterValues", [MS + "PeriodicInformInterval=60:unsignedInt"]),
                 build_rpc("GetParameterValues", [MS + "PeriodicInformInterval", MS + "Username"])]
    agent = make_agent(acs.url, once=False, policy={"file": pol}, acs={"username": "owner-sees-me"})
    assert agent.ctl.do_set(MS + "PeriodicInformInterval=120") == [
        "set: " + MS + "PeriodicInformInterval", "status: 0 (applied)"]
    assert agent.ctl.do_get(MS + "Username") == [MS + "Username=owner-sees-me"]
    agent.run_session()
    replies = [r for _, r in acs.sessions[0].answers]
    assert param_faults(replies[0]) == [((MS + "PeriodicInformInterval").encode(), b"9008")]
    assert parse_values(replies[1]) == {MS + "PeriodicInformInterval": "120", MS + "Username": ""}
    agent.stop()
    sets = records(agent, "set")
    assert sets == [dict(sets[0], path=MS + "PeriodicInformInterval", old="3600", new="120", by="local")]
    kinds = [r["kind"] for r in records(agent)]
    assert kinds.index("set") < kinds.index("session_start")
