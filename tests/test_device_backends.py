"""The shipped backends: linux on this machine and the static device tree's
writes (openwrt: tests/test_openwrt_sessions.py)."""

import os
import re

from conftest import DEVICES, ROOT
from rocket.devacs import build_rpc, parse_values
from test_backends import fault_code, gpn, gpv, names_of, param_faults, session, spv

SHIPPED = os.path.join(ROOT, "rocket", "backends")

# ------------------------------------------------------------------ linux


def test_linux_backend(acs, make_agent):
    acs.queue = [gpv("Device.DeviceInfo.", "Device.IP.", "Device.Ethernet.", "Device.Time."),
                 gpn("Device.IP.Interface.", "1")]
    agent = make_agent(acs.url, backends={"dir": SHIPPED, "enabled": "linux linux-net"})
    assert agent.run() == 0
    sess = acs.sessions[0]
    v = parse_values(sess.answers[0][1])
    # agent-owned DeviceId and configured SoftwareVersion win; empty HardwareVersion is filled
    assert v["Device.DeviceInfo.SerialNumber"] == "TB-0001"
    assert v["Device.DeviceInfo.SoftwareVersion"] == "1.0.0"
    assert v["Device.DeviceInfo.HardwareVersion"] == os.uname().machine or v["Device.DeviceInfo.HardwareVersion"]
    assert int(v["Device.DeviceInfo.MemoryStatus.Total"]) > 0
    assert 0 <= int(v["Device.DeviceInfo.ProcessStatus.CPUUsage"]) <= 100
    assert v["Device.DeviceInfo.Description"]
    # the forced-inform HardwareVersion was filled in before the Inform
    m = re.search(r"DeviceInfo.HardwareVersion</Name><Value[^>]*>([^<]*)<", sess.inform)
    assert m and m.group(1) == v["Device.DeviceInfo.HardwareVersion"]
    # interfaces are keyed by name: the agent numbers them
    lo = [k[:-len("Name")] for k, x in v.items() if re.match(r"Device\.IP\.Interface\.\d+\.Name$", k) and x == "lo"]
    assert len(lo) == 1
    base = lo[0]
    assert v[base + "Status"] == "Up"
    a4 = [k[:-len("IPAddress")] for k, x in v.items() if k.startswith(base + "IPv4Address.") and x == "127.0.0.1"]
    assert v[a4[0] + "SubnetMask"] == "255.0.0.0"
    assert str(os.getpid()) in {x for k, x in v.items() if k.endswith(".PID")}
    eth = [k for k in v if k.startswith("Device.Ethernet.Interface.") and k.endswith(".Stats.BytesReceived")]
    for k in eth:
        assert int(v[k]) >= 0
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", v["Device.Time.CurrentLocalTime"])
    assert base in names_of(sess.answers[1][1])


def test_linux_backend_is_read_only(acs, make_agent):
    acs.queue = [spv(("Device.DeviceInfo.ModelName", "x"), ("Device.Time.NTPServer1", "y"))]
    agent = make_agent(acs.url, backends={"dir": SHIPPED, "enabled": "linux"},
                       cpe={"hardware_version": "HW-9"})
    assert agent.run() == 0
    reply = acs.sessions[0].answers[0][1]
    assert sorted(param_faults(reply)) == [("Device.DeviceInfo.ModelName", 9008),
                                           ("Device.Time.NTPServer1", 9008)]
    assert "<Value xsi:type=\"xsd:string\">HW-9</Value>" in acs.sessions[0].inform

# ---------------------------------------------------------- static writes


EX220 = os.path.join(DEVICES, "device-1C61B4-EX220-2226469000523.csv")


def test_static_writes_add_delete_and_persistence(acs, make_agent):
    table = "Device.Firewall.Chain."
    answers, agent = session(acs, make_agent, [
        gpn(table, "1"),
        build_rpc("AddObject", [table]),
        spv(("Device.WiFi.SSID.1.SSID", "sim-ssid"), ("Device.DeviceInfo.UpTime", "5:unsignedInt"),
            key="k"),
        spv(("Device.WiFi.SSID.1.SSID", "sim-ssid2"), key="k2"),
        build_rpc("DeleteObject", ["Device.DeviceInfo.FirmwareImage.1."]),
        gpv("Device.WiFi.SSID.1.SSID")],
        backends={"static": EX220, "static_persist": "true"})
    before = names_of(answers[0])
    assert b"<Status>0</Status>" in answers[1]
    n = int(re.search(rb"<InstanceNumber>(\d+)<", answers[1]).group(1))
    assert "%s%d." % (table, n) not in before
    assert sorted(param_faults(answers[2])) == [("Device.DeviceInfo.UpTime", 9008)]
    assert b"<Status>0</Status>" in answers[3]
    assert fault_code(answers[4]) == 9005  # not a deletable instance
    assert parse_values(answers[5]) == {"Device.WiFi.SSID.1.SSID": "sim-ssid2"}
    # the clone has the structure of an existing instance, with empty values
    store = agent.model.store
    first = "%s%d." % (table, min(i for i in store.instances(table) if i != n))
    rel = sorted(k[len(first):] for k in store.subtree(first))
    new = "%s%d." % (table, n)
    assert sorted(k[len(new):] for k in store.subtree(new)) == rel
    # persisted: a new agent on the same state sees the change and the instance
    answers, agent = session(acs, make_agent, [gpv("Device.WiFi.SSID.1.SSID"), gpn(new, "1"),
                                               build_rpc("DeleteObject", [new])],
                             backends={"static": EX220, "static_persist": "true"})
    assert parse_values(answers[0]) == {"Device.WiFi.SSID.1.SSID": "sim-ssid2"}
    assert names_of(answers[1])
    assert b"<Status>0</Status>" in answers[2]
    answers, agent = session(acs, make_agent, [gpn(new, "1")],
                             backends={"static": EX220, "static_persist": "true"})
    assert fault_code(answers[0]) == 9005
