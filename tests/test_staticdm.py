"""The static backend: every real device dump loads and survives discovery."""

import glob
import os
import re

import pytest

from conftest import DEVICES
from rocket.devacs import build_rpc, parse_values

DUMPS = sorted(glob.glob(os.path.join(DEVICES, "*.csv")))
assert len(DUMPS) == 4, "tests/fixtures/devices: the four device dumps are part of the repository"


def names_of(reply):
    return re.findall(rb"<Name>([^<]*)</Name><Writable>(true|false)</Writable>", reply)


@pytest.mark.parametrize("dump", DUMPS, ids=[os.path.basename(d)[:24] for d in DUMPS])
def test_dump_loads_and_genieacs_discovery_completes(acs, make_agent, dump):
    from rocket.datamodel.staticdm import Dump
    d = Dump.read(dump)
    root = d.root
    acs.queue = [build_rpc("GetParameterNames", ["", "1"]),
                 build_rpc("GetParameterNames", [root, "0"])]
    # diagnostics off: the dump's own Diagnostics objects stay the dump's
    # (with them on, the agent's live ones replace them: more than "a few")
    agent = make_agent(acs.url, backends={"static": dump}, diagnostics={"enable": "false"})
    assert agent.root == root
    assert agent.run() == 0
    sess = acs.sessions[0]
    # the Inform carries the dump's DeviceId
    for tag, col in (("Manufacturer", "Manufacturer"), ("OUI", "OUI"), ("SerialNumber", "SerialNumber")):
        v = d.device_id[col].replace("&", "&amp;")
        assert "<%s>%s</%s>" % (tag, v, tag) in sess.inform
    assert names_of(sess.answers[0][1]) == [(root.encode(), b"false")]
    listed = names_of(sess.answers[1][1])
    names = [n.decode() for n, _ in listed]
    assert names[0] == root
    params = [n for n in names if not n.endswith(".")]
    # every parameter of the dump is there (the agent's own ones replace a few)
    dumped = {r[0] for r in d.rows if not r[1]}
    assert len(dumped - set(params)) == 0
    assert len(params) >= len(dumped)
    # then GenieACS asks for every value, in one GPV
    acs.queue = [build_rpc("GetParameterValues", params)]
    agent2 = make_agent(acs.url, boot=False, backends={"static": dump}, diagnostics={"enable": "false"})
    assert agent2.run() == 0
    reply = acs.sessions[1].answers[0][1]
    got = parse_values(reply)
    assert len(got) == len(params)
    rows = {r[0]: r for r in d.rows}
    own = {k for k, n in agent2.model.store.nodes.items() if getattr(n, "owner", 1) is None}
    same = [p for p in params if p in rows and p not in own]
    assert len(same) > len(params) - 100
    bad = [p for p in same if got[p] != rows[p][3]]  # CR survives: soap.esc writes &#13;
    assert bad == []
