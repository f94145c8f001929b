"""Host names to addresses without blocking the loop: a small stub resolver.

What it is for: every outgoing connection (ACS, file servers, XMPP, STUN)
resolves its host here, because ``getaddrinfo`` blocks the whole process
for as long as the DNS server takes. What it is not: a caching or
recursive resolver, nor DNSSEC; mDNS/NSS modules are not consulted.

Theory of operation. ``Resolver.lookup`` answers at once (through a
zero-delay timer) for numeric addresses (``getaddrinfo`` with
``AI_NUMERICHOST`` never blocks), ``localhost`` and names in the hosts
file (``/etc/hosts``, re-read at every lookup: it is small and may change).
Otherwise it asks the ``nameserver`` lines of ``resolv.conf`` (at most 3,
127.0.0.1 when there is none) for A and AAAA records at once over UDP, one
server after the other, ``attempts`` rounds of ``timeout`` seconds each
(``options timeout:N attempts:N ndots:N``, glibc's defaults 5, 2 and 1),
never beyond the caller's deadline. A truncated answer is asked again over
TCP. ``search``/``domain`` suffixes are tried like glibc does (names with
fewer than ``ndots`` dots try the suffixes first). Every socket and timer
is the loop's (nested-safe), so a lookup also makes progress inside a
session's nested waits. The wire format (``query``/``parse``) is pure.

Rules: an answer counts only if it comes from the server asked, carries our
random id and question type and parses completely; CNAME chains are
followed inside one answer (at most 8 links); A records come before AAAA
(a router without an IPv6 route fails over quickly). ``done(addrs, err)``
is called exactly once: ``addrs`` is a list of ``(family, sockaddr)``.
"""

import os
import socket
import struct

from rocket.net import dnswire
from rocket.net.dnswire import AAAA, A


class ResolveError(Exception):
    pass


def _ascii(host):
    try:
        return host.encode("ascii")  # spares the idna codec import
    except UnicodeError:
        return host.encode("idna")


def numeric(host, port, kind=socket.SOCK_STREAM):
    """[(family, sockaddr)] when ``host`` is an IP address literal, else None."""
    try:
        infos = socket.getaddrinfo(_ascii(host), port, 0, kind, 0, socket.AI_NUMERICHOST)
    except (OSError, UnicodeError):
        return None
    return [(i[0], i[4]) for i in infos]


def query(qid, name, qtype):
    """The wire bytes of a recursive query for ``name``."""
    try:
        return dnswire.query(qid, _ascii(name).decode("ascii"), qtype)
    except ValueError:
        raise ResolveError("bad name %r" % name[:80]) from None


def parse(data, qid, qtype, name):
    """(rcode, truncated, addresses) of an answer; ValueError if it is not
    the answer to our question or does not parse."""
    m = dnswire.answer(data)
    if m["id"] != qid:
        raise ValueError("not our answer")
    records = [(owner.lower(), rtype, value) for owner, rtype, value in m["answers"]]
    want = _ascii(name.rstrip(".")).decode("ascii").lower()
    for _ in range(9):
        addrs = [v for o, t, v in records if o == want and t == qtype and v is not None]
        cname = [v for o, t, v in records if o == want and t == dnswire.CNAME and v]
        if addrs or not cname:
            return m["rcode"], m["tc"], addrs
        want = cname[0].lower()
    return m["rcode"], m["tc"], []


def read_conf(path):
    """(servers, search suffixes, timeout, attempts, ndots) from resolv.conf."""
    servers, search, opts = [], [], {"timeout": 5, "attempts": 2, "ndots": 1}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read(65536).splitlines()
    except OSError:
        lines = []
    for line in lines:
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) < 2:
            continue
        if words[0] == "nameserver" and len(servers) < 3 and numeric(words[1], 53, socket.SOCK_DGRAM):
            servers.append(words[1])
        elif words[0] in ("search", "domain"):
            search = words[1:7]
        elif words[0] == "options":
            for w in words[1:]:
                k, _, v = w.partition(":")
                if k in opts and v.isdigit():
                    opts[k] = max(1, min(int(v), 30)) if k != "ndots" else min(int(v), 15)
    return servers or ["127.0.0.1"], search, opts["timeout"], opts["attempts"], opts["ndots"]


