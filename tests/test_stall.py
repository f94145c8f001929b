"""A stalled ACS never freezes the agent: a connection request is answered and
nested-safe timers keep firing while the session waits at each step (DNS,
connect, TLS handshake, response headers, body). Real sockets, a real
silent DNS server; timing bounds are hang guards only."""

import threading
import time

import pytest

from crclient import connection_request, wait_for
from dnsserver import DnsServer
from stallpeers import STEPS, Stall, stall_hook

USER, PW = "cr-user", "cr-pass"


class Running:
    """The agent's loop in a thread; the test plays the ACS and its peers."""

    def __init__(self, agent):
        self.agent = agent
        self.done = threading.Event()
        agent.start()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        loop = self.agent.loop
        while not self.done.is_set() and not loop.stopping:
            loop.run_once(max_wait=0.05)

    @property
    def url(self):
        return self.agent.model.value(self.agent.model.ms("ConnectionRequestURL"))

    def close(self):
        self.done.set()
        self.agent.loop.stop()
        self.thread.join(60)
        self.agent.stop()


@pytest.mark.parametrize("step", STEPS)
def test_connection_request_answered_while_the_acs_stalls(acs, make_agent, tmp_path, step):
    if step == "dns" and not DnsServer.available():
        pytest.skip("a silent DNS server on 127.53.x.y:53 needs root")
    release = threading.Event()
    stall = Stall(step, tmp_path, acs.server.server_address[1])
    if step in ("headers", "body"):
        acs.hook = stall_hook(step, release)
    agent = make_agent(stall.url, once=False, dns=stall.dns_conf(),
                       acs={"session_timeout": "4", "periodic_inform_enable": "false"})
    ticks = []

    def tick():
        ticks.append(time.monotonic())
        agent.loop.call_later(0.1, tick, "test-tick", nested=True)
    agent.loop.call_later(0.1, tick, "test-tick", nested=True)
    r = Running(agent)
    try:
        assert wait_for(lambda: agent.in_session and r.url, timeout=20)
        if step in ("headers", "body"):
            assert wait_for(lambda: acs.requests, timeout=20)
        time.sleep(0.3)  # well inside the stall
        before = len(ticks)
        assert connection_request(r.url, USER, PW) == 200
        assert connection_request(r.url, USER, "wrong") == 401
        # nested-safe timers fire during the session...
        assert wait_for(lambda: len(ticks) - before >= 3, timeout=3)
        assert agent.in_session and agent.last_result is None  # ...that still waits
        if step == "dns":
            assert stall.dns.questions  # it did ask the (silent) server
    finally:
        release.set()
        r.close()
        stall.close()
