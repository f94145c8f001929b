"""Script backends over the real session path: every parameter RPC, the
all-or-nothing SetParameterValues, injection attempts, broken scripts."""

import logging
import os
import re
import shutil

import pytest

from conftest import ROOT
from rocket.devacs import build_rpc, parse_values

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(ROOT, "rocket", "backends", "lib.sh")


def install_backend(tmp_path, name="A", script="testbe"):
    d = tmp_path / "backends"
    os.makedirs(d, exist_ok=True)
    shutil.copy(LIB, d / "lib.sh")
    shutil.copy(os.path.join(HERE, "backends", script), d / name)
    with open(os.path.join(HERE, "backends", script + ".manifest")) as f:
        text = f.read().replace("NAME", name)
    with open(d / (name + ".manifest"), "w") as f:
        f.write(text)
    return tmp_path / "state" / "backends" / name


def calls(run):
    try:
        with open(run / "calls") as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def fault_code(reply):
    m = re.search(rb"<FaultCode>(\d+)</FaultCode>", reply)
    return int(m.group(1)) if m else None


def param_faults(reply):
    return [(n.decode(), int(c)) for n, c in re.findall(
        rb"<SetParameterValuesFault><ParameterName>([^<]*)</ParameterName><FaultCode>(\d+)", reply)]


def names_of(reply):
    return [n.decode() for n in re.findall(rb"<Name>([^<]*)</Name><Writable>", reply)]


def session(acs, make_agent, rpcs, boot=False, **sections):
    acs.queue = list(rpcs)
    agent = make_agent(acs.url, boot=boot, **sections)
    assert agent.run() == 0
    return [a[1] for a in acs.sessions[-1].answers], agent


def spv(*pairs, key="k1"):
    xml = build_rpc("SetParameterValues", ["%s=%s" % p for p in pairs])
    return xml.replace("<ParameterKey>devacs</ParameterKey>", "<ParameterKey>%s</ParameterKey>" % key)


def gpv(*names):
    return build_rpc("GetParameterValues", list(names))


def gpn(path, nl):
    return build_rpc("GetParameterNames", [path, nl])


P = "Device.X_A."


def test_gpn_then_gpv_is_one_process(acs, make_agent, tmp_path):
    run = install_backend(tmp_path)
    answers, agent = session(acs, make_agent, [gpn(P, "0"), gpv(P), gpv(P + "Text"), gpn(P, "1")])
    assert calls(run) == ["get"]
    names = names_of(answers[0])
    assert names[0] == P
    assert P + "Table." in names and P + "Table.1." in names and P + "Table.1.Name" in names
    assert P + "Empty." in names
    vals = parse_values(answers[1])
    assert vals[P + "Text"] == "hello" and vals[P + "Number"] == "7"
    assert vals[P + "Secret"] == ""  # write-only: hidden
    assert vals[P + "Control"] == "abc"  # control characters dropped from the envelope
    assert b'xsi:type="xsd:unsignedInt">7<' in answers[1]
    assert parse_values(answers[2]) == {P + "Text": "hello"}
    level = names_of(answers[3])
    assert P + "Table." in level and P + "Table.1." not in level and P + "Text" in level
    writable = dict(re.findall(rb"<Name>([^<]*)</Name><Writable>(\w+)<", answers[0]))
    assert writable[(P + "Table.").encode()] == b"true"
    assert writable[(P + "Table.1.").encode()] == b"true"
    assert writable[(P + "Fixed.").encode()] == b"false"
    assert writable[(P + "ReadOnly").encode()] == b"false"
    assert writable[(P + "Text").encode()] == b"true"
    # a new session reads again (once)
    session(acs, make_agent, [gpv(P + "Text"), gpv(P + "Number")])
    assert calls(run) == ["get", "get"]


