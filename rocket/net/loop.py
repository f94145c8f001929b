"""The one event loop: sockets, timers, signals and child processes.

Single-threaded and built on ``selectors``. Two ways to use it:

- Top level (``run``): readers registered with ``add_reader`` are called when
  their file is readable; timers (``call_later``/``call_at``) run when due.
  When nothing is due the loop sleeps in ``select`` with the time to the next
  timer as its timeout, so an idle agent wakes up only for its timers.
- Nested (``wait_io``, ``wait_until``): code in the middle of a session
  (waiting for the ACS to answer, or for a backend script to print) waits
  for one file or a condition with a deadline. While it waits, the files and
  timers registered with ``nested=True`` (the connection-request listeners,
  the control socket, downloads, STUN and XMPP, the periodic schedule) keep
  being served on time, so a slow ACS never freezes them. The others (work
  that must not happen in the middle of a session: polling values, starting
  a transfer) are taken off the selector while nested and run when the
  loop is back at the top. ``breathe`` serves the same without waiting,
  for long CPU work between its slices.

Files are watched for readability (``add_reader``) and writability
(``add_writer``); a nested wait watches its file once (one-shot), so waits
nested in waits never spin on each other's ready files.

``run_process`` runs a child with its stdin fed and its stdout/stderr read
through ``wait_io``, under a deadline and an output cap; it never blocks
longer than its timeout and kills the whole process group when it is over.
"""

import os
import selectors
import socket
import sys
import time

# The C modules behind heapq and signal: their Python wrappers (heapq's
# merge and nlargest, signal's enums) are about 50 KiB an idle agent would
# keep for nothing.
try:
    from _heapq import heappop, heappush
except ImportError:  # pragma: no cover (not CPython)
    from heapq import heappop, heappush
try:
    import _signal as signal
except ImportError:  # pragma: no cover
    import signal


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


_R, _W = selectors.EVENT_READ, selectors.EVENT_WRITE


