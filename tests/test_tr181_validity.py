"""Every parameter a pack serves is valid TR-181: the whole tree of a real
session (GetParameterNames + GetParameterValues of Device.) checked against
../shared/bbf/tr-181-2-17-0-cwmp-full.xml (tests/tr181.py)."""

import os
import re
import shutil
from xml.sax.saxutils import unescape

import pytest

import tr181
from conftest import ROOT
from rocket.devacs import build_rpc

BACKENDS = os.path.join(ROOT, "rocket", "backends")
needs_bbf = pytest.mark.skipif(not os.path.exists(tr181.FULL), reason="../shared/bbf (TR-181 XML) is absent")


LINUX = ("linux", "linux-net", "linux-svc", "linux-wifi")


def install_pack(tmp_path, *names, wrap=None):
    """Copy backends (with lib.sh, lib.awk, NAME.awk) into tmp_path/backends.
    ``wrap``: a command prefix (list) the scripts are run through, e.g.
    ``ip netns exec NS``: the backends dir then holds wrappers that exec
    the real scripts in tmp_path/real with it."""
    d = tmp_path / "backends"
    real = tmp_path / "real" if wrap else d
    os.makedirs(d, exist_ok=True)
    os.makedirs(real, exist_ok=True)
    for f in ("lib.sh", "lib.awk", "lastchange.awk", "wifirate.awk"):
        shutil.copy(os.path.join(BACKENDS, f), real / f)
    for n in names:
        shutil.copy(os.path.join(BACKENDS, n), real / n)
        if os.path.exists(os.path.join(BACKENDS, n + ".awk")):
            shutil.copy(os.path.join(BACKENDS, n + ".awk"), real / (n + ".awk"))
        shutil.copy(os.path.join(BACKENDS, n + ".manifest"), d / (n + ".manifest"))
        if wrap:
            w = d / n
            w.write_text('#!/bin/sh\nexec %s "%s" "$@"\n' % (" ".join(wrap), real / n))
            w.chmod(0o755)
    return d


_PV = re.compile(rb'<Name>([^<]*)</Name><Value xsi:type="([^"]*)">([^<]*)</Value>')
_PI = re.compile(rb"<Name>([^<]*)</Name><Writable>(\w+)</Writable>")


def served_tree(acs, make_agent, **sections):
    """{path: (writable, xsi type, value)} of one real session's
    GetParameterNames + GetParameterValues of the whole tree."""
    acs.queue = [build_rpc("GetParameterNames", ["Device.", "0"]),
                 build_rpc("GetParameterValues", ["Device."])]
    agent = make_agent(acs.url, **sections)
    assert agent.run() == 0
    names, vals = [a[1] for a in acs.sessions[-1].answers]
    assert b"Fault" not in names and b"Fault" not in vals, (names[:400], vals[:400])
    tree = {}
    for n, w in _PI.findall(names):
        tree[unescape(n.decode())] = [w in (b"true", b"1"), None, None]
    for n, t, v in _PV.findall(vals):
        n = unescape(n.decode())
        assert n in tree, n
        tree[n][1] = t.decode()
        tree[n][2] = unescape(v.decode(), {"&quot;": '"', "&apos;": "'", "&#13;": "\r"})
    return {k: tuple(v) for k, v in tree.items()}


def assert_valid(tree):
    problems = tr181.check_tree(tree)
    assert not problems, "%d problems:\n%s" % (len(problems), "\n".join(problems[:80]))


@needs_bbf
def test_agent_own_parameters(acs, make_agent, tmp_path):
    install_pack(tmp_path)
    tree = served_tree(acs, make_agent)
    assert "Device.ManagementServer.URL" in tree
    assert_valid(tree)


@needs_bbf
def test_linux_packs_on_this_machine(acs, make_agent, tmp_path):
    install_pack(tmp_path, *LINUX)
    tree = served_tree(acs, make_agent)
    assert any(k.startswith("Device.IP.Interface.") for k in tree)
    assert_valid(tree)


@needs_bbf
def test_checker_finds_what_is_wrong():
    tree = {
        "Device.": (False, None, None),
        "Device.IP.": (False, None, None),
        "Device.IP.Interface.": (True, None, None),
        "Device.IP.Interface.1.": (True, None, None),
        "Device.IP.Interface.1.Status": (True, "xsd:string", "Sleeping"),
        "Device.IP.Interface.1.MaxMTUSize": (True, "xsd:int", "70000"),
        "Device.IP.Interface.1.Nope": (False, "xsd:string", ""),
        "Device.IP.Interface.1.IPv4Address.1.IPAddress": (True, "xsd:string", "300.1.1.1"),
        "Device.IP.Interface.1.LowerLayers": (True, "xsd:string", "a," + "b" * 1100),
        "Device.IP.InterfaceNumberOfEntries": (False, "xsd:unsignedInt", "2"),
        "Device.Ethernet.Link.1.MACAddress": (False, "xsd:string", "00:11:22:33:44"),
        "Device.Hosts.Host.1.IPAddress": (False, "xsd:string", "fe80::1"),
        "Device.X_ROCKET_Thing": (False, "xsd:string", ""),
        "Device.X_00AA11_Thing": (False, "xsd:string", ""),
        "Device.DeviceInfo.UpTime": (False, "xsd:unsignedInt", "12"),
    }
    text = "\n".join(tr181.check_tree(tree))
    for what in ("Status = 'Sleeping'", "Status: writable", "MaxMTUSize: type xsd:int",
                 "MaxMTUSize = '70000'", "Nope: no such parameter", "IPAddress = '300.1.1.1'",
                 "list longer than 1024", "InterfaceNumberOfEntries = 2 but 1", "not X_<OUI>_",
                 "00:11:22:33:44"):
        assert what in text, (what, text)
    assert "X_00AA11_Thing" not in text and "fe80::1" not in text and "UpTime" not in text


@needs_bbf
def test_linux_wifi_from_iw_is_valid(acs, make_agent, tmp_path, monkeypatch):
    standin = os.path.join(os.path.dirname(os.path.abspath(__file__)), "linux")
    monkeypatch.setenv("PATH", standin + os.pathsep + os.environ["PATH"])
    install_pack(tmp_path, "linux-wifi")
    tree = served_tree(acs, make_agent)
    assert len([k for k in tree if ".AssociatedDevice." in k and k.endswith(".MACAddress")]) == 2
    assert_valid(tree)
