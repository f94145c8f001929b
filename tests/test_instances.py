"""Stable instance numbers: backends name instances by {KEY}, the agent
numbers them (persisted, never reused) and hands keys back on writes."""

import json
import os
import shutil

from hypothesis import given, strategies as st

from conftest import ROOT
from rocket.devacs import build_rpc, parse_values
from rocket.datamodel.instances import KEEP_GONE, InstanceMap
from rocket.base.statedir import StateDir
from test_backends import fault_code, gpn, gpv, names_of, session, spv

HERE = os.path.dirname(os.path.abspath(__file__))
P = "Device.X_K."


def recs(*lines):
    return [line.split("\t") for line in lines]


def test_keys_become_numbers_in_order_and_nested(tmp_path):
    im = InstanceMap(StateDir(str(tmp_path)))
    out = im.translate_get(recs(
        "Device.IP.Interface.{br-lan}.Name\tbr-lan",
        "Device.IP.Interface.{eth0.100}.Name\teth0.100",
        "Device.IP.Interface.{br-lan}.IPv4Address.{192.168.1.1}.IPAddress\t192.168.1.1",
        "Device.WiFi.AccessPoint.{wlan0}.AssociatedDevice.{aa:bb:cc:dd:ee:ff}.",
        "Device.IP.Interface.{eth0.100}.LowerLayers\tDevice.Ethernet.VLANTermination.{eth0.100}",
        "Device.Bridging.Bridge.{br}.Port.{p}.LowerLayers\t"
        "Device.Ethernet.Interface.{a,b},Device.Ethernet.Interface.{c}., Device.X.5.Y",
        "Device.IP.Interface.7.Name\tplain"), ["Device."])
    assert [r[0] for r in out] == [
        "Device.IP.Interface.1.Name", "Device.IP.Interface.2.Name",
        "Device.IP.Interface.1.IPv4Address.1.IPAddress",
        "Device.WiFi.AccessPoint.1.AssociatedDevice.1.",
        "Device.IP.Interface.2.LowerLayers", "Device.Bridging.Bridge.1.Port.1.LowerLayers",
        "Device.IP.Interface.7.Name"]
    assert out[4][1] == "Device.Ethernet.VLANTermination.1"
    assert out[5][1] == "Device.Ethernet.Interface.1,Device.Ethernet.Interface.2., Device.X.5.Y"
    assert out[2][1] == "192.168.1.1"  # a value that is no path stays as it is
    # and back, for writes
    assert im.to_keys("Device.IP.Interface.2.IPv4Address.1.Enable") == \
        "Device.IP.Interface.{eth0.100}.IPv4Address.1.Enable"
    assert im.to_keys("Device.IP.Interface.1.IPv4Address.1.Enable") == \
        "Device.IP.Interface.{br-lan}.IPv4Address.{192.168.1.1}.Enable"
    assert im.to_keys("Device.IP.Interface.7.Name") == "Device.IP.Interface.7.Name"
    assert im.refs_to_keys("Device.Ethernet.Interface.2,Device.Ethernet.Interface.9") == \
        "Device.Ethernet.Interface.{c},Device.Ethernet.Interface.9"
    # persisted: a new map (restart) gives the same numbers
    im2 = InstanceMap(StateDir(str(tmp_path)))
    assert im2.to_numbers("Device.IP.Interface.{eth0.100}.Name") == "Device.IP.Interface.2.Name"
    assert not im2.dirty


def test_vanish_remember_and_never_reuse(tmp_path):
    state = StateDir(str(tmp_path))
    im = InstanceMap(state)
    im.translate_get(recs("Device.H.{a}.X\t1", "Device.H.{b}.X\t1", "Device.H.{b}.S.{z}.\t"), ["Device.H."])
    writes = state.writes
    im.translate_get(recs("Device.H.{a}.X\t1", "Device.H.{b}.X\t1", "Device.H.{b}.S.{z}.\t"), ["Device.H."])
    assert state.writes == writes  # nothing changed: no write (flash)
    out = im.translate_get(recs("Device.H.{a}.X\t1", "Device.H.{c}.X\t1"), ["Device.H."])
    assert [r[0] for r in out] == ["Device.H.1.X", "Device.H.3.X"]  # c is new: 3, not 2
    out = im.translate_get(recs("Device.H.{b}.X\t1", "Device.H.{d}.X\t1"), ["Device.H."])
    assert [r[0] for r in out] == ["Device.H.2.X", "Device.H.4.X"]  # b came back: its number
    # deleted (forgotten): a later instance with that key is a new one
    im.forget("Device.H.", "b")
    assert "Device.H.2.S." not in im.tables  # nested tables go with it
    assert im.to_numbers("Device.H.{b}.X") == "Device.H.5.X"
    # a table of another backend's prefix is left alone
    im.translate_get(recs("Device.Other.{q}.X\t1"), ["Device.Other."])
    im.translate_get(recs(), ["Device.Other."])
    assert "b" in im.tables["Device.H."]["keys"]


def test_gone_keys_are_bounded(tmp_path):
    im = InstanceMap(StateDir(str(tmp_path)))
    for i in range(KEEP_GONE + 10):
        im.translate_get(recs("Device.H.{k%d}.X\t1" % i), ["Device.H."])
    t = im.tables["Device.H."]
    assert len(t["keys"]) == KEEP_GONE + 1 and t["next"] == KEEP_GONE + 11
    assert "k0" not in t["keys"] and "k%d" % (KEEP_GONE + 9) in t["keys"]


