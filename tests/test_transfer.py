"""Transfers and device operations against the dev ACS and a loopback file server."""

import json
import os

import pytest

from fileserver import FileServer, generated
from rocket.ops import autonomous
from rocket.cwmp.transfer import Transfer
from rocket.ops.journal import Journal
from rocket.base.statedir import StateDir
from transfer_util import (download_rpc, drive, ended, events_of, fault_codes, hook, simple_rpc,
                           tc_requests, upload_rpc)


@pytest.fixture
def files():
    s = FileServer().start()
    yield s
    s.stop()


@pytest.fixture
def tx(tmp_path):
    """[transfer] settings with recording hooks."""
    out = tmp_path / "out"
    out.mkdir()
    h = tmp_path / "hooks"
    h.mkdir()
    env_dump = 'env | grep ^ROCKET_ | sort > "%s/$1.env"' % out
    return {
        "download_dir": str(tmp_path / "dl"),
        "timeout": "3",
        "retry_delay": "0.2",
        "firmware_hook": hook(h / "fw", 'cp "$ROCKET_FILE" "%s/firmware.bin"\n%s' % (out, env_dump.replace("$1", "fw"))),
        "config_hook": hook(h / "cfg", 'cp "$ROCKET_FILE" "%s/config.bin"\n%s' % (out, env_dump.replace("$1", "cfg"))),
        "reboot_hook": hook(h / "reboot", 'echo "$ROCKET_REASON" >> "%s/reboots"' % out),
        "factory_reset_hook": hook(h / "reset", 'touch "%s/reset"' % out),
        "upload_hook": hook(h / "up", 'case "$ROCKET_FILE_TYPE" in\n'
                            '  *Log*) printf "log line 1\\nlog line 2\\n" > "$ROCKET_OUTPUT" ;;\n'
                            '  *) printf "config=%s\\n" "$ROCKET_INSTANCE" > "$ROCKET_OUTPUT" ;;\nesac'),
    }


_running = []


def mk(make_agent, server, tx, boot=True, **sections):
    """A new agent on the same state; the previous one stops first (a restart)."""
    while _running:
        prev = _running.pop()
        if not prev.loop.stopping:
            prev.stop()
    acs_sec = {"periodic_inform_enable": "false"}
    acs_sec.update(sections.pop("acs", {}))
    t = dict(tx)
    t.update(sections.pop("transfer", {}))
    agent = make_agent(server.url, boot=boot, once=False, acs=acs_sec, transfer=t, **sections)
    _running.append(agent)
    return agent


def quiet(agent):
    return not agent.in_session and agent.session_timer is None


def nothing_due(agent):
    """No timer of the loop is due now (a transfer to start or to take up
    after its body, a session to open): what follows a session has happened."""
    t = agent.loop.next_timer()
    return t is None or t.when > agent.loop.clock()


def run_until_sessions(agent, acs, n, start=True):
    drive(agent, lambda: len(ended(acs)) >= n and (agent.loop.stopping or quiet(agent) and nothing_due(agent)),
          start=start)


def test_firmware_download_reboot_and_version_check(acs, files, make_agent, tx, tmp_path):
    image = os.urandom(300000)
    files.files["/fw.bin"] = image
    acs.queue = [download_rpc(files.url("/fw.bin"), key="fw-1", target="openwrt.bin", size=len(image))]
    a = mk(make_agent, acs, tx)
    drive(a, lambda: a.loop.stopping)  # firmware hook, reboot hook, agent stops
    out = tmp_path / "out"
    assert (out / "firmware.bin").read_bytes() == image
    envs = (out / "fw.env").read_text()
    assert "ROCKET_TARGET_NAME=openwrt.bin" in envs and "ROCKET_FILE_TYPE=1 Firmware Upgrade Image" in envs
    assert "firmware upgrade" in (out / "reboots").read_text()
    ans = acs.sessions[0].answers[0][1]
    assert b"<Status>1</Status>" in ans and b"0001-01-01T00:00:00Z" in ans
    # journal: installed, waiting for the reboot
    doc = json.load(open(tmp_path / "state" / "transfers.json"))
    assert doc["transfers"][0]["state"] == "installed"
    # the device comes back with the new version
    b = mk(make_agent, acs, tx, cpe={"software_version": "2.0.0"})
    run_until_sessions(b, acs, 2)
    s = acs.sessions[1]
    evs = events_of(s.inform)
    assert ("1 BOOT", "") in evs and ("7 TRANSFER COMPLETE", "") in evs and ("M Download", "fw-1") in evs
    tcs = tc_requests(acs)
    assert len(tcs) == 1 and "<CommandKey>fw-1</CommandKey>" in tcs[0] and fault_codes(tcs[0]) == [0]
    assert b.events.pending == []
    assert json.load(open(tmp_path / "state" / "transfers.json"))["transfers"] == []


