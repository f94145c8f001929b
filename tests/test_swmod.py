"""Software modules: ChangeDUState against a real dpkg in an isolated root,
packages served over loopback HTTP with Digest, the DeploymentUnit table,
ExecutionUnits, autonomous changes, faults, and schema validation."""

import html
import json
import os
import re
import shutil
import subprocess

import pytest

import cwmpschema
from fileserver import FileServer
from rocket.swmod import ops as O
from swmod_util import BIN, VENDOR, build_deb, build_ipk, cdus, dpkg_root, gpv, link_backends, op, spv
from transfer_util import drive, ended, events_of, settle

pytestmark = pytest.mark.skipif(not shutil.which("dpkg-deb") or not shutil.which("dpkg"),
                                reason="dpkg and dpkg-deb are needed (.ci/apt.d/swmod.txt)")
SM = "Device.SoftwareModules."
CDUS_NS = "urn:dslforum-org:cwmp-1-2"


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("debs"))
    return {
        "/p/hello_1.0.deb": build_deb(d, "hello-svc", "1.0", service=True),
        "/p/hello_2.0.deb": build_deb(d, "hello-svc", "2.0", service=True),
        "/p/bad.deb": build_deb(d, "badscript", "1.0", preinst="echo refusing >&2; exit 1"),
        "/p/dep.deb": build_deb(d, "needsdep", "1.0", depends="not-there-pkg (>= 3)"),
        "/p/other.deb": build_deb(d, "other-tool", "0.9"),
        "/p/junk.deb": b"this is not a package",
        "/p/half.deb": build_deb(d, "half-done", "1.0", postinst="exit 1"),
        "/p/half2.deb": build_deb(d, "half-done", "2.0"),
    }


@pytest.fixture
def files(debs):
    s = FileServer().start()
    s.files.update(debs)
    s.auth = ("digest", "pkg", "s3cret")
    yield s
    s.stop()


@pytest.fixture
def sw(tmp_path):
    root = dpkg_root(str(tmp_path / "root"))
    link_backends(str(tmp_path / "backends"))
    return {"enable": "true", "systems": "dpkg", "root": root, "init": "sysvinit", "poll_interval": "0",
            "timeout": "60"}


_running = []


def mk(make_agent, acs, sw, tmp_path, boot=False, **extra):
    while _running:
        prev = _running.pop()
        if not prev.loop.stopping:
            prev.stop()
    a = make_agent(acs.url, boot=boot, once=False, acs={"periodic_inform_enable": "false"}, software=sw,
                   transfer={"download_dir": str(tmp_path / "dl"), "timeout": "5"}, **extra)
    _running.append(a)
    return a


def until_sessions(a, acs, n, start=False):
    drive(a, lambda: len(ended(acs)) >= n and not a.in_session and a.session_timer is None
          and a.swmod_idle(), start=start)
    settle(a, 0.1)


@pytest.fixture(autouse=True)
def _stop_agents():
    yield
    while _running:
        a = _running.pop()
        if not a.loop.stopping:
            a.stop()


def _svc(a):
    return next(s for s in a.services if type(s).__name__ == "SoftwareModules")


def _agent(make_agent, acs, sw, tmp_path, **kw):
    a = mk(make_agent, acs, sw, tmp_path, **kw)
    s = _svc(a)
    a.swmod_idle = lambda: s.active is None and s._timer is None
    return a


def answers(acs, i):
    return [x[1].decode() for x in acs.sessions[i].answers]


def values(text):
    return {k: html.unescape(v) for k, v in re.findall(r"<Name>([^<]*)</Name><Value[^>]*>([^<]*)</Value>", text)}


def results(req):
    out = []
    for m in re.finditer(r"<Results>(.*?)</Results>", req, re.S):
        r = {k: html.unescape(v) for k, v in re.findall(r"<(\w+)>([^<]*)</\1>", m.group(1))}
        out.append(r)
    return out


def du_requests(acs, name="DUStateChangeComplete"):
    return [(i, r) for i, s in enumerate(acs.sessions) for r in s.cpe_requests if "<cwmp:%s>" % name in r]


