"""Alias-Based Addressing and instance wildcards (TR-069 §3.6.1, A.3.2.1,
Amendment 6): real sessions against the in-repo ACS on a real router's tree
(the TP-Link EX220 dump, whose tables repeat their CPE-assigned aliases),
and the path parser's properties."""

import os
import re

from hypothesis import given, strategies as st

from conftest import DEVICES
from rocket.datamodel import paths
from rocket.datamodel.store import Obj, Param, Store
from rocket.devacs import build_rpc, parse_values
from test_backends import session as run
from test_openwrt_sessions import cfg, owrt  # noqa: F401  (owrt: the replayed Archer C7)
from transfer_util import fault_codes

EX220 = os.path.join(DEVICES, "device-1C61B4-EX220-2226469000523.csv")
FWD = "Device.Routing.Router.1.IPv4Forwarding."


def session(acs, make_agent, *rpcs, boot=False):
    acs.queue = list(rpcs)
    agent = make_agent(acs.url, boot=boot, backends={"static": EX220, "static_persist": "true"},
                       diagnostics={"enable": "false"})
    assert agent.run() == 0
    return [a[1].decode() if isinstance(a[1], bytes) else a[1] for a in acs.sessions[-1].answers]


def names(reply):
    return re.findall(r"<Name>([^<]*)</Name>", reply)


def test_aliases_wildcards_and_the_faults_of_a_real_tree(acs, make_agent):
    a = session(acs, make_agent,
                build_rpc("GetParameterValues", ["Device.ManagementServer."]),
                build_rpc("SetParameterValues", ["Device.IP.Interface.1.Alias=lan"]),
                build_rpc("GetParameterValues", ["Device.IP.Interface.[lan].Name",
                                                 "Device.IP.Interface.[ipoe_0_0_d].IPv4Address.*.IPAddress"]),
                build_rpc("GetParameterValues", ["Device.IP.Interface.*.Name"]),
                build_rpc("GetParameterAttributes", ["Device.WiFi.SSID.*.SSID"]),
                build_rpc("GetParameterNames", ["Device.IP.Interface.[lan].IPv4Address.*.", "1"]),
                # the faults
                build_rpc("SetParameterValues", ["Device.IP.Interface.2.Alias=lan"]),
                build_rpc("SetParameterValues", ["Device.IP.Interface.2.Alias=9lives"]),
                build_rpc("SetParameterValues", ["Device.IP.Interface.*.Enable=true:boolean"]),
                build_rpc("SetParameterAttributes", ["Device.IP.Interface.*.Name=1"]),
                build_rpc("GetParameterValues", ["Device.IP.Interface.[nope].Name"]),
                build_rpc("GetParameterValues", ["Device.IP.Interface.[lan.Name"]),
                build_rpc("DeleteObject", ["Device.IP.Interface.*."]),
                build_rpc("GetParameterValues", ["Device.DeviceInfo.*.Name"]),
                build_rpc("SetParameterValues", [FWD + "[r9].DestIPAddress=10.9.0.0"]))
    ms = parse_values(a[0].encode())
    assert ms["Device.ManagementServer.AliasBasedAddressing"] == "true"
    assert ms["Device.ManagementServer.InstanceWildcardsSupported"] == "true"
    assert ms["Device.ManagementServer.InstanceMode"] == "InstanceNumber"
    assert ms["Device.ManagementServer.AutoCreateInstances"] == "false"
    assert "<Status>0</Status>" in a[1]
    got = parse_values(a[2].encode())
    assert got["Device.IP.Interface.1.Name"] == "br0"  # InstanceNumber mode: numbers come back
    assert list(got)[1:] == ["Device.IP.Interface.4.IPv4Address.1.IPAddress"]
    assert sorted(parse_values(a[3].encode())) == ["Device.IP.Interface.%d.Name" % i for i in (1, 2, 3, 4)]
    ssids = names(a[4])
    assert len(ssids) == 14 and all(re.match(r"Device\.WiFi\.SSID\.\d+\.SSID$", n) for n in ssids)
    listed = names(a[5])  # the children of both IPv4Address instances of interface 1
    assert {n[:len("Device.IP.Interface.1.IPv4Address.1.")] for n in listed} == {
        "Device.IP.Interface.1.IPv4Address.1.", "Device.IP.Interface.1.IPv4Address.2."}
    assert "Device.IP.Interface.1.IPv4Address.1.IPAddress" in listed
    # taken alias, alias not starting with a letter: 9007 for that parameter
    assert fault_codes(a[6]) == [9003, 9007] and "taken" in a[6]
    assert fault_codes(a[7]) == [9003, 9007]
    # wildcards only in GPV/GPN/GPA: 9005
    assert fault_codes(a[8]) == [9003, 9005]
    assert fault_codes(a[9]) == [9005]
    assert fault_codes(a[10]) == [9005] and "nope" in a[10]
    assert fault_codes(a[11]) == [9005]
    assert fault_codes(a[12]) == [9005]
    assert fault_codes(a[13]) == [9005] and "not a table" in a[13]
    # AutoCreateInstances false: an unknown alias is an unknown name
    assert fault_codes(a[14]) == [9003, 9005]


