"""HTTP connection requests against a running agent, with real HTTP clients."""

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import write_conf
from crclient import (challenges, connection_request, digest_header, get, parallel,
                      slow_connections, wait_for)
from rocket.cwmp import events as ev
from rocket.net import netaddr
from rocket.devacs import build_rpc
from rocket.net.digestserver import DigestServer
from rocket.net.httpparse import HttpError, RequestParser

USER, PW = "cr-user", "cr-pass"


def events_of(inform):
    return re.findall(r"<EventCode>([^<]*)</EventCode>", inform)


def cr_url_of(inform):
    m = re.search(r"ConnectionRequestURL</Name><Value[^>]*>([^<]*)<", inform)
    return m.group(1) if m else None


RUNNERS = {}


class Running:
    """An in-process agent whose loop runs in a thread (the test is the ACS side)."""

    def __init__(self, agent):
        self.agent = agent
        RUNNERS[id(agent)] = self
        self.done = threading.Event()
        self.calls = []
        agent.start()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        loop = self.agent.loop
        while not self.done.is_set() and not loop.stopping:
            loop.run_once(max_wait=0.05)
            while self.calls:
                self.calls.pop(0)()

    def call(self, fn):
        """Run ``fn`` in the agent's thread, between two loop iterations."""
        self.calls.append(fn)

    @property
    def svc(self):
        return self.agent.connreq

    @property
    def url(self):
        return self.agent.model.value(self.agent.model.ms("ConnectionRequestURL"))

    def close(self):
        self.done.set()
        self.thread.join(30)
        self.agent.stop()
        RUNNERS.pop(id(self.agent), None)


@pytest.fixture
def running(acs, make_agent):
    """start(**sections) -> Running agent that has finished its boot session."""
    started = []

    def start(boot_session=True, **sections):
        agent = make_agent(acs.url, boot=True, once=False, **sections)
        r = Running(agent)
        started.append(r)
        if boot_session:
            assert acs.wait_sessions(1), "no boot session"
            assert wait_for(lambda: not agent.in_session and agent.session_timer is None)
        return r

    yield start
    for r in started:
        r.close()


def barrier(agent):
    """Return once the agent's thread has finished the loop iteration it is
    in: whatever handler answered a request the test saw has run to its end."""
    runner = RUNNERS[id(agent)]
    done = threading.Event()
    runner.call(done.set)
    assert done.wait(20), "the agent's loop did not turn"


def idle(agent):
    return (not agent.in_session and agent.session_timer is None
            and not agent.events.has(ev.CONNECTION_REQUEST))


def settle(acs, n, agent):
    """Wait for n finished sessions and for the agent to be idle for good:
    after a turn of its loop (every answered request fully handled) no
    session runs, none is due and no "6 CONNECTION REQUEST" waits."""
    assert acs.wait_sessions(n), "expected %d sessions, saw %d" % (n, len(acs.sessions))
    deadline = time.monotonic() + 30
    while True:
        assert wait_for(lambda: idle(agent))
        barrier(agent)
        if idle(agent):
            return
        assert time.monotonic() < deadline, "the agent never went idle"


def assert_quiet(acs, agent, n):
    """Nothing followed what the test just saw answered: the handler has run
    to its end, no session runs or is due, and the ACS saw n sessions."""
    barrier(agent)
    assert idle(agent)
    assert len(acs.sessions) == n


def assert_not_overlapping(acs):
    done = [s for s in acs.sessions if s.finished is not None]
    for a, b in zip(done, done[1:]):
        assert b.started >= a.finished, "two sessions at once"


# ------------------------------------------------------------ happy paths
def test_url_in_inform_and_path_persisted(running, acs, tmp_path):
    r = running()
    url = r.url
    assert re.match(r"^http://127\.0\.0\.1:\d+/[0-9a-f]{32}$", url), url
    assert cr_url_of(acs.sessions[0].inform) == url
    saved = r.agent.state.load("connreq", {})
    assert url.endswith(saved["path"])


@pytest.mark.parametrize("alg,style", [("MD5", "std"), ("SHA-256", "std"), ("MD5", "genieacs"),
                                       ("SHA-256", "genieacs")])
