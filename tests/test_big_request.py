"""A huge request cannot freeze the loop: more names than [acs] max_parameters
are refused (9004) before any work, and a big request that is allowed is
parsed, resolved and answered in slices that let the connection-request
listener answer meanwhile. (Latency figures: bench/big_request.py.)"""

import socket
import threading
import time

from rocket.devacs import build_rpc
from rocket.datamodel.store import Param


def test_more_names_than_max_parameters_is_9004_before_any_work(acs, make_agent):
    # names that do not exist: resolving even one of them would give 9005
    names = ["Device.Nope.%d" % i for i in range(150)]
    acs.queue = [build_rpc("GetParameterValues", names), build_rpc("GetParameterAttributes", names)]
    agent = make_agent(acs.url, acs={"max_parameters": 100})
    touched = []
    agent.model.checks.append(lambda op, n: touched.append(op))
    assert agent.run() == 0
    for _, reply in acs.sessions[-1].answers:
        assert b"<FaultCode>9004</FaultCode>" in reply, reply[:600]
    assert touched == []


def _probe(url_of, stop, out):
    """Connection requests without credentials (401 expected), one after the
    other, noting (sent, answered) times."""
    while not stop.is_set():
        url = url_of()
        if not url:
            time.sleep(0.01)
            continue
        host, _, rest = url[len("http://"):].partition("/")
        h, _, p = host.rpartition(":")
        t0 = time.monotonic()
        try:
            with socket.create_connection((h, int(p)), timeout=10) as s:
                s.sendall(b"GET /" + rest.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                got = s.recv(100)
        except OSError:
            continue
        out.append((t0, time.monotonic(), got[:12]))
        time.sleep(0.005)


def test_connection_request_answered_while_a_99000_name_gpv_is_handled(acs, make_agent):
    n = 99000
    agent = make_agent(acs.url)
    s = agent.model.store
    s.add_object("Device.X_T.")
    for i in range(1, n + 1):
        s.add_object("Device.X_T.%d." % i)
        s.add("Device.X_T.%d.P" % i, Param(str(i)))
    acs.queue = [build_rpc("GetParameterValues", ["Device.X_T.%d.P" % i for i in range(1, n + 1)])]
    window = []
    real = agent.rpc.handle

    def handle(msg, ns):
        window.append(time.monotonic())
        try:
            return real(msg, ns)
        finally:
            window.append(time.monotonic())
    agent.rpc.handle = handle
    ms = agent.model.ms("ConnectionRequestURL")
    stop = threading.Event()
    probes = []
    t = threading.Thread(target=_probe, args=(lambda: agent.model.value(ms), stop, probes), daemon=True)
    t.start()
    try:
        assert agent.run() == 0
    finally:
        stop.set()
        t.join(15)
    reply = acs.sessions[0].answers[0][1]
    assert reply.count(b"<ParameterValueStruct>") == n
    start, end = window[0], window[1]
    during = [p for p in probes if p[0] >= start and p[1] <= end]
    assert during, "no connection request was answered during the %.2f s of GPV work (%d probes)" % (
        end - start, len(probes))
    assert all(p[2].startswith(b"HTTP/1.1 401") for p in during), during[:3]
