"""The OpenWrt stand-ins in tests/bin behave like the real tools: uci reads
and writes uci-format files (changes staged in delta files until commit),
ubus and iwinfo replay recorded outputs and fail like the real ones."""

import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.join(HERE, "bin")
C7 = os.path.join(HERE, "openwrt", "c7")


@pytest.fixture
def uci(tmp_path):
    conf = tmp_path / "config"
    conf.mkdir()
    (conf / "network").write_text(open(os.path.join(C7, "config", "network")).read())
    env = dict(os.environ, UCI_CONFDIR=str(conf), OPENWRT_REPLAY=C7)

    def run(*args, stdin=None, ok=True):
        r = subprocess.run([os.path.join(BIN, "uci")] + list(args), input=stdin, capture_output=True,
                           text=True, env=env, timeout=30)
        if ok:
            assert r.returncode == 0, r.stderr
        return r
    run.conf = conf
    run.save = tmp_path / ".uci"
    return run


def test_uci_show_named_and_anonymous(uci):
    out = uci("show", "network").stdout.splitlines()
    assert "network.lan=interface" in out
    assert "network.lan.ipaddr='192.168.1.1'" in out
    assert "network.@device[0].ports='eth0.1'" in out
    assert "network.@switch_vlan[1].vlan='2'" in out
    named = uci("-X", "show", "network").stdout
    assert "network.@" not in named and "=switch_vlan" in named
    assert uci("get", "network.wan.dns").stdout == "9.9.9.9 149.112.112.112\n"
    r = uci("-q", "get", "network.nope.x", ok=False)
    assert r.returncode == 1 and r.stderr == ""


def test_uci_batch_stages_then_commit_writes_the_file(uci):
    uci("batch", stdin="set network.lan.ipaddr='10.0.0.1'\nadd_list network.wan.dns='1.1.1.1'\n"
                       "set network.r1=route\nset network.r1.target='10.9.0.0/16'\n")
    # staged: the next read sees it, the file does not have it yet
    assert uci("get", "network.lan.ipaddr").stdout == "10.0.0.1\n"
    assert "10.0.0.1" not in (uci.conf / "network").read_text()
    delta = (uci.save / "network").read_text().splitlines()
    assert "network.lan.ipaddr='10.0.0.1'" in delta and "|network.wan.dns='1.1.1.1'" in delta
    assert "+network.r1=route" in delta
    uci("commit", "network")
    text = (uci.conf / "network").read_text()
    assert "\tlist dns '1.1.1.1'\n" in text and "option ipaddr '10.0.0.1'" in text
    assert "\nconfig route 'r1'\n\toption target '10.9.0.0/16'\n" in text
    assert not (uci.save / "network").exists()
    assert uci("changes").stdout == ""


def test_uci_revert_and_failures(uci):
    uci("set", "network.lan.proto=dhcp")
    uci("revert", "network")
    assert uci("get", "network.lan.proto").stdout == "static\n"
    r = uci("batch", stdin="set network.lan.x='1'\nset network.nope.y='2'\n", ok=False)
    assert r.returncode == 1 and "Entry not found" in r.stderr
    r = uci("batch", stdin="set network.lan.x='unterminated\n", ok=False)
    assert r.returncode == 1 and "Parse error" in r.stderr
    before = (uci.conf / "network").read_text()
    uci("revert", "network")
    assert (uci.conf / "network").read_text() == before


def test_ubus_and_iwinfo_replay():
    env = dict(os.environ, OPENWRT_REPLAY=C7)
    r = subprocess.run([os.path.join(BIN, "ubus"), "call", "system", "board"], capture_output=True, text=True,
                       env=env)
    assert r.returncode == 0 and '"board_name": "tplink,archer-c7-v5"' in r.stdout
    r = subprocess.run([os.path.join(BIN, "ubus"), "call", "nope", "status"], capture_output=True, text=True,
                       env=env)
    assert r.returncode == 4 and "Not found" in r.stderr
    r = subprocess.run([os.path.join(BIN, "iwinfo"), "wlan0", "info"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "PHY name: phy0" in r.stdout
    r = subprocess.run([os.path.join(BIN, "iwinfo"), "wlan9", "info"], capture_output=True, text=True, env=env)
    assert r.returncode == 1
