"""Diagnostics against a real path in network namespaces (tests/netpath.py):
agent -> router -> router -> target, netem delay/loss on one link, a tbf
rate limit on another, an HTTP server and dnsmasq on the target.

One agent (the zipapp, in the agent's namespace) and one ACS run the
whole chain: the first session and every "8 DIAGNOSTICS COMPLETE" session
reads the previous test's results (GetParameterValues) and requests the
next one (SetParameterValues ... DiagnosticsState=Requested), so every test
is triggered over CWMP and reported with its own event. The network is
changed between two tests by the ACS step itself. The checks below read
the answers afterwards.
"""

import shutil
import subprocess
import sys
import time

import pytest

from conftest import write_conf
from diagutil import ScriptedAcs, events, gpv, spv, values_of, wait

netpath = pytest.importorskip("netpath")

WHY = netpath.available() or ("" if shutil.which("dnsmasq") else "dnsmasq not installed")
pytestmark = pytest.mark.skipif(bool(WHY), reason=WHY)

IPD = "Device.IP.Diagnostics."
PING = IPD + "IPPing."
TRACE = IPD + "TraceRoute."
DL = IPD + "DownloadDiagnostics."
UL = IPD + "UploadDiagnostics."
NSL = "Device.DNS.Diagnostics.NSLookupDiagnostics."
ECHO = IPD + "UDPEchoDiagnostics."
ECHOCFG = IPD + "UDPEchoConfig."
SEL = IPD + "ServerSelectionDiagnostics."
DELAY_MS = 20
DL_BYTES = 1500000
UL_BYTES = 1000000
REQ = ("DiagnosticsState", "Requested")


def _req(base, *pairs):
    return spv(*[(base + p[0],) + tuple(p[1:]) for p in pairs + (REQ,)])