class Loop:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.selector = selectors.DefaultSelector()
        self._timers = []  # every timer (heap)
        self._ntimers = []  # the nested-safe ones again (heap)
        self._io = {}  # fileobj -> [(read callback, nested) or None, (write callback, nested) or None]
        self._mask = {}  # fileobj -> events registered with the selector
        self._stopping = False
        self._depth = 0
        self._signals = {}
        self._wake_r = self._wake_w = None

    # ------------------------------------------------------ readers, writers
    def add_reader(self, fileobj, callback, nested=False):
        """Call ``callback()`` whenever ``fileobj`` is readable (also inside
        nested waits when ``nested``)."""
        self._set(fileobj, 0, (callback, nested))

    def remove_reader(self, fileobj):
        self._set(fileobj, 0, None)

    def add_writer(self, fileobj, callback, nested=False):
        """Call ``callback()`` whenever ``fileobj`` is writable."""
        self._set(fileobj, 1, (callback, nested))

    def remove_writer(self, fileobj):
        self._set(fileobj, 1, None)

    def remove(self, fileobj):
        """Stop watching ``fileobj`` for anything."""
        self._set(fileobj, 0, None)
        self._set(fileobj, 1, None)

    def _set(self, fileobj, slot, entry):
        io = self._io.get(fileobj)
        if io is None:
            if entry is None:
                return
            io = self._io[fileobj] = [None, None]
        io[slot] = entry
        if io == [None, None]:
            del self._io[fileobj]
        self._sync(fileobj)

    def _sync(self, fileobj):
        io = self._io.get(fileobj)
        mask = 0
        if io is not None:
            deep = self._depth > 0
            for slot, ev in ((0, _R), (1, _W)):
                e = io[slot]
                if e is not None and (e[1] or not deep):
                    mask |= ev
        old = self._mask.get(fileobj, 0)
        if mask == old:
            return
        try:
            if not mask:
                del self._mask[fileobj]
                self.selector.unregister(fileobj)
            elif not old:
                try:
                    self.selector.register(fileobj, mask)
                except KeyError:  # a file closed while watched left its fd number behind
                    stale = self.selector.get_key(fileobj).fileobj
                    self.selector.unregister(stale)
                    self._mask.pop(stale, None)
                    self._io.pop(stale, None)
                    self.selector.register(fileobj, mask)
                self._mask[fileobj] = mask
            else:
                self.selector.modify(fileobj, mask)
                self._mask[fileobj] = mask
        except (KeyError, ValueError, OSError):
            self._mask.pop(fileobj, None)  # closed meanwhile

    def _dispatch(self, ready):
        deep = self._depth > 0
        for key, events in ready:
            for slot, ev in ((0, _R), (1, _W)):
                io = self._io.get(key.fileobj)
                e = io[slot] if io is not None else None
                if events & ev and e is not None and (e[1] or not deep):
                    e[0]()
                    if self._stopping and not deep:
                        return

    # ------------------------------------------------------------- timers
    def call_at(self, when, callback, name="", nested=False):
        """Run ``callback()`` at ``when``; a ``nested`` timer also runs on
        time inside nested waits (during a session), the others when the
        loop is back at the top."""
        t = Timer(when, callback, name, nested)
        heappush(self._timers, t)
        if nested:
            heappush(self._ntimers, t)
        return t

    def call_later(self, delay, callback, name="", nested=False):
        return self.call_at(self.clock() + max(0.0, delay), callback, name, nested)

    def next_timer(self, heap=None):
        heap = self._timers if heap is None else heap
        while heap and heap[0].cancelled:
            heappop(heap)
        return heap[0] if heap else None

    def _run_due_timers(self, heap=None):
        heap = self._timers if heap is None else heap
        now = self.clock()
        while heap and (heap[0].cancelled or heap[0].when <= now):
            t = heappop(heap)
            if not t.cancelled:
                t.cancelled = True
                t.callback()
                if self._stopping and heap is self._timers:
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
        self._dispatch(self.selector.select(timeout))
        if not self._stopping:
            self._run_due_timers()

    # ------------------------------------------------------- nested waits
    def wait_until(self, cond, deadline):
        """Serve nested-safe files and timers until ``cond()`` is true (True)
        or ``deadline`` passes (False). What is not nested-safe waits until
        the loop is back at the top."""
        self._enter()
        try:
            while not cond():
                now = self.clock()
                if now >= deadline:
                    return False
                timeout = deadline - now
                t = self.next_timer(self._ntimers)
                if t is not None:
                    timeout = min(timeout, max(0.0, t.when - now))
                self._dispatch(self.selector.select(timeout))
                self._run_due_timers(self._ntimers)
            return True
        finally:
            self._leave()

    def _enter(self):
        self._depth += 1
        if self._depth == 1:
            for f in list(self._io):
                self._sync(f)

    def _leave(self):
        self._depth -= 1
        if self._depth == 0:
            for f in list(self._io):
                self._sync(f)

    def breathe(self):
        """Serve the nested-safe files and timers that are ready now, without
        waiting: long CPU work (a 100,000-name request) calls this between
        slices so the connection-request listener keeps answering."""
        self._enter()
        try:
            self._dispatch(self.selector.select(0))
            self._run_due_timers(self._ntimers)
        finally:
            self._leave()

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

    def wait_io(self, fileobj, write, deadline):
        """Wait until ``fileobj`` is readable (or writable); False on deadline.

        Nested-safe readers and timers are served meanwhile. The file must
        not already have a reader (writer) with this loop.
        """
        return self.wait_any((fileobj,), write, deadline) is not None

    def wait_any(self, fileobjs, write, deadline):
        """Like wait_io for several files; returns the ready one or None."""
        ready = []
        slot = 1 if write else 0

        def once(f):
            def fire():
                self._set(f, slot, None)  # one-shot: no spinning while others wait
                ready.append(f)
            return fire
        for f in fileobjs:
            self._set(f, slot, (once(f), True))
        try:
            self.wait_until(lambda: ready, deadline)
        finally:
            for f in fileobjs:
                if f not in ready:
                    self._set(f, slot, None)
        return ready[0] if ready else None

    @property
    def nested(self):
        return self._depth > 0

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
