"""The fleet simulator (rocket.sim) against the in-repo ACS over loopback:
50 devices, each with its own DeviceId, state, connection-request path and
credentials, on one shared tree."""

import random
import re
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import DEVICES
from fileserver import FileServer
from rocket.base.config import Config
from rocket.devacs import Acs
from rocket.net.loop import Loop
from rocket.sim.fleet import Fleet
from rocket.sim.report import Stats
from rocket.sim.tree import Template

N = 50


def gpv(*names):
    items = "".join("<string>%s</string>" % n for n in names)
    return ('<cwmp:GetParameterValues><ParameterNames soap-enc:arrayType="xsd:string[%d]">%s</ParameterNames>'
            '</cwmp:GetParameterValues>' % (len(names), items))


def spv(name, value, key):
    return ('<cwmp:SetParameterValues><ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[1]">'
            '<ParameterValueStruct><Name>%s</Name><Value xsi:type="xsd:string">%s</Value></ParameterValueStruct>'
            '</ParameterList><ParameterKey>%s</ParameterKey></cwmp:SetParameterValues>' % (name, value, key))


def values(reply):
    return dict(re.findall(rb"<Name>([^<]*)</Name><Value[^>]*>([^<]*)</Value>", reply))


class Harness:
    """A devacs ACS with a queue of RPCs per serial number, and a fleet run
    by the test's thread while an operator thread plays the ACS team."""

    def __init__(self, cfg_extra=(), model=None, count=N, **kw):
        self.acs = Acs()
        self.acs.server.socket.listen(128)  # socketserver's 5 would drop the boot's SYNs (1 s retransmits)
        # its head and body go out in two writes: without TCP_NODELAY the body waits for our delayed ACK
        self.acs.server.RequestHandlerClass.disable_nagle_algorithm = True
        self.acs.start()
        self.plan = {}  # serial -> [rpc]
        self.acs.hook = self._hook
        cfg = Config()
        cfg.set("acs", "url", self.acs.url)
        cfg.set("acs", "username", "cpe")
        cfg.set("acs", "password", "secret")
        cfg.set("connection_request", "password", "cr-{serial}")
        for sec, k, v in cfg_extra:
            cfg.set(sec, k, v)
        self.acs.auth = ("digest", "cpe", "secret")
        self.loop = Loop()
        self.stats = Stats(self.loop)
        self.fleet = Fleet(cfg, [Template(cfg, model)], count, self.loop, rng=random.Random(7), stats=self.stats,
                           **kw)

    def _hook(self, acs, h, body):
        if b"<cwmp:Inform>" in body and h.headers.get("Authorization"):  # past the challenge
            s = re.search(rb"<SerialNumber>([^<]*)<", body).group(1).decode()
            acs.queue = self.plan.pop(s, [])
        return False

    def informs(self, serial):
        return [s for s in list(self.acs.sessions) if "<SerialNumber>%s<" % serial in s.inform]

    def run(self, operator, timeout=60.0):
        """Run the loop until ``operator()`` (in a thread) returns."""
        err = []
        done = threading.Event()

        def body():
            try:
                operator()
            except BaseException as e:  # reported in the test's thread
                err.append(e)
            finally:
                done.set()
        threading.Thread(target=body, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not done.is_set() and time.monotonic() < deadline:
            self.loop.run_once(0.05)
        if err:
            raise err[0]
        assert done.is_set(), "operator did not finish in %s s" % timeout

    def wait(self, cond, timeout=30.0):
        deadline = time.monotonic() + timeout
        while not cond():
            assert time.monotonic() < deadline, "condition not met in %s s" % timeout
            time.sleep(0.01)

    def close(self):
        self.fleet.stop()
        self.acs.stop()


def cr(url, user, password):
    mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    mgr.add_password(None, url, user, password)
    opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(mgr))
    try:
        return opener.open(url, timeout=5).status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.fixture
def fleet():
    h = Harness(reboot_time=0.3)
    try:
        yield h
    finally:
        h.close()


