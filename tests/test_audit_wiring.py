"""The audit and the owner policy in the feature modules: connection
requests (accepted, refused, refused because remote management is off),
transfers (result, size, a redirect the policy refuses), reboot and factory
reset recorded before their hooks run."""

import pytest

from crclient import connection_request, wait_for
from fileserver import FileServer
from rocket.owner.audit import read_records
from test_connreq import PW, USER, Running
from transfer_util import download_rpc, drive, fault_codes, hook, simple_rpc, tc_requests, upload_rpc


def records(agent, kind):
    agent.audit.flush()
    return [r for r in read_records(agent.audit.path)[0] if r["kind"] == kind]


@pytest.fixture
def files():
    s = FileServer().start()
    yield s
    s.stop()


# -------------------------------------------------- connection requests
def test_connection_requests_accepted_refused_and_switched_off(acs, make_agent, tmp_path):
    pol = tmp_path / "policy.conf"
    pol.write_text("[management]\nremote = yes\n")
    agent = make_agent(acs.url, once=False, policy={"file": str(pol)})
    r = Running(agent)
    try:
        assert acs.wait_sessions(1)
        assert connection_request(r.url, USER, PW) == 200
        assert acs.wait_sessions(2)
        assert connection_request(r.url, USER, "wrong-" + PW) == 401
        pol.write_text("[management]\nremote = no\n")
        r.call(agent.reload)
        assert wait_for(lambda: not agent.policy.remote)
        assert connection_request(r.url, USER, PW) == 503
        assert wait_for(lambda: len(records(agent, "connection_request")) == 3)
    finally:
        r.close()
    crs = records(agent, "connection_request")
    assert [(c["result"], c.get("status")) for c in crs] == [("accepted", None), ("refused", 401),
                                                              ("refused", 503)]
    assert crs[2]["reason"] == "remote management is off (owner policy)"
    assert all(c["channel"] == "http" and c["peer"].startswith("127.0.0.1") for c in crs)
    assert len(acs.sessions) == 2  # the refused ones started nothing


# ------------------------------------------------------------ transfers
@pytest.fixture
def tx(tmp_path):
    h = tmp_path / "hooks"
    h.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    return {
        "download_dir": str(tmp_path / "dl"), "timeout": "3", "retry_delay": "0.2",
        "config_hook": hook(h / "cfg", 'cp "$ROCKET_FILE" "%s/config.bin"' % out),
        "upload_hook": hook(h / "up", 'printf "log\\n" > "$ROCKET_OUTPUT"'),
        "reboot_hook": hook(h / "reboot", 'echo "$ROCKET_REASON" >> "%s/reboots"' % out),
        "factory_reset_hook": hook(h / "reset", 'touch "%s/reset"' % out),
    }


def test_transfers_recorded_and_redirects_checked(acs, make_agent, files, tx, tmp_path):
    files.files["/ok/config.bin"] = b"x" * 1234
    files.redirects["/ok/moved.bin"] = files.url("/elsewhere/config.bin")
    files.files["/elsewhere/config.bin"] = b"y" * 10
    pol = tmp_path / "policy.conf"
    pol.write_text("[download]\nfrom = %s\n[upload]\nto = %s\n" % (files.url("/ok/"), files.url("/up/")))
    acs.queue = [download_rpc(files.url("/ok/config.bin"), "3 Vendor Configuration File", key="good",
                              user="u", password="file-server-pw"),
                 download_rpc(files.url("/ok/moved.bin"), "3 Vendor Configuration File", key="moved"),
                 upload_rpc(files.url("/up/log.txt"), "2 Vendor Log File", key="up")]
    agent = make_agent(acs.url, once=False, acs={"periodic_inform_enable": "false"}, transfer=tx,
                       policy={"file": str(pol)})
    assert drive(agent, lambda: len(tc_requests(acs)) >= 3, timeout=30)
    agent.stop()
    assert sorted(fault_codes("".join(tc_requests(acs)))) == [0, 0, 9001]
    assert "/elsewhere/" not in " ".join(p for _, p, _ in files.requests)  # never contacted
    tr = {t["command_key"]: t for t in records(agent, "transfer")}
    assert tr["good"]["result"] == "ok" and tr["good"]["size"] == 1234
    assert tr["good"]["direction"] == "download" and tr["good"]["file_type"] == "3 Vendor Configuration File"
    assert tr["moved"]["fault"] == 9001 and "owner policy" in tr["moved"]["reason"]
    assert tr["up"]["direction"] == "upload" and tr["up"]["result"] == "ok" and tr["up"]["size"] == 4
    with open(agent.audit.path) as f:
        assert "file-server-pw" not in f.read()


