"""HTTP compression to the ACS (TR-069 §3.4.7) over real loopback sockets:
HTTPCompression=GZIP compresses the requests, gzip answers are accepted
whatever the setting, and their size limit holds once decompressed (a zip
bomb is refused)."""

import gzip
import logging
import zlib

import pytest
from hypothesis import given, settings, strategies as st

from rocket.devacs import build_rpc
from rocket.net.httpresp import Gunzip, HttpError, TooLarge

GPV = build_rpc("GetParameterValues", ["Device.DeviceInfo.SerialNumber"])
MS = "Device.ManagementServer."


def _values(acs):
    return [r for s in acs.sessions for _, r in s.answers]


def test_disabled_by_default_and_gzip_announced(acs, make_agent):
    acs.queue = [build_rpc("GetParameterValues", [MS + "HTTPCompressionSupported", MS + "HTTPCompression"])]
    assert make_agent(acs.url).run() == 0
    answer = _values(acs)[0]
    assert b"<Name>Device.ManagementServer.HTTPCompressionSupported</Name><Value xsi:type=\"xsd:string\">GZIP<" in answer
    assert b"<Name>Device.ManagementServer.HTTPCompression</Name><Value xsi:type=\"xsd:string\">Disabled<" in answer
    for r in acs.requests:
        assert "content-encoding" not in r.headers and "accept-encoding" not in r.headers


def test_gzip_requests_when_enabled(acs, make_agent):
    acs.queue = [GPV]
    assert make_agent(acs.url, acs={"http_compression": "GZIP"}).run() == 0
    posted = [r for r in acs.requests if r.body]
    assert len(posted) == 2  # Inform, GetParameterValuesResponse
    for r in acs.requests:
        assert r.headers["accept-encoding"] == "gzip"
    for r in posted:
        assert r.headers["content-encoding"] == "gzip"
        assert int(r.headers["content-length"]) < len(r.body)  # the wire carried less
    assert b"<SerialNumber>" in posted[0].body  # the ACS read the Inform once decompressed
    assert "content-encoding" not in [r for r in acs.requests if not r.body][0].headers


def test_415_resends_uncompressed_for_the_rest_of_the_session(acs, make_agent, caplog):
    def refuse_gzip(a, h, body):
        if h.headers.get("Content-Encoding") != "gzip":
            return False
        a._reply(h, 415, b"", [("Accept-Encoding", "identity")])
        return True
    acs.hook = refuse_gzip
    acs.queue = [GPV]
    agent = make_agent(acs.url, acs={"http_compression": "GZIP"})
    with caplog.at_level(logging.WARNING):
        assert agent.run() == 0
    assert [(r.status, r.headers.get("content-encoding")) for r in acs.requests if r.body] == \
        [(415, "gzip"), (200, None), (204, None)]  # Inform refused, resent; the GPV response goes plain
    assert sum("refuses compressed requests" in r.getMessage() for r in caplog.records) == 1
    assert agent.model.value(MS + "HTTPCompression") == "GZIP"  # the next session tries again


def test_acs_turns_compression_on_then_off(acs, make_agent):
    acs.queue = [build_rpc("SetParameterValues", [MS + "HTTPCompression=GZIP"])]
    assert make_agent(acs.url).run() == 0
    acs.requests.clear()
    acs.queue = [build_rpc("SetParameterValues", [MS + "HTTPCompression=Deflate"])]
    agent = make_agent(acs.url, boot=False)
    assert agent.run() == 0
    assert all(r.headers.get("content-encoding") == "gzip" for r in acs.requests if r.body)
    assert b"<FaultCode>9007</FaultCode>" in _values(acs)[-1]  # not a supported value
    assert agent.model.value(MS + "HTTPCompression") == "GZIP"


def test_gzip_answers_accepted_while_disabled(acs, make_agent):
    acs.gzip = True
    acs.queue = [GPV]
    assert make_agent(acs.url).run() == 0
    assert b"<Name>Device.DeviceInfo.SerialNumber</Name>" in _values(acs)[0]
    assert all("content-encoding" not in r.headers for r in acs.requests)


def _answer_inform_with(payload, headers=(("Content-Encoding", "gzip"),)):
    def hook(a, h, body):
        if b"<cwmp:Inform>" not in body:
            return False
        a._reply(h, 200, payload, list(headers))
        return True
    return hook


def test_zip_bomb_refused_with_one_log_line(acs, make_agent, caplog):
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    bomb = b"".join(z.compress(block) for _ in range(50)) + z.flush()  # 50 MB of zeros
    assert len(bomb) < 100 * 1024
    acs.hook = _answer_inform_with(bomb)
    agent = make_agent(acs.url)
    with caplog.at_level(logging.INFO):
        assert agent.run() == 1
    assert agent.last_result[1] == "ACS answer larger than 4194304 bytes once decompressed"
    lines = [r.getMessage() for r in caplog.records if "decompressed" in r.getMessage()]
    assert lines == ["session: failed: ACS answer larger than 4194304 bytes once decompressed"]


@pytest.mark.parametrize("payload,why", [
    (gzip.compress(b"<x/>" * 100)[:-12], "gzip body cut short"),
    (b"\x1f\x8b\x08\x00garbage" * 10, "bad gzip body"),
    (gzip.compress(b"<x/>") + b"tail", "data after the end of the gzip body"),
])
def test_broken_gzip_answers_fail_cleanly(acs, make_agent, payload, why):
    acs.hook = _answer_inform_with(payload)
    agent = make_agent(acs.url)
    assert agent.run() == 1
    assert why in agent.last_result[1]


def test_other_content_codings_refused(acs, make_agent):
    acs.hook = _answer_inform_with(b"x" * 10, (("Content-Encoding", "br"),))
    agent = make_agent(acs.url)
    assert agent.run() == 1
    assert "unsupported content coding 'br'" in agent.last_result[1]


def test_unknown_config_value_rejected(tmp_path, acs):
    from conftest import write_conf
    from rocket.agent import Agent
    from rocket.base.config import Config, ConfigError
    with pytest.raises(ConfigError, match="http_compression"):
        Agent(Config.load(write_conf(tmp_path, acs.url, acs={"http_compression": "gzip9"})))


# ------------------------------------------------------------ Gunzip, sans I/O
@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=5000), st.lists(st.integers(1, 700), max_size=20), st.integers(0, 6000))
def test_gunzip_any_split_same_bytes_or_too_large(data, cuts, limit):
    packed = gzip.compress(data)
    g = Gunzip(limit)
    out, pos = [], 0
    try:
        for c in cuts + [len(packed)]:
            out.append(g.feed(packed[pos:pos + c]))
            pos += c
        g.end()
    except TooLarge:
        assert len(data) > limit
        assert g.out <= limit + 1  # never more than the limit (and one byte) produced
        return
    assert len(data) <= limit and b"".join(out) == data


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_gunzip_garbage_is_an_http_error_never_a_crash(junk):
    g = Gunzip(1 << 16)
    try:
        g.feed(junk)
        g.end()
    except HttpError:
        return
    assert junk == b""  # only an empty body is fine