def test_firmware_unchanged_version_is_9018(acs, files, make_agent, tx):
    files.files["/fw.bin"] = b"x" * 1000
    acs.queue = [download_rpc(files.url("/fw.bin"), key="fw-2")]
    a = mk(make_agent, acs, tx)
    drive(a, lambda: a.loop.stopping)
    b = mk(make_agent, acs, tx)  # same software_version after the "reboot"
    run_until_sessions(b, acs, 2)
    tcs = tc_requests(acs)
    assert len(tcs) == 1 and fault_codes(tcs[0]) == [9018]


def test_config_download_with_digest_then_session(acs, files, make_agent, tx, tmp_path, caplog):
    caplog.set_level("DEBUG", logger="rocket")
    files.auth = ("digest", "fuser", "fpass")
    files.files["/cfg"] = b"config data\n"
    acs.queue = [download_rpc(files.url("/cfg"), "3 Vendor Configuration File", "cfg-1", "fuser", "fpass")]
    a = mk(make_agent, acs, tx)
    run_until_sessions(a, acs, 2)
    assert (tmp_path / "out" / "config.bin").read_bytes() == b"config data\n"
    s = acs.sessions[1]
    assert ("M Download", "cfg-1") in events_of(s.inform)
    tc = tc_requests(acs)[0]
    assert fault_codes(tc) == [0] and "<StartTime>0001" not in tc
    assert any(r[2].get("Authorization", "").startswith("Digest ") for r in files.requests)
    assert "downloading" in caplog.text and "fpass" not in caplog.text


def test_web_content_stored_at_target_name(acs, files, make_agent, tx, tmp_path):
    files.files["/page"] = generated(200000)
    acs.queue = [download_rpc(files.url("/page"), "2 Web Content", "web", target="../index.html")]
    a = mk(make_agent, acs, tx)
    run_until_sessions(a, acs, 2)
    assert (tmp_path / "dl" / "index.html").read_bytes() == generated(200000)
    assert fault_codes(tc_requests(acs)[0]) == [0]


@pytest.mark.parametrize("case,code", [("401", 9012), ("404", 9016), ("refused", 9015),
                                       ("truncated", 9017), ("basic-over-http", 9012)])
def test_download_failures(acs, files, make_agent, tx, case, code):
    files.files["/f"] = b"y" * 100000
    url, user, pw = files.url("/f"), "", ""
    if case == "401":
        files.auth = ("digest", "u", "right")
        user, pw = "u", "wrong"
    elif case == "basic-over-http":
        files.auth = ("basic", "u", "p")
        user, pw = "u", "p"
    elif case == "404":
        url = files.url("/missing")
    elif case == "refused":
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        url = "http://127.0.0.1:%d/f" % s.getsockname()[1]
        s.close()
    elif case == "truncated":
        files.truncate["/f"] = 5000
    acs.queue = [download_rpc(url, "3 Vendor Configuration File", "k-" + case, user, pw)]
    a = mk(make_agent, acs, tx)
    run_until_sessions(a, acs, 2)
    tc = tc_requests(acs)
    assert len(tc) == 1 and fault_codes(tc[0]) == [code]
    assert ("M Download", "k-" + case) in events_of(acs.sessions[1].inform)
    assert a.events.pending == []


