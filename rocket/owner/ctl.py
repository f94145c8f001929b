"""The local control socket: ``rocket.pyz ctl ...`` talks to a running agent.

Server side (``ControlServer``): a Unix stream socket (``[control] socket``,
default ``<state dir>/rocket.sock``, mode 0600, so only the agent's user,
normally root, may use it) served by the agent's main loop. Its readers are
registered with ``nested=False``: a request never runs in the middle of a
session, it waits until the session is over. One request per connection:

    client: one line, at most 256 KiB, within ``[control] timeout`` seconds
    server: "ok" or "error: MESSAGE", then the answer's lines; then it closes

At most MAX_CLIENTS connections are held; a new one takes the place of the
oldest that has not sent a complete request (or was answered and has not
closed), so a local flood of stalled clients never keeps the owner out.

Requests (fields are separated by one space; see ``set`` for values):

    status              last and next session, retry count, pending events,
                        ACS URL (without credentials)
    inform [EVENT]      start a session now (a retry wait is cut short),
                        adding EVENT: "2 PERIODIC" or a vendor event
                        "X <OUI> <name>"; without EVENT the Inform lists what
                        is pending (possibly nothing). Other codes belong to
                        the agent (BOOT, VALUE CHANGE, TRANSFER COMPLETE...)
                        or to the ACS (6 CONNECTION REQUEST needs an
                        authenticated connection request) and are refused.
    notify PREFIX...    a value under PREFIX may have changed: re-read the
                        notifying parameters there (4 VALUE CHANGE if so)
    get PATH...         values, one "PATH=VALUE" line each (partial paths
                        allowed; hidden parameters read back empty)
    set PATH=VALUE[<TAB>PATH=VALUE...]
                        a local write, all or nothing, checked like a
                        SetParameterValues and applied by the backends. It
                        is not the ACS's write: a notifying parameter it
                        changes notifies. ParameterKey is left alone.
    transfers           (rocket.ops.service) the journal: one line per transfer
    autonomous FIELD=VALUE[<TAB>FIELD=VALUE...]
                        (rocket.ops.autonomous) a transfer the device did on its
                        own, reported with AutonomousTransferComplete
    request-download FILETYPE[<TAB>NAME=VALUE...]
                        (rocket.ops.reqdl) ask the ACS for a file
    dhcp-acs FIELD=VALUE[<TAB>FIELD=VALUE...]
                        (rocket.ops.dhcpacs) an ACS URL learned from DHCP

Values (in ``set`` requests and in answers) are escaped like backend
records (``rocket.records``): backslash, tab, newline, carriage return as
``\\\\``, ``\\t``, ``\\n``, ``\\r``, other control characters as ``\\0ooo``
(octal, what ``printf '%b'`` reads), so one parameter is always one line.

Client side: rocket.owner.ctlclient (``rocket.pyz ctl ...``; the agent never imports it).
"""

import errno
import os
import re
import socket
import stat

from rocket.datamodel import records
from rocket.base.log import log

MAX_REQUEST = 256 * 1024
MAX_CLIENTS = 8
ACCEPT_BATCH = 64  # connections taken from the listen queue per readiness

# Events a local client may add with "inform" (see the module docstring).
_LOCAL_EVENTS = ("2 PERIODIC",)
_VENDOR_EVENT = re.compile(r"^X \S+ \S.*$")  # the 1.2 schema's "X <OUI or token> <event>"

# Values travel escaped as backend records do (rocket.datamodel.records: \\ \t \n \r,
# other controls as \0ooo, which printf '%b' turns back into the character).
escape = records.escape


def unescape(s):
    """Inverse of ``escape``; ValueError on a malformed escape."""
    return records.unescape(s)


def socket_path(cfg):
    """The socket's path from the configuration."""
    return cfg.get("control", "socket") or os.path.join(cfg.get("state", "dir"), "rocket.sock")


class RequestError(Exception):
    """A request the agent refuses; the message goes back to the client."""


# ---------------------------------------------------------------- server
class _Conn:
    __slots__ = ("sock", "buf", "timer", "answered")

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.timer = None
        self.answered = False  # replied; only waiting for the client to close


