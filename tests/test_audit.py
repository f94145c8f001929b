"""The audit trail: completeness, no secrets, bounded size, flash-friendly
writes, persistence, and the owner's reader ``ctl audit``."""

import json
import os
import ssl
import subprocess
import sys
import time
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import run_pyz, write_conf
from rocket.owner.audit import Audit, clean_url, parse_since, read_records, secret_name
from rocket.devacs import Acs, build_rpc

MS = "Device.ManagementServer."
IP = MS + "InformParameter."
SECRETS = {
    "acs": "acs-pw-S3cr3t",
    "cr": "cr-pw-S3cr3t",
    "spv": "spv-pw-S3cr3t",
    "download": "dl-pw-S3cr3t",
    "query": "tok-S3cr3t",
}
DOWNLOAD = ("<cwmp:Download><CommandKey>fw1</CommandKey><FileType>2 Web Content</FileType>"
            "<URL>http://files.example.net/fw.bin?auth=%s</URL><Username>dl-user</Username>"
            "<Password>%s</Password><FileSize>1234</FileSize><TargetFileName></TargetFileName>"
            "<DelaySeconds>3600</DelaySeconds><SuccessURL></SuccessURL><FailureURL></FailureURL>"
            "</cwmp:Download>" % (SECRETS["query"], SECRETS["download"]))


def ctl(pyz, *args):
    return subprocess.run([sys.executable, "-I", "-S", pyz, "ctl", "audit"] + list(args),
                          capture_output=True, text=True, timeout=60)


def test_every_action_once_and_no_secret_anywhere(acs, pyz, tmp_path):
    acs.auth = ("digest", "cpe", SECRETS["acs"])
    acs.queue = [
        build_rpc("GetParameterValues", [MS + "URL", "Device.DeviceInfo."]),
        build_rpc("SetParameterValues", [MS + "PeriodicInformInterval=600:unsignedInt",
                                         MS + "ConnectionRequestPassword=" + SECRETS["spv"]]),
        build_rpc("GetParameterNames", [MS, "1"]),
        build_rpc("GetParameterAttributes", [MS + "PeriodicInformInterval"]),
        build_rpc("SetParameterAttributes", [MS + "PeriodicInformInterval=1"]),
        build_rpc("AddObject", [IP]),
        build_rpc("DeleteObject", [IP + "1."]),
        build_rpc("GetRPCMethods", []),
        "<cwmp:X_ACME_Frobnicate><Secret>x</Secret></cwmp:X_ACME_Frobnicate>",
        DOWNLOAD,
    ]
    conf = write_conf(tmp_path, acs.url, acs={"username": "cpe", "password": SECRETS["acs"]},
                      connection_request={"password": SECRETS["cr"]})
    r = run_pyz(pyz, conf, "--once", "--boot", "--log-level", "debug")
    assert r.returncode == 0, r.stderr
    path = str(tmp_path / "audit" / "audit.log")
    with open(path) as f:
        text = f.read()
    for name, secret in SECRETS.items():
        assert secret not in text, name
        assert secret not in r.stderr, name
        assert secret not in r.stdout, name
    recs, bad = read_records(path)
    assert bad == 0
    kinds = Counter(rec["kind"] for rec in recs)
    assert kinds == {"session_start": 1, "session_end": 1, "rpc": 10, "set": 2, "attributes": 1,
                     "add": 1, "delete": 1}
    rpcs = [rec["rpc"] for rec in recs if rec["kind"] == "rpc"]
    assert rpcs == ["GetParameterValues", "SetParameterValues", "GetParameterNames",
                    "GetParameterAttributes", "SetParameterAttributes", "AddObject", "DeleteObject",
                    "GetRPCMethods", "X_ACME_Frobnicate", "Download"]
    by = {(rec["kind"], rec.get("path")): rec for rec in recs}
    assert by[("set", MS + "PeriodicInformInterval")]["old"] == "3600"
    assert by[("set", MS + "PeriodicInformInterval")]["new"] == "600"
    assert by[("set", MS + "ConnectionRequestPassword")]["old"] == "***"
    assert by[("set", MS + "ConnectionRequestPassword")]["new"] == "***"
    assert ("add", IP + "1.") in by and ("delete", IP + "1.") in by
    assert by[("attributes", MS + "PeriodicInformInterval")]["notification"] == 1
    start = recs[0]
    assert start["kind"] == "session_start" and start["url"] == acs.url and start["tls"] is False
    assert start["events"] == ["0 BOOTSTRAP", "1 BOOT"]
    end = recs[-1]
    assert end["kind"] == "session_end" and end["ok"] is True and end["auth"] == "digest"
    dl = [rec for rec in recs if rec.get("rpc") == "Download"][0]
    assert dl["url"] == "http://files.example.net/fw.bin?auth=***"
    assert dl["file_type"] == "2 Web Content" and dl["file_size"] == "1234"
    assert dl["result"] == "ok"  # queued by the transfer module (it runs after the session)
    unknown = [rec for rec in recs if rec.get("rpc") == "X_ACME_Frobnicate"][0]
    assert set(unknown) == {"time", "kind", "rpc", "result", "fault", "reason"}


