"""DeviceInfo.VendorConfigFile / VendorLogFile from [transfer] and Upload
types 1-4 sending the real files (TR-069 A.4.1.5): real sessions with the
in-repo ACS, the loopback file server receiving the uploads, the shipped
upload-vendor hook, and the tables checked against TR-181."""

import io
import os
import re
import tarfile

import pytest

from fileserver import FileServer
from rocket.devacs import build_rpc, parse_values
from test_tr181_validity import assert_valid, install_pack, needs_bbf, served_tree
from test_transfer import mk, run_until_sessions
from test_transfer_hooks import HOOKS, run  # noqa: F401  (run: the hook runner under sh and ash)
from transfer_util import fault_codes, tc_requests, upload_rpc


@pytest.fixture
def files():
    s = FileServer().start()
    yield s
    s.stop()


@pytest.fixture
def device(tmp_path):
    """Two configuration files and two logs with binary content, and the
    [transfer] keys that publish them."""
    d = tmp_path / "dev"
    d.mkdir()
    blobs = {n: os.urandom(size) for n, size in (("running.cfg", 70000), ("startup.cfg", 333),
                                                  ("app.log", 200001), ("old.log", 5))}
    for n, b in blobs.items():
        (d / n).write_bytes(b)
    tx = {"download_dir": str(tmp_path / "dl"), "timeout": "5",
          "upload_hook": os.path.join(HOOKS, "upload-vendor"),
          "vendor_config_files": "kernel=dmesg running=%s startup=%s" % (d / "running.cfg", d / "startup.cfg"),
          "vendor_log_files": "app=%s old=%s" % (d / "app.log", d / "old.log")}
    return blobs, tx


def test_tables_and_uploads_of_the_real_files(acs, files, make_agent, device):
    blobs, tx = device
    VC, VL = "Device.DeviceInfo.VendorConfigFile.", "Device.DeviceInfo.VendorLogFile."
    acs.queue = [build_rpc("GetParameterValues", [VC, VL, "Device.DeviceInfo.VendorConfigFileNumberOfEntries",
                                                  "Device.DeviceInfo.VendorLogFileNumberOfEntries"]),
                 upload_rpc(files.url("/c3"), "3 Vendor Configuration File 3", "c3"),
                 upload_rpc(files.url("/c1"), "1 Vendor Configuration File", "c1"),
                 upload_rpc(files.url("/l4"), "4 Vendor Log File 1", "l4"),
                 upload_rpc(files.url("/l2"), "2 Vendor Log File", "l2"),
                 upload_rpc(files.url("/x"), "4 Vendor Log File 9", "missing"),
                 upload_rpc(files.url("/x"), "3 Vendor Configuration File 4", "missing")]
    a = mk(make_agent, acs, {}, transfer=tx)
    running = tx["vendor_config_files"].split()[1][len("running="):]
    os.utime(running, (1700000000, 1700000000))  # after the start: Date is read when asked
    run_until_sessions(a, acs, 5)
    answers = [x[1] for x in acs.sessions[0].answers]
    v = parse_values(answers[0])
    assert v["Device.DeviceInfo.VendorConfigFileNumberOfEntries"] == "3"
    assert v["Device.DeviceInfo.VendorLogFileNumberOfEntries"] == "2"
    assert [v[VC + "%d.Name" % i] for i in (1, 2, 3)] == ["kernel", "running", "startup"]
    # only a file uploaded unchanged can be restored: the first path
    assert [v[VC + "%d.UseForBackupRestore" % i] for i in (1, 2, 3)] == ["false", "true", "false"]
    from rocket.base.timefmt import iso_now
    assert v[VC + "1.Date"] == "0001-01-01T00:00:00Z" and v[VC + "2.Date"] == iso_now(1700000000)
    assert v[VC + "2.Alias"] == "cpe-config2" and v[VL + "1.Alias"] == "cpe-log1"
    assert v[VL + "1.Name"] == "app" and v[VL + "1.MaximumSize"] == "0"
    app = os.path.realpath(tx["vendor_log_files"].split()[0][4:])  # a tmpfs path is not persistent
    assert v[VL + "1.Persistent"] == ("false" if app.startswith(("/tmp/", "/run/")) else "true")
    # the instance that does not exist: refused at once
    assert [fault_codes(x.decode() if isinstance(x, bytes) else x) for x in answers[5:7]] == [[9003], [9003]]
    # every upload carries the bytes of the file its row names
    assert files.uploads["/c3"] == blobs["startup.cfg"]
    assert files.uploads["/c1"] == blobs["running.cfg"]  # UseForBackupRestore
    assert files.uploads["/l4"] == blobs["app.log"]
    assert files.uploads["/l2"] == blobs["app.log"]  # the lowest-numbered log
    tcs = tc_requests(acs)
    assert len(tcs) == 4 and all(fault_codes(t) == [0] for t in tcs)


