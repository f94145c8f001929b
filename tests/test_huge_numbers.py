"""Huge integers from the ACS: 9007 (or 9003 for RPC arguments), never 9002,
and never a conversion whose cost grows with the square of the length."""

import re

import pytest

from rocket.cwmp import values
from rocket.devacs import build_rpc

MS = "Device.ManagementServer."
HUGE = "9" * 100000


@pytest.mark.parametrize("ptype", ["int", "unsignedInt", "long", "unsignedLong"])
@pytest.mark.parametrize("text", [HUGE, "-" + HUGE, "+" + HUGE, "0" * 100000 + "1" + "0" * 30])
def test_huge_integer_is_a_bad_value(ptype, text):
    with pytest.raises(values.BadValue):
        values.check(ptype, None, text)


def test_leading_zeros_still_parse():
    assert values.check("unsignedInt", None, "0" * 30 + "42") == "42"
    assert values.check("long", None, "-" + "0" * 30 + "9223372036854775808") == "-9223372036854775808"


def test_huge_integer_is_not_converted(monkeypatch):
    """The length is checked before int(): on 3.8-3.10 (no digit limit)
    int() of 100,000 digits is quadratic."""
    import builtins
    seen = []
    real = builtins.int

    class Spy(real):
        def __new__(cls, *a, **k):
            if a and isinstance(a[0], str):
                seen.append(len(a[0]))
            return real.__new__(real, *a, **k)

    monkeypatch.setattr(values, "int", Spy, raising=False)
    with pytest.raises(values.BadValue):
        values.check("unsignedInt", None, HUGE)
    assert all(n < 100 for n in seen)


def test_huge_integer_in_spv_gets_9007(acs, make_agent):
    acs.queue = [build_rpc("SetParameterValues", [MS + "PeriodicInformInterval=%s:unsignedInt" % HUGE])]
    agent = make_agent(acs.url)
    assert agent.run() == 0
    reply = acs.sessions[-1].answers[0][1]
    assert b"9002" not in reply
    assert re.search(rb"<SetParameterValuesFault><ParameterName>[^<]*PeriodicInformInterval"
                     rb"</ParameterName><FaultCode>9007", reply), reply[:2000]


def test_huge_integer_rpc_argument_gets_9003(acs, make_agent):
    acs.queue = [build_rpc("ScheduleInform", [HUGE, "k"])]
    agent = make_agent(acs.url)
    assert agent.run() == 0
    reply = acs.sessions[-1].answers[0][1]
    assert b"<FaultCode>9003</FaultCode>" in reply, reply[:2000]
