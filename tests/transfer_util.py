"""Helpers for the transfer tests: RPC builders, a loop driver, hooks."""

import os
import re
import stat
import time
from xml.sax.saxutils import escape as e


def download_rpc(url, file_type="1 Firmware Upgrade Image", key="dl", user="", password="", size=0,
                 target="", delay=0, method="Download", windows=None):
    inner = ("<CommandKey>%s</CommandKey><FileType>%s</FileType><URL>%s</URL><Username>%s</Username>"
             "<Password>%s</Password><FileSize>%d</FileSize><TargetFileName>%s</TargetFileName>"
             % (e(key), e(file_type), e(url), e(user), e(password), size, e(target)))
    if method == "Download":
        inner += "<DelaySeconds>%d</DelaySeconds><SuccessURL></SuccessURL><FailureURL></FailureURL>" % delay
    else:
        ws = "".join("<TimeWindowStruct><WindowStart>%d</WindowStart><WindowEnd>%d</WindowEnd>"
                     "<WindowMode>%s</WindowMode><UserMessage></UserMessage><MaxRetries>%d</MaxRetries>"
                     "</TimeWindowStruct>" % w for w in windows)
        inner += ('<TimeWindowList soap-enc:arrayType="cwmp:TimeWindowStruct[%d]">%s</TimeWindowList>'
                  % (len(windows), ws))
    return "<cwmp:%s>%s</cwmp:%s>" % (method, inner, method)


def upload_rpc(url, file_type="1 Vendor Configuration File", key="ul", user="", password="", delay=0):
    return ("<cwmp:Upload><CommandKey>%s</CommandKey><FileType>%s</FileType><URL>%s</URL>"
            "<Username>%s</Username><Password>%s</Password><DelaySeconds>%d</DelaySeconds></cwmp:Upload>"
            % (e(key), e(file_type), e(url), e(user), e(password), delay))


def simple_rpc(method, **args):
    inner = "".join("<%s>%s</%s>" % (k, e(str(v)), k) for k, v in args.items())
    return "<cwmp:%s>%s</cwmp:%s>" % (method, inner, method)


def events_of(inform):
    return re.findall(r"<EventStruct><EventCode>([^<]*)</EventCode><CommandKey>([^<]*)</CommandKey>", inform)


def fault_codes(text):
    return [int(x) for x in re.findall(r"<FaultCode>(\d+)</FaultCode>", text)]


def tc_requests(acs, name="TransferComplete"):
    out = []
    for s in acs.sessions:
        out.extend(r for r in s.cpe_requests if "<cwmp:%s>" % name in r)
    return out


def ended(acs):
    return [s for s in acs.sessions if s.ended]


def drive(agent, until, timeout=30, start=True):
    """Run the agent's loop until ``until()`` is true; fails the test when it
    is not by the deadline. Once the loop has stopped, only other threads (the
    ACS's) can still make it true: they get the rest of the time."""
    if start:
        agent.start()
    deadline = time.time() + timeout
    while not until():
        assert time.time() < deadline, "timed out waiting%s" % (
            " (the agent's loop has stopped)" if agent.loop.stopping else "")
        if agent.loop.stopping:
            time.sleep(0.01)
        else:
            agent.loop.run_once(max_wait=0.05)
    return True


def assert_idle(agent):
    """No session follows: after a turn of the loop for whatever is due now,
    no session runs and none is due."""
    agent.loop.run_once(max_wait=0)
    assert not agent.in_session and agent.session_timer is None


def settle(agent, seconds=0.3):
    end = time.time() + seconds
    while time.time() < end and not agent.loop.stopping:
        agent.loop.run_once(max_wait=0.05)


def hook(path, body):
    """Write an executable POSIX sh hook."""
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return str(path)