class ControlServer:
    """The agent's side of the control socket (an ``agent.services`` entry)."""

    def __init__(self, agent):
        self.agent = agent
        self.path = socket_path(agent.cfg)
        self.timeout = agent.cfg.int("control", "timeout", 1)
        self.sock = None
        self.conns = {}  # sock -> _Conn, oldest first
        self.evicted = 0  # idle clients dropped to make room (for tests and status)
        self.handlers = {"status": self.do_status, "inform": self.do_inform, "notify": self.do_notify,
                         "get": self.do_get, "set": self.do_set, "audit-flush": self.do_audit_flush}

    # --------------------------------------------------------- lifecycle
    def start(self, agent):
        try:
            self.sock = self._listen()
        except OSError as e:
            log.error("control: cannot listen on %s: %s", self.path, e.strerror or e)
            self.sock = None
            return
        agent.loop.add_reader(self.sock, self._accept, nested=False)
        log.info("control: listening on %s", self.path)

    def stop(self):
        for c in list(self.conns.values()):
            self._close(c)
        if self.sock is not None:
            self.agent.loop.remove_reader(self.sock)
            self.sock.close()
            self.sock = None
            try:
                os.unlink(self.path)
            except OSError:
                pass

    def _listen(self):
        path = self.path
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None:
            if not stat.S_ISSOCK(st.st_mode):
                raise OSError(errno.EEXIST, "exists and is not a socket; not removing it")
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            probe.settimeout(1.0)
            try:
                probe.connect(path)
            except OSError:
                os.unlink(path)  # stale: left by an agent that is gone
            else:
                raise OSError(errno.EADDRINUSE, "another agent is serving it")
            finally:
                probe.close()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the socket is born 0600: no window for others
        try:
            s.bind(path)
        except OSError:
            s.close()
            raise
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        s.listen(ACCEPT_BATCH)
        s.setblocking(False)
        return s

    # ------------------------------------------------------------ serving
    def _accept(self):
        """Take what the listen queue holds (a batch). At the cap, the oldest
        client that has not completed a request (after a last look at what it
        sent) or is only waiting to close makes room: a local flood of stalled
        clients cannot keep the owner out, and costs at most MAX_CLIENTS."""
        for _ in range(ACCEPT_BATCH):
            try:
                sock, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                log.warning("control: accept failed: %s", e)
                return
            sock.setblocking(False)
            if len(self.conns) >= MAX_CLIENTS:
                self._evict()
            self._add(sock)

    def _evict(self):
        for c in list(self.conns.values()):  # oldest first
            if not c.answered:
                self._readable(c)  # a complete request is served, not dropped
        if len(self.conns) < MAX_CLIENTS:
            return
        victim = next((c for c in self.conns.values() if c.answered), None)
        if victim is None:
            victim = next(iter(self.conns.values()))
            self.evicted += 1
        self._close(victim)

    def _add(self, sock):
        c = _Conn(sock)
        self.conns[sock] = c
        c.timer = self.agent.loop.call_later(self.timeout, lambda: self._expire(c), "control")
        self.agent.loop.add_reader(sock, lambda: self._readable(c), nested=False)

    def _expire(self, c):
        if c.sock in self.conns:
            self._reply(c, "error: no complete request within %d s\n" % self.timeout)

    def _close(self, c):
        if self.conns.pop(c.sock, None) is None:
            return
        self.agent.loop.remove_reader(c.sock)
        if c.timer is not None:
            c.timer.cancel()
        c.sock.close()

    def _readable(self, c):
        try:
            data = c.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(c)
            return
        if data:
            c.buf += data
        nl = c.buf.find(b"\n")
        if nl < 0 and len(c.buf) > MAX_REQUEST:
            self._reply(c, "error: request longer than %d bytes\n" % MAX_REQUEST)
            return
        if nl < 0 and data:
            return  # wait for the rest of the line
        line = c.buf[:nl] if nl >= 0 else c.buf
        if nl < 0 and not line:
            self._close(c)  # closed without asking anything
            return
        self._reply(c, self.handle(line))

    def _reply(self, c, text):
        loop = self.agent.loop
        loop.remove_reader(c.sock)
        if c.timer is not None:
            c.timer.cancel()
        if not self._send(c.sock, text, loop.clock() + self.timeout):
            self._close(c)
            return
        # Close gently: a client still sending (a request that was too long)
        # must be able to read the answer, not get a reset. Whatever else it
        # sends is discarded until it closes, within the same time limit.
        try:
            c.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(c)
            return
        c.buf = b""
        c.answered = True
        c.timer = loop.call_later(self.timeout, lambda: self._close(c), "control")
        loop.add_reader(c.sock, lambda: self._drain(c), nested=False)

    def _drain(self, c):
        try:
            data = c.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(c)

    def _send(self, sock, text, deadline):
        data = memoryview(text.encode("utf-8", "surrogateescape"))
        loop = self.agent.loop
        while data:
            try:
                n = sock.send(data)
            except (BlockingIOError, InterruptedError):
                if not loop.wait_io(sock, True, deadline):
                    return False
                continue
            except OSError:
                return False
            data = data[n:]
        return True

    # ----------------------------------------------------------- requests
    def handle(self, raw):
        """One request line (bytes) -> the whole answer (str)."""
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            return "error: request is not UTF-8\n"
        line = line.rstrip("\r")
        cmd, _, rest = line.partition(" ")
        handler = self.handlers.get(cmd)
        if handler is None:
            return "error: unknown command %r (%s)\n" % (cmd[:32], ", ".join(sorted(self.handlers)))
        from rocket.cwmp.soap import CwmpFault
        try:
            lines = handler(rest)
        except RequestError as e:
            return "error: %s\n" % e
        except CwmpFault as e:
            return "error: %s\n" % _fault_text(e)
        except Exception:
            log.exception("control: %s failed", cmd)
            return "error: internal error (see the agent's log)\n"
        if cmd in ("inform", "notify"):  # set logs its own line; status and get are reads
            log.info("control: %s", line[:200])
        else:
            log.debug("control: %s", cmd)
        return "ok\n" + "".join(s + "\n" for s in lines)

    def do_audit_flush(self, rest):
        """Write the audit records waiting in RAM (``ctl audit`` asks first)."""
        return ["flushed: %d bytes" % self.agent.audit.flush()]

    def do_status(self, rest):
        a = self.agent
        from rocket.net.acsclient import safe_url
        from rocket.base.timefmt import iso_now
        lines = ["acs_url: %s" % (safe_url(a.acs_url) or "(none)")]
        lines.append("in_session: %s" % ("yes" if a.in_session else "no"))
        lines.append("sessions: %d" % a.sessions)
        if a.last_result is None:
            lines.append("last_session: none")
        else:
            ok, reason, when = a.last_result
            lines.append("last_session: %s" % iso_now(when))
            lines.append("last_result: %s" % ("ok" if ok else "failed: %s" % escape(reason or "")))
        lines.append("retry_count: %d" % a.retry_count)
        now = a.loop.clock()
        due = []
        for name, t in (("session", a.session_timer), ("retry", a.retry_timer),
                        ("periodic", a.periodic_timer)):
            if t is not None and not t.cancelled:
                due.append((t.when, name))
        notifier = a.notifier
        changed = []
        if notifier is not None:
            left, changed = notifier.status()
            if left is not None:
                due.append((now + left, "active notification"))
        if due:
            when, why = min(due)
            left = max(0.0, when - now)
            lines.append("next_session: %s (%s, in %d s)" % (iso_now(a.wallclock() + left), why,
                                                             int(round(left))))
        else:
            lines.append("next_session: none scheduled")
        lines.append("pending_events: %s" % (", ".join(
            c if not k else "%s %s" % (c, escape(k)) for c, k in a.events.pending) or "none"))
        if changed:
            lines.append("changed: %s" % ", ".join(changed))
        for s in a.services:  # features report their own state ("name: value" lines)
            more = getattr(s, "status_lines", None)
            if more is not None:
                lines.extend(more())
        return lines

    def do_inform(self, rest):
        code = rest.strip()
        if code:
            if len(code) > 64 or not (code in _LOCAL_EVENTS or _VENDOR_EVENT.match(code)):
                raise RequestError("event %r may not be raised locally (allowed: %s, "
                                   "\"X <OUI> <name>\")" % (code[:64], ", ".join(_LOCAL_EVENTS)))
            self.agent.events.add(code)
        a = self.agent
        a.request_session()
        events = ", ".join(c if not k else "%s %s" % (c, escape(k)) for c, k in a.events.pending)
        what = "the Inform will carry: %s" % events if events else \
            "no event is pending: the Inform will carry no event code"
        if a.in_retry_wait():  # only a connection request cuts a retry wait short (§3.2.1.1)
            left = max(0, int(round(a.retry_timer.when - a.loop.clock())))
            return ["session requested: it starts with retry %d in %d s (retry wait after a failed "
                    "session)" % (a.retry_count, left), what]
        return ["session requested", what]

    def do_notify(self, rest):
        prefixes = rest.split()
        if not prefixes:
            raise RequestError("notify needs at least one path or partial path")
        root = self.agent.root
        for p in prefixes:
            if not p.startswith(root):
                raise RequestError("%s is not under %s" % (p[:256], root))
        notifier = self.agent.notifier
        if notifier is None:
            raise RequestError("notifications are not enabled in this build")
        changed = notifier.check(prefixes)
        return ["changed: %s" % p for p in changed]  # nothing when nothing changed: scripts test that

    def do_get(self, rest):
        paths = rest.split()
        if not paths:
            raise RequestError("get needs at least one path")
        model = self.agent.model
        model.begin_session()  # fresh reads: one load per backend touched
        try:
            values = model.get_values(paths)
        finally:
            model.end_session()
        return ["%s=%s" % (name, escape(value)) for name, _, value in values]

    def do_set(self, rest):
        if not rest:
            raise RequestError("set needs PATH=VALUE")
        items = []
        for field in rest.split("\t"):
            name, eq, value = field.partition("=")
            if not eq:
                raise RequestError("expected PATH=VALUE, got %r" % field[:64])
            try:
                items.append((name.strip(), unescape(value), None))
            except ValueError as e:
                raise RequestError(str(e)) from None
        a = self.agent
        model = a.model
        notifier = a.notifier
        model.begin_session()
        if notifier is not None:
            notifier.local = True
            notifier.local_writes.clear()
        try:
            status = model.set_values(items, model.parameter_key)
        finally:
            if notifier is not None:
                notifier.local = False
            model.end_session()
        if a._periodic_dirty:
            a._periodic_dirty = False
            a.schedule_periodic()
        lines = ["set: %s" % escape(n) for n, _, _ in items]
        lines.append("status: %d (%s)" % (status, "applied" if status == 0 else
                                         "accepted; applied by the device later (commit or reboot)"))
        if notifier is not None:
            written = sorted(notifier.local_writes)
            notifier.local_writes.clear()
            lines.extend("changed: %s" % p for p in notifier.check(written))
        log.info("control: local write of %s", ", ".join(n for n, _, _ in items)[:300])
        return lines


_SHORT = {9005: "no such parameter", 9006: "wrong type", 9007: "invalid value", 9008: "not writable",
          9009: "notification request rejected"}


def _fault_text(e):
    """'9003 Invalid arguments; Device.X: 9008 not writable' (every code named)."""
    s = "%d %s" % (e.code, e.string or "")
    for name, code, text in getattr(e, "param_faults", None) or ():
        what = _SHORT.get(code) or text or ""
        detail = text.split(": ", 1)[1] if text and ": " in text else ""
        s += "; %s: %d %s%s" % (name, code, what, " (%s)" % detail if detail and detail != what else "")
    return escape(s.strip())


def install(agent):
    """Serve the control socket (rocket.plugins installs it when ``[control]
    enable`` is set, and not for a one-shot ``--once`` run)."""
    server = ControlServer(agent)
    agent.ctl = server
    agent.services.append(server)
    return server
