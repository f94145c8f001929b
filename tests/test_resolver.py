"""The stub resolver: real UDP/TCP DNS servers on loopback (ours and dnsmasq),
hosts file, resolv.conf options, deadlines; the loop keeps running meanwhile."""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dnsserver import DnsServer, free_loopback_ip
from rocket.net import resolver as R
from rocket.net.loop import Loop

needs_53 = pytest.mark.skipif(not DnsServer.available(),
                              reason="binding UDP/TCP port 53 on 127.53.x.y needs root")


def conf(tmp_path, *servers, extra=""):
    p = tmp_path / "resolv.conf"
    p.write_text("".join("nameserver %s\n" % s for s in servers) + extra)
    h = tmp_path / "hosts"
    if not h.exists():
        h.write_text("127.0.0.1 localhost\n10.1.2.3 box.lan box # comment\n")
    return R.Resolver(str(p), str(h))


def lookup(res, host, timeout=5.0, port=80):
    loop = Loop()
    ticks = []

    def tick():  # a nested-safe periodic timer: it must keep running during the lookup
        ticks.append(loop.clock())
        loop.call_later(0.05, tick, "tick", nested=True)
    loop.call_later(0.05, tick, "tick", nested=True)
    t0 = time.monotonic()
    try:
        addrs = res.resolve(loop, host, port, loop.clock() + timeout)
        err = None
    except R.ResolveError as e:
        addrs, err = None, str(e)
    return addrs, err, time.monotonic() - t0, ticks


@pytest.fixture
def dns():
    servers = []

    def make(mode="answer"):
        s = DnsServer(mode=mode).start()
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.stop()


def test_numeric_and_hosts_file_need_no_server(tmp_path):
    res = conf(tmp_path, free_loopback_ip())  # nobody listens there
    assert lookup(res, "192.0.2.7")[0] == [(socket.AF_INET, ("192.0.2.7", 80))]
    assert lookup(res, "::1")[0][0][0] == socket.AF_INET6
    assert lookup(res, "box")[0] == [(socket.AF_INET, ("10.1.2.3", 80))]
    assert lookup(res, "BOX.lan.")[0] == [(socket.AF_INET, ("10.1.2.3", 80))]
    assert lookup(res, "localhost")[0][0] == (socket.AF_INET, ("127.0.0.1", 80))


@needs_53
def test_a_and_aaaa_over_udp_and_cname(tmp_path, dns):
    s = dns()
    s.records = {"acs.test": {"A": ["127.0.0.9"], "AAAA": ["::1"]},
                 "alias.test": {"CNAME": "acs.test"}}
    res = conf(tmp_path, s.ip)
    addrs, err, _, _ = lookup(res, "acs.test")
    assert err is None and addrs == [(socket.AF_INET, ("127.0.0.9", 80)),
                                     (socket.AF_INET6, ("::1", 80, 0, 0))]
    assert lookup(res, "alias.test")[0][0] == (socket.AF_INET, ("127.0.0.9", 80))
    assert {q[2] for q in s.questions} == {"A", "AAAA"} and {q[0] for q in s.questions} == {"udp"}


@needs_53
def test_truncated_answer_is_asked_again_over_tcp(tmp_path, dns):
    s = dns("truncate")
    s.records = {"big.test": {"A": ["127.0.0.10"]}}
    addrs, err, _, _ = lookup(conf(tmp_path, s.ip), "big.test")
    assert err is None and addrs == [(socket.AF_INET, ("127.0.0.10", 80))]
    assert ("tcp", "big.test", "A") in s.questions


@needs_53
def test_silent_server_ends_at_the_deadline_and_the_loop_runs_on(tmp_path, dns):
    s = dns("silent")
    addrs, err, took, ticks = lookup(conf(tmp_path, s.ip), "acs.test", timeout=1.0)
    assert addrs is None and "timed out" in err
    assert 0.9 < took < 5  # hang guard only
    assert len(ticks) >= 5  # nested-safe timers kept firing during the lookup
    assert s.questions  # it did ask


@needs_53
def test_next_server_after_a_silent_one_and_after_servfail(tmp_path, dns):
    silent, bad, good = dns("silent"), dns("servfail"), dns()
    good.records = {"acs.test": {"A": ["127.0.0.11"]}}
    res = conf(tmp_path, silent.ip, bad.ip, good.ip, extra="options timeout:1 attempts:1\n")
    addrs, err, took, _ = lookup(res, "acs.test", timeout=10)
    assert err is None and addrs == [(socket.AF_INET, ("127.0.0.11", 80))]
    assert silent.questions and bad.questions


@needs_53
def test_search_suffixes_and_nxdomain(tmp_path, dns):
    s = dns()
    s.records = {"acs.corp.test": {"A": ["127.0.0.12"]}}
    res = conf(tmp_path, s.ip, extra="search corp.test\n")
    assert lookup(res, "acs")[0] == [(socket.AF_INET, ("127.0.0.12", 80))]
    addrs, err, _, _ = lookup(res, "nothing.test")
    assert addrs is None and "no such name" in err


@needs_53
@pytest.mark.skipif(not shutil.which("dnsmasq"), reason="dnsmasq not installed")
def test_against_dnsmasq(tmp_path):
    ip = free_loopback_ip()
    p = subprocess.Popen(["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
                          "--listen-address=" + ip, "--bind-interfaces", "--port=53",
                          "--pid-file=" + str(tmp_path / "pid"), "--user=root",
                          "--address=/acs.dnsmasq.test/127.0.0.13", "--local=/dnsmasq.test/",
                          "--host-record=v6.dnsmasq.test,::1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        res = conf(tmp_path, ip)
        guard = time.monotonic() + 10
        while True:
            addrs, err, _, _ = lookup(res, "acs.dnsmasq.test", timeout=1)
            if addrs or time.monotonic() > guard:
                break
        assert addrs and addrs[0] == (socket.AF_INET, ("127.0.0.13", 80)), err
        assert lookup(res, "v6.dnsmasq.test")[0] == [(socket.AF_INET6, ("::1", 80, 0, 0))]
        assert "no such name" in lookup(res, "nx.dnsmasq.test")[1]
        assert "server failure" in lookup(res, "elsewhere.test", timeout=3)[1]  # REFUSED
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(10)


def test_resolv_conf_parsing(tmp_path):
    p = tmp_path / "r"
    p.write_text("# c\nnameserver 127.0.0.5\nnameserver bogus\nnameserver ::1\nnameserver 1.1.1.1\n"
                 "nameserver 8.8.8.8\nsearch a.test b.test\noptions timeout:2 attempts:3 ndots:2 x\n")
    assert R.read_conf(str(p)) == (["127.0.0.5", "::1", "1.1.1.1"], ["a.test", "b.test"], 2, 3, 2)
    assert R.read_conf(str(tmp_path / "missing")) == (["127.0.0.1"], [], 5, 2, 1)


def test_query_rejects_bad_names():
    for bad in ("a" * 64 + ".test", "a..b", "x" * 300):
        with pytest.raises(R.ResolveError):
            R.query(1, bad, R.A)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=600))
def test_parse_never_crashes(data):
    for raw in (data, b"\x12\x34\x81\x80" + data):
        try:
            R.parse(raw, 0x1234, R.A, "acs.test")
        except (ValueError, IndexError, R.struct.error):
            pass
