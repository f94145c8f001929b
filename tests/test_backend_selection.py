"""Backends are chosen by what the platform has, and one failing backend
never fails a request for the others' parameters."""

import logging
import os

from conftest import ROOT
from rocket.devacs import parse_values
from test_backends import fault_code, gpn, gpv, install_backend, names_of, session

NOPE = "rocket-test-no-such-tool"


def _requires(tmp_path, name, *tools):
    p = tmp_path / "backends" / (name + ".manifest")
    p.write_text("requires %s\n" % " ".join(tools) + p.read_text())


def _messages(caplog, word):
    return [r.getMessage() for r in caplog.records if word in r.getMessage()]


def test_default_selection_leaves_out_packs_whose_tool_is_missing(acs, make_agent, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="rocket")
    install_backend(tmp_path, "A")
    install_backend(tmp_path, "B")
    _requires(tmp_path, "A", "sh", NOPE)
    _requires(tmp_path, "B", "sh")
    answers, agent = session(acs, make_agent, [gpn("Device.", "1"), gpv("Device."), gpv("Device.X_A.Text")])
    assert [b.name for b in agent.model.backends] == ["B"]
    assert "Device.X_A." not in names_of(answers[0]) and "Device.X_B." in names_of(answers[0])
    values = parse_values(answers[1])
    assert values["Device.X_B.Text"] == "hello" and values["Device.DeviceInfo.SerialNumber"] == "TB-0001"
    assert fault_code(answers[2]) == 9005  # nobody serves it: not advertised, not there
    (line,) = _messages(caplog, "A not used")
    assert NOPE in line


def test_explicitly_enabled_pack_without_its_tool_is_an_error_once(acs, make_agent, tmp_path, caplog):
    install_backend(tmp_path, "A")
    install_backend(tmp_path, "B")
    _requires(tmp_path, "A", NOPE)
    answers, agent = session(acs, make_agent, [gpv("Device."), gpv("Device.")], backends={"enabled": "A B"})
    assert [b.name for b in agent.model.backends] == ["B"]
    (line,) = [r for r in caplog.records if "A is enabled but needs" in r.getMessage()]
    assert line.levelno == logging.ERROR and NOPE in line.getMessage()
    assert parse_values(answers[0])["Device.X_B.Text"] == "hello"


def test_shipped_openwrt_pack_needs_uci(acs, make_agent, tmp_path, monkeypatch):
    """The README's Debian steps: all shipped packs installed, enabled empty,
    no uci: the openwrt pack stays out and a GPV of Device. works."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", "%s:/usr/bin:/bin" % bindir)
    if os.path.exists("/usr/bin/uci") or os.path.exists("/bin/uci"):
        monkeypatch.setenv("PATH", str(bindir))
    d = os.path.join(ROOT, "rocket", "backends")
    acs.queue = [gpv("Device."), gpn("Device.", "0")]
    agent = make_agent(acs.url, boot=False, backends={"dir": d})
    names = [b.name for b in agent.model.backends]
    assert "openwrt" not in names
    assert agent.run() == 0
    answers = [a[1] for a in acs.sessions[-1].answers]
    assert fault_code(answers[0]) is None and "Device.DeviceInfo.SerialNumber" in parse_values(answers[0])
    # GPN advertises nothing only the left-out pack would serve
    served = tuple(p for b in agent.model.backends for p in b.prefixes)
    with open(os.path.join(d, "openwrt.manifest")) as f:
        only_openwrt = tuple(line.split()[1] for line in f if line.startswith("prefix ")
                             and not line.split()[1].startswith(served))
    assert only_openwrt  # the check below means something
    assert not [n for n in names_of(answers[1]) if n.startswith(only_openwrt)]
    # with a uci on PATH the same configuration selects it
    (bindir / "uci").write_text("#!/bin/sh\nexit 0\n")
    os.chmod(str(bindir / "uci"), 0o755)
    agent = make_agent(acs.url, boot=False, install=True, backends={"dir": d})
    assert "openwrt" in [b.name for b in agent.model.backends]


def test_a_failing_backend_leaves_the_others_served(acs, make_agent, tmp_path, caplog):
    install_backend(tmp_path, "A")
    install_backend(tmp_path, "B")
    run = tmp_path / "state" / "backends" / "A"
    os.makedirs(run, exist_ok=True)
    (run / "mode").write_text("get crash\n")
    answers, agent = session(acs, make_agent, [
        gpv("Device."), gpn("Device.", "0"), gpv("Device.X_A.Text"), gpv("Device.X_A."),
        gpv("Device.X_B.Text", "Device.X_A.Text")])
    values = parse_values(answers[0])  # partial path: what can be served
    assert values["Device.X_B.Text"] == "hello" and "Device.DeviceInfo.SerialNumber" in values
    assert not [k for k in values if k.startswith("Device.X_A.")]
    names = names_of(answers[1])
    assert "Device.X_B.Text" in names and not [n for n in names if n.startswith("Device.X_A.")]
    assert fault_code(answers[2]) == 9002  # an exact name on the failed backend
    assert fault_code(answers[3]) == 9002  # its own subtree
    assert fault_code(answers[4]) == 9002
    # one run of the broken script for the whole session, one line saying what is left out
    assert len([m for m in _messages(caplog, "backend A:") if " get: " in m]) == 1
    (line,) = _messages(caplog, "backend A unavailable")
    assert "Device.X_A." in line


# ------------------------------------------- the static tree is a simulation
EX220 = os.path.join(ROOT, "tests", "fixtures", "devices", "device-1C61B4-EX220-2226469000523.csv")


def test_static_tree_alone_unless_packs_are_named(acs, make_agent):
    shipped = os.path.join(ROOT, "rocket", "backends")
    answers, agent = session(acs, make_agent, [gpv("Device.DeviceInfo.ModelName"), gpv("Device.")],
                             backends={"dir": shipped, "static": EX220})
    assert [b.name for b in agent.model.backends] == ["static"]
    assert parse_values(answers[0]) == {"Device.DeviceInfo.ModelName": "EX220"}
    assert fault_code(answers[1]) is None and len(parse_values(answers[1])) > 1000
    answers, agent = session(acs, make_agent, [gpv("Device.DeviceInfo.ModelName")],
                             backends={"dir": shipped, "static": EX220, "enabled": "linux"})
    assert [b.name for b in agent.model.backends] == ["static", "linux"]  # asked for: the owner's choice