@pytest.mark.parametrize("nl", ["true", "false", "1", "0"])
def test_next_level_spellings_and_empty_path(acs, make_agent, tmp_path, nl):
    install_backend(tmp_path)
    answers, _ = session(acs, make_agent, [gpn("", nl), gpn(P + "Table.", nl), gpv("")])
    top = names_of(answers[0])
    if nl in ("true", "1"):
        assert top == ["Device."]
        assert names_of(answers[1]) == [P + "Table.1."]
    else:
        assert top[0] == "Device." and P + "Table.1.Name" in top
        assert names_of(answers[1]) == [P + "Table.", P + "Table.1.", P + "Table.1.Name"]
    allv = parse_values(answers[2])
    assert allv[P + "Table.1.Name"] == "first" and "Device.DeviceInfo.SerialNumber" in allv


def test_faults_9005_and_9003(acs, make_agent, tmp_path):
    install_backend(tmp_path)
    answers, _ = session(acs, make_agent, [
        gpv(P + "Nope"), gpv(P + "Text", "Device.X_Nowhere.A"), gpn(P + "Text", "1"),
        gpn(P + "Nope.", "0"), gpv(P + "Text.")])
    assert [fault_code(a) for a in answers] == [9005, 9005, 9003, 9005, 9005]


def test_spv_one_backend_one_process_status_and_key(acs, make_agent, tmp_path):
    run = install_backend(tmp_path)
    answers, agent = session(acs, make_agent, [
        spv((P + "Text", "changed"), (P + "Number", "42:unsignedInt"), key="key-1"),
        gpv(P + "Text", P + "Number", "Device.ManagementServer.ParameterKey"),
        spv((P + "Deferred", "later"), key="key-2")])
    assert b"<Status>0</Status>" in answers[0]
    assert calls(run) == ["get", "set-commit", "set-commit", "apply"]
    assert parse_values(answers[1]) == {P + "Text": "changed", P + "Number": "42",
                                        "Device.ManagementServer.ParameterKey": "key-1"}
    assert b"<Status>1</Status>" in answers[2]
    assert agent.model.parameter_key == "key-2"
    # touched: apply ran once at session end
    with open(run / "applied") as f:
        assert f.read().split() == ["applied"]
    # the values are the backend's: a new session reads them back
    answers, _ = session(acs, make_agent, [gpv(P + "Text", P + "Deferred")])
    assert parse_values(answers[0]) == {P + "Text": "changed", P + "Deferred": "later"}


def test_spv_all_or_nothing_agent_side_faults(acs, make_agent, tmp_path):
    run = install_backend(tmp_path)
    answers, agent = session(acs, make_agent, [
        spv((P + "Text", "should not stick"), (P + "ReadOnly", "x"), (P + "Number", "101:unsignedInt"),
            (P + "Flag", "maybe:boolean"), (P + "Nope", "1"), (P + "Number.", "1"), (P + "Picky", "bad"),
            key="bad"),
        gpv(P + "Text", "Device.ManagementServer.ParameterKey")])
    assert fault_code(answers[0]) == 9003
    assert sorted(param_faults(answers[0])) == sorted([
        (P + "ReadOnly", 9008), (P + "Number", 9007), (P + "Flag", 9007), (P + "Nope", 9005),
        (P + "Number.", 9005), (P + "Picky", 9007)])
    assert parse_values(answers[1]) == {P + "Text": "hello", "Device.ManagementServer.ParameterKey": ""}
    assert calls(run) == ["get", "validate"]  # the backend only judged the values


def test_spv_all_or_nothing_across_two_backends(acs, make_agent, tmp_path):
    run_a = install_backend(tmp_path, "A")
    run_b = install_backend(tmp_path, "B")
    q = "Device.X_B."
    answers, agent = session(acs, make_agent, [
        spv((P + "Picky", "bad"), (P + "Text", "a-new"), (q + "Number", "60:unsignedInt"),
            (q + "Text", "b-new"), key="never"),
        gpv(P + "Text", q + "Text"),
        spv((P + "Text", "a2"), (q + "Text", "b2"), key="both"),
        gpv(P + "Text", q + "Text", "Device.ManagementServer.ParameterKey")])
    assert fault_code(answers[0]) == 9003
    assert sorted(param_faults(answers[0])) == [(P + "Picky", 9007), (q + "Number", 9007)]
    assert b"backend refuses bad" in answers[0]
    assert parse_values(answers[1]) == {P + "Text": "hello", q + "Text": "hello"}
    assert agent.model.parameter_key == "both"
    assert parse_values(answers[3])[P + "Text"] == "a2"
    assert parse_values(answers[3])[q + "Text"] == "b2"
    # two-phase with two backends: validate+stage, then commit
    assert calls(run_a) == ["get", "set", "set", "commit", "apply"]
    assert calls(run_b) == ["get", "set", "set", "commit", "apply"]