def _validate(text, name):
    ns, el = cwmpschema.validate(text.encode() if isinstance(text, str) else text, name)
    assert ns == CDUS_NS
    return el


def test_install_update_downgrade_uninstall_with_dpkg(acs, files, make_agent, sw, tmp_path):
    u = files.url
    uuid = O.du_uuid("hello-svc", VENDOR)
    acs.queue = [cdus([op("Install", URL=u("/p/hello_1.0.deb"), Username="pkg", Password="s3cret"),
                       op("Install", URL=u("/p/bad.deb"), Username="pkg", Password="s3cret"),
                       op("Install", URL=u("/p/dep.deb"), Username="pkg", Password="s3cret"),
                       op("Install", URL=u("/p/junk.deb"), Username="pkg", Password="s3cret"),
                       op("Install", URL=u("/p/other.deb"), Username="pkg", Password="wrong"),
                       op("Install", URL="ftp://127.0.0.1/x.deb"),
                       op("Install", URL=u("/p/other.deb"), ExecutionEnvRef=SM + "ExecEnv.7"),
                       op("Uninstall", UUID="not-a-uuid"),
                       op("Uninstall", UUID=O.du_uuid("nothing-here", VENDOR))], key="first")]
    a = _agent(make_agent, acs, sw, tmp_path, boot=True)
    until_sessions(a, acs, 2, start=True)
    # the answer: empty ChangeDUStateResponse, schema-valid, journalled before
    (ans,) = answers(acs, 0)
    _validate(ans, "ChangeDUStateResponse")
    (i, req), = du_requests(acs)
    assert i == 1
    _validate(req, "DUStateChangeComplete")
    evs = events_of(acs.sessions[1].inform)
    assert ("11 DU STATE CHANGE COMPLETE", "") in evs and ("M ChangeDUState", "first") in evs
    rs = results(req)
    codes = [int(r["FaultCode"]) for r in rs]
    assert codes == [0, 9001, 9001, 9018, 9012, 9013, 9023, 9022, 9028], [r.get("FaultString") for r in rs]
    assert rs[0]["UUID"] == uuid and rs[0]["CurrentState"] == "Installed" and rs[0]["Version"] == "1.0"
    assert rs[0]["Resolved"] == "true" and rs[0]["DeploymentUnitRef"].startswith(SM + "DeploymentUnit.")
    assert rs[0]["ExecutionUnitRefList"].startswith(SM + "ExecutionUnit.")
    assert all(r["CurrentState"] == "Failed" for r in rs[1:])
    assert "pre-installation script" in rs[1]["FaultString"]
    assert "not-there-pkg" in rs[2]["FaultString"] or "depend" in rs[2]["FaultString"]
    # dpkg's own database: only hello-svc; the failed ones were rolled back
    st = subprocess.run(["dpkg-query", "--admindir=%s/var/lib/dpkg" % sw["root"], "-W", "-f",
                         "${Package} ${db:Status-Abbrev}\n"], capture_output=True, text=True).stdout
    assert "hello-svc ii" in st and "badscript ii" not in st and "needsdep ii" not in st
    ref = rs[0]["DeploymentUnitRef"]
    # the ACS reads the table, then asks for an update, a downgrade, a repeat and a duplicate
    acs.queue = [gpv(SM),
                 cdus([op("Update", UUID=uuid, URL=u("/p/hello_2.0.deb"), Username="pkg", Password="s3cret"),
                       op("Update", UUID=uuid, URL=u("/p/hello_1.0.deb"), Username="pkg", Password="s3cret"),
                       op("Update", UUID=uuid, URL=u("/p/hello_2.0.deb"), Username="pkg", Password="s3cret"),
                       op("Install", URL=u("/p/hello_2.0.deb"), Username="pkg", Password="s3cret"),
                       op("Update", UUID=O.du_uuid("nothing-here", VENDOR), URL=u("/p/hello_2.0.deb"))],
                      key="second", array=True)]
    a.request_session()
    until_sessions(a, acs, 4)
    gpv_ans, ans2 = answers(acs, 2)
    _validate(ans2, "ChangeDUStateResponse")
    v = values(gpv_ans)
    n = ref[len(SM + "DeploymentUnit."):]
    du = SM + "DeploymentUnit.%s." % n
    assert v[du + "Name"] == "hello-svc" and v[du + "Version"] == "1.0" and v[du + "UUID"] == uuid
    assert v[du + "Vendor"] == VENDOR and v[du + "Status"] == "Installed" and v[du + "Resolved"] == "true"
    assert v[du + "ExecutionEnvRef"] == SM + "ExecEnv.1" and v[SM + "ExecEnv.1.Name"] == "dpkg"
    assert v[SM + "DeploymentUnitNumberOfEntries"] == "1" and v[SM + "ExecutionUnitNumberOfEntries"] == "1"
    eu = v[du + "ExecutionUnitList"] + "."
    assert v[eu + "Name"] == "hello-svc" and v[eu + "References"] == ref and v[eu + "Status"] == "Idle"
    (_, req2), = [x for x in du_requests(acs) if x[0] == 3]
    _validate(req2, "DUStateChangeComplete")
    rs = results(req2)
    assert [int(r["FaultCode"]) for r in rs] == [0, 9030, 9032, 9026, 9028], [r.get("FaultString") for r in rs]
    assert rs[0]["Version"] == "2.0" and rs[0]["DeploymentUnitRef"] == ref and rs[0]["UUID"] == uuid
    assert [r["CurrentState"] for r in rs] == ["Installed", "Installed", "Installed", "Installed", "Failed"]
    # the first report was acknowledged: never sent again
    assert len([x for x in du_requests(acs) if "first" in x[1]]) == 1
    # uninstall; the table follows dpkg
    acs.queue = [cdus([op("Uninstall", UUID=uuid, ExecutionEnvRef=SM + "ExecEnv.1")], key="third")]
    a.request_session()
    until_sessions(a, acs, 6)
    (_, req3), = [x for x in du_requests(acs) if x[0] == 5]
    _validate(req3, "DUStateChangeComplete")
    (r,) = results(req3)
    assert r["CurrentState"] == "Uninstalled" and r["FaultCode"] == "0" and r["UUID"] == uuid and r["Version"] == "2.0"
    acs.queue = [gpv(SM + "DeploymentUnitNumberOfEntries")]
    a.request_session()
    until_sessions(a, acs, 7)
    assert values(answers(acs, 6)[0])[SM + "DeploymentUnitNumberOfEntries"] == "0"
    # nothing pending, the journal is empty
    doc = json.load(open(tmp_path / "state" / "duops.json"))
    assert doc["ops"] == []
    assert not [e for e in a.events.pending if e[0].startswith(("11", "M Change"))]
    # every operation is in the audit trail
    a.audit.flush()
    audit = open(tmp_path / "audit" / "audit.log").read()
    assert audit.count('"kind":"software"') >= 15 and "s3cret" not in audit