def read_hosts(path, name):
    """The addresses ``name`` has in a hosts file, in file order."""
    name = name.rstrip(".").lower()
    out = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                words = line.split("#", 1)[0].split()
                if len(words) > 1 and name in (w.lower() for w in words[1:]):
                    out.append(words[0])
    except OSError:
        pass
    return out


class Resolver:
    def __init__(self, resolv_conf="/etc/resolv.conf", hosts="/etc/hosts"):
        self.resolv_conf = resolv_conf
        self.hosts = hosts

    def lookup(self, loop, host, port, done, deadline, kind=socket.SOCK_STREAM):
        """Start resolving; ``done(addrs, error)`` is called once from the loop.
        Returns an object with ``cancel()``."""
        return _Lookup(self, loop, host, port, done, deadline, kind)

    def resolve(self, loop, host, port, deadline, kind=socket.SOCK_STREAM):
        """Blocking-style: the addresses, waiting through the loop (nested);
        raises ResolveError."""
        found = numeric(host, port, kind)
        if found:
            return found
        res = []
        q = self.lookup(loop, host, port, lambda a, e: res.append((a, e)), deadline, kind)
        if not loop.wait_until(lambda: res, deadline + 0.5):
            q.cancel()
            raise ResolveError("cannot resolve %s: timed out" % host)
        addrs, err = res[0]
        if err:
            raise ResolveError(err)
        return addrs


