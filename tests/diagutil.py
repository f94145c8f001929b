"""Helpers for the diagnostics tests: an ACS that follows a script, one step
per session, and readers for its answers."""

import re
import time

from rocket.devacs import Acs, build_rpc, parse_values


class ScriptedAcs(Acs):
    """The first session, and each session whose Inform carries "8
    DIAGNOSTICS COMPLETE", gets the RPCs of the next step of ``script``
    (other sessions get none). A step may be a callable, run when that
    Inform arrives, returning the RPC list (so the test can change the
    network between two tests)."""

    def __init__(self, script, **kw):
        self.script = list(script)
        self.steps = 0
        self.force = False
        super().__init__(**kw)

    def push(self, rpcs):
        """The next session, whatever its events, gets ``rpcs``."""
        self.script[self.steps:] = [rpcs]
        self.force = True

    @property
    def queue(self):
        body = self.requests[-1].body if self.requests else b""
        if self.steps and not self.force and b"8 DIAGNOSTICS COMPLETE" not in body:
            return []
        self.force = False
        n = self.steps
        self.steps += 1
        step = self.script[n] if n < len(self.script) else []
        return step() if callable(step) else list(step)

    @queue.setter
    def queue(self, value):
        pass


def spv(*pairs):
    """SetParameterValues RPC from (name, value[, type]) tuples."""
    return build_rpc("SetParameterValues", ["%s=%s:%s" % (p[0], p[1], p[2] if len(p) > 2 else "string")
                                            for p in pairs])


def gpv(*names):
    return build_rpc("GetParameterValues", list(names))


def events(sess):
    return re.findall(r"<EventCode>([^<]*)</EventCode>", sess.inform)


def answer(sess, i):
    """The CPE's reply (bytes) to the i-th RPC of ``sess``."""
    return sess.answers[i][1]


def values_of(sess, i):
    return parse_values(answer(sess, i))


def fault_codes(body):
    return [int(c) for c in re.findall(rb"<FaultCode>(\d+)</FaultCode>", body)]


def wait(cond, timeout=20.0, step=0.02):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True