def test_auto_create_add_object_and_alias_mode(acs, make_agent):
    before = session(acs, make_agent, build_rpc("GetParameterNames", [FWD, "1"]))
    n0 = len(names(before[0]))
    a = session(acs, make_agent,
                build_rpc("SetParameterValues", ["Device.ManagementServer.AutoCreateInstances=true:boolean"]),
                build_rpc("SetParameterValues", [FWD + "[r9].DestIPAddress=10.9.0.0",
                                                 FWD + "[r9].DestSubnetMask=255.255.0.0"]),
                build_rpc("AddObject", [FWD + "[r10]."]),
                build_rpc("AddObject", [FWD + "[r10]."]),
                build_rpc("AddObject", [FWD]),
                # a failing request creates nothing
                build_rpc("SetParameterValues", [FWD + "[r11].DestIPAddress=10.11.0.0",
                                                 FWD + "[r11].NoSuchThing=1"]),
                build_rpc("SetParameterValues", ["Device.ManagementServer.InstanceMode=InstanceAlias"]),
                build_rpc("GetParameterValues", [FWD + "[r9].", "Device.IP.Interface.1.Name"]),
                build_rpc("GetParameterNames", [FWD, "1"]),
                build_rpc("DeleteObject", [FWD + "[r10]."]))
    assert all("<Status>" in x for x in a[:2])
    n9 = int(re.search(r"<InstanceNumber>(\d+)<", a[2]).group(1))
    assert fault_codes(a[3]) == [9005]  # that alias is taken
    n_plain = int(re.search(r"<InstanceNumber>(\d+)<", a[4]).group(1))  # numbers, never aliases
    assert fault_codes(a[5]) == [9003, 9005]
    got = parse_values(a[7].encode())
    fwd = "Device.Routing.Router.[cpe-router].IPv4Forwarding."  # its alias is unique: used
    assert got[fwd + "[r9].DestIPAddress"] == "10.9.0.0"
    assert got[fwd + "[r9].Alias"] == "r9"
    # Interface 1 has a unique alias only if set; the EX220's own are repeated: numbers stay
    assert "Device.IP.Interface.1.Name" in got
    listed = names(a[8])
    assert fwd + "[r9]." in listed and fwd + "[r10]." in listed
    assert fwd + "[cpe-%d]." % n_plain in listed  # the CPE named the plain AddObject's instance
    assert not any("r11" in n for n in listed)
    assert len(listed) == n0 + 3
    assert "<Status>" in a[9]
    # persisted (static_persist): the next session sees the same tree
    after = session(acs, make_agent, build_rpc("GetParameterValues", [FWD + "[r9].DestIPAddress"]),
                    build_rpc("GetParameterNames", [FWD + "[r10].", "1"]))
    assert parse_values(after[0].encode()) == {fwd + "[r9].DestIPAddress": "10.9.0.0"}
    assert fault_codes(after[1]) == [9005]
    assert n9 > 0


# ----------------------------------------------------------------- parser
_name = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True)
_alias = st.from_regex(r"[A-Za-z][A-Za-z0-9_:-]{0,8}", fullmatch=True)
_inst = st.one_of(st.integers(1, 999).map(str), _alias.map(lambda a: "[%s]" % a), st.just("*"))
_segs = st.lists(st.tuples(_name, st.one_of(st.none(), _inst)), min_size=1, max_size=5)


@given(_segs, st.booleans())
def test_split_gives_back_the_segments(segs, obj):
    flat = [s for n, i in segs for s in ((n,) if i is None else (n, i))]
    path = ".".join(flat) + ("." if obj else "")
    assert paths.split(path) == flat + ([""] if obj else [])


@given(st.text(alphabet="Ab1.[]*x-", max_size=30))
def test_split_refuses_or_parses_never_crashes(text):
    try:
        segs = paths.split(text)
    except paths.PathError:
        return
    assert ".".join(segs) == text
    assert segs[0] and segs[0][0] not in "[*"
    for s in segs:
        assert s == "*" or s == "" or ("[" not in s[1:] and "]" not in s[:-1])