class _Lookup:
    def __init__(self, resolver, loop, host, port, done, deadline, kind):
        self.loop, self.host, self.port, self.kind = loop, host, port, kind
        self._done, self.deadline = done, deadline
        self.sock = self.tcp = self.timer = None
        self.finished = False
        self.ips = numeric(host, port, kind) or self._local(resolver)
        if self.ips is not None:
            self.timer = loop.call_later(0, lambda: self._finish(self.ips, None), "dns", nested=True)
            return
        servers, search, self.per_try, attempts, ndots = read_conf(resolver.resolv_conf)
        self.servers = servers
        self.tries = len(servers) * attempts
        base = host.rstrip(".")
        suffixed = [base + "." + s for s in search] if not host.endswith(".") else []
        self.names = ([base] + suffixed) if base.count(".") >= ndots else (suffixed + [base])
        self.guard = loop.call_at(deadline, lambda: self._finish(None, "cannot resolve %s: timed out"
                                                                  % host), "dns", nested=True)
        self._next_name()

    def _local(self, resolver):
        name = self.host.rstrip(".").lower()
        ips = read_hosts(resolver.hosts, name)
        if not ips and (name == "localhost" or name.endswith(".localhost")):
            ips = ["127.0.0.1", "::1"]
        out = []
        for ip in ips:
            out += numeric(ip, self.port, self.kind) or []
        return out or None

    def cancel(self):
        self.finished = True
        self._close()
        for t in (self.timer, getattr(self, "guard", None)):
            if t is not None:
                t.cancel()

    def _finish(self, addrs, err):
        if self.finished:
            return
        self.cancel()
        self._done(addrs or [], None if addrs else (err or "no address for %s" % self.host))

    def _close(self):
        for s in (self.sock, self.tcp):
            if s is not None:
                self.loop.remove_reader(s)
                self.loop.remove_writer(s)
                s.close()
        self.sock = self.tcp = None

    # ------------------------------------------------------------ UDP
    def _next_name(self):
        if not self.names:
            return self._finish(None, "cannot resolve %s: %s" % (self.host, self.why))
        self.name = self.names.pop(0)
        self.why = "no such name"
        self.try_no = 0
        self.got, self.failed = {}, {}
        self._try()

    def _try(self):
        self._close()
        if self.timer is not None:
            self.timer.cancel()
        if self.try_no >= self.tries:
            why = self.why if self.why.startswith("server") else "no answer from " + ", ".join(self.servers)
            return self._finish(None, "cannot resolve %s: %s" % (self.host, why))
        self.server = self.servers[self.try_no % len(self.servers)]
        self.try_no += 1
        self.ids = {}
        try:
            fam, addr = numeric(self.server, 53, socket.SOCK_DGRAM)[0]
            s = self.sock = socket.socket(fam, socket.SOCK_DGRAM)
            s.setblocking(False)
            s.connect(addr)
            for qtype in (A, AAAA):
                if qtype not in self.got:
                    qid = self.ids[qtype] = struct.unpack(">H", os.urandom(2))[0]
                    s.send(query(qid, self.name, qtype))
        except ResolveError as e:
            return self._finish(None, "cannot resolve %s: %s" % (self.host, e))
        except OSError as e:
            self.why = e.strerror or str(e)
            self.timer = self.loop.call_later(0, self._try, "dns", nested=True)
            return
        self.loop.add_reader(s, self._readable, nested=True)
        self.timer = self.loop.call_later(self.per_try, self._try, "dns", nested=True)

    def _readable(self):
        while self.sock is not None:
            try:
                data = self.sock.recv(65535)
            except OSError:
                return
            self._answer(data, False)

    def _answer(self, data, over_tcp):
        for qtype, qid in list(self.ids.items()):
            try:
                rcode, truncated, addrs = parse(data, qid, qtype, self.name)
            except (ValueError, IndexError, struct.error):
                continue
            if truncated and not over_tcp:
                return self._ask_tcp()
            del self.ids[qtype]
            if rcode == 3:  # no such name (some servers say so for one type only)
                self.got[qtype], self.why = [], "no such name"
            elif rcode:
                self.failed[qtype] = rcode
            else:
                self.got[qtype] = addrs
        if not self.ids:
            ips = self.got.get(A, []) + self.got.get(AAAA, [])
            if ips:
                out = []
                for ip in ips:
                    out += numeric(ip, self.port, self.kind) or []
                return self._finish(out, None)
            self._close()
            self.timer.cancel()
            if self.failed:  # the next server may know better
                self.why = "server failure (rcode %d)" % max(self.failed.values())
                self.failed = {}
                return self._try()
            if self.why != "no such name":
                self.why = "no address"
            self._next_name()

    # ------------------------------------------------------------ TCP
    def _ask_tcp(self):
        self.loop.remove_reader(self.sock)
        fam, addr = numeric(self.server, 53)[0]
        t = self.tcp = socket.socket(fam, socket.SOCK_STREAM)
        t.setblocking(False)
        self.out = b"".join(struct.pack(">H", len(q)) + q for q in
                            (query(qid, self.name, qt) for qt, qid in self.ids.items()))
        self.inbuf = b""
        try:
            t.connect(addr)
        except BlockingIOError:
            pass
        except OSError:
            return self._try()
        self.loop.add_writer(t, self._tcp_write, nested=True)
        self.loop.add_reader(t, self._tcp_read, nested=True)

    def _tcp_write(self):
        try:
            n = self.tcp.send(self.out)
        except BlockingIOError:
            return
        except OSError:
            return self._try()
        self.out = self.out[n:]
        if not self.out:
            self.loop.remove_writer(self.tcp)

    def _tcp_read(self):
        try:
            data = self.tcp.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            return self._try()
        if not data:
            return self._try()
        self.inbuf += data
        while len(self.inbuf) >= 2:
            n = struct.unpack(">H", self.inbuf[:2])[0]
            if len(self.inbuf) < 2 + n:
                break
            msg, self.inbuf = self.inbuf[2:2 + n], self.inbuf[2 + n:]
            self._answer(msg, True)
            if self.tcp is None:
                return


_default = [None]


def configure(resolv_conf, hosts):
    """The files every lookup of this process reads ([dns] of the configuration)."""
    _default[0] = Resolver(resolv_conf, hosts)


def default_resolver():
    if _default[0] is None:
        _default[0] = Resolver()
    return _default[0]