@pytest.fixture(scope="module")
def chain(pyz, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("diagpath")
    path = netpath.Path()
    acs = agent = server = None
    try:
        try:
            path.setup()
        except netpath.Unavailable as e:
            pytest.skip(str(e))
        path.resolv_conf("a", "nameserver 10.77.3.53\n")
        path.spawn("t", ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                         "--bind-interfaces", "--listen-address=10.77.3.53", "--local=/rd.test/",
                         "--host-record=www.rd.test,10.77.3.2,fd77:3::2", "--pid-file="],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = netpath.FileServer(path)
        labels = []

        def step(label, setup, *rpcs):
            def run():
                if setup:
                    setup()
                labels.append(label)
                return list(rpcs)
            return run

        def warm_v6():
            # neighbour entries of the three IPv6 links resolved before the
            # counted test: its first echo is then not the one NDP delays
            path.run("a", "ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", "fd77:3::2", check=False)

        u32 = "unsignedInt"
        script = [
            step("ping", lambda: path.netem("delay", "%dms" % DELAY_MS),
                 _req(PING, ("Host", "10.77.3.2"), ("NumberOfRepetitions", "5", u32), ("Timeout", "1000", u32))),
            step("ping-loss", lambda: path.netem("loss", "100%"), gpv(PING),
                 _req(PING, ("NumberOfRepetitions", "3", u32), ("Timeout", "300", u32))),
            step("ping6", lambda: (path.netem("delay", "%dms" % DELAY_MS), warm_v6()), gpv(PING),
                 _req(PING, ("Host", "fd77:3::2"), ("ProtocolVersion", "IPv6"), ("NumberOfRepetitions", "3", u32),
                      ("Timeout", "1000", u32))),
            step("trace", None, gpv(PING),
                 _req(TRACE, ("Host", "www.rd.test"), ("ProtocolVersion", "IPv4"), ("NumberOfTries", "2", u32),
                      ("Timeout", "1000", u32), ("MaxHopCount", "8", u32))),
            step("trace6", None, gpv(TRACE),
                 _req(TRACE, ("Host", "fd77:3::2"), ("ProtocolVersion", "IPv6"), ("NumberOfTries", "1", u32))),
            # from here on ICMP datagram sockets are allowed: traceroute probes with ICMP echo
            step("trace-icmp", lambda: path.run("a", "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"),
                 gpv(TRACE), _req(TRACE, ("Host", "10.77.3.2"), ("ProtocolVersion", "IPv4"))),
            step("download", lambda: path.netem("delay", "0ms"), gpv(TRACE),
                 _req(DL, ("DownloadURL", "http://www.rd.test:8080/file?%d" % DL_BYTES))),
            step("upload", None, gpv(DL),
                 _req(UL, ("UploadURL", "http://10.77.3.2:8080/up"), ("TestFileLength", str(UL_BYTES), "unsignedLong"))),
            step("nslookup", None, gpv(UL),
                 _req(NSL, ("HostName", "www.rd.test"), ("DNSServer", "10.77.3.53"), ("NumberOfRepetitions", "2", u32))),
            step("nxdomain", None, gpv(NSL), _req(NSL, ("HostName", "nothere.rd.test"), ("NumberOfRepetitions", "1", u32))),
            step("deadserver", None, gpv(NSL),
                 _req(NSL, ("HostName", "www.rd.test"), ("DNSServer", "10.77.3.2"), ("Timeout", "1000", u32))),
            step("udpecho", None, gpv(NSL),
                 spv((ECHOCFG + "Enable", "true", "boolean"), (ECHOCFG + "UDPPort", "7777", u32),
                     (ECHOCFG + "EchoPlusEnabled", "true", "boolean")),
                 _req(ECHO, ("Host", "10.77.1.2"), ("Port", "7777", u32), ("NumberOfRepetitions", "4", u32),
                      ("InterTransmissionTime", "10", u32), ("Timeout", "500", u32),
                      ("EnableIndividualPacketResults", "true", "boolean"))),
            step("select", lambda: path.netem("delay", "%dms" % DELAY_MS), gpv(ECHO), gpv(ECHOCFG),
                 _req(SEL, ("HostList", "10.77.3.2,10.77.1.1"), ("NumberOfRepetitions", "2", u32))),
            step("end", None, gpv(SEL)),
        ]
        with netpath.in_netns(path.ns["a"]):
            acs = ScriptedAcs(script)
        acs.start()
        conf = write_conf(tmp, acs.url, connection_request={"port": "0"}, log={"level": "debug"})
        log = open(str(tmp / "agent.log"), "wb")
        agent = path.spawn("a", [sys.executable, "-I", "-S", pyz, "-c", conf, "--boot"], stdout=log, stderr=log)
        done = wait(lambda: (acs.steps >= len(script) and acs.sessions and acs.sessions[-1].ended)
                    or agent.poll() is not None, timeout=60) and agent.poll() is None
        text = open(str(tmp / "agent.log"), encoding="utf-8", errors="replace").read()
        assert done, "chain stopped after %s\n%s" % (labels, text[-4000:])
        # session i+1 (an 8 DIAGNOSTICS COMPLETE session) carries the results of step i
        sessions = [s for s in acs.sessions if s.answers or "8 DIAGNOSTICS COMPLETE" in events(s)]
        out = {"log": text, "sessions": acs.sessions, "server": server, "labels": labels}
        for i, label in enumerate(labels[:-1]):
            s = sessions[i + 1]
            out[label] = values_of(s, 0)
            out[label + ":events"] = events(s)
            if label == "udpecho":
                out["echocfg"] = values_of(s, 1)
        yield out
    finally:
        if acs is not None:
            acs.stop()
        if server is not None:
            server.close()
        path.close()


def test_every_test_ends_in_its_own_diagnostics_complete_session(chain):
    for label in chain["labels"][:-1]:
        assert "8 DIAGNOSTICS COMPLETE" in chain[label + ":events"], label


def test_ping_counts_and_round_trip_follow_netem(chain):
    r = chain["ping"]
    assert r[PING + "DiagnosticsState"] == "Complete"
    assert (r[PING + "SuccessCount"], r[PING + "FailureCount"]) == ("5", "0")
    assert r[PING + "IPAddressUsed"] == "10.77.1.2"
    # netem holds every answer exactly DELAY_MS on the way back: the round trip
    # can never be shorter; the rest is veth and scheduling, well under 5 ms
    # even on a loaded 2-core machine (the kernel stamps the arrival).
    avg = int(r[PING + "AverageResponseTimeDetailed"])
    assert DELAY_MS * 1000 <= avg < (DELAY_MS + 5) * 1000
    assert int(r[PING + "MinimumResponseTimeDetailed"]) >= DELAY_MS * 1000
    assert int(r[PING + "MinimumResponseTimeDetailed"]) <= avg <= int(r[PING + "MaximumResponseTimeDetailed"])
    assert int(r[PING + "AverageResponseTime"]) in (DELAY_MS, DELAY_MS + 1, DELAY_MS + 2, DELAY_MS + 3,
                                                    DELAY_MS + 4, DELAY_MS + 5)


def test_ping_through_a_lossy_link_counts_every_loss(chain):
    r = chain["ping-loss"]
    assert r[PING + "DiagnosticsState"] == "Complete"
    assert (r[PING + "SuccessCount"], r[PING + "FailureCount"]) == ("0", "3")
    assert r[PING + "AverageResponseTimeDetailed"] == "0"


def test_ping_ipv6(chain):
    r = chain["ping6"]
    assert r[PING + "DiagnosticsState"] == "Complete"
    assert (r[PING + "SuccessCount"], r[PING + "FailureCount"]) == ("3", "0")
    assert r[PING + "IPAddressUsed"] == "fd77:1::2"
    assert int(r[PING + "AverageResponseTimeDetailed"]) >= DELAY_MS * 1000


def test_traceroute_lists_the_routers_in_order(chain):
    r = chain["trace"]
    assert r[TRACE + "DiagnosticsState"] == "Complete"
    hops = [r[TRACE + "RouteHops.%d.HostAddress" % i] for i in range(1, int(r[TRACE + "RouteHopsNumberOfEntries"]) + 1)]
    assert hops == ["10.77.1.1", "10.77.2.2", "10.77.3.2"]
    # router 2 and the target answer through netem: DELAY_MS at least
    assert all(int(x) >= DELAY_MS for x in r[TRACE + "RouteHops.3.RTTimes"].split(","))
    assert len(r[TRACE + "RouteHops.1.RTTimes"].split(",")) == 2
    assert int(r[TRACE + "ResponseTime"]) >= DELAY_MS


def test_traceroute_ipv6_and_with_icmp_probes(chain):
    r = chain["trace6"]
    assert r[TRACE + "DiagnosticsState"] == "Complete"
    n = int(r[TRACE + "RouteHopsNumberOfEntries"])
    assert [r[TRACE + "RouteHops.%d.HostAddress" % i] for i in range(1, n + 1)] == ["fd77:1::1", "fd77:2::2",
                                                                                     "fd77:3::2"]
    r = chain["trace-icmp"]
    assert r[TRACE + "DiagnosticsState"] == "Complete"
    n = int(r[TRACE + "RouteHopsNumberOfEntries"])
    assert [r[TRACE + "RouteHops.%d.HostAddress" % i] for i in range(1, n + 1)] == ["10.77.1.1", "10.77.2.2",
                                                                                     "10.77.3.2"]
    assert "icmp echo" in chain["log"]


def _seconds(iso):
    import calendar
    day, frac = iso.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(day, "%Y-%m-%dT%H:%M:%S")) + int(frac) / 1e6