def test_add_and_delete_object(acs, make_agent, tmp_path):
    run = install_backend(tmp_path)
    answers, agent = session(acs, make_agent, [
        build_rpc("AddObject", [P + "Table."]),
        gpn(P + "Table.", "1"),
        gpv(P + "Table."),
        build_rpc("DeleteObject", [P + "Table.1."]),
        gpn(P + "Table.", "0"),
        build_rpc("AddObject", [P + "Fixed."]),
        build_rpc("DeleteObject", [P + "Fixed.1."]),
        build_rpc("AddObject", [P + "Text"]),
        build_rpc("DeleteObject", [P + "Table.9."])])
    assert b"<InstanceNumber>2</InstanceNumber><Status>0</Status>" in answers[0]
    assert names_of(answers[1]) == [P + "Table.1.", P + "Table.2."]
    assert parse_values(answers[2]) == {P + "Table.1.Name": "first", P + "Table.2.Name": "new"}
    assert b"<Status>0</Status>" in answers[3]
    assert names_of(answers[4]) == [P + "Table.", P + "Table.2.", P + "Table.2.Name"]
    assert [fault_code(a) for a in answers[5:]] == [9005, 9005, 9005, 9005]
    assert calls(run) == ["get", "add", "delete", "apply"]
    answers, _ = session(acs, make_agent, [gpv(P + "Table.")])
    assert parse_values(answers[0]) == {P + "Table.2.Name": "new"}


def test_attributes_on_backend_parameters(acs, make_agent, tmp_path):
    install_backend(tmp_path)
    answers, _ = session(acs, make_agent, [
        build_rpc("SetParameterAttributes", [P + "Text=2"]),
        build_rpc("GetParameterAttributes", [P + "Text", P + "Number"]),
        build_rpc("SetParameterAttributes", [P + "Nope=1"])])
    assert b"SetParameterAttributesResponse" in answers[0]
    assert re.search(rb"<Name>Device.X_A.Text</Name><Notification>2</Notification>", answers[1])
    assert re.search(rb"<Name>Device.X_A.Number</Name><Notification>0</Notification>", answers[1])
    assert fault_code(answers[2]) == 9005
    # persisted: a new agent (new session, fresh read of the backend) still has it
    answers, _ = session(acs, make_agent, [build_rpc("GetParameterAttributes", [P + "Text"])])
    assert re.search(rb"<Notification>2</Notification>", answers[0])


