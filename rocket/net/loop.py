"""The one event loop: sockets, timers, signals and child processes.

Single-threaded and built on ``selectors``. Two ways to use it:

- Top level (``run``): readers registered with ``add_reader`` are called when
  their file is readable; timers (``call_later``/``call_at``) run when due.
  When nothing is due the loop sleeps in ``select`` with the time to the next
  timer as its timeout, so an idle agent wakes up only for its timers.
- Nested (``wait_io``): code in the middle of a session (waiting for the ACS to
  answer, or for a backend script to print) waits for one file with a
  deadline. While it waits, the readers registered with ``nested=True`` (the
  connection-request listener, the control socket's accept) keep being
  served, so a slow ACS never freezes them. Timers do not run while nested:
  they fire when the session is over, except those made with
  ``nested=True`` (a measurement's probe clock), which run in both places.
  ``breathe`` serves the same readers without waiting, for long CPU work
  between its slices.

``run_process`` runs a child with its stdin fed and its stdout/stderr read
through ``wait_io``, under a deadline and an output cap; it never blocks
longer than its timeout and kills the whole process group when it is over.
"""

import heapq
import os
import selectors
import signal
import socket
import sys
import time


class Timer:
    __slots__ = ("when", "callback", "cancelled", "name", "nested")

    def __init__(self, when, callback, name="", nested=False):
        self.when = when
        self.callback = callback
        self.cancelled = False
        self.name = name
        self.nested = nested

    def cancel(self):
        self.cancelled = True

    def __lt__(self, other):
        return self.when < other.when


class ProcessResult:
    __slots__ = ("returncode", "stdout", "stderr", "timed_out", "truncated")

    def __init__(self, returncode, stdout, stderr, timed_out, truncated):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out
        self.truncated = truncated


