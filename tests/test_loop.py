"""The loop: readers and writers, nested waits, nested-safe timers (real sockets)."""

import socket
import time

from rocket.net.loop import Loop


def pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


def test_reader_and_writer_on_one_socket():
    loop = Loop()
    a, b = pair()
    seen = []
    loop.add_writer(a, lambda: (seen.append("w"), loop.remove_writer(a)))
    loop.add_reader(a, lambda: (seen.append("r"), a.recv(10)))
    loop.run_once(max_wait=1)
    assert seen == ["w"]
    b.send(b"x")
    loop.run_once(max_wait=1)
    assert seen == ["w", "r"]
    loop.remove(a)
    b.send(b"y")
    loop.run_once(max_wait=0.05)
    assert seen == ["w", "r"]


def test_nested_wait_serves_nested_timers_and_readers_only():
    loop = Loop()
    a, b = pair()
    c, d = pair()
    ticks, top, nested_reads = [], [], []

    def tick():
        ticks.append(1)
        loop.call_later(0.02, tick, "tick", nested=True)
    loop.call_later(0.02, tick, "tick", nested=True)
    loop.call_later(0.02, lambda: top.append("timer"), "top")
    loop.add_reader(c, lambda: top.append("reader"))  # not nested-safe, and ready all along
    d.send(b"x")
    loop.add_reader(a, lambda: nested_reads.append(a.recv(10)), nested=True)
    b.send(b"hello")
    cpu = time.process_time()
    e, f = pair()
    assert loop.wait_io(e, False, loop.clock() + 0.5) is False  # nobody writes to f
    assert time.process_time() - cpu < 0.3  # the ready non-nested reader did not make it spin
    assert len(ticks) >= 10 and nested_reads == [b"hello"] and top == []
    loop.run_once(max_wait=0)
    assert "timer" in top and "reader" in top


def test_wait_nested_in_wait_returns_its_own_file():
    loop = Loop()
    outer_r, outer_w = pair()
    inner_r, inner_w = pair()
    got = []

    def inner():
        outer_w.send(b"o")  # the outer wait's file becomes ready first
        loop.call_later(0.05, lambda: inner_w.send(b"i"), nested=True)
        got.append(loop.wait_io(inner_r, False, loop.clock() + 2) and inner_r.recv(1))
    loop.call_later(0.01, inner, nested=True)
    assert loop.wait_io(outer_r, False, loop.clock() + 2)
    assert got == [b"i"] and outer_r.recv(1) == b"o"


def test_wait_until_and_deadline():
    loop = Loop()
    flag = []
    loop.call_later(0.05, lambda: flag.append(1), nested=True)
    assert loop.wait_until(lambda: flag, loop.clock() + 2)
    t0 = time.monotonic()
    assert not loop.wait_until(lambda: False, loop.clock() + 0.1)
    assert time.monotonic() - t0 < 2  # hang guard only