def test_instance_numbers_and_uuids_stay_across_restarts(acs, files, make_agent, sw, tmp_path, debs):
    u = files.url
    acs.queue = [cdus([op("Install", URL=u("/p/other.deb"), Username="pkg", Password="s3cret",
                          UUID="6BA7B810-0000-5000-8000-00C04FD430C8"),
                       op("Install", URL=u("/p/hello_1.0.deb"), Username="pkg", Password="s3cret")])]
    a = _agent(make_agent, acs, sw, tmp_path, boot=True)
    until_sessions(a, acs, 2, start=True)
    rs = results(du_requests(acs)[0][1])
    assert [r["FaultCode"] for r in rs] == ["0", "0"]
    assert rs[0]["UUID"] == "6ba7b810-0000-5000-8000-00c04fd430c8"  # the ACS's UUID is kept
    refs = [r["DeploymentUnitRef"] for r in rs]
    # restart; the ACS reads the table
    b = _agent(make_agent, acs, sw, tmp_path)
    acs.queue = [gpv(SM + "DeploymentUnit.")]
    b.request_session()
    until_sessions(b, acs, 3, start=True)
    v = values(answers(acs, 2)[0])
    assert v[refs[0] + ".UUID"] == "6ba7b810-0000-5000-8000-00c04fd430c8" and v[refs[0] + ".Name"] == "other-tool"
    assert v[refs[1] + ".Name"] == "hello-svc"
    assert v[refs[1] + ".UUID"] == O.du_uuid("hello-svc", VENDOR)


