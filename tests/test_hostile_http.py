"""Hostile HTTP framing from the ACS and from file servers (real loopback servers).

Every body limit holds for every framing, a malformed chunk size or a short
body is a failure (never a complete message, never a loop), 1xx answers are
skipped, and a malformed redirect ends the session with one clear reason.
"""

import logging
import os
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fileserver import FileServer
from rocket.net.fileclient import FetchError, FileGet
from rocket.net.httpresp import END, HttpError, ResponseReader, TooLarge, redirect_target
from rocket.net.loop import Loop

BAD_SIZES = ["-1", "+5", "0x5", "5_0", " ", "zz", "1" * 17, "ffffffffffffffffff", "-0"]


# ------------------------------------------------------------------ ACS side
def _raw_answer(head, stream=b"", total=0, sent=None):
    """An ACS hook answering the Inform with ``head`` then ``stream`` repeated
    up to ``total`` bytes (counted in ``sent``), until the agent hangs up."""
    def hook(a, h, body):
        if b"<cwmp:Inform>" not in body:
            return False
        n = 0
        try:
            h.wfile.write(head)
            while n < total:
                h.wfile.write(stream)
                n += len(stream)
        except OSError:
            pass
        if sent is not None:
            sent.append(n)
        h.close_connection = True
        return True
    return hook


@pytest.mark.parametrize("size", ["-1", "+10", "0x10", "1_0", "1" * 40])
def test_acs_bad_chunk_size_fails_without_reading_on(acs, make_agent, size):
    sent = []
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\n" % size.encode()
    acs.hook = _raw_answer(head, b"<a>" * 21845 + b"x", 64 * 1024 * 1024, sent)
    agent = make_agent(acs.url, acs={"max_body": "65536"})
    assert agent.run() == 1
    assert "bad chunk size" in agent.last_result[1]
    assert sent and sent[0] < 32 * 1024 * 1024  # the agent hung up; it did not read to the end


@pytest.mark.parametrize("framing", ["chunked-big-size", "chunked-many", "close", "length"])
def test_acs_max_body_holds_for_every_framing(acs, make_agent, framing):
    sent = []
    block = b"<a>" * 21845 + b"x"
    if framing == "chunked-big-size":
        head, stream = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\n", block
    elif framing == "chunked-many":
        head, stream = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                        b"%x\r\n%s\r\n" % (len(block), block))
    elif framing == "close":
        head, stream = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", block
    else:
        head, stream = b"HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n", block
    acs.hook = _raw_answer(head, stream, 64 * 1024 * 1024, sent)
    agent = make_agent(acs.url, acs={"max_body": "65536"})
    assert agent.run() == 1
    assert "larger than 65536" in agent.last_result[1]
    assert sent and sent[0] < 32 * 1024 * 1024


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 4000\r\n\r\n<a/>",
    b"HTTP/1.1 200 OK\r\nContent-Length: 4000000000\r\n\r\n<a/>",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n<a/>\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n<a/>",
], ids=["length", "length-4e9", "no-last-chunk", "short-chunk"])
def test_acs_body_shorter_than_announced_is_a_failure(acs, make_agent, head):
    acs.hook = _raw_answer(head)
    agent = make_agent(acs.url, acs={"max_body": "65536"} if b"4000000000" not in head else {})
    assert agent.run() == 1
    assert agent.events.has("1 BOOT")  # not delivered
    reason = agent.last_result[1]
    assert "closed" in reason or "larger than" in reason, reason