@needs_bbf
def test_configured_tables_are_valid_tr181(acs, make_agent, tmp_path, device):
    install_pack(tmp_path, "linux")  # its own VendorLogFile rows give way to the configured ones
    tree = served_tree(acs, make_agent, transfer=device[1])
    assert_valid(tree)
    logs = sorted(k for k in tree if re.match(r"Device\.DeviceInfo\.VendorLogFile\.\d+\.Name$", k))
    assert [tree[k][2] for k in logs] == ["app", "old"]
    assert "Device.DeviceInfo.VendorConfigFile.3.UseForBackupRestore" in tree


def test_hook_sources(run, tmp_path):  # noqa: F811
    out = tmp_path / "up"
    blob = tmp_path / "blob"
    blob.write_bytes(bytes(range(256)) * 10)
    rc, _ = run("upload-vendor", ROCKET_OUTPUT=str(out), ROCKET_FILE_TYPE="4 Vendor Log File 1",
                ROCKET_VENDOR_NAME="x", ROCKET_VENDOR_SOURCE=str(blob))
    assert rc == 0 and out.read_bytes() == blob.read_bytes()
    # a backend's row: its Name is the uci configuration
    run.fake("uci", "printf \"package %s\\n\\toption password 'pw1'\\n\" \"$2\"")
    rc, calls = run("upload-vendor", ROCKET_OUTPUT=str(out), ROCKET_FILE_TYPE="3 Vendor Configuration File 2",
                    ROCKET_VENDOR_NAME="network")
    assert rc == 0 and calls[-1] == "uci export network" and out.read_text() == "package network\n\toption password '***'\n"
    # the sysupgrade backup, without secrets
    src = tmp_path / "src"
    for rel, text in (("etc/config/wireless", "config wifi-iface\n\toption key 'wpa-secret'\n\toption ssid 'home'\n"),
                      ("etc/shadow", "root:$1$hash:1::::::\n"), ("etc/rocket/state/overrides.json", "{}"),
                      ("etc/dropbear/dropbear_ed25519_host_key", "PRIVATE"), ("etc/hosts", "127.0.0.1 localhost\n")):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    run.fake("sysupgrade", 'tar -czf "$2" -C "%s" etc' % src)
    rc, calls = run("upload-vendor", ROCKET_OUTPUT=str(out), ROCKET_FILE_TYPE="1 Vendor Configuration File",
                    ROCKET_VENDOR_NAME="backup", ROCKET_VENDOR_SOURCE="sysupgrade")
    assert rc == 0 and calls[-1].startswith("sysupgrade -b ")
    with tarfile.open(fileobj=io.BytesIO(out.read_bytes())) as t:
        got = {m.name.lstrip("./"): t.extractfile(m).read().decode() for m in t.getmembers() if m.isfile()}
    assert sorted(got) == ["etc/config/wireless", "etc/hosts"]
    assert "wpa-secret" not in got["etc/config/wireless"] and "option ssid 'home'" in got["etc/config/wireless"]
    rc, _ = run("upload-vendor", ROCKET_OUTPUT=str(out), ROCKET_FILE_TYPE="2 Vendor Log File",
                ROCKET_VENDOR_SOURCE="nonsense")
    assert rc != 0


def test_tr098_root_has_no_use_for_backup_restore(acs, make_agent, device):
    acs.queue = [build_rpc("GetParameterValues", ["InternetGatewayDevice.DeviceInfo.VendorConfigFile."])]
    agent = make_agent(acs.url, cpe={"data_model": "InternetGatewayDevice"}, transfer=device[1])
    assert agent.run() == 0
    v = parse_values(acs.sessions[-1].answers[0][1])
    assert v["InternetGatewayDevice.DeviceInfo.VendorConfigFile.2.Name"] == "running"
    assert not any(k.endswith("UseForBackupRestore") for k in v) and len(v) == 3 * 5