def test_valid_digest_starts_a_session(running, acs, alg, style):
    r = running(connection_request={"digest_algorithms": "SHA-256, MD5"})
    assert connection_request(r.url, USER, PW, alg=alg, style=style) == 200
    settle(acs, 2, r.agent)
    assert events_of(acs.sessions[1].inform) == ["6 CONNECTION REQUEST"]


def test_200_is_empty_and_sent_before_the_session(running, acs):
    r = running()
    ch, _ = challenges(r.url)
    path = r.agent.connreq.path
    seen = []

    def at_session_start():  # in the agent's thread, before the Inform is sent
        seen.append(select.select([client], [], [], 0)[0] == [client])
    r.call(lambda: r.agent.before_session.append(at_session_start))
    assert wait_for(lambda: at_session_start in r.agent.before_session)
    client = socket.create_connection(("127.0.0.1", r.agent.connreq.bound_port), timeout=10)
    client.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n" % (
        path, digest_header(ch, USER, PW, path))).encode())
    settle(acs, 2, r.agent)
    assert seen == [True]  # the answer was waiting in the socket when the session began
    answer = client.recv(4096)
    client.close()
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nContent-Length: 0\r\n" in answer and answer.endswith(b"\r\n\r\n")


def test_challenge_format(running, acs):
    r = running(connection_request={"digest_algorithms": "SHA-256 MD5", "allow_basic": "true"})
    _, hdrs = challenges(r.url)
    values = [v for k, v in hdrs if k.lower() == "www-authenticate"]
    assert [v.split()[0] for v in values] == ["Digest", "Digest", "Basic"]  # Basic last
    assert "algorithm=SHA-256" in values[0] and "algorithm=MD5" in values[1]
    for v in values[:2]:
        assert 'qop="auth"' in v and 'realm="Rocket"' in v and "opaque=" in v and "nonce=" in v


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_digest(running, acs):
    r = running(connection_request={"digest_algorithms": "SHA-256, MD5"})
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "--digest"]
    bad = subprocess.run(cmd + ["-u", "%s:wrong" % USER, r.url], capture_output=True, text=True)
    assert bad.stdout == "401"
    ok = subprocess.run(cmd + ["-u", "%s:%s" % (USER, PW), r.url], capture_output=True, text=True)
    assert ok.stdout == "200", ok.stderr
    settle(acs, 2, r.agent)
    assert events_of(acs.sessions[1].inform) == ["6 CONNECTION REQUEST"]
    assert len(acs.sessions) == 2


def test_urllib_digest_client(running, acs):
    import urllib.error
    import urllib.request
    r = running()

    def opener(pw):
        mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        mgr.add_password(None, r.url, USER, pw)
        return urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(mgr))
    with pytest.raises(urllib.error.HTTPError) as e:
        opener("wrong").open(r.url, timeout=10)
    assert e.value.code == 401
    with opener(PW).open(r.url, timeout=10) as resp:
        assert resp.status == 200 and resp.read() == b""
    settle(acs, 2, r.agent)
    assert events_of(acs.sessions[1].inform) == ["6 CONNECTION REQUEST"]