def test_download_bytes_exact_and_throughput_near_the_shaped_rate(chain):
    r = chain["download"]
    assert r[DL + "DiagnosticsState"] == "Complete"
    got = [h for h in chain["server"].heads if h[0] == "GET"]
    assert int(r[DL + "TestBytesReceived"]) == got[0][2] + DL_BYTES  # HTTP head + body (TR-143)
    secs = _seconds(r[DL + "EOMTime"]) - _seconds(r[DL + "BOMTime"])
    rate = int(r[DL + "TestBytesReceived"]) * 8 / secs / 1e6
    assert abs(rate / netpath.RATE_MBIT - 1) < 0.10, rate
    assert _seconds(r[DL + "TCPOpenRequestTime"]) <= _seconds(r[DL + "TCPOpenResponseTime"]) \
        <= _seconds(r[DL + "ROMTime"]) <= _seconds(r[DL + "BOMTime"])
    # the interface counted the same bytes plus TCP/IP and Ethernet headers
    assert DL_BYTES < int(r[DL + "TotalBytesReceived"]) < DL_BYTES * 1.1
    assert r[DL + "IPAddressUsed"] == "10.77.1.2"


def test_upload_bytes_exact_and_throughput_near_the_shaped_rate(chain):
    r = chain["upload"]
    assert r[UL + "DiagnosticsState"] == "Complete"
    put = [h for h in chain["server"].heads if h[0] == "PUT"][0]
    assert put[2] == UL_BYTES
    assert int(r[UL + "TestBytesSent"]) == put[1] + UL_BYTES
    secs = _seconds(r[UL + "EOMTime"]) - _seconds(r[UL + "BOMTime"])
    rate = int(r[UL + "TestBytesSent"]) * 8 / secs / 1e6
    assert abs(rate / netpath.RATE_MBIT - 1) < 0.10, rate
    assert UL_BYTES < int(r[UL + "TotalBytesSent"]) < UL_BYTES * 1.1