def test_fleet_of_50(fleet):
    h = fleet
    h.fleet.start()
    serials = [h.fleet.serial(d) for d in h.fleet.devices]
    assert len(set(serials)) == N and serials[0] == "SIM000001"
    h.loop.run(until=lambda: h.stats.all_served is not None or h.loop.clock() > h.stats.t0 + 15)
    assert h.stats.all_served is not None
    # every device registered once, with its own DeviceId and a BOOTSTRAP + BOOT
    for s in serials:
        (sess,) = h.informs(s)
        assert re.findall(r"<EventCode>([^<]*)<", sess.inform) == ["0 BOOTSTRAP", "1 BOOT"]
        assert "/%s</Value>" % s in sess.inform  # its own ConnectionRequestURL
    urls = {s: re.search(r"ConnectionRequestURL</Name><Value[^>]*>([^<]*)<", h.informs(s)[0].inform).group(1)
            for s in serials}
    ssid = "Device.WiFi.SSID.1.SSID"
    stats = "Device.Ethernet.Interface.1.Stats.BytesSent"

    def operator():
        for i, s in enumerate(serials):
            h.plan[s] = [gpv("Device.DeviceInfo.SerialNumber", ssid, stats, "Device.ManagementServer.ParameterKey"),
                         spv(ssid, "net-" + s, "key-%d" % i), gpv(ssid, "Device.ManagementServer.ParameterKey")]
            other = serials[(i + 1) % N]
            assert cr(urls[s], other, "cr-" + other) == 401  # another device's credentials
            assert cr(urls[s], s, "cr-" + s) == 200
            h.wait(lambda: len(h.informs(s)) == 2 and h.informs(s)[1].ended)
            sess = h.informs(s)[1]
            assert re.findall(r"<EventCode>([^<]*)<", sess.inform) == ["6 CONNECTION REQUEST"]
            (_, a1), (_, a2), (_, a3) = sess.answers
            v1 = values(a1)
            assert v1[b"Device.DeviceInfo.SerialNumber"] == s.encode()
            assert v1[ssid.encode()] == b"rocket-1"  # the shared default, not a neighbour's write
            assert b"<Status>0</Status>" in a2
            assert values(a3) == {ssid.encode(): ("net-" + s).encode(),
                                  b"Device.ManagementServer.ParameterKey": b"key-%d" % i}
        # a wrong path, and a path of nobody
        base = urls[serials[0]].rsplit("/", 1)[0]
        assert cr(base + "/nobody", "x", "y") == 404
        # reboot five devices, factory-reset one: gone, then back with the right events
        for s in serials[:5]:
            h.plan[s] = ['<cwmp:Reboot><CommandKey>rb-%s</CommandKey></cwmp:Reboot>' % s]
            assert cr(urls[s], s, "cr-" + s) == 200
        h.plan[serials[5]] = ["<cwmp:FactoryReset></cwmp:FactoryReset>"]
        assert cr(urls[serials[5]], serials[5], "cr-" + serials[5]) == 200
        for s in serials[:6]:
            h.wait(lambda: len(h.informs(s)) == 4 and h.informs(s)[3].ended)
        for s in serials[:5]:
            assert re.findall(r"<EventCode>([^<]*)</EventCode><CommandKey>([^<]*)<", h.informs(s)[3].inform) == [
                ("1 BOOT", ""), ("M Reboot", "rb-" + s)]
        assert re.findall(r"<EventCode>([^<]*)<", h.informs(serials[5])[3].inform) == ["0 BOOTSTRAP", "1 BOOT"]
        # the reset device forgot the ACS's write; a rebooted one kept it
        for s, want in ((serials[5], "rocket-1"), (serials[0], "net-" + serials[0])):
            h.plan[s] = [gpv(ssid)]
            assert cr(urls[s], s, "cr-" + s) == 200
            h.wait(lambda: len(h.informs(s)) == 5 and h.informs(s)[4].ended)
            assert values(h.informs(s)[4].answers[0][1])[ssid.encode()] == want.encode()

    h.run(operator, timeout=90)
    summary = h.fleet.stop()
    assert summary["failed"] == 0 and summary["counts"]["reboots"] == 6
    assert summary["counts"]["connection_requests_refused"] >= N  # urllib tries again after a 401