# ------------------------------------------------------------- refusals
def test_bad_credentials_start_no_session(running, acs):
    r = running(connection_request={"nonce_lifetime": "1"})
    url = r.url
    path = url[url.index("/", 8):]
    statuses = {}

    def attempt(name, **kw):
        ch, _ = challenges(url)
        uri = kw.pop("uri", path)
        user = kw.pop("user", USER)
        pw = kw.pop("pw", PW)
        status, hdrs, _ = get(url, {"Authorization": digest_header(ch, user, pw, uri, **kw)})
        statuses[name] = status
        return ch, hdrs

    attempt("wrong password", pw="nope")
    attempt("wrong username", user="someone")
    attempt("wrong uri", uri="/elsewhere")
    attempt("wrong uri, same path prefix", uri=path + "x")
    attempt("wrong realm", realm="other")
    attempt("wrong opaque", opaque="00")
    attempt("no opaque", opaque=None)
    attempt("qop auth-int", qop="auth-int")
    attempt("unoffered algorithm", alg="SHA-256")
    # a nonce the server never issued
    ch, _ = challenges(url)
    ch = dict(ch, nonce=ch["nonce"][:-1] + ("0" if ch["nonce"][-1] != "0" else "1"))
    statuses["forged nonce"] = get(url, {"Authorization": digest_header(ch, USER, PW, path)})[0]
    # Basic while Digest is required
    import base64
    basic = "Basic " + base64.b64encode(("%s:%s" % (USER, PW)).encode()).decode()
    statuses["basic"] = get(url, {"Authorization": basic})[0]
    # stale: a correct answer to an expired nonce -> 401 stale=true; the
    # listener's digest clock moves on by more than the nonce lifetime
    # (injected, monotonic: it stays ahead for the rest of the test)
    ch, _ = challenges(url)
    digest = r.agent.connreq.digest
    clock = digest.clock
    digest.clock = lambda: clock() + 2.1
    status, hdrs, _ = get(url, {"Authorization": digest_header(ch, USER, PW, path)})
    statuses["stale"] = status
    assert any("stale=true" in v for k, v in hdrs if k.lower() == "www-authenticate")
    assert set(statuses.values()) == {401}, statuses
    assert r.agent.connreq.stats["accepted"] == 0
    # replay: the same nonce and nc twice; only the first one counts
    ch, _ = challenges(url)
    auth = digest_header(ch, USER, PW, path, nc=1, cnonce="abcd")
    assert get(url, {"Authorization": auth})[0] == 200
    assert get(url, {"Authorization": auth})[0] == 401
    assert get(url, {"Authorization": digest_header(ch, USER, PW, path, nc=1)})[0] == 401
    settle(acs, 2, r.agent)
    # exactly one session for all of the above: the one of the valid requests
    assert len(acs.sessions) == 2
    assert events_of(acs.sessions[1].inform) == ["6 CONNECTION REQUEST"]


def test_paths_and_methods(running, acs):
    r = running()
    url = r.url
    base = url[:url.index("/", 8)]
    path = url[len(base):]
    assert get(base + "/")[0] == 404
    assert get(base + path + "x")[0] == 404
    assert get(url, target=path + "?a=1")[0] == 404
    assert get(base + path[:-1])[0] == 404
    st, hdrs, _ = get(url, method="POST")
    assert st == 405 and ("Allow", "GET") in hdrs
    assert get(url, method="HEAD")[0] == 405
    assert get(url, method="PUT")[0] == 405
    # the absolute form of the target is the same resource (RFC 9112 §3.2.2)
    assert get(url, target=url)[0] == 401
    ch, _ = challenges(url)
    assert get(url, {"Authorization": digest_header(ch, USER, PW, url)}, target=url)[0] == 200
    settle(acs, 2, r.agent)
    assert len(acs.sessions) == 2


def test_no_credentials_configured(running, acs):
    r = running(connection_request={"username": "", "password": ""})
    st, hdrs, _ = get(r.url)
    assert st == 403
    assert not any(k.lower() == "www-authenticate" for k, _ in hdrs)
    assert_quiet(acs, r.agent, 1)


def test_allow_unauthenticated(running, acs):
    r = running(connection_request={"username": "", "password": "", "allow_unauthenticated": "true"})
    assert get(r.url)[0] == 200
    settle(acs, 2, r.agent)
    assert events_of(acs.sessions[1].inform) == ["6 CONNECTION REQUEST"]


def test_basic_when_allowed(running, acs):
    import base64
    r = running(connection_request={"allow_basic": "true"})
    basic = lambda pw: "Basic " + base64.b64encode(("%s:%s" % (USER, pw)).encode()).decode()  # noqa
    assert get(r.url, {"Authorization": basic("bad")})[0] == 401
    assert get(r.url, {"Authorization": basic(PW)})[0] == 200
    settle(acs, 2, r.agent)


