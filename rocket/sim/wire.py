"""HTTP/1.1 exchanges for the fleet simulator, driven by loop callbacks.

What it is for: thousands of simulated sessions (and file transfers) at
once in one loop. The agent's ``rocket.net.httpclient`` waits in nested
loop calls, one exchange at a time; here each exchange is a small object
whose steps are the loop's reader and writer callbacks, and which calls
``done(status, body, error)`` once: (status, body, None) or (None, None,
reason). What it is not: redirects or name resolution (the fleet
resolves the ACS once at start; a redirect fails the session with a
reason). HTTPS: a non-blocking handshake with the context of the agent's
``tls_context`` ([acs] ca_file, client_cert, client_key, insecure).

Reused from the agent: ``httpresp.ResponseReader`` (framing and every
limit), ``digest.Authenticator`` (401 Basic/Digest, nc counting up on the
same connection). Rules kept from the agent's client: a 401 is answered
once per message, a second one fails it; cookies are kept for the life of
the object (one session); a kept-alive connection the server closed before
answering is reopened once; every message has the whole ``timeout``.
"""

import errno
import os
import socket

from rocket.net.digest import Authenticator, AuthError
from rocket.net.httpclient import tls_name
from rocket.net.httpresp import END, HttpError, ResponseReader
from rocket.net.loop import _wants


class Deadlines:
    """One timer for every exchange of a loop: once a second, those past their
    deadline fail. (A timer per message would leave thousands of cancelled
    timers in the loop's heap, each until its own due time.)"""

    def __init__(self, loop):
        self.loop = loop
        self.live = set()
        self.timer = None

    def add(self, h):
        self.live.add(h)
        if self.timer is None:
            self.timer = self.loop.call_later(1.0, self._tick, "sim-deadlines")

    def _tick(self):
        now = self.loop.clock()
        for h in [h for h in self.live if h.deadline <= now]:
            h._fail("no answer from %s within %d s" % (h.host, h.timeout))
        self.timer = self.loop.call_later(1.0, self._tick, "sim-deadlines") if self.live else None