def test_download_https_basic_and_bad_certificate(acs, make_agent, tx, tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    import ssl
    sctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(sctx)
    srv = FileServer(sctx).start()
    try:
        srv.auth = ("basic", "bu", "bp")
        srv.files["/c"] = b"tls config"
        ca_path = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_path))
        acs.queue = [download_rpc(srv.url("/c"), "3 Vendor Configuration File", "tls-ok", "bu", "bp")]
        a = mk(make_agent, acs, tx, acs={"ca_file": str(ca_path)})
        run_until_sessions(a, acs, 2)
        assert fault_codes(tc_requests(acs)[0]) == [0]
        assert (tmp_path / "out" / "config.bin").read_bytes() == b"tls config"
        # without the CA, the certificate does not verify: 9015 (cannot contact the server)
        acs.queue = [download_rpc(srv.url("/c"), "3 Vendor Configuration File", "tls-bad", "bu", "bp")]
        a.stop()
        b = mk(make_agent, acs, tx, acs={"ca_file": ""})
        run_until_sessions(b, acs, 4)
        tcs = tc_requests(acs)
        assert len(tcs) == 2 and fault_codes(tcs[1]) == [9015]
    finally:
        srv.stop()


def test_synchronous_faults(acs, files, make_agent, tx):
    acs.queue = [download_rpc("ftp://127.0.0.1/x", "3 Vendor Configuration File", "ftp"),
                 download_rpc(files.url("/x"), "6 Stored Firmware Image", "bad-type"),
                 download_rpc(files.url("/x"), "X 00AA11 Thing", "vendor-type"),
                 download_rpc(files.url("/x"), "3 Vendor Configuration File", "huge", size=2 ** 32 - 1),
                 simple_rpc("ScheduleInform", DelaySeconds=0, CommandKey="zero"),
                 simple_rpc("CancelTransfer", CommandKey="nope")]
    a = mk(make_agent, acs, tx, transfer={"max_size": "1000000"})
    run_until_sessions(a, acs, 1)
    codes = [fault_codes(ans.decode())[:1] for _, ans in acs.sessions[0].answers]
    assert codes == [[9013], [9003], [9003], [9004], [9003], [9003]]
    assert Journal(StateDir(a.state.path)).transfers == []


def test_upload_config_and_log_put_and_post(acs, files, make_agent, tx):
    files.auth = ("digest", "up", "pw")
    acs.queue = [upload_rpc(files.url("/u/cfg"), "3 Vendor Configuration File 2", "up-cfg", "up", "pw"),
                 upload_rpc(files.url("/u/log"), "2 Vendor Log File", "up-log", "up", "pw")]
    a = mk(make_agent, acs, tx)
    drive(a, lambda: len(tc_requests(acs)) == 2 and ended(acs)[-1:] == acs.sessions[-1:] and quiet(a))
    assert files.uploads["/u/cfg"] == b"config=2\n"
    assert files.uploads["/u/log"] == b"log line 1\nlog line 2\n"
    assert [r[0] for r in files.requests if r[0] != "GET"].count("PUT") >= 2
    tcs = tc_requests(acs)
    assert len(tcs) == 2 and all(fault_codes(t) == [0] for t in tcs)
    evs = [e for s in acs.sessions[1:] for e in events_of(s.inform)]
    assert ("M Upload", "up-cfg") in evs and ("M Upload", "up-log") in evs


def test_upload_post_and_failure(acs, files, make_agent, tx):
    acs.queue = [upload_rpc(files.url("/p"), "1 Vendor Configuration File", "post")]
    a = mk(make_agent, acs, tx, transfer={"upload_method": "POST"})
    run_until_sessions(a, acs, 2)
    assert files.uploads["/p"] == b"config=\n"
    assert any(r[0] == "POST" for r in files.requests)
    files.stop()
    acs.queue = [upload_rpc(files.url("/p"), "1 Vendor Configuration File", "post-down")]
    a.request_session()
    run_until_sessions(a, acs, 4, start=False)
    assert fault_codes(tc_requests(acs)[-1]) == [9015]