def test_malformed_requests(running, acs):
    r = running()
    port = r.agent.connreq.bound_port

    def raw(data):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(data)
            out = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    return out
                out += chunk

    path = r.agent.connreq.path.encode()
    assert raw(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" + b"X: " + b"a" * 9000 + b"\r\n\r\n"
               ).startswith(b"HTTP/1.1 431 ")
    assert raw(b"GET " + path + b" HTTP/2.0\r\n\r\n").startswith(b"HTTP/1.1 505 ")
    assert raw(b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw(b"GET " + path + b" HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello").startswith(
        b"HTTP/1.1 413 ")
    assert raw(b"GET " + path + b" HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
               ).startswith(b"HTTP/1.1 501 ")
    # LF-only line ends are tolerated
    assert raw(b"GET " + path + b" HTTP/1.1\nHost: x\n\n").startswith(b"HTTP/1.1 401 ")
    assert_quiet(acs, r.agent, 1)


def test_deadline_and_connection_cap(running, acs):
    r = running(connection_request={"request_timeout": "1", "max_connections": "3"})
    port = r.agent.connreq.bound_port
    stalled = slow_connections("127.0.0.1", port, 3)
    # a fourth connection evicts the oldest staller once its grace time
    # (request_timeout / 2) is over; a real request still works
    time.sleep(0.6)
    assert connection_request(r.url, USER, PW) == 200
    stalled[0].settimeout(5)
    assert stalled[0].recv(100).startswith(b"HTTP/1.1 503 ")  # evicted, with part of a request in
    # the others hit the deadline and get 408
    for s in stalled[1:]:
        s.settimeout(5)
        assert s.recv(100).startswith(b"HTTP/1.1 408 ")
        s.close()
    stalled[0].close()
    settle(acs, 2, r.agent)
    assert len(r.agent.connreq.conns) == 0


# ------------------------------------------------------ session semantics
def test_requests_during_a_session_give_exactly_one_followup(running, acs):
    r = running()
    acs.gate = threading.Event()  # the ACS holds its answers: the session waits
    assert connection_request(r.url, USER, PW) == 200
    assert wait_for(lambda: r.agent.in_session)
    for _ in range(3):
        assert connection_request(r.url, USER, PW) == 200
    assert r.agent.in_session  # answered while the session waited on the ACS
    acs.gate.set()
    settle(acs, 3, r.agent)
    assert len(acs.sessions) == 3
    assert events_of(acs.sessions[1].inform) == ["6 CONNECTION REQUEST"]
    assert events_of(acs.sessions[2].inform) == ["6 CONNECTION REQUEST"]
    assert_not_overlapping(acs)


def test_burst_of_valid_requests_is_coalesced(running, acs):
    r = running()
    results = parallel(lambda i: connection_request(r.url, USER, PW), 20)
    assert results == [200] * 20
    settle(acs, 2, r.agent)
    assert len(acs.sessions) in (2, 3)
    for s in acs.sessions[1:]:
        assert events_of(s.inform) == ["6 CONNECTION REQUEST"]
    assert_not_overlapping(acs)


def test_at_the_cap_every_client_that_sends_in_time_is_answered(running, acs):
    """Two clients connect and are slow to write (a loaded ACS host); a third
    arrives at the cap. Nobody is cut off: each gets its answer."""
    r = running(connection_request={"max_connections": "2", "request_timeout": "4"})
    port = r.agent.connreq.bound_port
    req = b"GET " + r.agent.connreq.path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    slow = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2)]
    assert wait_for(lambda: len(r.agent.connreq.conns) == 2)  # both accepted
    def answer(s):
        got = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except OSError as e:
            got += repr(e).encode()
        s.close()
        return got

    third = socket.create_connection(("127.0.0.1", port), timeout=5)
    third.sendall(req)
    assert answer(third).startswith(b"HTTP/1.1 401 ")  # served at once, one over the cap
    time.sleep(0.3)  # well inside the grace time of the first two
    for s in slow:
        s.sendall(req)
    for s in slow:
        got = answer(s)
        assert got.startswith(b"HTTP/1.1 401 "), got
    assert r.agent.connreq.stats["evicted"] == 0