class Loop:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.selector = selectors.DefaultSelector()
        self._timers = []
        self._readers = {}  # fileobj -> (callback, nested)
        self._stopping = False
        self._depth = 0
        self._signals = {}
        self._wake_r = self._wake_w = None

    # ------------------------------------------------------------ readers
    def add_reader(self, fileobj, callback, nested=False):
        """Call ``callback()`` whenever ``fileobj`` is readable."""
        self._readers[fileobj] = (callback, nested)
        self.selector.register(fileobj, selectors.EVENT_READ, fileobj)

    def add_writer(self, fileobj, callback, nested=False):
        """Call ``callback()`` whenever ``fileobj`` is writable. A file is
        either a reader or a writer: remove one before adding the other."""
        self._readers[fileobj] = (callback, nested)
        self.selector.register(fileobj, selectors.EVENT_WRITE, fileobj)

    def remove_reader(self, fileobj):
        if self._readers.pop(fileobj, None) is not None:
            try:
                self.selector.unregister(fileobj)
            except (KeyError, ValueError):
                pass

    remove_writer = remove_reader

    # ------------------------------------------------------------- timers
    def call_at(self, when, callback, name="", nested=False):
        t = Timer(when, callback, name, nested)
        heapq.heappush(self._timers, t)
        return t

    def call_later(self, delay, callback, name="", nested=False):
        return self.call_at(self.clock() + max(0.0, delay), callback, name, nested)

    def _nested_due(self):
        """While nested: run the due ``nested=True`` timers; the time to the next one."""
        now = self.clock()
        nxt = None
        for t in [t for t in self._timers if t.nested and not t.cancelled]:
            if t.when <= now:
                t.cancelled = True
                t.callback()
            elif nxt is None or t.when < nxt:
                nxt = t.when
        return None if nxt is None else nxt - now

    def next_timer(self):
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0] if self._timers else None

    def _run_due_timers(self):
        now = self.clock()
        while self._timers and (self._timers[0].cancelled or self._timers[0].when <= now):
            t = heapq.heappop(self._timers)
            if not t.cancelled:
                t.cancelled = True
                t.callback()
                if self._stopping:
                    return

    # ------------------------------------------------------------ signals
    def add_signal(self, signum, callback):
        """Run ``callback`` from the loop (not from the handler) on signal."""
        if self._wake_r is None:
            self._wake_r, self._wake_w = socket.socketpair()
            self._wake_r.setblocking(False)
            self._wake_w.setblocking(False)
            signal.set_wakeup_fd(self._wake_w.fileno())
            self.add_reader(self._wake_r, self._on_wakeup, nested=True)
        self._signals[signum] = callback
        signal.signal(signum, lambda s, f: None)

    def _on_wakeup(self):
        try:
            data = self._wake_r.recv(64)
        except OSError:
            return
        for b in data:
            cb = self._signals.get(b)
            if cb is not None:
                cb()

    # --------------------------------------------------------------- run
    def stop(self):
        self._stopping = True

    @property
    def stopping(self):
        return self._stopping

    def run(self, until=None):
        """Serve readers and timers until ``stop()`` (or ``until()`` is true)."""
        while not self._stopping and not (until and until()):
            self.run_once()

    def run_once(self, max_wait=None):
        t = self.next_timer()
        timeout = None if t is None else max(0.0, t.when - self.clock())
        if max_wait is not None:
            timeout = max_wait if timeout is None else min(timeout, max_wait)
        for key, _ in self.selector.select(timeout):
            entry = self._readers.get(key.data)
            if entry is not None:
                entry[0]()
                if self._stopping:
                    return
        self._run_due_timers()

    def wait_io(self, fileobj, write, deadline):
        """Wait until ``fileobj`` is readable (or writable); False on deadline.

        Nested-safe readers are served meanwhile. The file must not already
        be registered with this loop.
        """
        return self.wait_any((fileobj,), write, deadline) is not None

    def send_all(self, sock, data, deadline):
        """Write all of ``data`` to a non-blocking socket (plain or TLS),
        waiting through the loop; False when the deadline passed first."""
        view = memoryview(data)
        while view:
            try:
                view = view[sock.send(view):]
                continue
            except OSError as e:
                write = _wants(e, True)
                if write is None:
                    raise
            if not self.wait_io(sock, write, deadline):
                return False
        return True

    def recv_some(self, sock, n, deadline):
        """Up to ``n`` bytes from a non-blocking socket (b"" at EOF), waiting
        through the loop; None when the deadline passed first."""
        while True:
            try:
                return sock.recv(n)
            except OSError as e:
                write = _wants(e, False)
                if write is None:
                    raise
            if not self.wait_io(sock, write, deadline):
                return None

    def wait_any(self, fileobjs, write, deadline):
        """Like wait_io for several files; returns the ready one or None."""
        ev = selectors.EVENT_WRITE if write else selectors.EVENT_READ
        mine = []
        for f in fileobjs:
            self.selector.register(f, ev, ("wait", f))
            mine.append(f)
        self._depth += 1
        try:
            while True:
                remaining = deadline - self.clock()
                if remaining <= 0:
                    return None
                nt = self._nested_due()
                for key, _ in self.selector.select(remaining if nt is None else min(nt, remaining)):
                    if isinstance(key.data, tuple):
                        return key.data[1]
                    entry = self._readers.get(key.data)
                    if entry is not None and entry[1]:
                        entry[0]()
                # Readers that may not run nested stay registered: back off a
                # little so a pending one cannot make this a busy loop.
                if self._has_blocked_ready():
                    time.sleep(0.01)
        finally:
            self._depth -= 1
            for f in mine:
                self.selector.unregister(f)

    def breathe(self):
        """Serve the nested-safe readers that are ready now, without waiting:
        long CPU work (a 100,000-name request) calls this between slices so
        the connection-request listener keeps answering."""
        self._depth += 1
        try:
            for key, _ in self.selector.select(0):
                entry = self._readers.get(key.data) if not isinstance(key.data, tuple) else None
                if entry is not None and entry[1]:
                    entry[0]()
            self._nested_due()
        finally:
            self._depth -= 1

    def breather(self, interval=0.005):
        """A callable for a long loop's every step: ``breathe()`` at most
        every ``interval`` seconds (a clock read otherwise)."""
        clock = self.clock
        due = [clock() + interval]

        def step():
            now = clock()
            if now >= due[0]:
                self.breathe()
                due[0] = clock() + interval
        return step

    def _has_blocked_ready(self):
        for key, _ in self.selector.select(0):
            if not isinstance(key.data, tuple):
                entry = self._readers.get(key.data)
                if entry is not None and not entry[1]:
                    return True
        return False

    @property
    def nested(self):
        return self._depth > 0

    # ---------------------------------------------------------- processes
    def run_process(self, argv, stdin=b"", timeout=10.0, max_output=4 * 1024 * 1024, env=None,
                    cwd=None):
        """Run ``argv`` to completion without blocking the loop's listeners.

        Returns a ProcessResult; never raises for a failing child (OSError
        from exec is reported as returncode 127 with the error in stderr).
        """
        import subprocess
        deadline = self.clock() + timeout
        try:
            p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env, cwd=cwd, close_fds=True,
                                 start_new_session=True)
        except OSError as e:
            return ProcessResult(127, b"", str(e).encode(), False, False)
        out, err = [], []
        sizes = [0, 0]
        truncated = timed_out = False
        pending = memoryview(stdin)
        streams = {p.stdout: (out, 0), p.stderr: (err, 1)}
        for f in (p.stdin, p.stdout, p.stderr):
            os.set_blocking(f.fileno(), False)
        if not pending:
            p.stdin.close()
        try:
            while streams or not p.stdin.closed:
                if not p.stdin.closed:
                    if not self.wait_io(p.stdin, True, deadline):
                        timed_out = True
                        break
                    try:
                        n = os.write(p.stdin.fileno(), pending[:65536])
                    except BrokenPipeError:
                        n = len(pending)
                    pending = pending[n:]
                    if not pending:
                        p.stdin.close()
                    continue
                f = self.wait_any(list(streams), False, deadline)
                if f is None:
                    timed_out = True
                    break
                chunk = os.read(f.fileno(), 65536)
                if not chunk:
                    del streams[f]
                    continue
                buf, i = streams[f]
                sizes[i] += len(chunk)
                if sizes[i] > max_output:
                    truncated = True
                    break
                buf.append(chunk)
        finally:
            if not p.stdin.closed:
                p.stdin.close()
        if timed_out or truncated:
            _kill_group(p)
        rc = None
        while rc is None:
            rc = p.poll()
            if rc is None:
                if self.clock() > deadline + 2:
                    _kill_group(p)
                time.sleep(0.005)
        p.stdout.close()
        p.stderr.close()
        return ProcessResult(rc, b"".join(out), b"".join(err), timed_out, truncated)


def _wants(err, default):
    """For an OSError of a non-blocking socket call: True to wait for
    writability, False for readability, None when it is a real error."""
    if isinstance(err, (BlockingIOError, InterruptedError)):
        return default
    ssl = sys.modules.get("ssl")  # loaded if the socket is a TLS one
    if ssl is not None:
        if isinstance(err, ssl.SSLWantReadError):
            return False
        if isinstance(err, ssl.SSLWantWriteError):
            return True
    return None


def _kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        try:
            p.kill()
        except OSError:
            pass