def test_values_move_and_transfers_complete():
    files = FileServer().start()
    files.files["/fw.bin"] = 100000
    h = Harness(count=3, time_scale=1000.0, cfg_extra=[("notify", "poll_interval", "60")])
    try:
        h.fleet.start()
        h.loop.run(until=lambda: h.stats.all_served is not None or h.loop.clock() > h.stats.t0 + 10)
        s = h.fleet.serial(h.fleet.devices[1])
        url = re.search(r"ConnectionRequestURL</Name><Value[^>]*>([^<]*)<", h.informs(s)[0].inform).group(1)
        up = "Device.DeviceInfo.UpTime"
        ctr = "Device.Ethernet.Interface.2.Stats.PacketsReceived"

        def operator():
            h.plan[s] = [gpv(up, ctr),
                         '<cwmp:Download><CommandKey>dl1</CommandKey><FileType>1 Firmware Upgrade Image</FileType>'
                         '<URL>%s</URL><Username></Username><Password></Password><FileSize>0</FileSize>'
                         '<TargetFileName></TargetFileName><DelaySeconds>0</DelaySeconds><SuccessURL></SuccessURL>'
                         '<FailureURL></FailureURL></cwmp:Download>' % files.url("/fw.bin"),
                         '<cwmp:Upload><CommandKey>ul1</CommandKey><FileType>3 Vendor Configuration File</FileType>'
                         '<URL>%s</URL><Username></Username><Password></Password><DelaySeconds>0</DelaySeconds>'
                         '</cwmp:Upload>' % files.url("/up/" + s).replace("127.0.0.1", "localhost"),  # a name
                         '<cwmp:AddObject><ObjectName>Device.Ethernet.Interface.</ObjectName>'
                         '<ParameterKey>a</ParameterKey></cwmp:AddObject>']
            assert cr(url, s, "cr-" + s) == 200
            # two TransferCompletes, one per transfer, each with its events until acknowledged
            h.wait(lambda: sum(len(x.cpe_requests) for x in h.informs(s)) >= 2)
            tcs = [r for x in h.informs(s) for r in x.cpe_requests]
            assert all("<FaultCode>0</FaultCode>" in t for t in tcs)
            assert sorted(re.search(r"<CommandKey>([^<]*)<", t).group(1) for t in tcs) == ["dl1", "ul1"]
            assert files.uploads["/up/" + s].startswith(b"simulated upload from " + s.encode())
            events = " ".join(x.inform for x in h.informs(s)[2:])
            assert "7 TRANSFER COMPLETE" in events and "M Download" in events and "M Upload" in events
            time.sleep(0.05)
            h.plan[s] = [gpv(up, ctr, "Device.Ethernet.Interface.5.Stats.PacketsReceived"),
                         '<cwmp:GetParameterNames><ParameterPath>Device.Ethernet.Interface.</ParameterPath>'
                         '<NextLevel>true</NextLevel></cwmp:GetParameterNames>']
            n = len(h.informs(s))
            assert cr(url, s, "cr-" + s) == 200
            h.wait(lambda: len(h.informs(s)) > n and h.informs(s)[-1].ended)
            first = values(h.informs(s)[1].answers[0][1])
            later = h.informs(s)[-1].answers
            second = values(later[0][1])
            assert int(second[up.encode()]) > int(first[up.encode()])  # uptime grows
            assert int(second[ctr.encode()]) > int(first[ctr.encode()])  # counters advance
            assert second[b"Device.Ethernet.Interface.5.Stats.PacketsReceived"] == b"0"  # the added instance
            names = re.findall(rb"<Name>([^<]*)</Name>", later[1][1])
            assert b"Device.Ethernet.Interface.5." in names and len(names) == 5

            # an active notification on a counter: a session of its own with "4 VALUE CHANGE";
            # UpTime may not be active (9009), as on the agent
            spa = ('<cwmp:SetParameterAttributes><ParameterList soap-enc:arrayType="cwmp:SetParameterAttributesStruct[1]">'
                   '<SetParameterAttributesStruct><Name>%s</Name><NotificationChange>1</NotificationChange>'
                   '<Notification>2</Notification><AccessListChange>0</AccessListChange><AccessList></AccessList>'
                   '</SetParameterAttributesStruct></ParameterList></cwmp:SetParameterAttributes>')
            h.plan[s] = [spa % up, spa % ctr]
            n = len(h.informs(s))
            assert cr(url, s, "cr-" + s) == 200
            h.wait(lambda: len(h.informs(s)) > n and h.informs(s)[n].ended)
            (_, a1), (_, a2) = h.informs(s)[n].answers
            assert b"<FaultCode>9009</FaultCode>" in a1 and b"SetParameterAttributesResponse" in a2
            h.wait(lambda: len(h.informs(s)) > n + 1)
            vc = h.informs(s)[n + 1].inform
            assert re.findall(r"<EventCode>([^<]*)<", vc) == ["4 VALUE CHANGE"] and ctr in vc

        h.run(operator)
    finally:
        h.close()
        files.stop()