def test_schedule_download_window_passes_9020(acs, make_agent, tx):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    url = "http://127.0.0.1:%d/f" % s.getsockname()[1]
    s.close()
    acs.queue = [download_rpc(url, "3 Vendor Configuration File", "sched", method="ScheduleDownload",
                              windows=[(0, 1, "1 At Any Time", 5)])]
    a = mk(make_agent, acs, tx)
    run_until_sessions(a, acs, 2)
    tc = tc_requests(acs)
    assert len(tc) == 1 and fault_codes(tc[0]) == [9020] and "<CommandKey>sched</CommandKey>" in tc[0]
    assert ("M ScheduleDownload", "sched") in events_of(acs.sessions[1].inform)


def test_schedule_download_second_window_succeeds(acs, files, make_agent, tx, tmp_path):
    files.files["/c"] = b"later"
    acs.queue = [download_rpc(files.url("/c"), "3 Vendor Configuration File", "sched2",
                              method="ScheduleDownload",
                              windows=[(0, 1, "4 Confirmation Needed", 0), (1, 30, "2 Immediately", 0)])]
    a = mk(make_agent, acs, tx)
    run_until_sessions(a, acs, 2)
    assert fault_codes(tc_requests(acs)[0]) == [0]
    assert (tmp_path / "out" / "config.bin").read_bytes() == b"later"


def test_bad_windows_are_9003(acs, files, make_agent, tx):
    acs.queue = [download_rpc(files.url("/c"), "3 Vendor Configuration File", "w1", method="ScheduleDownload",
                              windows=[(5, 5, "1 At Any Time", 0)]),
                 download_rpc(files.url("/c"), "3 Vendor Configuration File", "w2", method="ScheduleDownload",
                              windows=[(0, 10, "1 At Any Time", 0), (5, 20, "1 At Any Time", 0)])]
    a = mk(make_agent, acs, tx)
    run_until_sessions(a, acs, 1)
    assert [fault_codes(x.decode()) for _, x in acs.sessions[0].answers] == [[9003], [9003]]


def test_queued_listing_and_cancel(acs, files, make_agent, tx):
    files.files["/c"] = b"c"
    acs.queue = [download_rpc(files.url("/c"), "3 Vendor Configuration File", "later", delay=3600),
                 download_rpc(files.url("/c"), "2 Web Content", "later2", target="w.html", size=1, delay=3600),
                 upload_rpc(files.url("/u"), "2 Vendor Log File", "up-later", delay=3600),
                 simple_rpc("GetQueuedTransfers"),
                 simple_rpc("GetAllQueuedTransfers"),
                 simple_rpc("CancelTransfer", CommandKey="later")]
    a = mk(make_agent, acs, tx)
    run_until_sessions(a, acs, 1)
    ans = [x.decode() for _, x in acs.sessions[0].answers]
    assert 'cwmp:QueuedTransferStruct[2]' in ans[3] and "<CommandKey>later2</CommandKey><State>1</State>" in ans[3]
    assert 'cwmp:AllQueuedTransferStruct[3]' in ans[4]
    assert ("<CommandKey>up-later</CommandKey><State>1</State><IsDownload>false</IsDownload>"
            "<FileType>2 Vendor Log File</FileType>") in ans[4]
    assert "<TargetFileName>w.html</TargetFileName>" in ans[4]
    assert "CancelTransferResponse" in ans[5]
    keys = [t.key for t in Journal(StateDir(a.state.path)).transfers]
    assert keys == ["later2", "up-later"]


def test_cancel_in_progress_is_9021(acs, files, make_agent, tx):
    files.files["/slow"] = b"z" * 200000
    files.stall["/slow"] = 1000
    acs.queue = [download_rpc(files.url("/slow"), "3 Vendor Configuration File", "busy")]
    a = mk(make_agent, acs, tx, transfer={"timeout": "20"})
    run_until_sessions(a, acs, 1)
    drive(a, lambda: any(t.state == "running" for t in Journal(StateDir(a.state.path)).transfers),
          start=False)
    acs.queue = [simple_rpc("CancelTransfer", CommandKey="busy"), simple_rpc("GetQueuedTransfers")]
    a.request_session()  # a session while the body is still coming
    run_until_sessions(a, acs, 2, start=False)
    ans = [x.decode() for _, x in acs.sessions[1].answers]
    assert fault_codes(ans[0]) == [9021]
    assert "<CommandKey>busy</CommandKey><State>2</State>" in ans[1]