def test_execution_unit_start_stop_autostart(acs, files, make_agent, sw, tmp_path):
    u = files.url
    acs.queue = [cdus([op("Install", URL=u("/p/hello_1.0.deb"), Username="pkg", Password="s3cret")])]
    a = _agent(make_agent, acs, sw, tmp_path, boot=True)
    until_sessions(a, acs, 2, start=True)
    eu = results(du_requests(acs)[0][1])[0]["ExecutionUnitRefList"]
    root = sw["root"]
    os.environ["ROCKET_TEST_ROOT"] = root
    try:
        acs.queue = [spv((eu + ".RequestedState", "Active", "string"), (eu + ".AutoStart", "true", "boolean"))]
        a.request_session()
        until_sessions(a, acs, 3)
        assert "<Status>1</Status>" in answers(acs, 2)[0]
        pid = int(open(os.path.join(root, "run", "hello-svc.pid")).read())
        os.kill(pid, 0)  # the service runs
        assert any(n.startswith("S") and n.endswith("hello-svc") for n in os.listdir(os.path.join(root, "etc", "rc2.d")))
        acs.queue = [gpv(eu + ".", SM + "ExecEnv.1.ActiveExecutionUnits"),
                     spv((eu + ".RequestedState", "Idle", "string"), (eu + ".AutoStart", "false", "boolean"))]
        a.request_session()
        until_sessions(a, acs, 4)
        v = values(answers(acs, 3)[0])
        assert v[eu + ".Status"] == "Active" and v[eu + ".AutoStart"] == "true"
        assert v[SM + "ExecEnv.1.ActiveExecutionUnits"] == eu
        assert not os.path.exists(os.path.join(root, "run", "hello-svc.pid"))
        assert not any(n.startswith("S") for n in os.listdir(os.path.join(root, "etc", "rc2.d")))
        acs.queue = [gpv(eu + ".Status", eu + ".AutoStart", eu + ".ExecutionFaultCode"),
                     spv((eu + ".RequestedState", "Running", "string"))]
        a.request_session()
        until_sessions(a, acs, 5)
        got = answers(acs, 4)
        v = values(got[0])
        assert v[eu + ".Status"] == "Idle" and v[eu + ".AutoStart"] == "false" and v[eu + ".ExecutionFaultCode"] == "NoFault"
        assert "<FaultCode>9007</FaultCode>" in got[1]
        # a disabled execution environment: no service changes, no operations (9024)
        acs.queue = [spv((SM + "ExecEnv.1.Enable", "false", "boolean")),
                     spv((eu + ".RequestedState", "Active", "string")),
                     gpv(SM + "ExecEnv.1.Status"),
                     cdus([op("Install", URL=u("/p/other.deb"), Username="pkg", Password="s3cret")], key="off")]
        a.request_session()
        until_sessions(a, acs, 7)
        got = answers(acs, 5)
        assert "<Status>0</Status>" in got[0] and "<FaultCode>9007</FaultCode>" in got[1]
        assert values(got[2])[SM + "ExecEnv.1.Status"] == "Disabled"
        (r,) = results(du_requests(acs)[-1][1])
        assert r["FaultCode"] == "9024"
    finally:
        os.environ.pop("ROCKET_TEST_ROOT", None)
        subprocess.run(["pkill", "-F", os.path.join(root, "run", "hello-svc.pid")], capture_output=True)