def test_model_from_a_device_dump():
    model = DEVICES + "/data_model_202BC1-BM632w-8KA8WA1151100043.csv"
    t = Template(Config(), model)
    assert t.device_id[2] == "BM632w" and t.root == "InternetGatewayDevice."
    assert len(t.store) > 900


def test_command_line_wrong_passwords_retry_and_report(tmp_path):
    """`rocket sim` with a share of wrong ACS passwords: those devices retry
    with a growing RetryCount and never get in; the others are served; the
    figures land in the JSON-lines report."""
    import json
    import os
    import subprocess
    import sys
    from conftest import ROOT
    from rocket.sim.fleet import _pick
    acs = Acs().start()
    acs.auth = ("digest", "cpe", "secret")
    try:
        conf = tmp_path / "sim.conf"
        conf.write_text("[acs]\nurl = %s\nusername = cpe\npassword = secret\n[connection_request]\nport = 0\n"
                        % acs.url)
        report = tmp_path / "run.jsonl"
        r = subprocess.run([sys.executable, "-m", "rocket", "sim", "-c", str(conf), "--count", "20",
                            "--wrong-password", "0.2", "--time-scale", "100", "--duration", "3",
                            "--stats-interval", "0.5", "--report", str(report), "--serial-prefix", "T"],
                           cwd=ROOT, capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, PYTHONPATH=ROOT))
        assert r.returncode == 0, r.stderr
        wrong = [n for n in range(20) if _pick(n, 0.2, 1)]
        assert 0 < len(wrong) < 20
        rows = [json.loads(x) for x in report.read_text().splitlines()]
        summary = rows[-1]
        assert summary["kind"] == "summary" and all(x["kind"] == "interval" for x in rows[:-1]) and len(rows) >= 5
        assert summary["served"] == 20 - len(wrong)
        assert summary["failed"] >= 3 * len(wrong)  # each tried again and again
        assert list(summary["failures"]) == ["authentication failed (second 401 for the same message)"]
        assert "sim: summary elapsed_s=" in r.stderr and " served=%d " % (20 - len(wrong)) in r.stderr
        bad = "T%06d" % (wrong[0] + 1)
        counts = [int(m) for q in acs.requests if ("<SerialNumber>%s<" % bad).encode() in q.body
                  for m in re.findall(rb"<RetryCount>(\d+)<", q.body)]
        assert max(counts) >= 3 and counts == sorted(counts)
    finally:
        acs.stop()


def test_silent_acs_times_out_and_retries():
    """An ACS that accepts and never answers: each session fails after the
    session timeout, and the device waits the retry interval."""
    import socket
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    try:
        cfg = Config()
        cfg.set("acs", "url", "http://127.0.0.1:%d/acs" % srv.getsockname()[1])
        cfg.set("acs", "session_timeout", "1")
        loop = Loop()
        f = Fleet(cfg, [Template(cfg)], 2, loop, rng=random.Random(3), time_scale=1000.0)
        f.start()
        loop.run(until=lambda: f.stats.counts["failed"] >= 4 or loop.clock() > f.stats.t0 + 30)
        s = f.stop()
        assert s["failed"] >= 4 and s["ok"] == 0 and s["retries"] >= 2
        assert list(s["failures"]) == ["no answer from 127.0.0.1:%d within 1 s" % srv.getsockname()[1]]
        assert all(d.retry >= 1 for d in f.devices)
    finally:
        srv.close()