def test_reboot_factory_reset_and_schedule_inform(acs, make_agent, tx, tmp_path):
    acs.queue = [simple_rpc("ScheduleInform", DelaySeconds=1, CommandKey="si-1"),
                 simple_rpc("Reboot", CommandKey="rb-7")]
    a = mk(make_agent, acs, tx)
    drive(a, lambda: a.loop.stopping)
    assert "rb-7" in (tmp_path / "out" / "reboots").read_text()
    b = mk(make_agent, acs, tx)  # back after the reboot
    run_until_sessions(b, acs, 2)
    evs = events_of(acs.sessions[1].inform)
    assert ("1 BOOT", "") in evs and ("M Reboot", "rb-7") in evs
    # the scheduled inform survived the reboot and fires on its own
    run_until_sessions(b, acs, 3, start=False)
    evs = events_of(acs.sessions[2].inform)
    assert set(evs) == {("3 SCHEDULED", ""), ("M ScheduleInform", "si-1")}
    # factory reset: BOOTSTRAP next time, ParameterKey gone
    b.model._set_key("pk-9")
    acs.queue = [simple_rpc("FactoryReset"), simple_rpc("ScheduleInform", DelaySeconds=3600, CommandKey="x")]
    b.request_session()
    drive(b, lambda: b.loop.stopping, start=False)
    assert (tmp_path / "out" / "reset").exists()
    c = mk(make_agent, acs, tx)
    run_until_sessions(c, acs, 5)
    evs = events_of(acs.sessions[4].inform)
    assert ("0 BOOTSTRAP", "") in evs and ("1 BOOT", "") in evs
    assert "<Name>Device.ManagementServer.ParameterKey</Name><Value xsi:type=\"xsd:string\"></Value>" in \
        acs.sessions[4].inform
    assert Journal(StateDir(c.state.path)).informs == []


def test_reboot_waits_for_a_clean_session(acs, make_agent, tx, tmp_path):
    acs.queue = [simple_rpc("Reboot", CommandKey="rb"), "<cwmp:GetParameterValuesResponse/>"]
    a = mk(make_agent, acs, tx)
    drive(a, lambda: len(acs.sessions) >= 1 and quiet(a) and a.retry_timer is not None)
    assert not (tmp_path / "out" / "reboots").exists()  # the session failed: not yet
    a.retry_timer.cancel()
    a.retry_timer = None
    a.request_session()
    drive(a, lambda: a.loop.stopping, start=False)
    assert "rb" in (tmp_path / "out" / "reboots").read_text()


def test_autonomous_transfer_complete_from_spool(acs, make_agent, tx, tmp_path):
    a = mk(make_agent, acs, tx, transfer={"spool_interval": "1"})
    run_until_sessions(a, acs, 1)
    autonomous.write_autonomous(str(tmp_path / "state" / "spool"), True, "1 Firmware Upgrade Image",
                              "http://example.invalid/fw.bin", 1234, "", 0, "",
                              "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z")
    run_until_sessions(a, acs, 2, start=False)
    s = acs.sessions[1]
    assert ("10 AUTONOMOUS TRANSFER COMPLETE", "") in events_of(s.inform)
    atc = tc_requests(acs, "AutonomousTransferComplete")
    assert len(atc) == 1 and "<FileSize>1234</FileSize>" in atc[0] and "<IsDownload>true</IsDownload>" in atc[0]
    assert os.listdir(tmp_path / "state" / "spool") == []
    assert a.events.pending == []