def test_autonomous_changes_are_reported_as_the_policy_says(acs, files, make_agent, sw, tmp_path, debs):
    a = _agent(make_agent, acs, sw, tmp_path, boot=True)
    pol = "Device.ManagementServer.DUStateChangeComplPolicy."
    acs.queue = [spv((pol + "Enable", "true", "boolean"), (pol + "OperationTypeFilter", "Install,Uninstall", "string"))]
    until_sessions(a, acs, 1, start=True)
    # the owner installs and removes packages locally
    deb = tmp_path / "hello.deb"
    deb.write_bytes(debs["/p/hello_1.0.deb"])
    other = tmp_path / "other.deb"
    other.write_bytes(debs["/p/other.deb"])
    dpkg = ["dpkg", "--root=" + sw["root"], "--force-script-chrootless"]
    subprocess.check_call(dpkg + ["-i", str(deb), str(other)], stdout=subprocess.DEVNULL)
    acs.queue = [gpv(SM + "DeploymentUnitNumberOfEntries")]  # a read of the tree notices it
    a.request_session()
    until_sessions(a, acs, 3)
    (i, req), = du_requests(acs, "AutonomousDUStateChangeComplete")
    assert i == 2
    _validate(req, "AutonomousDUStateChangeComplete")
    assert ("12 AUTONOMOUS DU STATE CHANGE COMPLETE", "") in events_of(acs.sessions[2].inform)
    rs = results(req)
    assert sorted(r["OperationPerformed"] for r in rs) == ["Install", "Install"]
    assert {r["UUID"] for r in rs} == {O.du_uuid("hello-svc", VENDOR), O.du_uuid("other-tool", VENDOR)}
    # an update is filtered out by OperationTypeFilter; a removal is reported
    deb2 = tmp_path / "hello2.deb"
    deb2.write_bytes(debs["/p/hello_2.0.deb"])
    subprocess.check_call(dpkg + ["-i", str(deb2)], stdout=subprocess.DEVNULL)
    subprocess.check_call(dpkg + ["--remove", "other-tool"], stdout=subprocess.DEVNULL)
    s = _svc(a)
    s._scan_quietly()
    until_sessions(a, acs, 4)
    reqs = du_requests(acs, "AutonomousDUStateChangeComplete")
    assert len(reqs) == 2 and reqs[1][0] == 3
    (r,) = results(reqs[1][1])
    assert r["OperationPerformed"] == "Uninstall" and r["UUID"] == O.du_uuid("other-tool", VENDOR)
    assert r["CurrentState"] == "Uninstalled" and r["Version"] == "0.9"
    assert not a.events.has("12 AUTONOMOUS DU STATE CHANGE COMPLETE")


def test_rpc_faults_policy_and_repeats(acs, files, make_agent, sw, tmp_path):
    pol = tmp_path / "policy.conf"
    pol.write_text("[software]\nfrom = 127.0.0.1\nnames = other-*\n")
    u = files.url
    acs.queue = [cdus([]),  # no operation: 9003
                 "<cwmp:ChangeDUState><Operations xsi:type=\"cwmp:InstallOpStruct\"></Operations>"
                 "</cwmp:ChangeDUState>",  # Install without URL: 9003
                 cdus([op("Install", URL="https://elsewhere.example.net/x.deb")]),  # policy: 9001 on the RPC
                 cdus([op("Install", URL=u("/p/hello_1.0.deb"), Username="pkg", Password="s3cret")], key="r"),
                 cdus([op("Install", URL=u("/p/hello_1.0.deb"), Username="pkg", Password="s3cret")], key="r")]
    a = _agent(make_agent, acs, sw, tmp_path, boot=True, policy={"file": str(pol)})
    until_sessions(a, acs, 2, start=True)
    got = answers(acs, 0)
    for text, code in zip(got[:3], (9003, 9003, 9001)):
        _validate(text, "Fault")
        assert "<FaultCode>%d</FaultCode>" % code in text
    _validate(got[3], "ChangeDUStateResponse")
    reqs = du_requests(acs)
    assert len(reqs) == 1  # the repeated request was kept once
    (r,) = results(reqs[0][1])
    assert r["FaultCode"] == "9001" and "policy" in r["FaultString"]  # [software] names
    # the owner forbids software changes altogether
    pol.write_text("[software]\nallow = no\n")
    a.reload()
    acs.queue = [cdus([op("Install", URL=u("/p/other.deb"))])]
    a.request_session()
    until_sessions(a, acs, 3)
    assert "<FaultCode>9001</FaultCode>" in answers(acs, 2)[0]