def test_failed_session_is_recorded_and_flushed(acs, make_agent):
    acs.auth = ("digest", "cpe", "right")
    agent = make_agent(acs.url, acs={"username": "cpe", "password": "wrong"})
    assert agent.run() == 1
    recs, _ = read_records(agent.audit.path)
    assert [r["kind"] for r in recs] == ["session_start", "session_end"]
    assert recs[1]["ok"] is False and "authentication failed" in recs[1]["reason"]
    assert "wrong" not in json.dumps(recs)


def test_tls_session_records_version(make_agent, tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    ca_file = str(tmp_path / "ca.pem")
    ca.cert_pem.write_to_path(ca_file)
    with Acs(tls_context=ctx) as server:
        server.auth = ("basic", "cpe", "tls-pw")
        agent = make_agent(server.url, acs={"username": "cpe", "password": "tls-pw", "ca_file": ca_file})
        assert agent.run() == 0
    recs, _ = read_records(agent.audit.path)
    assert recs[0]["tls"] is True and recs[0]["url"].startswith("https://")
    assert recs[-1]["auth"] == "basic" and recs[-1]["tls"].startswith("TLSv1.")


def test_audit_without_install_is_a_no_op(acs, make_agent):
    agent = make_agent(acs.url, install=False)
    agent.audit.record("reboot", command_key="x")  # others may call it whatever is installed
    assert agent.audit.flush() == 0
    assert agent.run() == 0
    assert not os.path.exists(agent.cfg.get("audit", "file"))


def test_disabled_audit_writes_nothing(acs, make_agent):
    agent = make_agent(acs.url, audit={"enable": "false"})
    assert agent.audit.enabled is False
    assert agent.run() == 0
    assert not os.path.exists(agent.cfg.get("audit", "file"))


# ------------------------------------------------------ file behaviour
def test_buffered_until_flush_one_fsync_per_flush(tmp_path):
    path = str(tmp_path / "a" / "audit.log")
    a = Audit(path, max_bytes=65536, buffer_bytes=4096)
    for i in range(10):
        a.record("set", path="Device.X.%d" % i, old="a", new="b")
    assert not os.path.exists(path)  # nothing written yet: all in RAM
    n = a.flush()
    assert n == os.path.getsize(path) and a.fsyncs == 1 and a.writes == 1
    assert a.flush() == 0 and a.fsyncs == 1  # nothing new: no write at all
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    for i in range(200):  # passes buffer_bytes: flushed on the way
        a.record("set", path="Device.Y.%d" % i, old="a", new="b")
    assert a.fsyncs > 1
    a.stop()
    a.record("reboot", command_key="k")  # after stop: written at once
    recs, bad = read_records(path)
    assert bad == 0 and len(recs) == 211 and recs[-1]["kind"] == "reboot"


def test_rotation_bounds_the_size(tmp_path):
    path = str(tmp_path / "audit.log")
    a = Audit(path, max_bytes=8192, buffer_bytes=1000)
    for i in range(2000):
        a.record("set", path="Device.X.%d" % i, old="o" * 20, new="n" * 20)
    a.flush()
    assert a.rotations > 5
    assert os.path.getsize(path) <= 8192 and os.path.getsize(path + ".1") <= 8192
    assert sorted(os.listdir(str(tmp_path))) == ["audit.log", "audit.log.1"]
    recs, bad = read_records(path)
    assert bad == 0
    nums = [int(r["path"].rsplit(".", 1)[1]) for r in recs]
    assert nums == list(range(nums[0], 2000))  # the newest survive, in order, no gap
    # a flush bigger than the whole budget still keeps the bound
    b = Audit(str(tmp_path / "b.log"), max_bytes=8192, buffer_bytes=8192)
    for i in range(100):
        b._buf.append(b._line("set", {"path": "Device.Z.%d" % i, "old": "x" * 200, "new": "y"}))
    b.flush()
    assert os.path.getsize(str(tmp_path / "b.log")) <= 8192


def test_huge_values_are_cut(tmp_path):
    a = Audit(str(tmp_path / "audit.log"))
    a.record("rpc", rpc="GetParameterValues", paths=["Device.%d." % i for i in range(10000)])
    a.record("set", path="Device.X", old="v" * 100000, new="w")
    a.flush()
    with open(str(tmp_path / "audit.log"), "rb") as f:
        lines = f.read().splitlines()
    assert len(lines) == 2 and all(len(x) < 4096 for x in lines)
    assert "(9984 more)" in lines[0].decode()


def test_unwritable_location_does_not_break_the_agent(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("")
    a = Audit(str(blocker / "audit.log"))  # a directory under a regular file
    a.record("reboot")
    with caplog.at_level("ERROR", logger="rocket"):
        assert a.flush() == 0
    assert "cannot write" in caplog.text and a._buf  # kept for the next try


def test_persist_copy_and_restore(tmp_path):
    ram = str(tmp_path / "ram" / "audit.log")
    flash = str(tmp_path / "flash" / "audit.log")
    a = Audit(ram, persist=flash, persist_interval=3600)
    a.record("reboot", command_key="a")
    a.flush()
    assert os.path.exists(flash) and a.persist_writes == 1  # first flush persists
    a.record("reboot", command_key="b")
    a.flush()
    assert a.persist_writes == 1  # within the interval: flash untouched
    a.stop()  # shutdown: the copy is brought up to date
    assert a.persist_writes == 2
    a.flush(persist=True)
    assert a.persist_writes == 2  # unchanged content is not rewritten
    os.unlink(ram)  # reboot: RAM is gone
    b = Audit(ram, persist=flash)
    b.restore()
    recs, _ = read_records(ram)
    assert [r["command_key"] for r in recs] == ["a", "b"]
    os.unlink(ram)
    recs, _ = read_records(ram, persist=flash)  # ctl audit reads the copy when RAM is empty
    assert len(recs) == 2


# ------------------------------------------------------------- masking
def test_secret_names():
    for p in ("Device.WiFi.AccessPoint.1.Security.KeyPassphrase", "Device.Users.User.2.Password",
              "Device.WiFi.AccessPoint.1.Security.PreSharedKey", "Device.X.RadiusSecret",
              "Device.ManagementServer.STUNPassword", "Device.X_ACME_AdminPasswd.x_acme_password",
              "Device.Cellular.Interface.1.USIM.PIN", "Device.WiFi.AccessPoint.1.Security.WEPKey"):
        assert secret_name(p), p
    for p in ("Device.ManagementServer.ParameterKey", "Device.WiFi.SSID.1.SSID",
              "Device.X.RekeyingInterval", "Device.ManagementServer.STUNMaximumKeepAlivePeriod",
              "Device.X.MACKeyNumberOfEntries", "Device.DeviceInfo.SerialNumber"):
        assert not secret_name(p), p


def test_record_masks_by_field_and_path(tmp_path):
    a = Audit(str(tmp_path / "audit.log"))
    a.record("transfer", url="ftp://u:pw1@h/x?sig=pw2&a", password="pw3", file_type="1 x")
    a.record("set", path="Device.Users.User.1.Password", old="pw4", new="")
    a.record("connection_request", result="refused", peer="127.0.0.1", reason="bad digest")
    a.flush()
    with open(a.path) as f:
        text = f.read()
    for s in ("pw1", "pw2", "pw3", "pw4"):
        assert s not in text
    recs, _ = read_records(a.path)
    assert recs[0]["url"] == "ftp://h/x?sig=***&a" and recs[0]["password"] == "***"
    assert recs[1]["old"] == "***" and recs[1]["new"] == ""  # a cleared password stays visible


@given(st.text(max_size=20), st.text(max_size=20), st.text(max_size=20))
def test_clean_url_never_keeps_userinfo_or_query_values(user, pw, value):
    from urllib.parse import quote
    url = "https://%s:%s@host.example:8443/p?k=%s" % (quote(user, safe=""), quote(pw, safe=""),
                                                       quote(value, safe=""))
    out = clean_url(url)
    assert out == "https://host.example:8443/p?k=***"


# ------------------------------------------------------------ ctl audit
def _write(path, recs):
    with open(path, "w") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")


def test_ctl_audit_filters_and_json(pyz, tmp_path):
    now = time.time()
    old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3 * 86400))
    new = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60))
    path = str(tmp_path / "audit.log")
    _write(path + ".1", [{"time": old, "kind": "set", "path": "Device.WiFi.SSID.1.SSID", "old": "a",
                          "new": "b"}])
    _write(path, [
        {"time": new, "kind": "session_start", "url": "http://acs/", "events": ["2 PERIODIC"], "tls": False},
        {"time": new, "kind": "rpc", "rpc": "GetParameterValues", "paths": ["Device.WiFi."], "result": "ok"},
        {"time": new, "kind": "set", "path": "Device.WiFi.SSID.1.SSID", "old": "b", "new": "c"},
        {"time": new, "kind": "set", "path": "Device.IP.Interface.1.Enable", "old": "true", "new": "false"},
        {"time": new, "kind": "rpc", "rpc": "Reboot", "result": "fault", "fault": 9001,
         "reason": "Request denied", "policy": "[management] reboot = no"},
    ])
    with open(path, "a") as f:
        f.write('{"time": "torn')  # a power cut in the middle of a line
    conf = write_conf(tmp_path, "http://127.0.0.1:1/acs", audit={"file": path})

    r = ctl(pyz, "-c", conf)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["TIME", "(local)", "WHAT", "DETAILS"]
    assert len(lines) == 7
    assert "Device.WiFi.SSID.1.SSID: a -> b" in lines[1]
    assert "FAULT 9001" in lines[-1] and "owner policy: [management] reboot = no" in lines[-1]
    assert "1 unreadable line skipped" in r.stderr

    # the control client's own -c, before the command, works as well (no socket needed)
    r2 = subprocess.run([sys.executable, "-I", "-S", pyz, "ctl", "-c", conf, "audit"], capture_output=True,
                        text=True, timeout=60)
    assert r2.returncode == 0 and r2.stdout == r.stdout

    r = ctl(pyz, "-c", conf, "--since", "1d", "--json")
    recs = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(recs) == 5 and all(x["time"] == new for x in recs)

    r = ctl(pyz, "--file", path, "--path", "Device.WiFi.SSID.", "--json")
    recs = [json.loads(x) for x in r.stdout.splitlines()]
    assert [(x["kind"], x.get("new")) for x in recs] == [("set", "b"), ("rpc", None), ("set", "c")]

    day = time.strftime("%Y-%m-%d", time.localtime(now - 86400))
    r = ctl(pyz, "--file", path, "--since", day, "--path", "Device.IP.")
    assert len(r.stdout.splitlines()) == 2 and "Enable: true -> false" in r.stdout

    r = ctl(pyz, "--file", path, "--since", "yesterday")
    assert r.returncode == 2 and "--since" in r.stderr


