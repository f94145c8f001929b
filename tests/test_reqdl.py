"""RequestDownload (TR-069 A.4.2.2) asked for on the control socket, over
real sessions with the loopback ACS, validated against cwmp-1-2.xsd."""

import os
import subprocess
import sys

import pytest

from cwmpschema import validate
from rocket.owner import ctl
from transfer_util import assert_idle, drive, ended, events_of, tc_requests


def agent(make_agent, acs):
    return make_agent(acs.url, once=False, acs={"periodic_inform_enable": "false"})


def control(a):
    return [s for s in a.services if isinstance(s, ctl.ControlServer)][0]


def quiet(a):
    return not a.in_session and a.session_timer is None


def envelope_of(acs, text):
    """The whole POST body of a CPE request (validate wants the envelope)."""
    return [x.request for s in acs.sessions for x in s.exchanges if x.request.decode() == text][0]


def test_ctl_request_download_reaches_the_acs(acs, make_agent, pyz):
    a = agent(make_agent, acs)
    drive(a, lambda: len(ended(acs)) == 1 and quiet(a))
    sock = os.path.join(a.state.path, "rocket.sock")
    p = subprocess.Popen([sys.executable, "-I", "-S", pyz, "ctl", "--socket", sock, "request-download",
                          "3 Vendor Configuration File", "profile=office & <home>", "slot=2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    drive(a, lambda: p.poll() is not None, start=False)
    assert p.returncode == 0 and p.stdout.read() == "queued 1\n", p.stderr.read()
    drive(a, lambda: len(ended(acs)) == 2 and quiet(a), start=False)
    s = acs.sessions[1]
    assert ("9 REQUEST DOWNLOAD", "") in events_of(s.inform)
    (req,) = tc_requests(acs, "RequestDownload")
    ns, rpc = validate(envelope_of(acs, req), "RequestDownload", "cwmp-1-2.xsd")
    assert rpc.findtext("FileType") == "3 Vendor Configuration File"
    args = [(x.findtext("Name"), x.findtext("Value")) for x in rpc.find("FileTypeArg")]
    assert args == [("profile", "office & <home>"), ("slot", "2")]
    assert not a.events.has("9 REQUEST DOWNLOAD")  # delivered by the RequestDownloadResponse
    assert_idle(a)
    assert len(acs.sessions) == 2


def test_event_stays_until_the_response_and_survives_a_restart(acs, make_agent):
    a = agent(make_agent, acs)
    drive(a, lambda: len(ended(acs)) == 1 and quiet(a))
    acs.status_override = (503, b"busy")  # the next session fails before the request goes out
    assert control(a).handle(b"request-download 1 Firmware Upgrade Image").startswith("ok\nqueued 1")
    drive(a, lambda: a.retry_timer is not None and quiet(a), start=False)
    assert a.events.has("9 REQUEST DOWNLOAD")
    a.stop()
    acs.status_override = None
    b = agent(make_agent, acs)  # restart: the request and its event were kept
    drive(b, lambda: len(ended(acs)) == 2 and quiet(b))
    (req,) = tc_requests(acs, "RequestDownload")
    assert "<FileType>1 Firmware Upgrade Image</FileType>" in req and "ArgStruct[0]" in req
    assert ("9 REQUEST DOWNLOAD", "") in events_of(acs.sessions[1].inform)
    assert not b.events.has("9 REQUEST DOWNLOAD")


def test_refused_request_is_dropped_after_five_sessions(acs, make_agent):
    a = agent(make_agent, acs)
    drive(a, lambda: len(ended(acs)) == 1 and quiet(a))
    acs.fault_8005 = 1000  # every RequestDownload is refused (8005 beyond the resend limit)
    assert control(a).handle(b"request-download X 00AA11 Blob").startswith("ok")
    for n in range(2, 7):
        drive(a, lambda: len(ended(acs)) == n and quiet(a), start=False)
        if n < 6:
            assert a.events.has("9 REQUEST DOWNLOAD")
            a.request_session()
    assert not a.events.has("9 REQUEST DOWNLOAD")
    assert a.state.load("reqdl", {})["reqs"] == []


@pytest.mark.parametrize("line,why", [
    (b"request-download", "usage"),
    (b"request-download Firmware", "usage"),
    (b"request-download 1 Firmware Upgrade Image\tnovalue", "NAME=VALUE"),
    (b"request-download 1 Firmware Upgrade Image\t" + b"\t".join(b"a%d=1" % i for i in range(17)), "16"),
    (b"request-download 1 Firmware Upgrade Image\tk=" + b"v" * 257, "NAME=VALUE"),
])
def test_bad_requests_are_refused(acs, make_agent, line, why):
    a = agent(make_agent, acs)
    answer = control(a).handle(line)
    assert answer.startswith("error:") and why in answer, answer
    assert not a.events.has("9 REQUEST DOWNLOAD")


def test_at_most_four_wait(acs, make_agent):
    a = agent(make_agent, acs)
    c = control(a)
    for i in range(4):
        assert c.handle(b"request-download 2 Web Content").startswith("ok")
    assert "already wait" in c.handle(b"request-download 2 Web Content")