def test_rate_limit_gives_503(running, acs):
    r = running(connection_request={"max_per_minute": "2"})
    assert connection_request(r.url, USER, PW) == 200
    settle(acs, 2, r.agent)
    assert connection_request(r.url, USER, PW) == 200
    settle(acs, 3, r.agent)
    ch, _ = challenges(r.url)
    path = r.agent.connreq.path
    st, hdrs, body = get(r.url, {"Authorization": digest_header(ch, USER, PW, path)})
    assert st == 503 and body == b""
    assert not any(k.lower() == "retry-after" for k, _ in hdrs)
    assert_quiet(acs, r.agent, 3)


def test_listener_answers_while_the_acs_is_slow(running, acs):
    r = running()
    acs.gate = threading.Event()
    assert connection_request(r.url, USER, PW) == 200
    assert wait_for(lambda: r.agent.in_session)
    assert get(r.url[:r.url.index("/", 8)] + "/nope")[0] == 404
    assert connection_request(r.url, USER, "wrong") == 401
    assert connection_request(r.url, USER, PW) == 200
    assert r.agent.in_session and len(acs.sessions) == 2 and not acs.sessions[1].ended
    acs.gate.set()
    settle(acs, 3, r.agent)


def test_spv_credentials_take_effect_at_once(running, acs):
    r = running()
    acs.queue = [build_rpc("SetParameterValues",
                           ["Device.ManagementServer.ConnectionRequestPassword=n3w:string"])]
    assert connection_request(r.url, USER, PW) == 200
    settle(acs, 2, r.agent)
    assert connection_request(r.url, USER, PW) == 401
    assert connection_request(r.url, USER, "n3w") == 200
    settle(acs, 3, r.agent)


def test_http_cr_disable_closes_port_and_empties_url(running, acs):
    r = running()
    port = r.agent.connreq.bound_port
    acs.queue = [build_rpc("SetParameterValues",
                           ["Device.ManagementServer.HTTPConnectionRequestEnable=false:boolean"])]
    assert connection_request(r.url, USER, PW) == 200
    settle(acs, 2, r.agent)
    assert r.url == ""
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    # the ACS made that change itself: no notification, the next Inform shows it
    assert len(acs.sessions) == 2
    acs.queue = [build_rpc("SetParameterValues",
                           ["Device.ManagementServer.HTTPConnectionRequestEnable=true:boolean"])]
    r.call(r.agent.request_session)
    settle(acs, 3, r.agent)
    assert cr_url_of(acs.sessions[2].inform) == "" and events_of(acs.sessions[2].inform) == []
    # enabled again: the port is open again and the URL published
    assert r.url.startswith("http://127.0.0.1:%d/" % port)  # port 0 keeps its port
    assert connection_request(r.url, USER, PW) == 200
    settle(acs, 4, r.agent)
    assert cr_url_of(acs.sessions[3].inform) == r.url


def test_http_cr_off_at_start_is_a_stand_in_until_the_acs_switches_it_on(running, acs):
    from rocket.connreq.standby import HttpStandby
    r = running(connection_request={"enable": "false"})
    assert r.agent.connreq is None and r.url == ""
    assert [type(s).__name__ for s in r.agent.services if isinstance(s, HttpStandby)] == ["HttpStandby"]
    assert cr_url_of(acs.sessions[0].inform) == ""
    acs.queue = [build_rpc("SetParameterValues",
                           ["Device.ManagementServer.HTTPConnectionRequestEnable=true:boolean"])]
    r.call(r.agent.request_session)
    settle(acs, 2, r.agent)
    assert wait_for(lambda: r.url.startswith("http://127.0.0.1:"))
    assert not any(isinstance(s, HttpStandby) for s in r.agent.services)
    assert connection_request(r.url, USER, PW) == 200
    settle(acs, 3, r.agent)
    assert "6 CONNECTION REQUEST" in events_of(acs.sessions[2].inform)
    assert cr_url_of(acs.sessions[2].inform) == r.url


def test_sighup_switches_http_cr_on(running, acs, tmp_path):
    r = running(connection_request={"enable": "false"})
    assert r.agent.connreq is None and r.url == ""
    write_conf(tmp_path, acs.url, connection_request={"enable": "true"})
    r.call(r.agent.reload)
    assert wait_for(lambda: r.url.startswith("http://127.0.0.1:"))
    assert connection_request(r.url, USER, PW) == 200
    settle(acs, 2, r.agent)
    assert "6 CONNECTION REQUEST" in events_of(acs.sessions[1].inform)


