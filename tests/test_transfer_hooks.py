"""The shipped hook scripts (rocket/backends/hooks) under sh and busybox ash,
with the device commands (sysupgrade, uci...) replaced by recording fakes."""

import os
import subprocess

import pytest

from conftest import tool_param
from transfer_util import hook

HOOKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "rocket", "backends", "hooks")
SHELLS = [pytest.param(["sh"], id="sh"), tool_param(["busybox", "ash"], "busybox", id="ash")]


@pytest.fixture(params=SHELLS)
def run(request, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "calls"

    def fake(name, body=""):
        hook(bindir / name, 'echo "%s $*" >> "%s"\n%s' % (name, log, body))

    def run_hook(name, **env):
        e = {"PATH": "%s:%s" % (bindir, os.environ["PATH"])}
        e.update(env)
        r = subprocess.run(request.param + [os.path.join(HOOKS, name)], env=e, capture_output=True,
                           text=True, timeout=20)
        calls = log.read_text().splitlines() if log.exists() else []
        return r.returncode, calls

    run_hook.fake = fake
    return run_hook


def test_firmware_openwrt_installs_or_reports_a_bad_image(run, tmp_path):
    img = tmp_path / "fw.bin"
    img.write_bytes(b"image")
    run.fake("sysupgrade", '[ "$1" = "-T" ] && exit 1\nexit 0')
    rc, calls = run("firmware-openwrt", ROCKET_FILE=str(img))
    assert rc == 18 and calls == ["sysupgrade -T %s" % img]
    run.fake("sysupgrade", "exit 0")
    rc, calls = run("firmware-openwrt", ROCKET_FILE=str(img))
    assert rc == 0 and calls[-1] == "sysupgrade %s" % img


def test_config_uci_imports_uci_text_and_refuses_garbage(run, tmp_path):
    cfg = tmp_path / "cfg"
    cfg.write_text("package network\n\nconfig interface 'lan'\n")
    for name in ("uci", "reload_config"):
        run.fake(name)
    rc, calls = run("config-uci", ROCKET_FILE=str(cfg))
    assert rc == 0 and calls == ["uci import", "uci commit", "reload_config "]
    cfg.write_text("not a configuration")
    rc, _ = run("config-uci", ROCKET_FILE=str(cfg))
    assert rc == 18


def test_upload_openwrt_strips_secrets(run, tmp_path):
    out = tmp_path / "up"
    run.fake("uci", "printf \"package wireless\\n\\toption ssid 'home'\\n\\toption key 's3cret'\\n\"")
    rc, _ = run("upload-openwrt", ROCKET_OUTPUT=str(out), ROCKET_FILE_TYPE="1 Vendor Configuration File")
    text = out.read_text()
    assert rc == 0 and "s3cret" not in text and "option ssid 'home'" in text and "option key '***'" in text
    run.fake("logread", 'echo "kernel: hello"')
    rc, _ = run("upload-openwrt", ROCKET_OUTPUT=str(out), ROCKET_FILE_TYPE="2 Vendor Log File")
    assert rc == 0 and out.read_text() == "kernel: hello\n"