def test_acs_1xx_answers_are_skipped(acs, make_agent):
    def hook(a, h, body):
        h.wfile.write(b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 100 Continue\r\nX-A: b\r\n\r\n")
        return False  # the ACS goes on with its real answer
    acs.hook = hook
    agent = make_agent(acs.url)
    assert agent.run() == 0, agent.last_result
    assert not agent.events.has("1 BOOT")


@pytest.mark.parametrize("location", ["http://127.0.0.1:99999/acs", "http://[::1/acs",
                                      "http://127.0.0.1:port/", "http://[zz::1]:80/",
                                      "http://127.0.0.1/a\x01b", "ftp://127.0.0.1/"])
def test_acs_malformed_redirect_fails_with_one_clear_line(acs, make_agent, location, caplog):
    def hook(a, h, body):
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()
        return True
    acs.hook = hook
    agent = make_agent(acs.url)
    with caplog.at_level(logging.INFO):
        assert agent.run() == 1
    assert "malformed redirect" in agent.last_result[1]
    assert "internal error" not in caplog.text and "Traceback" not in caplog.text


# ---------------------------------------------------------------- file side
@pytest.fixture
def files():
    s = FileServer().start()
    yield s
    s.stop()


def _download(url, tmp_path, **kw):
    loop = Loop()
    res = []
    fd = os.open(str(tmp_path / "dl.part"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        g = FileGet(loop, url, fd, lambda c, r: res.append((c, r)), timeout=5, **kw)
        try:
            g.start()
        except FetchError as e:
            res.append((e.code, e.reason))
        guard = time.monotonic() + 20  # hang guard only
        while not res:
            assert time.monotonic() < guard, "download never finished"
            loop.run_once(max_wait=0.05)
    finally:
        os.close(fd)
    return res[0], (tmp_path / "dl.part").read_bytes()


@pytest.mark.parametrize("size", BAD_SIZES)
def test_download_bad_chunk_size_is_9017(files, tmp_path, size):
    files.raw["/f"] = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n%s\r\n"
                       % size.encode() + b"x" * 100000)
    files.raw_linger = 5  # the server keeps the connection open: the agent must stop by itself
    (code, reason), data = _download(files.url("/f"), tmp_path)
    assert code == 9017 and "chunk size" in reason, reason
    assert data == b"abc"


@pytest.mark.parametrize("raw", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc",
    b"HTTP/1.1 200 OK\r\nContent-Length: 4000000000\r\n\r\nabc",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
], ids=["length", "length-4e9", "no-last-chunk"])
def test_download_shorter_than_announced_is_9017(files, tmp_path, raw):
    files.raw["/f"] = raw
    (code, reason), _ = _download(files.url("/f"), tmp_path)
    assert code == 9017 and "closed" in reason, reason


@pytest.mark.parametrize("raw", [
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"%x\r\n%s\r\n" % (60000, b"y" * 60000) * 4,
    b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"y" * 240000,
    b"HTTP/1.1 200 OK\r\nContent-Length: 240000\r\n\r\n" + b"y" * 240000,
], ids=["chunked", "close", "length"])
def test_download_max_size_holds_for_every_framing(files, tmp_path, raw):
    files.raw["/f"] = raw
    (code, reason), data = _download(files.url("/f"), tmp_path, max_size=100000)
    assert code == 9017 and "limit" in reason, reason
    assert len(data) <= 100000


def test_download_skips_1xx_and_reads_every_framing(files, tmp_path):
    files.raw["/f"] = (b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n")
    files.raw["/g"] = b"HTTP/1.0 200 OK\r\n\r\nclose-delimited"
    assert _download(files.url("/f"), tmp_path) == ((0, ""), b"abc")
    assert _download(files.url("/g"), tmp_path) == ((0, ""), b"close-delimited")


@pytest.mark.parametrize("location", ["http://127.0.0.1:99999/x", "http://[::1/x"])
def test_download_malformed_redirect_is_9010(files, tmp_path, location):
    files.redirects["/f"] = location
    (code, reason), _ = _download(files.url("/f"), tmp_path)
    assert code == 9010 and "malformed redirect" in reason


# ------------------------------------------------------- the reader itself
def _run(reader_args, pieces, limit=10000):
    """Feed ``pieces`` then EOF; returns (head, body, error). Fails if the
    reader ever asks for nothing and returns nothing (no progress)."""
    r = ResponseReader(**reader_args)
    head, body, steps = None, [], 0
    pieces = list(pieces)
    try:
        while True:
            steps += 1
            assert steps < limit, "the reader made no progress"
            ev = r.next_event()
            if ev is END:
                return head, b"".join(body), None
            if ev is None:
                if pieces:
                    r.feed(pieces.pop(0))
                else:
                    assert not r._eof, "asked for more after EOF"
                    r.eof()
            elif head is None:
                head = ev
            else:
                assert ev, "empty body piece"
                body.append(ev)
    except HttpError as e:
        return head, b"".join(body), e


def _split(data, cuts):
    cuts = sorted(c % (len(data) + 1) for c in cuts)
    return [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), st.lists(st.integers(0, 10 ** 6), max_size=20),
       st.integers(0, 3000))
def test_reader_terminates_on_any_input(data, cuts, max_body):
    prefix = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    for raw in (data, prefix + data):
        head, body, err = _run({"max_body": max_body}, _split(raw, cuts),
                                 limit=len(raw) * 3 + 2 * len(cuts) + 20)
        if max_body:
            assert len(body) <= max_body


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=300), max_size=8),
       st.lists(st.integers(0, 10 ** 6), max_size=10), st.sampled_from(["", "; a=b", " "]))
def test_reader_decodes_chunked_however_split(chunks, cuts, ext):
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(
        b"%x%s\r\n%s\r\n" % (len(c), ext.encode(), c) for c in chunks) + b"0\r\n\r\n"
    head, body, err = _run({}, _split(raw, cuts))
    assert err is None and head.status == 200 and body == b"".join(chunks)


@pytest.mark.parametrize("size", BAD_SIZES)
def test_reader_rejects_bad_chunk_sizes(size):
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\nabc\r\n0\r\n\r\n" % size.encode()
    head, body, err = _run({}, [raw])
    assert isinstance(err, HttpError) and "chunk size" in str(err)


@pytest.mark.parametrize("raw,why", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef", "Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", "Content-Length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "transfer coding"),
    (b"HTTP/1.1 101 Switching\r\n\r\n", "101"),
    (b"HTTP/2 200 OK\r\n\r\n", "status line"),
    (b"HTTP/1.1 200 OK\r\nBad header\r\n\r\n", "header line"),
    (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000, "too large"),
    (b"HTTP/1.1 102 P\r\n\r\n" * 30, "1xx"),
])
def test_reader_rejects(raw, why):
    head, body, err = _run({}, [raw])
    assert isinstance(err, HttpError) and why in str(err), err


def test_reader_limit_before_body_and_no_body_statuses():
    head, body, err = _run({"max_body": 10}, [b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"])
    assert isinstance(err, TooLarge) and head.status == 200 and body == b""
    head, body, err = _run({}, [b"HTTP/1.1 204 No\r\nContent-Length: 11\r\n\r\n"])
    assert err is None and body == b"" and not head.will_close
    head, body, err = _run({"no_body": True}, [b"HTTP/1.0 200 OK\r\nContent-Length: 11\r\n\r\n"])
    assert err is None and body == b"" and head.will_close


def test_redirect_target():
    base = "https://acs.example:8443/cwmp"
    assert redirect_target(base, "/other?x=1") == "https://acs.example:8443/other?x=1"
    assert redirect_target(base, "http://[::1]:80/a") == "http://[::1]:80/a"
    for bad in ("http://[::1/a", "http://h:99999/", "http://h:x/", "mailto:a@b", "http:///x", "",
                "http://h/a b"):
        assert redirect_target(base, bad) is None, bad
