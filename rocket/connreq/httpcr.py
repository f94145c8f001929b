"""HTTP connection requests (TR-069 §3.2.2) and ManagementServer.ConnectionRequestURL.

The listener is the one port of the agent that faces the internet, so it is
small and defensive. It lives in the agent's loop (no threads): the listening
sockets and every client connection are readers registered with
``nested=True``, so connection requests are answered even while a session
waits for a slow ACS. Per connection: one request, a header block of at most
8 KiB, a deadline (``request_timeout``), no body. At most ``max_connections``
connections are open at once. At the cap, the requests already in are
answered first; then the oldest connection is evicted if it has had its
grace time (``request_timeout`` / 2, at most 2 s) to send its request (503 if
it sent part of one, closed if nothing); if none has, the new connection is
kept (one over the cap) and the next ones wait in the kernel's listen queue
until a slot frees. So a burst of real requests is answered in full,
and stalled clients cannot lock out a real ACS for more than the grace time.

Answers:

- wrong path: 404; right path, other method: 405 (no challenge either way);
- no or bad credentials: 401 with a fresh Digest challenge
  (``rocket.digestserver``); no credentials configured at all: 403, unless
  ``allow_unauthenticated`` is set;
- authenticated, but refused by the admission gate (``rocket.connreq.gate``:
  remote management off by the owner, or ``max_per_minute`` reached): 503
  without Retry-After, and no session;
- authenticated: 200 with an empty body, sent before anything else happens;
  then the gate queues "6 CONNECTION REQUEST" (coalesced: a burst gives one
  session, requests during a session exactly one follow-up session).
Refusals are logged and audited by the gate (rate-limited).

Credentials are read live from ManagementServer.ConnectionRequestUsername and
ConnectionRequestPassword, so a SetParameterValues takes effect at once.
HTTPConnectionRequestEnable=false closes the port and empties the URL.

ConnectionRequestURL is ``http://host:port/path``. The host is, in order:
``[connection_request] address``; the bind address if it is a single
specific one; the address of ``interface``; the local address of the route
towards the ACS. It is recomputed every ``url_check_interval`` seconds and
just before every session; a change is stored with ``set_internal``, which
the notifier (``rocket.notify``) reports: "4 VALUE CHANGE", and a session
soon while the parameter's notification is active (its default:
forceDefaultEnabled).
"""

import collections
import socket

from rocket.connreq.gate import same
from rocket.net import netaddr
from rocket.net.digestserver import DigestServer
from rocket.net.httpparse import HttpError, RequestParser, response
from rocket.base.log import log

MAX_HEADER = 8192
_SCAN = 8  # connections read at the cap before one is evicted


class _Conn:
    __slots__ = ("peer", "parser", "deadline", "opened", "got")

    def __init__(self, peer, deadline, opened):
        self.peer = peer
        self.parser = RequestParser(MAX_HEADER)
        self.deadline = deadline
        self.opened = opened
        self.got = 0  # bytes received


