"""UDP connection requests and STUN through NAT (TR-069 Annex G, TR-111).

One UDP socket, registered in the loop as a nested-safe reader, does both
jobs: it sends STUN Binding Requests to the STUN server (so the NAT keeps a
binding open and the agent learns its public address) and it receives the
ACS's UDP connection requests on that same binding. The two are told apart
by content: STUN starts with two zero bits, a connection request with
``GET ``.

``UdpRequestChecker`` (sans-I/O) validates a connection request datagram::

    GET http://host:port?ts=1120673700&id=1234&un=CPE57689&cn=XTGRWIPC6D3IPXS3&sig=3545F7... HTTP/1.1

``sig`` is HMAC-SHA1 keyed with ConnectionRequestPassword over
ts + id + un + cn, in hex. A request is accepted only if it is well formed,
``un`` is ConnectionRequestUsername, the signature matches (constant-time,
case-insensitive), ``ts`` is newer than the last accepted one (persisted in
the state directory) and within ``max_clock_skew`` of our clock, and ``id``
was not seen before. Anything else is dropped without a reply, counted and
logged at debug level (datagrams are cheap to forge: no warning, no audit).
A request that passes goes through the admission gate
(``rocket.connreq.gate``: owner policy, rate limit, log, audit, the
"6 CONNECTION REQUEST" session, coalesced like every connection request).

``StunBinding`` (sans-I/O) keeps the binding: when to send the next
request, retransmissions (RFC 5389 §7.2.1: RTO 0.5 s doubling, 7 tries),
matching responses to the request, and noticing a changed mapping. When the
binding is first determined and whenever it changes, the next request
(sent at once) carries BINDING-CHANGE (TR-069 Annex G); on a change
``UDPConnectionRequestAddress`` / ``NATDetected`` are updated and reported
like an active notification ("4 VALUE CHANGE").
"""

import collections
import os
import socket

from rocket.connreq import stun
from rocket.connreq.gate import same
from rocket.connreq.standby import set_method, udp_wanted
from rocket.base.log import log
from rocket.net.resolver import default_resolver, numeric
from rocket.cwmp.events import VALUE_CHANGE

MAX_DATAGRAM = 2048
_FIELDS = ("ts", "id", "un", "cn", "sig")


def _hex40(s):
    return len(s) == 40 and all(c in "0123456789abcdefABCDEF" for c in s)


def parse_request(data):
    """The query arguments of a UDP connection request, or None.

    Returns a dict with exactly the keys ts, id, un, cn, sig (each present
    once) when ``data`` is a well-formed ``GET <uri> HTTP/1.1`` datagram.
    """
    from urllib.parse import unquote
    if len(data) > MAX_DATAGRAM or not data.startswith(b"GET "):
        return None
    line = data.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        return None
    parts = text.split(" ")
    if len(parts) != 3 or parts[0] != "GET" or parts[2] not in ("HTTP/1.1", "HTTP/1.0"):
        return None
    uri = parts[1]
    if "?" not in uri:
        return None
    query = uri.split("?", 1)[1].split("#", 1)[0]
    out = {}
    for item in query.split("&"):
        k, eq, v = item.partition("=")
        if not eq or k not in _FIELDS or k in out:
            return None
        out[k] = unquote(v)
    if len(out) != len(_FIELDS):
        return None
    if not out["ts"].isdigit() or len(out["ts"]) > 12 or not _hex40(out["sig"]):
        return None
    if not out["id"] or len(out["id"]) > 256 or len(out["un"]) > 256 or len(out["cn"]) > 256:
        return None
    return out


def signature(password, ts, msg_id, username, cnonce):
    """The hex HMAC-SHA1 an ACS puts in ``sig``."""
    import hashlib
    import hmac
    text = (ts + msg_id + username + cnonce).encode("utf-8")
    return hmac.new(password.encode("utf-8"), text, hashlib.sha1).hexdigest()