class Http:
    __slots__ = ("loop", "dl", "addr", "host", "path", "auth", "cookies", "sock", "reader", "out", "done",
                 "deadline", "timeout", "fresh", "method", "body", "ctype", "tries", "max_body", "head",
                 "pieces", "user_agent", "discard", "tls")

    def __init__(self, deadlines, addr, host, path, username="", password="", timeout=30.0,
                 max_body=4 * 1024 * 1024, user_agent="rocket-sim", tls=None, allow_basic=True):
        self.dl = deadlines
        self.loop = deadlines.loop
        self.addr = addr  # (family, sockaddr)
        self.host = host  # the Host header
        self.path = path
        self.auth = (Authenticator(username, password, allow_basic or tls is not None)
                     if (username or password) else None)
        self.cookies = None
        self.sock = self.reader = self.done = self.head = None
        self.timeout = timeout
        self.max_body = max_body
        self.user_agent = user_agent
        self.discard = False  # a download to nowhere: the body is read, not kept
        self.tls = tls  # an ssl.SSLContext for https

    def request(self, method, body, done, ctype='text/xml; charset="utf-8"'):
        self.method, self.body, self.done, self.ctype = method, body, done, ctype
        self.tries = 0
        self._go()

    def close(self):
        if self.sock is not None:
            self.loop.remove(self.sock)
            self.sock.close()
            self.sock = None

    def abort(self):
        """Drop everything; ``done`` is not called."""
        self.done = None
        self._stop()
        self.close()

    # -------------------------------------------------------------- steps
    def _go(self):
        self.deadline = self.loop.clock() + self.timeout
        self.dl.add(self)
        if self.sock is not None:
            self.fresh = False
            return self._write()
        self.fresh = True
        fam, sa = self.addr
        s = self.sock = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex(sa)
        if err and err not in _IN_PROGRESS:
            return self._fail("cannot connect to %s: %s" % (self.host, _strerror(err)))
        self.loop.add_writer(s, self._connected)

    def _connected(self):
        s = self.sock
        self.loop.remove_writer(s)
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            return self._fail("cannot connect to %s: %s" % (self.host, _strerror(err)))
        if self.tls is None:
            return self._write()
        try:
            self.sock = self.tls.wrap_socket(s, server_hostname=tls_name(self.host.rsplit(":", 1)[0].strip("[]")),
                                             do_handshake_on_connect=False)
        except (OSError, ValueError) as e:
            return self._fail("TLS setup failed: %s" % e)
        self._handshake()

    def _handshake(self):
        s = self.sock
        try:
            s.do_handshake()
        except OSError as e:
            write = _wants(e, False)
            if write is None:
                return self._fail("TLS handshake with %s failed: %s" % (self.host, getattr(e, "reason", None) or e))
            self.loop.remove(s)
            (self.loop.add_writer if write else self.loop.add_reader)(s, self._handshake)
            return
        self.loop.remove(s)
        self._write()

    def _write(self):
        body = self.body or b""
        lines = ["%s %s HTTP/1.1" % (self.method, self.path), "Host: " + self.host,
                 "User-Agent: " + self.user_agent, "Content-Length: %d" % len(body)]
        if body:
            lines += ["Content-Type: " + self.ctype, 'SOAPAction: ""']
        if self.cookies:
            lines.append("Cookie: " + "; ".join("%s=%s" % kv for kv in self.cookies.items()))
        if self.auth is not None:
            try:
                h = self.auth.header(self.method, self.path)
            except AuthError as e:
                return self._fail(str(e))
            if h:
                lines.append("Authorization: " + h)
        self.out = memoryview(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self.reader = ResponseReader(self.max_body)
        self.head = None
        self.pieces = []
        self.loop.add_reader(self.sock, self._readable)
        self._send()

    def _send(self):
        try:
            n = self.sock.send(self.out)
        except OSError as e:
            if _wants(e, True) is None:
                return self._closed("sending to %s failed: %s" % (self.host, e.strerror or e))
            n = 0
        self.out = self.out[n:]
        if self.out:
            self.loop.add_writer(self.sock, self._send)
        else:
            self.loop.remove_writer(self.sock)

    def _readable(self):
        try:
            data = self.sock.recv(65536)
            while self.tls is not None and data and self.sock.pending():  # decrypted, not signalled
                data += self.sock.recv(65536)
        except OSError as e:
            if _wants(e, False) is not None:
                return
            data = b""
        r = self.reader
        if not data:
            if not r.started:
                return self._closed("%s closed the connection without answering" % self.host)
            r.eof()
        else:
            r.feed(data)
        try:
            while True:
                ev = r.next_event()
                if ev is None:
                    return
                if ev is END:
                    return self._complete()
                if self.head is None:
                    self.head = ev
                elif not self.discard:
                    self.pieces.append(ev)
        except HttpError as e:
            self._fail("bad HTTP answer from %s: %s" % (self.host, e))

    def _closed(self, reason):
        if not self.fresh and not self.reader.started:
            self.close()  # the server dropped a kept-alive connection: once more, on a new one
            return self._go()
        self._fail(reason)

    def _complete(self):
        self._stop()
        head = self.head
        for sc in head.getall("set-cookie"):
            name, eq, value = sc.partition(";")[0].partition("=")
            if eq and name.strip():
                if self.cookies is None:
                    self.cookies = {}
                self.cookies[name.strip()] = value.strip()
        if head.will_close:
            self.close()
        else:
            self.loop.remove_reader(self.sock)
        if head.status == 401 and self.auth is not None:
            self.tries += 1
            if self.tries > 1:
                return self._fail("authentication failed (second 401 for the same message)")
            try:
                self.auth.challenge(head.get("www-authenticate"))
            except AuthError as e:
                return self._fail(str(e))
            return self._go()
        done, self.done = self.done, None
        if done is not None:
            done(head.status, b"".join(self.pieces), None)

    def _stop(self):
        self.dl.live.discard(self)

    def _fail(self, reason):
        self._stop()
        self.close()
        done, self.done = self.done, None
        if done is not None:
            done(None, None, reason)


_IN_PROGRESS = (errno.EINPROGRESS, errno.EWOULDBLOCK)
_strerror = os.strerror