def test_shellcheck_and_dash_syntax():
    sc = shutil.which("shellcheck")
    if not sc:
        pytest.skip("shellcheck not installed")
    from swmod_util import BACKENDS
    names = ["swmod-dpkg", "swmod-opkg", "swmod-service"]
    r = subprocess.run([sc, "-x", "-s", "sh"] + names, cwd=BACKENDS, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
    for n in names:
        for shell in ("dash", "busybox"):
            if shutil.which(shell):
                cmd = [shell, "sh", "-n"] if shell == "busybox" else [shell, "-n"]
                assert subprocess.run(cmd + [os.path.join(BACKENDS, n)]).returncode == 0


def test_opkg_standin_signatures_and_procd_service(acs, files, make_agent, tmp_path, monkeypatch):
    import hashlib
    monkeypatch.setenv("PATH", BIN + ":" + os.environ["PATH"])
    root = tmp_path / "owrt"
    (root / "usr" / "lib" / "opkg" / "info").mkdir(parents=True)
    (root / "etc" / "opkg" / "keys").mkdir(parents=True)
    (root / "etc" / "opkg" / "keys" / "test-key").write_text("public key\n")
    (root / "etc" / "opkg.conf").write_text("dest root /\noption check_signature\n")
    (root / "etc" / "rc.common").write_text("# procd\n")
    monkeypatch.setenv("ROCKET_TEST_ROOT", str(root))
    link_backends(str(tmp_path / "backends"))
    v1, v11, nosig = build_ipk("vpn-client", "1.0", service=True), build_ipk("vpn-client", "1.1"), build_ipk("x", "1")
    files.files.update({"/o/vpn_1.0.ipk": v1, "/o/vpn_1.0.ipk.sig": b"sha256 %s test-key\n" % hashlib.sha256(v1).hexdigest().encode(),
                        "/o/vpn_1.1.ipk": v11, "/o/vpn_1.1.ipk.sig": b"sha256 %s test-key\n" % (b"0" * 64),
                        "/o/x_1.ipk": nosig})
    u = files.url
    cred = {"Username": "pkg", "Password": "s3cret"}
    uuid = O.du_uuid("vpn-client", VENDOR)
    sw = {"enable": "true", "systems": "opkg", "root": str(root), "poll_interval": "0", "timeout": "60"}
    acs.queue = [cdus([op("Install", URL=u("/o/vpn_1.0.ipk"), **cred), op("Install", URL=u("/o/x_1.ipk"), **cred),
                       op("Update", UUID=uuid, URL=u("/o/vpn_1.1.ipk"), **cred)])]
    a = _agent(make_agent, acs, sw, tmp_path, boot=True)
    until_sessions(a, acs, 2, start=True)
    (_, req), = du_requests(acs)
    _validate(req, "DUStateChangeComplete")
    rs = results(req)
    assert [r["FaultCode"] for r in rs] == ["0", "9018", "9018"], [r["FaultString"] for r in rs]
    assert rs[0]["UUID"] == uuid and rs[0]["Version"] == "1.0" and rs[2]["Version"] == "1.0"
    status = (root / "usr" / "lib" / "opkg" / "status").read_text()
    assert "Package: vpn-client\nVersion: 1.0" in status and "Package: x\n" not in status
    eu = rs[0]["ExecutionUnitRefList"]
    acs.queue = [gpv(SM + "ExecEnv.1.Name", SM + "DeploymentUnit."),
                 spv((eu + ".RequestedState", "Active", "string"), (eu + ".AutoStart", "true", "boolean"))]
    a.request_session()
    until_sessions(a, acs, 3)
    v = values(answers(acs, 2)[0])
    assert v[SM + "ExecEnv.1.Name"] == "opkg" and v[rs[0]["DeploymentUnitRef"] + ".Name"] == "vpn-client"
    pid = int((root / "run" / "vpn-client.pid").read_text())
    try:
        os.kill(pid, 0)
        assert (root / "etc" / "rc.d" / "S50vpn-client").is_symlink()
        acs.queue = [gpv(eu + ".Status", eu + ".AutoStart"), cdus([op("Uninstall", UUID=uuid)], key="rm")]
        a.request_session()
        until_sessions(a, acs, 5)
        v = values(answers(acs, 3)[0])
        assert v[eu + ".Status"] == "Active" and v[eu + ".AutoStart"] == "true"
        (r,) = results(du_requests(acs)[-1][1])
        assert r["CurrentState"] == "Uninstalled" and r["FaultCode"] == "0"
        assert "vpn-client" not in (root / "usr" / "lib" / "opkg" / "status").read_text()
    finally:
        subprocess.run(["kill", str(pid)], capture_output=True)


def test_systemd_status_is_one_systemctl_for_every_unit(tmp_path):
    """systemctl itself cannot run here (no systemd as PID 1): a stand-in
    that answers `systemctl show` as systemd does (one block per unit, blank
    line between) and counts its runs."""
    from swmod_util import BACKENDS
    fake = tmp_path / "systemctl"
    fake.write_text("#!/bin/sh\necho run >> \"%s/runs\"\n[ \"$1\" = show ] || exit 1\nshift 2\nfirst=1\n"
                    "for u in \"$@\"; do\n  [ $first = 1 ] || echo\n  first=0\n  case $u in\n"
                    "  a.service) printf 'Id=a.service\\nActiveState=active\\nUnitFileState=enabled\\n' ;;\n"
                    "  *) printf 'Id=%%s\\nActiveState=inactive\\nUnitFileState=disabled\\n' \"$u\" ;;\n"
                    "  esac\ndone\n" % tmp_path)
    fake.chmod(0o755)
    env = dict(os.environ, PATH="%s:%s" % (tmp_path, os.environ["PATH"]), ROCKET_SW_INIT="systemd",
               TMPDIR=str(tmp_path))
    r = subprocess.run([os.path.join(BACKENDS, "swmod-service"), "status"], input="a.service\tsystemd\nb.sh\tinitd\n"
                       "../x\tinitd\n", capture_output=True, text=True, env=env)
    assert r.returncode == 0 and r.stdout == "a.service\t1\t1\nb.sh\t0\t0\n", (r.stdout, r.stderr)
    assert (tmp_path / "runs").read_text() == "run\n"


def test_update_of_a_half_configured_package_is_9029(acs, files, make_agent, sw, tmp_path, debs):
    deb = tmp_path / "half.deb"
    deb.write_bytes(debs["/p/half.deb"])
    r = subprocess.run(["dpkg", "--root=" + sw["root"], "--force-script-chrootless", "-i", str(deb)],
                       capture_output=True)
    assert r.returncode != 0  # its postinst failed: dpkg leaves it half-configured
    uuid = O.du_uuid("half-done", VENDOR)
    acs.queue = [cdus([op("Update", UUID=uuid, URL=files.url("/p/half2.deb"), Username="pkg", Password="s3cret"),
                       op("Uninstall", UUID=uuid)])]
    a = _agent(make_agent, acs, sw, tmp_path, boot=True)
    until_sessions(a, acs, 2, start=True)
    rs = results(du_requests(acs)[0][1])
    assert [r["FaultCode"] for r in rs] == ["9029", "0"], [r["FaultString"] for r in rs]
    assert rs[0]["CurrentState"] == "Installed" and rs[0]["Resolved"] == "false"
    assert rs[1]["CurrentState"] == "Uninstalled"