def test_corrupt_state_starts_afresh(tmp_path):
    with open(tmp_path / "instances.json", "w") as f:
        f.write("{not json")
    im = InstanceMap(StateDir(str(tmp_path)))
    assert im.to_numbers("Device.H.{a}.") == "Device.H.1."


KEY = st.text(st.characters(blacklist_characters="{}\t\n", blacklist_categories=("Cs",)), max_size=12)


@given(st.lists(st.tuples(KEY, KEY), min_size=1, max_size=6))
def test_round_trip_any_keys(pairs):
    im = InstanceMap()
    for a, b in pairs:
        path = "Device.T.{%s}.U.{%s}.Name" % (a, b)
        num = im.to_numbers(path)
        assert "{" not in num and num.startswith("Device.T.") and num.endswith(".Name")
        assert im.to_keys(num) == path
        ref = "Device.T.{%s}.U.{%s}" % (a, b)
        assert im.refs_to_keys(im.refs_to_numbers(ref + "," + ref)) == ref + "," + ref


# ------------------------------------------------------------ end to end

def install(tmp_path):
    d = tmp_path / "backends"
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(ROOT, "rocket", "backends", "lib.sh"), d / "lib.sh")
    shutil.copy(os.path.join(HERE, "backends", "keyed"), d / "K")
    shutil.copy(os.path.join(HERE, "backends", "keyed.manifest"), d / "K.manifest")
    run = tmp_path / "state" / "backends" / "K"
    return run


def writes(run):
    try:
        with open(run / "writes") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def test_end_to_end_stable_across_restarts(acs, make_agent, tmp_path):
    run = install(tmp_path)
    answers, _ = session(acs, make_agent, [gpv(P), gpn(P + "Iface.", "1")])
    v = parse_values(answers[0])
    assert v[P + "Iface.1.Name"] == "first" and v[P + "Iface.2.Name"] == "vlan"
    assert v[P + "Iface.3.Name"] == "host" and v[P + "Iface.3.Sub.1.Value"] == "aa:bb:cc:dd:ee:ff/s1"
    assert v[P + "All"] == ",".join(P + "Iface.%d" % i for i in (1, 2, 3))
    assert v[P + "Plain.7.Name"] == "numbered"
    assert names_of(answers[1]) == [P + "Iface.%d." % i for i in (1, 2, 3)]
    assert not any("{" in k for k in v)

    # writes: the script sees keys, never numbers
    answers, _ = session(acs, make_agent, [
        spv((P + "Iface.2.Name", "renamed"), (P + "All", "%sIface.3,%sIface.1" % (P, P))),
        build_rpc("AddObject", [P + "Iface."]),
        gpv(P + "Iface.4.Name")])
    assert b"<Status>0</Status>" in answers[0]
    assert b"<InstanceNumber>4</InstanceNumber>" in answers[1]
    assert parse_values(answers[2]) == {P + "Iface.4.Name": "added"}
    assert writes(run) == ["stage %sIface.{eth0.100}.Name=renamed" % P,
                           "stage %sAll=%sIface.{aa:bb:cc:dd:ee:ff},%sIface.{eth0}" % (P, P, P),
                           "add %sIface." % P]

    # restart (new agent, same state dir), the first instance vanishes:
    # the others keep their numbers; a new one gets a fresh number
    with open(run / "db") as f:
        lines = f.read().splitlines()
    with open(run / "db", "w") as f:
        f.write("\n".join(lines[1:] + ["ff:ee\tlate"]) + "\n")
    answers, _ = session(acs, make_agent, [gpv(P + "Iface.")])
    v = parse_values(answers[0])
    assert {k: x for k, x in v.items() if k.endswith(".Name")} == {
        P + "Iface.2.Name": "renamed", P + "Iface.3.Name": "host", P + "Iface.4.Name": "added",
        P + "Iface.5.Name": "late"}

    # DeleteObject hands the key; the number is not given again
    answers, _ = session(acs, make_agent, [build_rpc("DeleteObject", [P + "Iface.3."]),
                                           build_rpc("DeleteObject", [P + "Iface.1."]),
                                           build_rpc("AddObject", [P + "Iface."])])
    assert b"<Status>0</Status>" in answers[0]
    assert fault_code(answers[1]) == 9005
    assert b"<InstanceNumber>6</InstanceNumber>" in answers[2]
    assert writes(run)[-2:] == ["delete %sIface.{aa:bb:cc:dd:ee:ff}." % P, "add %sIface." % P]
    with open(tmp_path / "state" / "instances.json") as f:
        saved = json.load(f)
    assert saved[P + "Iface."]["next"] == 7
    assert "aa:bb:cc:dd:ee:ff" not in saved[P + "Iface."]["keys"]


def test_only_own_records_and_own_tables():
    im = InstanceMap()
    # a record outside the backend's prefixes is ignored by the agent: no number for it
    im.translate_get(recs("Device.Users.User.{root}.Username\troot"), ["Device.DeviceInfo."], "linux")
    assert im.tables == {}
    im.translate_get(recs("Device.IP.Interface.{lan}.Name\tlan"), ["Device.IP."], "owrt")
    # another backend's numbered paths stay numbers; references are keys for everybody
    assert im.to_keys("Device.IP.Interface.1.Name", "other") == "Device.IP.Interface.1.Name"
    assert im.to_keys("Device.IP.Interface.1.Name", "owrt") == "Device.IP.Interface.{lan}.Name"
    assert im.refs_to_keys("Device.IP.Interface.1") == "Device.IP.Interface.{lan}"