class UdpRequestChecker:
    """Accept or refuse UDP connection request datagrams.

    ``check(data, now, username, password)`` returns (True, args) for a
    request to honour, (False, reason) otherwise. ``last_ts`` is the
    timestamp of the last accepted request (persist it); ``seen`` keeps the
    last ``max_ids`` message ids.
    """

    def __init__(self, last_ts=0, max_clock_skew=300, max_ids=64):
        self.last_ts = last_ts
        self.max_clock_skew = max_clock_skew
        self.seen = collections.OrderedDict()
        self.max_ids = max_ids
        self.dropped = collections.Counter()

    def check(self, data, now, username, password):
        args = parse_request(data)
        if args is None:
            return self._drop("malformed")
        if not username or not password:
            return self._drop("no credentials configured")
        if not same(args["un"], username):
            return self._drop("wrong username")
        want = signature(password, args["ts"], args["id"], args["un"], args["cn"])
        if not same(want, args["sig"].lower()):
            return self._drop("bad signature")
        ts = int(args["ts"])
        if ts <= self.last_ts:
            return self._drop("timestamp not newer than the last accepted one")
        if self.max_clock_skew > 0 and abs(ts - now) > self.max_clock_skew:
            return self._drop("timestamp outside the accepted window")
        if args["id"] in self.seen:
            return self._drop("replayed id")
        self.seen[args["id"]] = ts
        while len(self.seen) > self.max_ids:
            self.seen.popitem(last=False)
        self.last_ts = ts
        return True, args

    def _drop(self, reason):
        self.dropped[reason] += 1
        return False, reason


class StunBinding:
    """The STUN side, sans-I/O: what to send when, and what a reply means.

    ``request(now)`` -> bytes of a new Binding Request (a new transaction)
    and ``retransmit(now)`` -> the same bytes again or None when the
    transaction has given up. ``response(data)`` -> None (not ours / bad),
    or a (host, port) mapping; ``changed`` then says whether it differs
    from the previous one (the first mapping learnt counts as a change).
    """

    RTO = 0.5
    TRIES = 7

    def __init__(self, username="", password="", rng=os.urandom):
        self.username = username
        self.password = password
        self.rng = rng
        self.txid = None
        self.packet = None
        self.tries = 0
        self.mapped = None
        self.changed = False
        self.change_pending = False  # send BINDING-CHANGE with the next request
        self.errors = 0

    def request(self):
        self.txid = self.rng(12)
        self.packet = stun.binding_request(self.txid, self.username, self.password,
                                           binding_change=self.change_pending)
        self.tries = 1
        return self.packet

    def retransmit(self):
        """The next retransmission, or None if the transaction gave up."""
        if self.txid is None or self.tries >= self.TRIES:
            self.txid = None
            return None
        self.tries += 1
        return self.packet

    def next_rto(self):
        return self.RTO * (2 ** (self.tries - 1))

    def response(self, data):
        try:
            msg = stun.decode(data)
        except stun.StunError:
            return None
        if self.txid is None or msg.txid != self.txid:
            return None
        if msg.type == stun.BINDING_ERROR:
            self.txid = None
            self.errors += 1
            err = msg.error()
            log.warning("stun: binding error %s", "%d %s" % err if err else "(no code)")
            return None
        if msg.type != stun.BINDING_RESPONSE:
            return None
        if self.username and msg.integrity_at is not None:
            if not stun.check_integrity(msg, self.password.encode("utf-8")):
                log.debug("stun: response with a bad MESSAGE-INTEGRITY dropped")
                return None
        try:
            mapped = msg.mapped_address()
        except stun.StunError:
            return None
        if mapped is None:
            return None
        sent_change = self.change_pending
        self.txid = None
        # Annex G: the first determination of the binding counts as a change
        # (the server learns of it with BINDING-CHANGE), as does every new one.
        self.changed = mapped != self.mapped
        if self.changed:
            self.change_pending = True
        elif sent_change:
            self.change_pending = False
        self.mapped = mapped
        return mapped


