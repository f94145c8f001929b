"""What a user can get wrong at start gets one clear line (exit 2 for errors,
a warning saying what was assumed otherwise), never a traceback; and the
state directory is private (0700)."""

import os
import stat

import pytest

from conftest import run_pyz, write_conf
from rocket.base import statedir as statemod
from rocket.base.statedir import StateDir, StateError


def _one_line_exit_2(r, *words):
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("rocket: ")]
    assert len(lines) == 1, r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------ state directory
def test_existing_open_state_dir_is_tightened_to_0700(tmp_path, caplog):
    d = tmp_path / "state"
    d.mkdir()
    os.chmod(str(d), 0o755)
    StateDir(str(d))
    assert stat.S_IMODE(os.stat(str(d)).st_mode) == 0o700
    assert "tightened to 0700" in caplog.text and "0755" in caplog.text
    caplog.clear()
    StateDir(str(d))  # already private: silent
    assert "tightened" not in caplog.text


def test_new_state_dir_is_0700_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        StateDir(str(tmp_path / "a" / "state"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(str(tmp_path / "a" / "state")).st_mode) == 0o700


def test_state_dir_that_cannot_be_tightened_is_refused(tmp_path, monkeypatch):
    d = tmp_path / "state"
    d.mkdir()
    os.chmod(str(d), 0o755)

    def chmod(path, mode):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(statemod.os, "chmod", chmod)
    with pytest.raises(StateError) as e:
        StateDir(str(d))
    assert "0755" in str(e.value) and "0700" in str(e.value) and "not permitted" in str(e.value)


def test_unusable_state_dir_is_one_line_and_exit_2(pyz, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    conf = write_conf(tmp_path, "http://127.0.0.1:9/acs")
    r = run_pyz(pyz, conf, "--once", "--state-dir", str(f / "state"))
    _one_line_exit_2(r, "state directory", str(f / "state"))


@pytest.mark.parametrize("content", [None, "not,a\ndump at all\n"])
def test_missing_or_broken_static_dump_is_one_line_and_exit_2(pyz, tmp_path, content):
    dump = tmp_path / "device.csv"
    if content is not None:
        dump.write_text(content)
    conf = write_conf(tmp_path, "http://127.0.0.1:9/acs", backends={"static": str(dump)})
    r = run_pyz(pyz, conf, "--once")
    _one_line_exit_2(r, "[backends] static", str(dump))


# --------------------------------------------------------- the configuration
@pytest.mark.parametrize("url,why", [
    ("http://127.0.0.1:notaport/acs", "not a valid URL"),
    ("http:///acs", "no host name"),
    ("ftp://acs.example.net/", "http:// or https://"),
    ("http://acs example.net/", "spaces"),
])
def test_bad_acs_url_is_one_line_and_exit_2(pyz, tmp_path, url, why):
    conf = write_conf(tmp_path, url)
    r = run_pyz(pyz, conf, "--once", timeout=30)
    _one_line_exit_2(r, "[acs] url", why)


@pytest.mark.parametrize("oui", ["00AA1", "00AA11X", "ZZAA11", ""])
def test_malformed_oui_is_one_line_and_exit_2(pyz, tmp_path, oui):
    conf = write_conf(tmp_path, "http://127.0.0.1:9/acs", cpe={"oui": oui})
    _one_line_exit_2(run_pyz(pyz, conf, "--once"), "[cpe] oui", "six hexadecimal digits")


def test_warnings_say_what_was_assumed(acs, pyz, tmp_path):
    conf = write_conf(tmp_path, acs.url, cpe={"oui": "00aa11", "serial_number": ""})
    with open(conf, "a") as f:
        f.write("[cep]\nserial_number = X\n")
    r = run_pyz(pyz, conf, "--once")
    assert r.returncode == 0, r.stderr
    assert "unknown section [cep] ignored" in r.stderr and "did you mean [cpe]?" in r.stderr
    assert "oui 00aa11 used as 00AA11" in r.stderr
    assert "serial_number is empty" in r.stderr
    assert "<OUI>00AA11</OUI>" in acs.sessions[0].inform
    assert "Traceback" not in r.stderr


def test_missing_backend_dir_named_with_enabled_is_exit_2_else_a_warning(pyz, acs, tmp_path):
    conf = write_conf(tmp_path, acs.url, backends={"dir": str(tmp_path / "nowhere"), "enabled": "linux"})
    _one_line_exit_2(run_pyz(pyz, conf, "--once"), "[backends] dir", "nowhere")
    conf = write_conf(tmp_path, acs.url, backends={"dir": str(tmp_path / "nowhere")})
    r = run_pyz(pyz, conf, "--once")
    assert r.returncode == 0 and "nowhere is not a directory" in r.stderr


def test_acs_cannot_set_an_unusable_url(acs, make_agent):
    from rocket.devacs import build_rpc
    acs.queue = [build_rpc("SetParameterValues", ["Device.ManagementServer.URL=http://x:notaport/"])]
    agent = make_agent(acs.url)
    assert agent.run() == 0
    reply = acs.sessions[0].answers[0][1]
    assert b"<FaultCode>9007</FaultCode>" in reply and b"not a valid URL" in reply
    assert agent.acs_url == acs.url