def test_table_never_prints_control_characters(tmp_path):
    import io
    from rocket.owner.audit import ctl_main
    path = str(tmp_path / "audit.log")
    _write(path, [{"time": "2026-11-23T13:00:00Z", "kind": "set", "path": "Device.X\x1b[2J",
                   "old": "a\rb", "new": "\x1b]0;owned\x07"}])
    out = io.StringIO()
    assert ctl_main(["--file", path], out=out) == 0
    text = out.getvalue()
    assert "\x1b" not in text and "\r" not in text and "\x07" not in text
    assert "Device.X\\x1b[2J: a\\x0db -> \\x1b]0;owned\\x07" in text


def test_parse_since():
    now = 1_800_000_000
    assert parse_since("30m", now) == now - 1800
    assert parse_since("2h", now) == now - 7200
    assert parse_since("7d", now) == now - 7 * 86400
    assert parse_since("2026-11-23T13:00:00Z") == 1795438800
    assert parse_since("2026-11-23T14:00+01:00") == 1795438800
    assert parse_since("2026-11-23") == time.mktime((2026, 11, 23, 0, 0, 0, 0, 0, -1))
    with pytest.raises(ValueError):
        parse_since("last tuesday")


def test_ctl_other_commands_keep_their_stub(pyz):
    r = subprocess.run([sys.executable, "-I", "-S", pyz, "ctl", "status"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2


def test_sighup_rereads_the_policy_and_sigterm_flushes_the_audit(acs, pyz, tmp_path):
    """Running zipapp: SIGHUP puts a new policy in force (its record waits in
    RAM), SIGTERM writes what was waiting before the agent exits."""
    import signal
    from agentproc import AgentProcess
    pol = tmp_path / "policy.conf"
    pol.write_text("[management]\nreboot = yes\n")
    conf = write_conf(tmp_path, acs.url, policy={"file": str(pol)})
    path = str(tmp_path / "audit" / "audit.log")
    with AgentProcess(pyz, conf, "--boot") as agent:
        assert agent.wait_log("session: end ok"), agent.text()
        # the session-end flush follows the log line: wait for its last record
        deadline = time.monotonic() + 30
        while not (os.path.exists(path) and any(r["kind"] == "session_end" for r in read_records(path)[0])):
            assert time.monotonic() < deadline, "no session_end record written"
            time.sleep(0.02)
        n = len(read_records(path)[0])
        pol.write_text("[management]\nreboot = no\n")
        agent.signal(signal.SIGHUP)
        assert agent.wait_log("reboot=no"), agent.text()
        assert len(read_records(path)[0]) == n  # buffered: no write for it yet
        agent.signal(signal.SIGTERM)
        assert agent.wait(30) == 0, agent.text()
    recs, _ = read_records(path)
    assert recs[-1]["kind"] == "policy" and "reboot=no" in recs[-1]["summary"]
