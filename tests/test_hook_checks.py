"""A device operation is never acknowledged and then not done: the hook it
needs is checked when the RPC arrives, and the paths of the shipped hooks
agree everywhere they are written down."""

import logging
import os
import re

import pytest

from conftest import ROOT
from rocket.devacs import build_rpc
from test_policy import DOWNLOAD, FW, UPLOAD, fault_of

HOOKS = os.path.join(ROOT, "rocket", "backends", "hooks")


def _fault_string(reply):
    m = re.search(rb"<FaultString>([^<]*)</FaultString>", reply)
    return m.group(1).decode() if m else None


CASES = [
    ("reboot_hook", "Reboot", build_rpc("Reboot", ["rk"])),
    ("factory_reset_hook", "FactoryReset", build_rpc("FactoryReset", [])),
    ("firmware_hook", "Download", DOWNLOAD.format(ft=FW, url="http://127.0.0.1:9/fw.bin")),
    ("upload_hook", "Upload", UPLOAD.format(url="http://127.0.0.1:9/up")),
]


@pytest.mark.parametrize("state", ["missing", "not-executable"])
@pytest.mark.parametrize("key,rpc,xml", CASES, ids=[c[1] for c in CASES])
def test_configured_hook_that_cannot_run_is_a_fault_with_a_reason(acs, make_agent, tmp_path, caplog,
                                                                  state, key, rpc, xml):
    caplog.set_level(logging.INFO, logger="rocket")
    hook = tmp_path / "hooks" / "the-hook"
    if state == "not-executable":
        hook.parent.mkdir()
        hook.write_text("#!/bin/sh\nexit 0\n")
        os.chmod(str(hook), 0o644)
    acs.queue = [xml]
    agent = make_agent(acs.url, transfer={key: str(hook), "download_dir": str(tmp_path / "dl")})
    assert agent.run() == 0
    reply = acs.sessions[0].answers[0][1]
    assert fault_of(reply) == 9002, reply[-400:]
    assert key in _fault_string(reply) and str(hook) in _fault_string(reply)
    assert "does not exist or is not executable" in _fault_string(reply)
    (line,) = [r.getMessage() for r in caplog.records if "session: %s ->" % rpc in r.getMessage()]
    assert "Fault 9002" in line and key in line  # the log says why
    journal = agent.state.load("transfers", {})
    assert not journal.get("reboot") and not journal.get("reset") and not journal.get("transfers")


def test_unconfigured_reboot_hook_is_9001_and_the_log_says_why(acs, make_agent, caplog):
    caplog.set_level(logging.INFO, logger="rocket")
    acs.queue = [build_rpc("Reboot", ["rk"])]
    agent = make_agent(acs.url)
    assert agent.run() == 0
    assert fault_of(acs.sessions[0].answers[0][1]) == 9001
    assert any("Reboot -> Fault 9001: no reboot_hook configured" in r.getMessage() for r in caplog.records)


def test_a_working_hook_still_gets_its_response(acs, make_agent, tmp_path):
    hook = tmp_path / "reboot"
    hook.write_text("#!/bin/sh\nexit 0\n")
    os.chmod(str(hook), 0o755)
    acs.queue = [build_rpc("Reboot", ["rk"])]
    assert make_agent(acs.url, transfer={"reboot_hook": "%s --now" % hook}).run() == 0
    assert b"RebootResponse" in acs.sessions[0].answers[0][1]


def test_hook_paths_agree_everywhere():
    """Every place that names a shipped hook names the installed one: the
    backends dir is installed as /usr/lib/rocket/backends/ (README's tables,
    the Debian package), so hooks live in /usr/lib/rocket/backends/hooks/."""
    shipped = set(os.listdir(HOOKS))
    files = [os.path.join(ROOT, "README.md"), os.path.join(ROOT, "etc", "rocket.conf"),
             os.path.join(ROOT, "etc", "openwrt", "rocket.uci")]
    files += [os.path.join(HOOKS, n) for n in shipped]
    for d, _, names in os.walk(os.path.join(ROOT, "packaging")):
        files += [os.path.join(d, n) for n in names]
    seen = 0
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in re.finditer(r"(/usr/lib/rocket/[\w./-]*hooks)/([\w.-]+)", text):
            seen += 1
            assert m.group(1) == "/usr/lib/rocket/backends/hooks", (path, m.group(0))
            assert m.group(2) in shipped, (path, m.group(0))
        assert "/usr/lib/rocket/hooks" not in text, path
    assert seen >= 10
    with open(os.path.join(ROOT, "packaging", "debian", "rules")) as f:
        assert "usr/lib/rocket/backends/hooks" in f.read()