def test_sighup_applies_the_new_settings(running, acs, tmp_path):
    r = running()
    port = r.agent.connreq.bound_port
    write_conf(tmp_path, acs.url, connection_request={"enable": "false"})
    r.call(r.agent.reload)
    assert wait_for(lambda: r.url == "")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    write_conf(tmp_path, acs.url, connection_request={"path": "/cr-lab", "max_per_minute": "1"})
    r.call(r.agent.reload)
    assert wait_for(lambda: r.url.endswith(":%d/cr-lab" % port))
    assert connection_request(r.url, USER, PW) == 200
    settle(acs, 2, r.agent)
    assert connection_request(r.url, USER, PW) == 503  # the new rate limit holds too


def test_url_change_is_reported_without_restart(running, acs):
    r = running(connection_request={"url_check_interval": "1"})
    old = r.url
    r.call(lambda: r.agent.cfg.set("connection_request", "address", "127.0.0.9"))
    settle(acs, 2, r.agent)
    new = acs.sessions[1].inform
    assert "4 VALUE CHANGE" in events_of(new)
    assert cr_url_of(new) == old.replace("127.0.0.1", "127.0.0.9") == r.url


def test_url_change_across_a_restart_is_reported(acs, make_agent):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    a = make_agent(acs.url, connection_request={"port": port, "address": "cpe-a.example"})
    assert a.run() == 0
    a.stop()
    assert cr_url_of(acs.sessions[0].inform).startswith("http://cpe-a.example:%d/" % port)
    b = make_agent(acs.url, boot=False, connection_request={"port": port, "address": "cpe-a.example"})
    assert b.run() == 0
    b.stop()
    assert events_of(acs.sessions[1].inform) == []  # same URL: nothing to report
    c = make_agent(acs.url, boot=False, connection_request={"port": port, "address": "cpe-b.example"})
    assert c.run() == 0
    c.stop()
    assert events_of(acs.sessions[2].inform) == ["4 VALUE CHANGE"]
    assert cr_url_of(acs.sessions[2].inform).startswith("http://cpe-b.example:%d/" % port)
    assert cr_url_of(acs.sessions[2].inform)[-32:] == cr_url_of(acs.sessions[0].inform)[-32:]


def test_url_from_interface_with_a_dual_stack_listener(running, acs):
    r = running(connection_request={"bind": "", "interface": "lo"})
    assert re.match(r"^http://127\.0\.0\.1:\d+/", r.url)
    # bound to every address (dual-stack where available): reachable on 127.0.0.1
    assert connection_request(r.url, USER, PW) == 200
    settle(acs, 2, r.agent)


def _has_ipv6():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6(), reason="no IPv6 loopback")
def test_ipv6_loopback(running, acs):
    r = running(connection_request={"bind": "::1"})
    assert re.match(r"^http://\[::1\]:\d+/[0-9a-f]{32}$", r.url), r.url
    assert connection_request(r.url, USER, PW) == 200
    settle(acs, 2, r.agent)
    assert events_of(acs.sessions[1].inform) == ["6 CONNECTION REQUEST"]


def test_zipapp_agent_answers_a_connection_request(acs, pyz, tmp_path):
    conf = write_conf(tmp_path, acs.url, connection_request={"digest_algorithms": "SHA-256, MD5"})
    p = subprocess.Popen([sys.executable, "-I", "-S", pyz, "-c", conf, "--boot"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert acs.wait_sessions(1)
        url = acs.cr_url
        assert url and url.startswith("http://127.0.0.1:")
        assert connection_request(url, USER, PW, alg="SHA-256") == 200
        assert acs.wait_sessions(2)
        assert events_of(acs.sessions[1].inform) == ["6 CONNECTION REQUEST"]
        assert connection_request(url, USER, "wrong") == 401
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
    assert "connreq: accepted from 127.0.0.1" in err
    assert "refused 401 from 127.0.0.1: wrong username or password" in err
    assert PW not in err and "wrong" not in err.replace("wrong username", "")


# ------------------------------------------------------ sans-I/O pieces
@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=12))
def test_parser_never_raises_anything_else(chunks):
    p = RequestParser(max_header=1024)
    try:
        for c in chunks:
            req = p.feed(c)
            if req is not None:
                assert isinstance(req.method, str) and isinstance(req.path(), str)
    except HttpError as e:
        assert e.status in (400, 413, 431, 501, 505)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.text(max_size=40))