def test_https_acs(tmp_path):
    """HTTPS to the ACS: the CA from [acs] ca_file, Digest inside the TLS
    connection; a CA that did not sign the ACS's certificate fails every session."""
    import ssl
    import trustme
    ca = trustme.CA()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    acs = Acs(tls_context=ctx).start()
    acs.auth = ("digest", "cpe", "secret")
    try:
        for signer, good in ((ca, True), (trustme.CA(), False)):
            pem = tmp_path / "ca.pem"
            signer.cert_pem.write_to_path(str(pem))
            cfg = Config()
            for k, v in (("url", acs.url), ("ca_file", str(pem)), ("username", "cpe"), ("password", "secret")):
                cfg.set("acs", k, v)
            loop = Loop()
            f = Fleet(cfg, [Template(cfg)], 5, loop, rng=random.Random(5))
            f.start()
            loop.run(until=lambda: f.stats.counts["sessions"] >= 5 or loop.clock() > f.stats.t0 + 10)
            s = f.stop()
            if good:
                assert s["ok"] == 5 and s["served"] == 5
            else:
                assert s["failed"] == 5 and "CERTIFICATE_VERIFY_FAILED" in list(s["failures"])[0]
        assert acs.url.startswith("https://") and len([x for x in acs.sessions if x.inform]) == 5
    finally:
        acs.stop()


def test_state_dir_keeps_provisioning(tmp_path):
    """With a state directory, a second run of the same fleet is a reboot of
    provisioned devices: "1 BOOT" (no BOOTSTRAP), their ParameterKey and values."""
    acs = Acs().start()
    try:
        cfg = Config()
        cfg.set("acs", "url", acs.url)
        for run in (1, 2):
            loop = Loop()
            f = Fleet(cfg, [Template(cfg)], 3, loop, rng=random.Random(run), state_dir=str(tmp_path))
            f.start()
            loop.run(until=lambda: f.stats.all_served is not None or loop.clock() > f.stats.t0 + 10)
            if run == 1:
                d = f.devices[0]
                d.key, d.vals = "k1", {"Device.WiFi.SSID.1.SSID": "kept"}
            f.stop()
        second = acs.sessions[3:]
        assert len(second) == 3
        assert all(re.findall(r"<EventCode>([^<]*)<", x.inform) == ["1 BOOT"] for x in second)
        first = [x for x in second if "<SerialNumber>SIM000001<" in x.inform][0]
        assert re.search(r"ParameterKey</Name><Value[^>]*>k1<", first.inform)
        assert f.view(f.devices[0]).value("Device.WiFi.SSID.1.SSID") == "kept"
    finally:
        acs.stop()


def test_power_restore_spread_and_slow_answers():
    """--boot-within spreads the first Informs over that (simulated) time;
    a slow device answers each ACS request that much later."""
    h = Harness(count=20, boot_within=100.0, time_scale=100.0, slow=1.0, slow_delay=0.3)
    try:
        h.acs.queue = []
        t0 = time.monotonic()
        h.fleet.start()
        h.loop.run(until=lambda: h.stats.all_served is not None or h.loop.clock() > h.stats.t0 + 10)
        starts = sorted(s.started for s in h.acs.sessions)
        assert len(starts) == 20
        assert starts[-1] - starts[0] > 0.5 and starts[-1] - t0 < 10  # 100 simulated s = 1 s
        s = h.fleet.serial(h.fleet.devices[0])
        url = re.search(r"ConnectionRequestURL</Name><Value[^>]*>([^<]*)<", h.informs(s)[0].inform).group(1)

        def operator():
            h.plan[s] = [gpv("Device.DeviceInfo.SerialNumber")]
            assert cr(url, s, "cr-" + s) == 200
            h.wait(lambda: len(h.informs(s)) == 2 and h.informs(s)[1].ended)
            x = h.informs(s)[1]
            assert x.finished - x.started >= 0.3 and len(x.answers) == 1
        h.run(operator)
    finally:
        h.close()


def test_steady_periodic_schedule():
    """Every device informs "2 PERIODIC" every PeriodicInformInterval (here
    50 simulated s = 0.5 s), each at its own phase."""
    h = Harness(count=5, cfg_extra=[("acs", "periodic_inform_interval", "50")], time_scale=100.0)
    try:
        h.fleet.start()
        h.loop.run(until=lambda: h.loop.clock() > h.stats.t0 + 2.2)
        for d in h.fleet.devices:
            periodic = [x.started for x in h.informs(h.fleet.serial(d)) if "2 PERIODIC" in x.inform]
            assert 2 <= len(periodic) <= 5
            gaps = [b - a for a, b in zip(periodic, periodic[1:])]
            assert all(0.3 < g < 1.5 for g in gaps), gaps  # 0.5 s (not 50), give or take a busy machine
    finally:
        h.close()
