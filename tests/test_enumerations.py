"""Every enumerated value the agent serves itself is one TR-181 allows.

Backends are checked by the data-model tests; this covers the agent's own
parameters (ManagementServer, DeviceInfo, XMPP, ...) against the TR-181 XML
in ../shared/bbf (the Broadband Forum's file, not kept in this repository).
"""

import os
import re
import xml.etree.ElementTree as ET

from conftest import ROOT, need_shared

_cache = {}


def tr181_enumerations(filename="tr-181-2-17-0-cwmp-full.xml"):
    """{"Device.XMPP.Connection.{i}.Status": ({values}, is_list)} for string
    parameters whose syntax is a plain enumeration (no pattern)."""
    xml = need_shared("bbf", filename)
    if filename in _cache:
        return _cache[filename]
    enums = {}
    obj = None
    for _, el in ET.iterparse(xml, events=("end",)):
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "parameter":
            syn = el.find("syntax")
            if syn is None:
                continue
            string = syn.find("string")
            vals = set() if string is None else {e.get("value") for e in string.findall("enumeration")}
            if vals and string.find("pattern") is None:
                enums[(el.get("name"))] = (vals, syn.find("list") is not None)
        elif tag == "object":
            obj = el.get("name")
            for p in list(el):
                if p.tag.rsplit("}", 1)[-1] == "parameter" and p.get("name") in enums:
                    enums[obj + p.get("name")] = enums.pop(p.get("name"))
            el.clear()
    _cache[filename] = enums
    return enums


def _schema_path(path):
    return re.sub(r"\.\d+\.", ".{i}.", re.sub(r"\.\d+\.", ".{i}.", path))


def _bad_values(store, enums):
    bad = []
    for path in store.keys():
        p = store.get(path)
        if path.endswith(".") or p.owner is not None:
            continue  # objects, and backends' parameters (checked elsewhere)
        spec = enums.get(_schema_path(path))
        if spec is None:
            continue
        allowed, is_list = spec
        got = [v for v in p.value.split(",") if v] if is_list else [p.value]
        bad.extend("%s=%s" % (path, v) for v in got if v not in allowed)
        if isinstance(p.limit, tuple) and p.limit and isinstance(p.limit[0], str):
            bad.extend("%s accepts %s" % (path, v) for v in p.limit if v not in allowed)
    return bad


def _checked(store, enums):
    return sum(1 for k in store.keys() if not k.endswith(".") and store.get(k).owner is None
               and _schema_path(k) in enums)


def test_agent_owned_enumerations_are_tr181_values(acs, make_agent):
    enums = tr181_enumerations()
    assert "Device.XMPP.Connection.{i}.Status" in enums  # the parser found what it must
    agent = make_agent(acs.url, once=False, xmpp={"enable": "true", "jid": "cpe@example.test/r",
                                                  "server": "127.0.0.1", "port": "9"},
                       stun={"enable": "true", "server_address": "127.0.0.1"},
                       udp_connection_request={"enable": "true", "port": "0"})
    for s in agent.services:
        s.start(agent)
    try:
        assert _bad_values(agent.model.store, enums) == []
        assert _checked(agent.model.store, enums) >= 5  # the check really looks at something
    finally:
        for s in agent.services:
            s.stop()


def test_agent_owned_enumerations_are_tr098_values_on_an_igd_root(acs, make_agent):
    enums = tr181_enumerations("tr-098-1-8-0-full.xml")
    assert "InternetGatewayDevice.ManagementServer.HTTPCompression" in enums or len(enums) > 100
    agent = make_agent(acs.url, once=False, cpe={"data_model": "InternetGatewayDevice"},
                       stun={"enable": "true", "server_address": "127.0.0.1"},
                       udp_connection_request={"enable": "true", "port": "0"})
    for s in agent.services:
        s.start(agent)
    try:
        assert _bad_values(agent.model.store, enums) == []
        assert _checked(agent.model.store, enums) >= 5  # the check really looks at something
    finally:
        for s in agent.services:
            s.stop()


def test_every_xmpp_status_the_agent_sets_is_a_tr181_value():
    """Each state of the XMPP connection (Connecting, connected, failed,
    disabled) sets a literal Status: every literal must be allowed."""
    allowed = tr181_enumerations()["Device.XMPP.Connection.{i}.Status"][0]
    src = ""
    for name in ("xmpp.py", "xmppmodel.py"):  # the client, and the parameters while it is off
        with open(os.path.join(ROOT, "rocket", "connreq", name)) as f:
            src += f.read()
    used = set(re.findall(r"_status\(\"([^\"]*)\"\)", src))
    assert {"Enabled", "Connecting", "Disabled"} <= used
    assert used - allowed == set()
    assert "Up" not in allowed  # connected is "Enabled" in TR-181