def _authority(host, port):
    if ":" in host:
        host = "[%s]" % host
    return "%s:%d" % (host, port)


def _host_of(url):
    from urllib.parse import urlsplit
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


class UdpConnReq:
    """The service: socket, timers and the agent's parameters."""

    def __init__(self, gate):
        self.gate = gate
        self.agent = None
        self.sock = None
        self.checker = None
        self.binding = None
        self.stun_timer = None
        self.rtx_timer = None
        self.accepted = 0
        self.local = None  # (ip, port) our source address towards the STUN server
        self.server = None
        self._bind_spec = None

    def status_lines(self):
        """For ``rocket.pyz ctl status``."""
        if self.sock is None:
            return ["udp_connection_request: off"]
        ms = self.agent.ms
        d = self.checker.dropped
        return ["udp_connection_request: %s" % _authority(*self.sock.getsockname()[:2]),
                "udp_address: %s (NAT %s)" % (ms("UDPConnectionRequestAddress") or "(not learned yet)",
                                             "detected" if ms("NATDetected") == "true" else "not detected"),
                "udp_requests: %d accepted, %d dropped%s" % (
                    self.accepted, sum(d.values()),
                    " (%s)" % ", ".join("%s %d" % kv for kv in sorted(d.items())) if d else "")]

    # ------------------------------------------------------------ config
    def _ms(self, name):
        return self.agent.ms(name) or ""

    def _secret(self, name):
        return self.agent.model.store.get(self.agent.model.ms(name)).value or ""

    def stun_enabled(self):
        return self._ms("STUNEnable") == "true"

    def wanted(self):
        return udp_wanted(self.agent)

    # ------------------------------------------------------------ service
    def start(self, agent):
        self.agent = agent
        agent.model.on_set.append(self._on_set)
        agent.after_session.append(self._after_session)
        agent.on_reload.append(self.reconfigure)
        self._dirty = False
        saved = agent.state.load("udpcr", {})
        self.saved = saved if isinstance(saved, dict) else {}
        last_ts = self.saved.get("last_ts", 0)
        self.checker = UdpRequestChecker(last_ts if isinstance(last_ts, int) else 0,
                                         agent.cfg.int("udp_connection_request", "max_clock_skew", 0))
        self.reconfigure()

    def stop(self):
        self._close()

    def _close(self):
        for t in (self.stun_timer, self.rtx_timer, getattr(self, "_lookup", None)):
            if t is not None:
                t.cancel()
        self._lookup = None
        self.stun_timer = self.rtx_timer = None
        if self.sock is not None:
            self.agent.loop.remove_reader(self.sock)
            self.sock.close()
            self.sock = None

    def _on_set(self, path, value):
        short = path[len(self.agent.model.ms("")):]
        if short.startswith("STUN") or short in ("URL",):
            self._dirty = True

    def _after_session(self, ok):
        if self._dirty:
            self._dirty = False
            self.reconfigure()

    def reconfigure(self):
        """Apply the configuration and parameters: open or close the socket
        (kept open across changes of the STUN settings, so the NAT binding
        survives), restart STUN."""
        cfg = self.agent.cfg
        addr = cfg.get("udp_connection_request", "address") or "0.0.0.0"
        port = cfg.int("udp_connection_request", "port", 0, 65535)
        self.checker.max_clock_skew = cfg.int("udp_connection_request", "max_clock_skew", 0)
        if self.sock is not None and (not self.wanted() or self._bind_spec != (addr, port)):
            self._close()
        for t in (self.stun_timer, self.rtx_timer):
            if t is not None:
                t.cancel()
        self.stun_timer = self.rtx_timer = None
        self.binding = None
        self._methods()
        model = self.agent.model
        if not self.wanted():
            model.set_internal(model.ms("NATDetected"), "false")
            model.set_internal(model.ms("UDPConnectionRequestAddress"), "")
            return
        if self.sock is None and not self._open(addr, port):
            return
        bound = self.sock.getsockname()[:2]
        self.local = bound
        if self.stun_enabled():
            self.binding = StunBinding(self._ms("STUNUsername"), self._secret("STUNPassword"))
            model.set_internal(model.ms("NATDetected"), "false")
            self._send_binding()
        else:
            host = bound[0]
            if host in ("0.0.0.0", "::"):
                acs = _host_of(self.agent.acs_url)
                if acs and numeric(acs, 7547) is None:  # a name: resolved on the loop

                    def found(addrs, err):
                        self._lookup = None
                        src = self._route_source(addrs[0][1][0], 7547) if addrs else None
                        self._publish((src or bound[0], bound[1]), nat=False)
                    loop = self.agent.loop
                    self._lookup = default_resolver().lookup(loop, acs, 7547, found, loop.clock() + 10,
                                                             socket.SOCK_DGRAM)
                    return
                host = self._route_source(acs, 7547) or host
            self._publish((host, bound[1]), nat=False)

    def _open(self, addr, port):
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        s = socket.socket(family, socket.SOCK_DGRAM)
        try:
            s.setblocking(False)
            s.bind((addr, port))
        except OSError as e:
            s.close()
            log.error("udpcr: cannot listen on UDP %s: %s", _authority(addr, port), e)
            return False
        self.sock = s
        self._bind_spec = (addr, port)
        self.agent.loop.add_reader(s, self._readable, nested=True)
        log.info("udpcr: listening for UDP connection requests on %s",
                 _authority(*s.getsockname()[:2]))
        return True

    def _methods(self):
        """Keep STUN in SupportedConnReqMethods exactly while it is enabled."""
        set_method(self.agent.model, "STUN", self.stun_enabled())

    # --------------------------------------------------------------- STUN
    def _server(self):
        """(host, port) of the STUN server, or None."""
        host = self._ms("STUNServerAddress") or _host_of(self.agent.acs_url)
        try:
            port = int(self._ms("STUNServerPort") or 3478) or 3478
        except ValueError:
            port = 3478
        return (host, port) if host else None

    def _route_source(self, host, port):
        """Our source address towards ``host`` (no packet is sent)."""
        if not host:
            return None
        try:
            fam, addr = (numeric(host, port, socket.SOCK_DGRAM) or [])[0]  # never a DNS wait
            probe = socket.socket(fam, socket.SOCK_DGRAM)
            try:
                probe.connect(addr)
                return probe.getsockname()[0]
            finally:
                probe.close()
        except (OSError, IndexError, UnicodeError):
            return None

    def keepalive_period(self):
        """Seconds between Binding Requests, within [min, max] keep-alive."""
        try:
            lo = int(self._ms("STUNMinimumKeepAlivePeriod") or 0)
            hi = int(self._ms("STUNMaximumKeepAlivePeriod") or -1)
        except ValueError:
            lo, hi = 30, -1
        period = lo if lo > 0 else (hi if hi > 0 else 30)
        if hi > 0:
            period = min(period, hi)
        return max(1, period)

    def _send_binding(self):
        self.stun_timer = None
        if self.sock is None or self.binding is None:
            return
        target = self._server()
        if target is None:
            self._schedule(self.keepalive_period())
            return
        found = numeric(target[0], target[1], socket.SOCK_DGRAM)
        if found:
            return self._resolved(found, None)
        loop = self.agent.loop
        self._lookup = default_resolver().lookup(loop, target[0], target[1], self._resolved,
                                                 loop.clock() + 10, socket.SOCK_DGRAM)

    def _resolved(self, addrs, err):
        """The STUN server's address is known (resolved on the loop): send."""
        self._lookup = None
        if self.sock is None or self.binding is None:
            return
        addrs = [a for f, a in addrs if f == self.sock.family]
        if not addrs:
            log.warning("stun: %s", err or "no address of the socket's family")
            self._schedule(self.keepalive_period())
            return
        self.server = tuple(addrs[0][:2])
        local = self.sock.getsockname()[:2]
        if local[0] in ("0.0.0.0", "::"):
            src = self._route_source(self.server[0], self.server[1])
            local = (src or local[0], local[1])
        self.local = local
        self._sendto(self.binding.request())
        self._arm_rtx()

    def _arm_rtx(self):
        if self.rtx_timer is not None:
            self.rtx_timer.cancel()
        self.rtx_timer = self.agent.loop.call_later(self.binding.next_rto(), self._retransmit, "stun-rtx",
                                                    nested=True)

    def _retransmit(self):
        self.rtx_timer = None
        if self.binding is None or self.sock is None:
            return
        pkt = self.binding.retransmit()
        if pkt is None:
            log.warning("stun: no answer from %s; trying again in %d s",
                        _authority(*self.server), self.keepalive_period())
            self._schedule(self.keepalive_period())
            return
        self._sendto(pkt)
        self._arm_rtx()

    def _schedule(self, delay):
        if self.stun_timer is not None:
            self.stun_timer.cancel()
        self.stun_timer = self.agent.loop.call_later(delay, self._send_binding, "stun", nested=True)

    def _sendto(self, pkt):
        try:
            self.sock.sendto(pkt, self.server)
        except OSError as e:
            log.debug("stun: send to %s failed: %s", _authority(*self.server), e)

    def _on_stun(self, data, addr):
        if self.binding is None or self.server is None or tuple(addr[:2]) != tuple(self.server):
            return  # only the server we asked may answer
        first = self.binding.mapped is None
        mapped = self.binding.response(data)
        if mapped is None:
            return
        if self.rtx_timer is not None:
            self.rtx_timer.cancel()
            self.rtx_timer = None
        nat = mapped != tuple(self.local)
        if self.binding.changed:
            log.info("stun: NAT binding %s %s", "is" if first else "changed to", _authority(*mapped))
        self._publish(mapped, nat)
        if self.binding.change_pending and self.binding.changed:
            self._schedule(0)  # tell the server at once (BINDING-CHANGE)
        else:
            self._schedule(self.keepalive_period())

    def _publish(self, mapped, nat):
        """Set UDPConnectionRequestAddress / NATDetected; report a change.

        The last address reported is kept in the state directory, so a
        restart that learns the same binding again does not cause an Inform.
        """
        model = self.agent.model
        addr_path = model.ms("UDPConnectionRequestAddress")
        value = _authority(*mapped)
        model.set_internal(model.ms("NATDetected"), "true" if nat else "false")
        if model.value(addr_path) == value:
            return
        model.set_internal(addr_path, value)
        log.info("udpcr: UDPConnectionRequestAddress %s (NAT %s)", value,
                 "detected" if nat else "not detected")
        if value != self.saved.get("address"):
            self.saved["address"] = value
            self._save()
            self._report(addr_path)

    def _save(self):
        self.agent.state.save("udpcr", {"last_ts": self.checker.last_ts,
                                        "address": self.saved.get("address", "")})

    def _report(self, path):
        self.agent.events.note_changed(path)
        self.agent.add_event(VALUE_CHANGE)

    # ------------------------------------------------- connection requests
    def _readable(self):
        for _ in range(32):  # bounded: never starve the loop
            try:
                data, addr = self.sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                log.debug("udpcr: recv failed: %s", e)
                return
            if stun.is_stun(data):
                self._on_stun(data, addr)
            else:
                self._on_request(data, addr)

    def _on_request(self, data, addr):
        agent = self.agent
        peer = _authority(*addr[:2])
        ok, info = self.checker.check(data, int(agent.wallclock()),
                                      self._ms("ConnectionRequestUsername"),
                                      self._secret("ConnectionRequestPassword"))
        if not ok:
            log.debug("udpcr: dropped a datagram from %s: %s", peer, info)
            return
        why = self.gate.admit("udp", peer)
        if why is not None:
            self.checker.dropped[why] += 1
            self.gate.refused("udp", peer, why)
            return
        self._save()
        self.accepted += 1
        self.gate.accepted("udp", peer)