def test_corrupt_journal_never_loads_half_state(tmp_path):
    st = StateDir(str(tmp_path))
    j = Journal(st)
    j.add(Transfer(id=1, state="done", key="k"))
    raw = open(st.file("transfers"), "rb").read()
    for cut in (1, len(raw) // 2, len(raw) - 1):
        with open(st.file("transfers"), "wb") as f:
            f.write(raw[:cut])
        j2 = Journal(StateDir(str(tmp_path)))
        assert j2.transfers == [] and j2.doc["seq"] == 0
        assert os.path.exists(st.file("transfers") + ".corrupt")
    with open(st.file("transfers"), "w") as f:
        json.dump({"seq": 3, "transfers": [{"no": "id"}], "informs": []}, f)
    assert Journal(StateDir(str(tmp_path))).transfers == []


def test_bootstrap_drops_scheduled_informs_and_downloads(acs, files, make_agent, tx):
    acs.queue = [simple_rpc("ScheduleInform", DelaySeconds=3600, CommandKey="old-acs"),
                 download_rpc(files.url("/c"), "3 Vendor Configuration File", "sd-old", method="ScheduleDownload",
                              windows=[(3000, 4000, "1 At Any Time", 0)])]
    a = mk(make_agent, acs, tx)
    run_until_sessions(a, acs, 1)
    j = Journal(StateDir(a.state.path))
    assert len(j.informs) == 1 and len(j.transfers) == 1
    a.add_event("0 BOOTSTRAP")  # e.g. the ACS URL changed
    run_until_sessions(a, acs, 2, start=False)
    j = Journal(StateDir(a.state.path))
    assert j.informs == [] and j.transfers == []


def test_scheduled_inform_deadline_survives_restart(acs, make_agent, tx):
    acs.queue = [simple_rpc("ScheduleInform", DelaySeconds=2, CommandKey="persist")]
    a = mk(make_agent, acs, tx)
    run_until_sessions(a, acs, 1)
    a.stop()
    b = mk(make_agent, acs, tx, boot=False)  # the agent restarts before the deadline

    def fired():
        return any(("M ScheduleInform", "persist") in events_of(s.inform) for s in ended(acs))
    drive(b, fired)


def test_repeated_download_is_queued_once(acs, files, make_agent, tx):
    files.files["/c"] = b"once"
    rpc = download_rpc(files.url("/c"), "3 Vendor Configuration File", "again")
    acs.queue = [rpc, rpc]
    a = mk(make_agent, acs, tx)
    run_until_sessions(a, acs, 2)
    assert len(tc_requests(acs)) == 1


def test_ctl_autonomous_and_transfers_listing(acs, files, make_agent, tx, pyz, tmp_path):
    import subprocess
    import sys
    acs.queue = [download_rpc(files.url("/c"), "3 Vendor Configuration File", "ctl-later", delay=3600)]
    a = mk(make_agent, acs, tx)
    run_until_sessions(a, acs, 1)
    sock = os.path.join(a.state.path, "rocket.sock")

    def ctl(*args):
        p = subprocess.Popen([sys.executable, "-I", "-S", pyz, "ctl", "--socket", sock] + list(args),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        drive(a, lambda: p.poll() is not None, start=False)
        return p.returncode, p.stdout.read(), p.stderr.read()

    rc, out, err = ctl("transfers")
    assert rc == 0, err
    assert "download queued key=ctl-later type=3 Vendor Configuration File" in out
    rc, out, err = ctl("autonomous", "file_type=1 Firmware Upgrade Image", "fault_code=9018",
                       "fault_string=bad image", "transfer_url=http://vendor.example/fw.bin")
    assert rc == 0 and out.startswith("queued "), err
    rc, out, err = ctl("autonomous", "file_type=1 Firmware Upgrade Image", "color=blue")
    assert rc == 1 and "unknown field" in err
    run_until_sessions(a, acs, 2, start=False)
    atc = tc_requests(acs, "AutonomousTransferComplete")
    assert len(atc) == 1 and fault_codes(atc[0]) == [9018] and "bad image" in atc[0]
    assert ("10 AUTONOMOUS TRANSFER COMPLETE", "") in events_of(acs.sessions[1].inform)


@pytest.mark.parametrize("status,code", [(18, 9018), (19, 9019), (3, 9010)])
def test_install_hook_exit_status_maps_to_fault(acs, files, make_agent, tx, tmp_path, status, code):
    files.files["/c"] = b"cfg"
    bad = hook(tmp_path / "hooks" / "bad", "exit %d" % status)
    acs.queue = [download_rpc(files.url("/c"), "3 Vendor Configuration File", "hook-%d" % status)]
    a = mk(make_agent, acs, tx, transfer={"config_hook": bad})
    run_until_sessions(a, acs, 2)
    assert fault_codes(tc_requests(acs)[0]) == [code]


@pytest.mark.parametrize("case", ["too-big", "stalled"])
def test_incomplete_downloads_are_9017(acs, files, make_agent, tx, case):
    files.files["/big"] = b"b" * 50000
    extra = {"max_size": "10000"} if case == "too-big" else {"timeout": "1"}
    if case == "stalled":
        files.stall["/big"] = 1000
    acs.queue = [download_rpc(files.url("/big"), "3 Vendor Configuration File", case)]  # FileSize 0: unknown
    a = mk(make_agent, acs, tx, transfer=extra)
    run_until_sessions(a, acs, 2)
    assert fault_codes(tc_requests(acs)[0]) == [9017]
    assert not [f for f in os.listdir(a.cfg.get("transfer", "download_dir")) if f.endswith(".part")]


def test_upload_streams_from_the_loop_while_a_session_runs(acs, make_agent, tx, tmp_path):
    """An upload whose server stops reading leaves the loop free: a whole
    session runs while the body waits; closing the server then fails it."""
    import socket
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)  # never accepted, never read: the body stops once the buffers are full
    big = hook(tmp_path / "hooks" / "big", 'head -c 67108864 /dev/zero > "$ROCKET_OUTPUT"')
    acs.queue = [upload_rpc("http://127.0.0.1:%d/u" % srv.getsockname()[1], "2 Vendor Log File", "big")]
    a = mk(make_agent, acs, tx, transfer={"upload_hook": big, "timeout": "25"})
    try:
        run_until_sessions(a, acs, 1)
        drive(a, lambda: any(t.state == "running" for t in Journal(StateDir(a.state.path)).transfers),
              start=False)
        a.request_session()
        run_until_sessions(a, acs, 2, start=False)
        assert [t.state for t in Journal(StateDir(a.state.path)).transfers] == ["running"]
        assert tc_requests(acs) == []
    finally:
        srv.close()
    run_until_sessions(a, acs, 3, start=False)
    tcs = tc_requests(acs)
    assert len(tcs) == 1 and fault_codes(tcs[0])[0] in (9011, 9015) and "<CommandKey>big</CommandKey>" in tcs[0]


def test_upload_https_digest_streams_a_large_file(acs, make_agent, tx, tmp_path):
    """A 3 MB upload over TLS: the Digest challenge makes the whole body go
    out twice, written from the loop in pieces; the server gets it whole."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    import ssl
    sctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(sctx)
    srv = FileServer(sctx).start()
    try:
        srv.auth = ("digest", "up", "pw")
        ca_path = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_path))
        big = hook(tmp_path / "hooks" / "big", 'yes 0123456789abcdef | head -c 3145728 > "$ROCKET_OUTPUT"')
        acs.queue = [upload_rpc(srv.url("/u/big"), "2 Vendor Log File", "tls-up", "up", "pw")]
        a = mk(make_agent, acs, tx, acs={"ca_file": str(ca_path)}, transfer={"upload_hook": big})
        drive(a, lambda: len(tc_requests(acs)) == 1)
        assert fault_codes(tc_requests(acs)[0]) == [0]
        want = (b"0123456789abcdef\n" * 185043)[:3145728]
        assert srv.uploads["/u/big"] == want
        assert [r[0] for r in srv.requests].count("PUT") == 2  # the challenge, then the body again
    finally:
        srv.stop()