def test_digest_check_never_raises(header, target):
    d = DigestServer(algorithms=("MD5", "SHA-256"), allow_basic=True)
    v = d.check("GET", target, header, "u", "p")
    assert v.ok is False


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=200), st.integers(1, 50))
def test_parser_split_anywhere(junk, cut):
    req = b"GET /p HTTP/1.1\r\nHost: a\r\nAuthorization: Digest x=\"y\"\r\n\r\n"
    cut = cut % len(req)
    p = RequestParser()
    assert p.feed(req[:cut]) is None
    r = p.feed(req[cut:] + junk)
    assert (r.method, r.target, r.headers["authorization"]) == ("GET", "/p", 'Digest x="y"')


def test_nonce_expiry_and_replay_table_is_bounded():
    now = [1000.0]
    d = DigestServer(lifetime=10, clock=lambda: now[0], max_tracked=4)
    from crclient import parse_challenge

    def ok(ch, nc=1):
        return d.check("GET", "/p", digest_header(ch, "u", "p", "/p", nc=nc), "u", "p")
    chs = [parse_challenge(d.challenge()[0]) for _ in range(5)]
    assert all(ok(ch).ok for ch in chs[:4])
    assert not ok(chs[0]).ok and ok(chs[0], nc=2).ok and not ok(chs[0], nc=2).ok
    assert ok(chs[0], nc=7).ok and not ok(chs[0], nc=3).ok  # gaps are fine, going back is not
    v = ok(chs[4])
    assert not v.ok and v.stale  # table full of live nonces: refuse, never forget
    now[0] += 11.5
    v = ok(chs[0], nc=8)
    assert not v.ok and v.stale and v.reason == "stale nonce"
    fresh = parse_challenge(d.challenge()[0])
    assert ok(fresh).ok and d.tracked == 1  # expired entries were pruned


def test_netaddr():
    assert netaddr.route_source("127.0.0.1") == "127.0.0.1"
    assert netaddr.interface_address("lo") == "127.0.0.1"
    assert netaddr.interface_address("no-such-if0") is None
    assert netaddr.url_host("::1") == "[::1]" and netaddr.url_host("10.0.0.1") == "10.0.0.1"
    assert netaddr.unmap("::ffff:10.1.2.3") == "10.1.2.3"
    # ::1 is host scope, not global: lo has no usable IPv6 address, so its IPv4 one
    assert netaddr.interface_address("lo", socket.AF_INET6) == "127.0.0.1"
    assert netaddr._ipv6_of("lo") is None
    if os.path.exists("/proc/net/if_inet6"):
        with open("/proc/net/if_inet6") as f:
            rows = [ln.split() for ln in f]
        for addr, _, _, scope, flags, name in rows:
            if scope == "00" and not int(flags, 16) & 0x68:
                got = netaddr.interface_address(name, socket.AF_INET6)
                assert socket.inet_pton(socket.AF_INET6, got) == bytes.fromhex(addr)
                break


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"GET / HTTP/1.1", b"A: b", b"x"]),
                max_size=20), st.integers(1, 7))
def test_parser_incremental_equals_whole(pieces, step):
    data = b"".join(pieces)

    def run(chunks):
        p = RequestParser()
        try:
            for c in chunks:
                r = p.feed(c)
                if r is not None:
                    return ("req", r.method, r.target, sorted(r.headers.items()))
            return None
        except HttpError as e:
            return ("err", e.status)
    whole = run([data])
    bytewise = run([data[i:i + step] for i in range(0, len(data), step)])
    assert whole == bytewise