def test_reboot_and_factory_reset_are_on_disk_before_their_hooks(acs, make_agent, tx, tmp_path):
    # the hooks copy the audit file as it is when they run
    tx = dict(tx)
    audit_file = tmp_path / "audit" / "audit.log"
    tx["reboot_hook"] = hook(tmp_path / "hooks" / "reboot2", 'cp "%s" "%s/at-reboot"' % (audit_file, tmp_path))
    acs.queue = [simple_rpc("Reboot", CommandKey="rb-1")]
    a = make_agent(acs.url, once=False, acs={"periodic_inform_enable": "false"}, transfer=tx)
    assert drive(a, lambda: a.loop.stopping)
    seen = (tmp_path / "at-reboot").read_text()
    assert '"kind":"reboot"' in seen and "rb-1" in seen and '"rpc":"Reboot"' in seen
    tx["factory_reset_hook"] = hook(tmp_path / "hooks" / "reset2", 'cp "%s" "%s/at-reset"'
                                    % (audit_file, tmp_path))
    acs.queue = [simple_rpc("FactoryReset")]
    b = make_agent(acs.url, once=False, acs={"periodic_inform_enable": "false"}, transfer=tx)
    assert drive(b, lambda: b.loop.stopping)
    assert '"kind":"factory_reset"' in (tmp_path / "at-reset").read_text()


def test_udp_connection_requests_recorded_and_refused_when_off(acs, make_agent, tmp_path):
    import time
    from rocket.connreq import udpcr
    from rocket.devacs import send_udp_cr
    from transfer_util import assert_idle
    pol = tmp_path / "policy.conf"
    pol.write_text("[management]\nremote = yes\n")
    agent = make_agent(acs.url, once=False, policy={"file": str(pol)},
                       udp_connection_request={"enable": "true", "port": "0", "address": "127.0.0.1"})
    assert drive(agent, lambda: acs.sessions and acs.sessions[0].ended and not agent.in_session)
    svc = [s for s in agent.services if isinstance(s, udpcr.UdpConnReq)][0]
    port = svc.sock.getsockname()[1]
    now = int(time.time())
    send_udp_cr("127.0.0.1", port, "cr-user", "cr-pass", ts=now, msg_id="one")
    assert drive(agent, lambda: len(acs.sessions) == 2 and acs.sessions[1].ended and not agent.in_session,
          start=False)
    pol.write_text("[management]\nremote = no\n")
    agent.reload()
    send_udp_cr("127.0.0.1", port, "cr-user", "cr-pass", ts=now + 1, msg_id="two")
    assert drive(agent, lambda: len(records(agent, "connection_request")) == 2, start=False)
    assert_idle(agent)  # the refused one starts nothing
    agent.stop()
    crs = records(agent, "connection_request")
    assert [(c["channel"], c["result"]) for c in crs] == [("udp", "accepted"), ("udp", "refused")]
    assert crs[1]["reason"] == "remote management is off (owner policy)"  # the same words for every kind
    assert len(acs.sessions) == 2


def test_ctl_audit_asks_a_running_agent_to_flush(acs, make_agent, pyz, tmp_path):
    import json
    import subprocess
    import sys
    sock = str(tmp_path / "ctl.sock")
    agent = make_agent(acs.url, once=False, control={"socket": sock})
    r = Running(agent)
    try:
        assert acs.wait_sessions(1)
        assert wait_for(lambda: not agent.in_session)
        r.call(lambda: agent.audit.record("reboot", reason="test record held in RAM"))
        assert wait_for(lambda: agent.audit._buf)
        out = subprocess.run([sys.executable, "-I", "-S", pyz, "ctl", "--socket", sock, "audit", "--file",
                              agent.audit.path, "--json"], capture_output=True, text=True, timeout=60)
    finally:
        r.close()
    assert out.returncode == 0, out.stderr
    kinds = [json.loads(x)["kind"] for x in out.stdout.splitlines()]
    assert kinds[-1] == "reboot"