INJECTIONS = [
    "$(touch {canary})",
    "`touch {canary}`",
    "\"; touch {canary}; echo \"",
    "'; touch {canary}; echo '",
    "a\nb\tc\\n\\t\\\\ end\\",
    "%s %n %x \\0101 \\x41 -- -n -e",
    "line1\n$(touch {canary})\n`touch {canary}`",
    "<&>\"' ]]> &amp;",
    "unicode: ünïcödé ✓ 🚀",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_through_spv_values(acs, make_agent, tmp_path, value):
    install_backend(tmp_path)
    canary = tmp_path / "CANARY"
    value = value.replace("{canary}", str(canary))
    answers, _ = session(acs, make_agent, [spv((P + "Text", value)), gpv(P + "Text")])
    assert b"<Status>0</Status>" in answers[0]
    assert parse_values(answers[1]) == {P + "Text": value}
    # and again from the backend's own storage in a new session
    answers, _ = session(acs, make_agent, [gpv(P + "Text")])
    assert parse_values(answers[0]) == {P + "Text": value}
    assert not canary.exists()


def test_big_value_and_carriage_return(acs, make_agent, tmp_path):
    install_backend(tmp_path)
    big = ("0123456789abcdef\t" * 6100)[:100 * 1024]
    raw = ('<cwmp:SetParameterValues><ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[1]">'
           '<ParameterValueStruct><Name>%sText</Name><Value xsi:type="xsd:string">a&#13;b\r\nc</Value>'
           '</ParameterValueStruct></ParameterList><ParameterKey></ParameterKey>'
           '</cwmp:SetParameterValues>' % P)
    answers, _ = session(acs, make_agent, [spv((P + "Text", big)), gpv(P + "Text"), raw, gpv(P + "Text")])
    assert b"<Status>0</Status>" in answers[0]
    assert parse_values(answers[1])[P + "Text"] == big
    assert b"<Status>0</Status>" in answers[2]
    assert b"a&#13;b\nc" in answers[3]  # CR kept (raw CRLF in XML is LF by XML rules)
    assert parse_values(answers[3])[P + "Text"] == "a\rb\nc"


def test_nul_and_invalid_xml_characters_in_spv(acs, make_agent, tmp_path):
    install_backend(tmp_path)
    canary = tmp_path / "CANARY"
    for bad in ("a\x00$(touch %s)" % canary, "a\x01b", "&#0;", "&#x1;"):
        raw = ('<cwmp:SetParameterValues><ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[1]">'
               '<ParameterValueStruct><Name>%sText</Name><Value xsi:type="xsd:string">%s</Value>'
               '</ParameterValueStruct></ParameterList><ParameterKey>nul</ParameterKey>'
               '</cwmp:SetParameterValues>' % (P, bad))
        answers, agent = session(acs, make_agent, [raw, gpv(P + "Text")])
        assert fault_code(answers[0]) == 9003  # not XML: refused whole
        assert parse_values(answers[1]) == {P + "Text": "hello"}
        assert agent.model.parameter_key == ""
    assert not canary.exists()


@pytest.mark.parametrize("how", ["hang", "crash", "garbage", "flood"])
def test_broken_backend_gives_9002_and_agent_keeps_working(acs, make_agent, tmp_path, caplog, how):
    run = install_backend(tmp_path)
    os.makedirs(run, exist_ok=True)
    with open(run / "mode", "w") as f:
        f.write("get %s\nset-commit %s\n" % (how, how))
    caplog.set_level(logging.INFO, logger="rocket")
    answers, agent = session(acs, make_agent, [
        gpv(P + "Text"), gpv("Device.DeviceInfo.SerialNumber"), gpn("Device.", "1")],
        backends={"timeout": "1", "max_output": "65536"})
    assert fault_code(answers[0]) == 9002
    assert parse_values(answers[1]) == {"Device.DeviceInfo.SerialNumber": "TB-0001"}
    assert names_of(answers[2])  # the root's children still list
    lines = [r.getMessage() for r in caplog.records if "backend A:" in r.getMessage()]
    assert len([m for m in lines if " get: " in m]) == 1, lines
    assert os.path.join("backends", "A") in lines[0]
    # the script recovers: the agent uses it again in the next session
    os.unlink(run / "mode")
    answers, _ = session(acs, make_agent, [gpv(P + "Text")])
    assert parse_values(answers[0]) == {P + "Text": "hello"}


def test_broken_backend_during_spv(acs, make_agent, tmp_path):
    run = install_backend(tmp_path)
    os.makedirs(run, exist_ok=True)
    with open(run / "mode", "w") as f:
        f.write("set-commit crash\n")
    answers, agent = session(acs, make_agent, [spv((P + "Text", "x"), key="k"), gpv(P + "Text")])
    assert fault_code(answers[0]) == 9002
    assert parse_values(answers[1]) == {P + "Text": "hello"}
    assert agent.model.parameter_key == ""


def test_bad_manifest_disables_only_that_backend(acs, make_agent, tmp_path, caplog):
    install_backend(tmp_path, "A")
    install_backend(tmp_path, "B")
    with open(tmp_path / "backends" / "B.manifest", "a") as f:
        f.write("param Device.X_B.Oops frobnicate\n")
    answers, agent = session(acs, make_agent, [gpv(P + "Text"), gpv("Device.X_B.Text")])
    assert parse_values(answers[0]) == {P + "Text": "hello"}
    assert fault_code(answers[1]) == 9005
    assert any("B.manifest" in r.getMessage() and "line" in r.getMessage() for r in caplog.records)