class ConnectionRequests:
    """The listener service (``start``/``stop``) and the URL tracker."""

    def __init__(self, agent, gate):
        self.agent = agent
        self.gate = gate
        self.loop = agent.loop
        self.saved = agent.state.load("connreq", {})
        if not isinstance(self.saved, dict):
            self.saved = {}
        self.digest = DigestServer(clock=self.loop.clock)
        self._settings()
        self.listeners = []
        self.bound_port = None
        self.conns = collections.OrderedDict()  # socket -> _Conn, oldest first
        self.stats = collections.Counter()
        self._acs_ip = {}  # ACS host name -> resolved address
        self._sweep_timer = None
        self._check_timer = None
        self._pause_timer = None
        self._hold_timer = None  # at the cap: accepting resumes when a slot frees
        self._url_param = agent.model.ms("ConnectionRequestURL")
        self._url = None  # the last URL computed and published
        agent.model.on_set.append(self._on_set)
        agent.on_reload.append(self.reload)
        agent.before_session.append(self._before_session)

    # ------------------------------------------------------------ set-up
    def _settings(self):
        """Read [connection_request] (at start, and again on SIGHUP)."""
        cfg = self.agent.cfg
        sec = "connection_request"
        self.port = cfg.int(sec, "port", 0, 65535)
        self.bind = cfg.get(sec, "bind").replace(",", " ").split()
        self.timeout = cfg.int(sec, "request_timeout", 1, 300)
        self.max_conns = cfg.int(sec, "max_connections", 1, 4096)
        self.allow_unauthenticated = cfg.bool(sec, "allow_unauthenticated")
        self.check_interval = cfg.int(sec, "url_check_interval", 1)
        algs = cfg.get(sec, "digest_algorithms").replace(",", " ").split()
        self.digest.configure(cfg.get(sec, "realm"), algs, cfg.int(sec, "nonce_lifetime", 1, 3600),
                              cfg.bool(sec, "allow_basic"))
        self.path = self._path(cfg.get(sec, "path"))

    def reload(self):
        """SIGHUP: apply the new [connection_request] at once; the port is
        reopened only if the port or the bind addresses changed."""
        where = (self.port, self.bind)
        self._settings()
        if self.listeners and (self.port, self.bind) != where:
            log.info("connreq: port or bind addresses changed: reopening the listener")
            self._close_listeners()
        self._reconcile()
        self.check_url()

    def _path(self, configured):
        if configured:
            return configured if configured.startswith("/") else "/" + configured
        p = self.saved.get("path")
        if isinstance(p, str) and p.startswith("/") and len(p) > 8:
            return p
        import os
        p = "/" + os.urandom(16).hex()
        self.saved["path"] = p
        self.agent.state.save("connreq", self.saved)
        return p

    def enabled(self):
        return self.agent.ms("HTTPConnectionRequestEnable") == "true"

    @property
    def listening(self):
        return bool(self.listeners)

    def start(self, agent=None):
        self._reconcile()
        self.check_url(resolve=True, initial=True)
        self._check_timer = self.loop.call_later(self.check_interval, self._periodic, "connreq-url")

    def stop(self):
        if self._check_timer is not None:
            self._check_timer.cancel()
            self._check_timer = None
        self._close_listeners()

    def _reconcile(self):
        """Open or close the port to match HTTPConnectionRequestEnable."""
        want = self.enabled()
        if want and not self.listeners and self._pause_timer is None:
            self._open()
        elif not want and self.listeners:
            log.info("connreq: HTTPConnectionRequestEnable is false: port closed")
            self._close_listeners()

    def _open(self):
        socks = None
        if self.port == 0:
            # "Any free port" (tests, labs): the one of the last run if it is
            # still free, so a restart does not change ConnectionRequestURL.
            last = self.saved.get("port")
            if isinstance(last, int) and 0 < last < 65536:
                try:
                    socks = self._bind_all(last)
                except OSError:
                    socks = None
        try:
            if socks is None:
                socks = self._bind_all(self.port)
        except OSError as e:
            log.error("connreq: cannot listen on %s port %d: %s (retrying every %d s)",
                      " ".join(self.bind) or "all addresses", self.port, e.strerror or e,
                      self.check_interval)
            return False
        port = socks[0].getsockname()[1]
        if self.port == 0 and self.saved.get("port") != port:
            self.saved["port"] = port
            self.agent.state.save("connreq", self.saved)
        self.listeners = socks
        self.bound_port = port
        for s in socks:
            self.loop.add_reader(s, _bound(self._accept, s), nested=True)
        log.info("connreq: listening on %s port %d", " ".join(_sockname(s) for s in socks), port)
        return True

    def _bind_all(self, port):
        """Listening sockets on every bind address, all on one port."""
        socks = []
        try:
            for a in self.bind or [None]:
                s = _listen(a, port, min(128, self.max_conns * 4))
                socks.append(s)
                if port == 0:
                    port = s.getsockname()[1]
        except OSError:
            for s in socks:
                s.close()
            raise
        return socks

    def _close_listeners(self):
        if self._hold_timer is not None:
            self._hold_timer.cancel()
            self._hold_timer = None
        for s in self.listeners:
            self.loop.remove_reader(s)
            s.close()
        self.listeners = []
        self.bound_port = None
        for c in list(self.conns):
            self._close(c)

    # -------------------------------------------------------- connections
    def _accept(self, lsock):
        self._reap()
        for _ in range(64):
            try:
                sock, peer = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                # Out of file descriptors or similar: stop accepting for a
                # moment rather than spin on a listener that stays readable.
                self.gate.warn("connreq: accept failed: %s; pausing the listener 1 s", e)
                self._pause()
                return
            sock.setblocking(False)
            room = len(self.conns) < self.max_conns or self._make_room()
            now = self.loop.clock()
            self.conns[sock] = _Conn(netaddr.unmap(peer[0]), now + self.timeout, now)
            self.loop.add_reader(sock, _bound(self._readable, sock), nested=True)
            self._arm_sweep()
            if not room:
                # one over the cap for a moment: no more accepts until a slot frees
                self._hold()
                return

    def _grace(self):
        return min(2.0, self.timeout / 2.0)

    def _make_room(self):
        """At the cap: answer the requests already in (the oldest few
        connections are read), then evict the oldest connection if it had
        its grace time (a stalled client must not lock out a real one).
        False: no room yet (the caller holds new connections back)."""
        for sock in list(self.conns)[:_SCAN]:
            self._readable(sock)
        if len(self.conns) < self.max_conns:
            return True
        oldest, c = next(iter(self.conns.items()))
        if self.loop.clock() - c.opened < self._grace():
            return False
        self.stats["evicted"] += 1
        if c.got:
            self._send(oldest, 503)  # part of a request: told, not just cut off
        else:
            self._close(oldest)
        return True

    def _hold(self):
        """Stop accepting until a connection closes or the oldest one's grace
        time is over (new connections wait in the listen queue)."""
        if self._hold_timer is not None:
            return
        for s in self.listeners:
            self.loop.remove_reader(s)
        first = next(iter(self.conns.values()))
        self._hold_timer = self.loop.call_at(first.opened + self._grace(), self._unhold, "connreq-hold")

    def _unhold(self):
        if self._hold_timer is None:
            return
        self._hold_timer.cancel()
        self._hold_timer = None
        if self._pause_timer is None:
            for s in self.listeners:
                self.loop.add_reader(s, _bound(self._accept, s), nested=True)

    def _pause(self):
        for s in self.listeners:
            self.loop.remove_reader(s)

        def resume():
            self._pause_timer = None
            for s in self.listeners:
                self.loop.add_reader(s, _bound(self._accept, s), nested=True)
        self._pause_timer = self.loop.call_later(1.0, resume, "connreq-pause")

    def _readable(self, sock):
        c = self.conns.get(sock)
        if c is None:
            return
        try:
            data = sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(sock)
            return
        c.got += len(data)
        try:
            req = c.parser.feed(data)
        except HttpError as e:
            self._refuse(sock, c, e.status, "bad request (%s)" % e.reason)
            return
        if req is not None:
            self._handle(sock, c, req)

    def _handle(self, sock, c, req):
        if not same(req.path(), self.path):
            self._refuse(sock, c, 404, "wrong path")
            return
        if req.method != "GET":
            self._refuse(sock, c, 405, "method %s" % req.method[:16], [("Allow", "GET")])
            return
        store = self.agent.model.store
        user = store.get(self.agent.model.ms("ConnectionRequestUsername")).value or ""
        password = store.get(self.agent.model.ms("ConnectionRequestPassword")).value or ""
        if not user and not password:
            if not self.allow_unauthenticated:
                self._refuse(sock, c, 403, "no ConnectionRequestUsername/Password configured")
                return
            how = "unauthenticated (allow_unauthenticated)"
        else:
            v = self.digest.check("GET", req.target, req.headers.get("authorization"), user, password)
            if not v.ok:
                hdrs = [("WWW-Authenticate", h) for h in self.digest.challenge(stale=v.stale)]
                if "authorization" not in req.headers:
                    # The first half of every Digest exchange: not worth a warning.
                    self.stats["challenged"] += 1
                    self._send(sock, 401, hdrs)
                    log.debug("connreq: challenge sent to %s", c.peer)
                    return
                self._refuse(sock, c, 401, v.reason, hdrs)
                return
            how = v.reason
        why = self.gate.admit("http", c.peer)
        if why is not None:
            self._refuse(sock, c, 503, why)
            return
        self._send(sock, 200)
        self.stats["accepted"] += 1
        self.gate.accepted("http", c.peer, how)

    def _refuse(self, sock, c, status, reason, headers=()):
        self.stats[status] += 1
        self._send(sock, status, headers)
        self.gate.refused("http", c.peer, reason, status)

    def _send(self, sock, status, headers=()):
        try:
            sock.send(response(status, headers))
        except OSError:
            pass
        self._close(sock)

    def _close(self, sock):
        self.conns.pop(sock, None)
        self.loop.remove_reader(sock)
        if self._hold_timer is not None:
            self._unhold()  # a slot is free: accept again
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.recv(65536)  # unread bytes would turn the close into a reset
        except OSError:
            pass
        sock.close()

    def _reap(self):
        now = self.loop.clock()
        while self.conns:
            sock, c = next(iter(self.conns.items()))
            if c.deadline > now:
                break
            self.stats["timeout"] += 1
            self._send(sock, 408)

    def _arm_sweep(self):
        if self._sweep_timer is not None or not self.conns:
            return
        first = next(iter(self.conns.values()))

        def sweep():
            self._sweep_timer = None
            self._reap()
            self._arm_sweep()
        self._sweep_timer = self.loop.call_at(first.deadline, sweep, "connreq-sweep")

    # -------------------------------------------------------- agent hooks
    def _before_session(self):
        self.check_url(resolve=True)

    def _on_set(self, path, value):
        if path == self.agent.model.ms("HTTPConnectionRequestEnable"):
            self._reconcile()
            self.check_url()

    def _periodic(self):
        self._reconcile()
        self.check_url()
        self._check_timer = self.loop.call_later(self.check_interval, self._periodic, "connreq-url")

    # ----------------------------------------------------------- the URL
    def _acs_address(self, resolve):
        """(host name, address) of the ACS; DNS only when ``resolve``."""
        from urllib.parse import urlsplit
        try:
            parts = urlsplit(self.agent.acs_url)
            host, port = parts.hostname, parts.port
        except ValueError:
            return None, None
        if not host:
            return None, None
        if netaddr.is_ip(host):
            return host, port
        if resolve:  # through the loop's resolver: listeners keep being served
            from rocket.net.resolver import ResolveError, default_resolver
            try:
                addrs = default_resolver().resolve(self.loop, host, port or 80, self.loop.clock() + 5)
                self._acs_ip[host] = addrs[0][1][0]
            except (ResolveError, IndexError):
                pass
        return self._acs_ip.get(host), port

    def host(self, resolve=False):
        """The host part of ConnectionRequestURL now, or None if unknown."""
        sec = "connection_request"
        cfg = self.agent.cfg
        configured = cfg.get(sec, "address")
        if configured:
            return configured
        if len(self.bind) == 1 and self.bind[0] not in ("0.0.0.0", "::"):
            return self.bind[0]
        acs_ip, acs_port = self._acs_address(resolve)
        iface = cfg.get(sec, "interface")
        if iface:
            family = socket.AF_INET6 if acs_ip and ":" in acs_ip else None
            addr = netaddr.interface_address(iface, family)
            if addr is not None:
                return addr
            # No address there (down, or a PPP link on top of it): the route.
        if acs_ip:
            return netaddr.route_source(acs_ip, acs_port)
        return None

    def compute_url(self, resolve=False):
        """The URL to publish: '' while the port is closed; None if the
        host cannot be determined right now (keep the last value)."""
        if not self.listening:
            return ""
        h = self.host(resolve)
        if not h:
            return None
        return "http://%s:%d%s" % (netaddr.url_host(h), self.bound_port, self.path)

    def check_url(self, resolve=False, initial=False):
        """Recompute ConnectionRequestURL and store it if it changed.

        Reporting the change is the notifier's job (``rocket.notify``): it
        sees ``set_internal`` and the parameter is active by default
        (forceDefaultEnabled), so a change outside a session asks for one,
        and a change found at start against the last run is reported too.
        """
        url = self.compute_url(resolve)
        if url is None:
            if initial:
                log.warning("connreq: cannot tell this device's address yet "
                            "(set [connection_request] address or interface)")
            return self._url
        if url != self._url:
            # Written only when what this module computes changes.
            self._url = url
            self.agent.model.set_internal(self._url_param, url)
            log.info("connreq: ConnectionRequestURL is %s", url or "empty (disabled)")
        return url


def _listen(addr, port, backlog):
    """A non-blocking listening socket; ``addr`` None = every address,
    dual-stack IPv6 where the system has it, else IPv4."""
    if addr is None:
        try:
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        except OSError:
            return _listen("0.0.0.0", port, backlog)
        try:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("::", port))
        except OSError:
            s.close()
            return _listen("0.0.0.0", port, backlog)
    else:
        host = addr[1:-1] if addr.startswith("[") else addr
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if ":" in host:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((host, port))
        except OSError:
            s.close()
            raise
    s.listen(backlog)
    s.setblocking(False)
    return s


def _sockname(s):
    h = s.getsockname()[0]
    return netaddr.url_host(h)


def _bound(fn, arg):
    return lambda: fn(arg)

