"""UDP connection requests under abuse: malformed, replayed and flooded
datagrams start no session and cost bounded memory; a valid request sent
after the flood is still honoured."""

import random
import re
import socket
import threading
import time
import tracemalloc

from peers import run_until
from rocket.connreq import stun, udpcr
from rocket.devacs import udp_cr_message

U, P = "cr-user", "cr-pass"


def events_of(inform):
    return re.findall(r"<EventCode>([^<]*)</EventCode>", inform or "")


def malformed(port, rng):
    """About 1,500 datagrams that must all be dropped."""
    good = udp_cr_message("127.0.0.1", port, U, P, ts=int(time.time()), msg_id="m")
    out = [b"", b"GET", b"GET / HTTP/1.1\r\n\r\n", b"\x00" * 20, b"\xff" * 2048, good[:40],
           good.replace(b"HTTP/1.1", b"HTTP/2"), good.replace(b"GET ", b"POST "),
           good.replace(b"un=cr-user", b"un=other"), good.replace(b"ts=", b"ts=-"),
           good.replace(b"sig=", b"sig=0"), good.replace(b"&cn=", b"&cn=&cn="),
           good.replace(b"ts=", b"ts=99999999999999999999"), good.replace(b"id=m", b"id=" + b"x" * 300),
           good.replace(b"cr-user", "cr-üser".encode()), good + b"\x00" * 1000,
           udp_cr_message("127.0.0.1", port, U, "wrong", ts=int(time.time()), msg_id="w"),
           udp_cr_message("127.0.0.1", port, U, P, ts=int(time.time()) - 100000, msg_id="old"),
           udp_cr_message("127.0.0.1", port, U, P, ts=int(time.time()) + 100000, msg_id="future")]
    while len(out) < 1500:  # byte mutations of a valid request
        b = bytearray(good)
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        out.append(bytes(b))
    return out


def _agent(make_agent, acs):
    agent = make_agent(acs.url, boot=True, once=False,
                       udp_connection_request={"enable": "true", "port": "0", "address": "127.0.0.1"},
                       connection_request={"max_per_minute": "0"})
    agent.start()
    svc = [s for s in agent.services if isinstance(s, udpcr.UdpConnReq)][0]
    return agent, svc, svc.sock.getsockname()[1]


def send_all(port, datagrams, spacing=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for i, d in enumerate(datagrams):
            try:
                s.sendto(d, ("127.0.0.1", port))
            except OSError:
                pass  # EMSGSIZE and the like: the flood goes on
            if spacing and i % 50 == 0:
                time.sleep(spacing)
    finally:
        s.close()


def test_malformed_replayed_and_flooded_datagrams_start_no_session(acs, make_agent):
    agent, svc, port = _agent(make_agent, acs)
    try:
        assert run_until(agent, lambda: acs.sessions and not agent.in_session and not agent.events.pending)
        n = len(acs.sessions)
        # one valid request: one session
        now = int(time.time())
        valid = udp_cr_message("127.0.0.1", port, U, P, ts=now, msg_id="v1")
        send_all(port, [valid])
        assert run_until(agent, lambda: len(acs.sessions) == n + 1 and not agent.in_session)
        assert events_of(acs.sessions[n].inform) == ["6 CONNECTION REQUEST"]
        n += 1
        rng = random.Random(12)
        bad = malformed(port, rng)
        # the replay of the accepted request, many times; then a 20,000 datagram
        # flood of well-formed requests with wrong signatures and of replays
        flood = [valid] * 500 + [
            udp_cr_message("127.0.0.1", port, U, "guess%d" % i, ts=now + 1 + i, msg_id="f%d" % i)
            for i in range(19000)]
        # and spoofed STUN answers (no request of ours is outstanding)
        flood += [stun.binding_response(rng.randbytes(12) if hasattr(rng, "randbytes")
                                        else bytes(rng.randrange(256) for _ in range(12)),
                                        "203.0.113.%d" % (i % 250), 1000 + i) for i in range(500)]
        address = agent.model.value(agent.model.ms("UDPConnectionRequestAddress"))
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            t = threading.Thread(target=send_all, args=(port, bad + flood, 0.002), daemon=True)
            t.start()
            while t.is_alive():
                agent.loop.run_once(max_wait=0.01)
            for _ in range(50):
                agent.loop.run_once(max_wait=0.01)
            grown = tracemalloc.get_traced_memory()[0] - base
        finally:
            tracemalloc.stop()
        dropped = sum(svc.checker.dropped.values())
        assert dropped > 1000, svc.checker.dropped  # many went through the checker (the kernel drops the rest)
        assert svc.accepted == 1
        assert len(acs.sessions) == n and not agent.events.pending
        assert len(svc.checker.seen) <= svc.checker.max_ids
        assert len(svc.checker.dropped) < 16
        assert grown < 512 * 1024, grown
        # still honoured afterwards
        assert agent.model.value(agent.model.ms("UDPConnectionRequestAddress")) == address
        send_all(port, [udp_cr_message("127.0.0.1", port, U, P, ts=int(time.time()) + 1, msg_id="v2")])
        assert run_until(agent, lambda: len(acs.sessions) == n + 1 and not agent.in_session)
        assert events_of(acs.sessions[n].inform) == ["6 CONNECTION REQUEST"]
        assert svc.accepted == 2
    finally:
        agent.stop()