def _tree(aliases):
    s = Store()
    s.add_object("Device.T.", table=True, writable=True)
    for n, a in aliases.items():
        s.add_object("Device.T.%d." % n, writable=True)
        s.add("Device.T.%d.Alias" % n, Param(a))
        s.add("Device.T.%d.X" % n, Param(str(n)))
    return s


@given(st.dictionaries(st.integers(1, 50), _alias, max_size=8))
def test_expand_and_aliased_agree(aliases):
    s = _tree(aliases)
    found, missing = paths.expand(s, "Device.T.*.X")
    assert found == ["Device.T.%d.X" % n for n in sorted(aliases)] and not missing
    for row in paths.aliased(s, [(p,) for p in found]):
        back, gone = paths.expand(s, row[0])
        n = int(re.search(r"\.(\d+)\.X$", back[0]).group(1)) if back else None
        assert not gone and back == ["Device.T.%d.X" % n]
        if "[" in row[0]:
            assert list(aliases.values()).count(aliases[n]) == 1
    objs = paths.aliased(s, [("Device.T.%d." % n, True) for n in sorted(aliases)])
    unique = [n for n in sorted(aliases) if list(aliases.values()).count(aliases[n]) == 1]
    assert [o for o, _ in objs if "[" in o] == ["Device.T.[%s]." % aliases[n] for n in unique]
    assert paths.expand(s, "Device.T.[zz-none].X") == ([], [("Device.T.", "zz-none", "X")])
    assert isinstance(s.get("Device.T."), Obj)


def test_openwrt_replay_tables_by_alias(acs, make_agent, owrt):
    """The openwrt pack names its instances "cpe-<key>" (unique per table):
    the ACS can address them by alias and read every path in alias form;
    its Alias parameters are read-only, so nothing is created by alias."""
    answers, agent = run(acs, make_agent, [
        build_rpc("GetParameterValues", ["Device.IP.Interface.[cpe-lan].Name", "Device.WiFi.SSID.*.SSID"]),
        build_rpc("SetParameterValues", ["Device.ManagementServer.InstanceMode=InstanceAlias",
                                         "Device.ManagementServer.AutoCreateInstances=true:boolean"]),
        build_rpc("GetParameterNames", ["Device.IP.Interface.", "1"]),
        build_rpc("GetParameterValues", ["Device.WiFi.SSID.*.SSID"]),
        build_rpc("AddObject", ["Device.NAT.PortMapping.[pm9]."]),
        build_rpc("SetParameterValues", ["Device.IP.Interface.[cpe-new].Enable=true:boolean"]),
        build_rpc("GetParameterNames", ["Device.NAT.PortMapping.", "1"])], **cfg())
    v = parse_values(answers[0])
    assert v.pop("Device.IP.Interface.%s.Name" % re.search(
        r"Device\.IP\.Interface\.(\d+)\.Name", answers[0].decode()).group(1)) == "lan"
    assert "C7-Guest" in v.values() and all(re.match(r"Device\.WiFi\.SSID\.\d+\.SSID$", k) for k in v)
    listed = names(answers[2].decode())
    assert "Device.IP.Interface.[cpe-lan]." in listed and not any(re.search(r"\.\d+\.$", n) for n in listed)
    got = parse_values(answers[3])
    assert got and all(re.match(r"Device\.WiFi\.SSID\.\[cpe-[^\]]+\]\.SSID$", k) for k in got)
    assert "C7-Guest" in got.values()
    assert fault_codes(answers[4].decode()) == [9005]
    assert fault_codes(answers[5].decode()) == [9003, 9005]
    assert names(answers[6].decode()) == [n for n in names(answers[6].decode()) if "pm9" not in n]
    assert owrt.services() == []  # nothing was written



def test_inform_in_alias_mode_and_inform_parameter_by_alias(acs, make_agent):
    """InstanceMode = InstanceAlias: the Inform's ParameterList uses aliases
    too; an InformParameter may name its parameter by alias."""
    IP = "Device.ManagementServer.InformParameter."
    a = session(acs, make_agent,
                build_rpc("SetParameterValues", ["Device.IP.Interface.4.Alias=wan"]),
                build_rpc("AddObject", [IP]))
    n = re.search(r"<InstanceNumber>(\d+)<", a[1]).group(1)
    session(acs, make_agent,
            build_rpc("SetParameterValues", ["%s%s.Enable=true:boolean" % (IP, n),
                                             "%s%s.ParameterName=Device.IP.Interface.[wan].Name" % (IP, n)]))
    session(acs, make_agent, build_rpc("SetParameterValues", ["Device.ManagementServer.InstanceMode=InstanceAlias"]),
            boot=True)
    assert "<Name>Device.IP.Interface.4.Name</Name>" in acs.sessions[-1].inform  # numbers until then
    session(acs, make_agent, build_rpc("GetParameterValues", ["Device.IP.Interface.[wan].Name"]), boot=True)
    inform = acs.sessions[-1].inform
    assert "<Name>Device.IP.Interface.[wan].Name</Name><Value xsi:type=\"xsd:string\">eth1@0</Value>" in inform
    assert "Device.IP.Interface.4.Name" not in inform