def test_nslookup_known_name(chain):
    r = chain["nslookup"]
    assert r[NSL + "DiagnosticsState"] == "Complete"
    assert (r[NSL + "SuccessCount"], r[NSL + "ResultNumberOfEntries"]) == ("2", "2")
    for i in (1, 2):
        res = NSL + "Result.%d." % i
        assert r[res + "Status"] == "Success"
        assert sorted(r[res + "IPAddresses"].split(",")) == ["10.77.3.2", "fd77:3::2"]
        assert r[res + "HostNameReturned"] == "www.rd.test"
        assert r[res + "DNSServerIP"] == "10.77.3.53"
        assert r[res + "AnswerType"] in ("Authoritative", "NonAuthoritative")


def test_nslookup_nxdomain_and_dead_server(chain):
    r = chain["nxdomain"]
    assert r[NSL + "DiagnosticsState"] == "Complete"
    assert r[NSL + "SuccessCount"] == "0"
    assert r[NSL + "Result.1.Status"] == "Error_HostNameNotResolved"
    r = chain["deadserver"]
    assert r[NSL + "Result.1.Status"] == "Error_DNSServerNotAvailable"
    assert r[NSL + "Result.1.DNSServerIP"] == "10.77.3.2"


def test_udp_echo_against_the_agents_own_responder(chain):
    r = chain["udpecho"]
    assert r[ECHO + "DiagnosticsState"] == "Complete"
    assert (r[ECHO + "SuccessCount"], r[ECHO + "FailureCount"]) == ("4", "0")
    assert r[ECHO + "IndividualPacketResultNumberOfEntries"] == "4"
    assert [r[ECHO + "IndividualPacketResult.%d.TestRespSN" % i] for i in range(1, 5)] == ["1", "2", "3", "4"]
    c = chain["echocfg"]
    assert (c[ECHOCFG + "PacketsReceived"], c[ECHOCFG + "PacketsResponded"]) == ("4", "4")
    assert c[ECHOCFG + "BytesReceived"] == str(4 * 24)


def test_server_selection_picks_the_near_host(chain):
    r = chain["select"]
    assert r[SEL + "DiagnosticsState"] == "Complete"
    assert r[SEL + "FastestHost"] == "10.77.1.1"
    assert int(r[SEL + "AverageResponseTime"]) < DELAY_MS * 1000