def test_owner_policy_sees_through_aliases(acs, make_agent, tmp_path):
    """The owner's deny_write rules judge the instances an alias names: an
    alias is no way around them, and auto-creation is an AddObject."""
    from test_policy import write_policy
    pol = write_policy(tmp_path, "[parameters]\ndeny_write = Device.IP.Interface.1. %s\n" % FWD)
    acs.queue = [build_rpc("SetParameterValues", ["Device.ManagementServer.AutoCreateInstances=true:boolean",
                                                  "Device.IP.Interface.4.Alias=wan"]),
                 build_rpc("SetParameterValues", ["Device.IP.Interface.[cpe-ipintf].Alias=lan"]),
                 build_rpc("SetParameterAttributes", ["Device.IP.Interface.[cpe-ipintf].Name=1"]),
                 build_rpc("SetParameterAttributes", ["Device.IP.Interface.[wan].Name=1"]),
                 build_rpc("SetParameterValues", [FWD + "[r9].DestIPAddress=10.9.0.0"]),
                 build_rpc("AddObject", [FWD + "[r9]."]),
                 build_rpc("DeleteObject", ["Device.Routing.Router.[cpe-router].IPv4Forwarding.1."]),
                 build_rpc("GetParameterNames", [FWD, "1"])]
    agent = make_agent(acs.url, backends={"static": EX220}, diagnostics={"enable": "false"}, policy={"file": pol})
    assert agent.run() == 0
    a = [r.decode() for _, r in acs.sessions[-1].answers]
    assert "<Status>" in a[0]
    # [cpe-ipintf] is interface 1 (the lowest of those sharing it): denied
    assert fault_codes(a[1]) == [9003, 9008]
    assert fault_codes(a[2]) == [9001]
    assert "SetParameterAttributesResponse" in a[3]
    assert fault_codes(a[4]) == [9001] and fault_codes(a[5]) == [9001] and fault_codes(a[6]) == [9001]
    assert "r9" not in a[7] and len(names(a[7])) == 3  # nothing created, nothing deleted


def test_the_agents_own_table_by_alias(acs, make_agent):
    """InformParameter.{i} (the agent's own table) carries an Alias: created
    by alias through AddObject and auto-creating SetParameterValues, named
    cpe-N by a plain AddObject, persisted, removed again when a request fails."""
    IP = "Device.ManagementServer.InformParameter."
    acs.queue = [build_rpc("SetParameterValues", ["Device.ManagementServer.AutoCreateInstances=true:boolean"]),
                 build_rpc("AddObject", [IP + "[up]."]),
                 build_rpc("SetParameterValues", [IP + "[up].ParameterName=Device.DeviceInfo.UpTime",
                                                  IP + "[up].Enable=true:boolean",
                                                  IP + "[mem].ParameterName=Device.DeviceInfo.Manufacturer"]),
                 build_rpc("AddObject", [IP]),
                 build_rpc("SetParameterValues", [IP + "[bad].ParameterName=Device.DeviceInfo.SoftwareVersion"]),
                 build_rpc("SetParameterValues", [IP + "1.Alias=mem"])]
    agent = make_agent(acs.url)
    assert agent.run() == 0
    a = [r.decode() for _, r in acs.sessions[-1].answers]
    assert "<InstanceNumber>1<" in a[1] and "<Status>0<" in a[2] and "<InstanceNumber>3<" in a[3]
    assert fault_codes(a[4]) == [9003, 9007]  # a Forced Inform parameter: [bad] is not kept
    assert fault_codes(a[5]) == [9003, 9007] and "taken" in a[5]
    acs.queue = [build_rpc("GetParameterValues", [IP + "*.Alias", IP + "[up].ParameterName",
                                                  "Device.ManagementServer.InformParameterNumberOfEntries"])]
    agent = make_agent(acs.url, boot=False)  # a restart: the table comes back from the state directory
    assert agent.run() == 0
    assert parse_values(acs.sessions[-1].answers[0][1]) == {
        IP + "1.Alias": "up", IP + "2.Alias": "mem", IP + "3.Alias": "cpe-3",
        IP + "1.ParameterName": "Device.DeviceInfo.UpTime",
        "Device.ManagementServer.InformParameterNumberOfEntries": "3"}
