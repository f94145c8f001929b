"""XMPP connection requests (TR-069 Annex K): a small client in the loop.

The agent keeps one XMPP client connection open (TCP, STARTTLS with a
verifying TLS context, SASL PLAIN, resource binding) and waits for the
ACS's connection request, an IQ stanza::

    <iq type="get" from="acs@example.com/x" id="cr1">
      <connectionRequest xmlns="urn:broadband-forum-org:cwmp:xmppConnReq-1-0">
        <username>...</username><password>...</password>
      </connectionRequest></iq>

It is accepted only from a JID in ManagementServer.ConnReqAllowedJabberIDs
(a bare JID matches any resource; an empty list allows every sender) and
with ConnectionRequestUsername/Password. The answer is an IQ result, or an
IQ error: ``service-unavailable`` for a sender that is not allowed,
``not-authorized`` for wrong credentials, ``resource-constraint`` over
``[connection_request] max_per_minute``. Past the allow list and the
credentials, the admission gate decides (``rocket.connreq.gate``: owner
policy, rate limit, log, audit, the "6 CONNECTION REQUEST" session,
coalesced like every connection request).

Three layers, from the bottom:

- ``StanzaReader``: incremental, bounded XML stream reader on expat. It
  rejects DTDs, entity declarations, comments and processing instructions
  (RFC 6120 §11.1) and caps the size and depth of one stanza.
- ``XmppProtocol``: the client side of RFC 6120, sans-I/O. Feed it bytes,
  take the bytes to send from ``outbox`` and the events it returns.
- ``XmppService``: the socket, TLS, timers (keep-alive, connect deadline,
  reconnect back-off) in the agent's loop. No threads: connect and the TLS
  handshake are non-blocking, progressed by the reader and short timers.

Source of truth: the ``[xmpp]`` section of the configuration file holds the
connection (server, JID, password, CA file). ``Device.XMPP.Connection.1.*``
mirrors it read-only for the ACS (with Status, JabberID, TLSEstablished);
ManagementServer.ConnReqAllowedJabberIDs is writable by the ACS (and set
from ``[xmpp] allowed_jids`` like the other file-backed parameters).
"""

import base64
import socket

from rocket.base.log import log
from rocket.connreq.gate import same
from rocket.connreq.xmppmodel import XmppParams, split_jid
from rocket.cwmp.soap import esc

NS_STREAM = "http://etherx.jabber.org/streams"
NS_CLIENT = "jabber:client"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_PING = "urn:xmpp:ping"
NS_CONNREQ = "urn:broadband-forum-org:cwmp:xmppConnReq-1-0"

MAX_STANZA = 65536  # bytes of one stanza
MAX_DEPTH = 16  # element nesting inside one stanza


class XmppError(Exception):
    """The stream cannot go on (protocol, XML, policy or server error)."""


def _q(ns, tag):
    return "{%s}%s" % (ns, tag)


# ---------------------------------------------------------------- reader
class StanzaReader:
    """Turn stream bytes into the stream header and whole stanzas.

    ``feed(data)`` returns a list of ("open", attrs) for the stream header,
    ("stanza", Element) for every complete first-level element, and
    ("close", None) for ``</stream:stream>``. Raises XmppError on XML that
    is not well formed or not allowed in XMPP, or over the limits.
    """

    def __init__(self, max_stanza=MAX_STANZA, max_depth=MAX_DEPTH):
        import xml.etree.ElementTree as ET
        from xml.parsers import expat
        self._ET = ET
        self.max_stanza = max_stanza
        self.max_depth = max_depth
        p = expat.ParserCreate(namespace_separator="}")
        p.buffer_text = True
        p.StartElementHandler = self._start
        p.EndElementHandler = self._end
        p.CharacterDataHandler = self._text
        p.StartDoctypeDeclHandler = self._forbidden("a DTD")
        p.EntityDeclHandler = self._forbidden("an entity declaration")
        p.CommentHandler = self._forbidden("a comment")
        p.ProcessingInstructionHandler = self._forbidden("a processing instruction")
        p.SkippedEntityHandler = self._forbidden("an entity reference")
        p.ExternalEntityRefHandler = self._forbidden("an external entity")
        self._p = p
        self._expat = expat
        self._depth = 0
        self._stack = []
        self._out = []
        self._stanza_bytes = 0

    @staticmethod
    def _forbidden(what):
        def handler(*args):
            raise XmppError("%s is not allowed in an XMPP stream" % what)
        return handler

    @staticmethod
    def _name(raw):
        return "{" + raw if "}" in raw else raw

    def _start(self, name, attrs):
        self._depth += 1
        tag = self._name(name)
        if self._depth == 1:
            if tag != _q(NS_STREAM, "stream"):
                raise XmppError("the stream does not start with <stream:stream>")
            self._out.append(("open", dict(attrs)))
            return
        if self._depth - 1 > self.max_depth:
            raise XmppError("stanza nested deeper than %d" % self.max_depth)
        attrib = {self._name(k): v for k, v in attrs.items()}
        if self._stack:
            el = self._ET.SubElement(self._stack[-1], tag, attrib)
        else:
            el = self._ET.Element(tag, attrib)
        self._stack.append(el)

    def _end(self, name):
        self._depth -= 1
        if self._depth == 0:
            self._out.append(("close", None))
            return
        el = self._stack.pop()
        if not self._stack:
            self._out.append(("stanza", el))
            self._stanza_bytes = 0

    def _text(self, data):
        if not self._stack:
            return  # whitespace between stanzas (keep-alives)
        el = self._stack[-1]
        if len(el):
            last = el[-1]
            last.tail = (last.tail or "") + data
        else:
            el.text = (el.text or "") + data

    def feed(self, data):
        self._stanza_bytes += len(data)
        try:
            self._p.Parse(data, False)
        except self._expat.ExpatError as e:
            raise XmppError("XML error: %s" % e) from None
        if not self._stack:
            self._stanza_bytes = 0
        elif self._stanza_bytes > self.max_stanza:
            raise XmppError("stanza larger than %d bytes" % self.max_stanza)
        out, self._out = self._out, []
        return out


# -------------------------------------------------------------- protocol
def jid_allowed(sender, allowed):
    """ConnReqAllowedJabberIDs rule: full JIDs match exactly, a bare JID any
    resource; an empty list allows everyone. Node and domain compare
    case-insensitively, the resource exactly."""
    if not allowed:
        return True
    sl, sd, sr = split_jid(sender)
    for a in allowed:
        al, ad, ar = split_jid(a.strip())
        if not ad:
            continue
        if sl.lower() == al.lower() and sd.lower() == ad.lower() and (not ar or ar == sr):
            return True
    return False


class Connected:
    """Resource bound: the stream is ready; ``jid`` is our full JID."""

    def __init__(self, jid):
        self.jid = jid


class StartTls:
    """The server said <proceed/>: wrap the socket, then call tls_done()."""


class ConnectionRequest:
    """A connectionRequest IQ was answered; ``accepted`` says how."""

    def __init__(self, sender, accepted, reason):
        self.sender = sender
        self.accepted = accepted
        self.reason = reason


class Closed:
    """The server closed the stream (or sent a stream error)."""

    def __init__(self, reason):
        self.reason = reason


class XmppProtocol:
    """The client side of an XMPP c2s stream, sans-I/O.

    ``check(sender, username, password)`` decides a connection request and
    returns None (accept) or the reason to refuse; it is asked only for a
    well-formed connectionRequest IQ. Bytes to send accumulate in
    ``outbox`` (a list); the caller drains it.
    """

    def __init__(self, username, domain, resource, password, check, require_tls=True):
        self.username = username
        self.domain = domain
        self.resource = resource
        self.password = password
        self.check = check
        self.require_tls = require_tls
        self.outbox = []
        self.state = "idle"
        self.tls = False
        self.authenticated = False
        self.jid = None
        self.reader = None
        self._bind_id = "bind1"

    def send(self, text):
        self.outbox.append(text.encode("utf-8"))

    def start(self):
        """Open (or reopen, after TLS or SASL) the stream."""
        self.reader = StanzaReader()
        self.state = "features"
        self.send("<?xml version='1.0'?><stream:stream to='%s' version='1.0' xml:lang='en' "
                  "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
                  % esc(self.domain))

    def tls_done(self):
        self.tls = True
        self.start()

    def feed(self, data):
        events = []
        for kind, item in self.reader.feed(data):
            if kind == "open":
                continue
            if kind == "close":
                events.append(Closed("stream closed by the server"))
                self.state = "closed"
                return events
            e = self._stanza(item)
            if e is not None:
                events.append(e)
                if isinstance(e, (StartTls, Closed)):
                    return events  # later bytes belong to a new stream
        return events

    def _stanza(self, el):
        tag = el.tag
        if tag == _q(NS_STREAM, "error"):
            cond = [c.tag.split("}")[-1] for c in el
                    if c.tag.startswith("{urn:ietf:params:xml:ns:xmpp-streams}")]
            raise XmppError("stream error: %s" % (cond[0] if cond else "unknown"))
        if tag == _q(NS_STREAM, "features"):
            return self._features(el)
        if tag == _q(NS_TLS, "proceed") and self.state == "starttls":
            self.state = "tls"
            return StartTls()
        if tag == _q(NS_TLS, "failure"):
            raise XmppError("the server refused STARTTLS")
        if tag == _q(NS_SASL, "success") and self.state == "auth":
            self.authenticated = True
            self.start()
            return None
        if tag == _q(NS_SASL, "failure"):
            cond = [c.tag.split("}")[-1] for c in el]
            raise XmppError("authentication failed (%s)" % (cond[0] if cond else "no reason"))
        if tag == _q(NS_CLIENT, "iq"):
            return self._iq(el)
        return None  # message, presence, anything else: ignored

    def _features(self, el):
        """Next negotiation step: STARTTLS, then SASL PLAIN, then bind."""
        if self.state != "features":
            return None
        if not self.tls:
            if el.find(_q(NS_TLS, "starttls")) is not None:
                self.state = "starttls"
                self.send("<starttls xmlns='%s'/>" % NS_TLS)
                return None
            if self.require_tls:
                raise XmppError("the server does not offer STARTTLS")
        if not self.authenticated:
            mechs = el.find(_q(NS_SASL, "mechanisms"))
            names = [] if mechs is None else [(m.text or "").strip()
                                              for m in mechs.findall(_q(NS_SASL, "mechanism"))]
            if "PLAIN" not in names:
                raise XmppError("the server does not offer SASL PLAIN (offers %s)"
                                % (", ".join(names) or "nothing"))
            token = base64.b64encode(b"\0" + self.username.encode("utf-8") + b"\0"
                                     + self.password.encode("utf-8")).decode("ascii")
            self.state = "auth"
            self.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (NS_SASL, token))
            return None
        if el.find(_q(NS_BIND, "bind")) is None:
            raise XmppError("the server does not offer resource binding")
        self.state = "bind"
        res = "<resource>%s</resource>" % esc(self.resource) if self.resource else ""
        self.send("<iq type='set' id='%s'><bind xmlns='%s'>%s</bind></iq>" % (self._bind_id, NS_BIND, res))
        return None

    def _iq(self, el):
        typ = el.get("type", "")
        iq_id = el.get("id", "")
        if self.state == "bind":
            if iq_id != self._bind_id:
                return None
            if typ != "result":
                raise XmppError("resource binding refused")
            jid = el.findtext("%s/%s" % (_q(NS_BIND, "bind"), _q(NS_BIND, "jid")))
            if not jid:
                raise XmppError("resource binding returned no JID")
            self.jid = jid.strip()
            self.state = "ready"
            return Connected(self.jid)
        if self.state != "ready" or typ not in ("get", "set"):
            return None
        sender = el.get("from", "")
        payload = el[0] if len(el) else None
        if payload is not None and payload.tag == _q(NS_CONNREQ, "connectionRequest") and typ == "get":
            user = payload.findtext(_q(NS_CONNREQ, "username"))
            pw = payload.findtext(_q(NS_CONNREQ, "password"))
            if user is None or pw is None:
                self._error(el, "modify", "bad-request")
                return ConnectionRequest(sender, False, "malformed connectionRequest")
            reason = self.check(sender, user, pw)
            if reason is None:
                self.send("<iq type='result' id='%s' to='%s'/>" % (esc(iq_id), esc(sender)))
                return ConnectionRequest(sender, True, "")
            if reason == "rate limited":
                self._error(el, "wait", "resource-constraint")
            elif reason == "sender not allowed":
                self._error(el, "cancel", "service-unavailable")
            else:
                self._error(el, "auth", "not-authorized")
            return ConnectionRequest(sender, False, reason)
        if payload is not None and payload.tag == _q(NS_PING, "ping"):
            self.send("<iq type='result' id='%s' to='%s'/>" % (esc(iq_id), esc(sender)))
            return None
        self._error(el, "cancel", "service-unavailable")
        return None

    def _error(self, el, etype, cond):
        """An IQ error echoing the request's payload (RFC 6120 §8.3)."""
        payload = ""
        if len(el) and el[0].tag == _q(NS_CONNREQ, "connectionRequest"):
            payload = ("<connectionRequest xmlns='%s'><username/><password/></connectionRequest>"
                       % NS_CONNREQ)
        self.send("<iq type='error' id='%s' to='%s'>%s<error type='%s'><%s xmlns='%s'/></error></iq>"
                  % (esc(el.get("id", "")), esc(el.get("from", "")), payload, etype, cond, NS_STANZAS))

    def close(self):
        self.send("</stream:stream>")
        self.state = "closed"


# --------------------------------------------------------------- service
class XmppService(XmppParams):
    """The client connection in the agent's loop."""

    POLL = 0.05  # seconds between checks while a connect or a send waits

    def __init__(self, gate):
        self.gate = gate
        self.agent = None
        self.sock = None
        self.proto = None
        self.state = "down"
        self.failures = 0
        self.accepted = 0
        self.refused = 0
        self._timers = {}
        self._wbuf = b""
        self._handshaking = False

    def status_lines(self):
        """For ``rocket.pyz ctl status``."""
        if self.agent is None or not self.agent.cfg.bool("xmpp", "enable"):
            return ["xmpp: off"]
        jid = self.proto.jid if self.proto is not None and self.state == "up" else None
        return ["xmpp: %s%s" % (self.state, " as %s" % jid if jid else ""),
                "xmpp_requests: %d accepted, %d refused" % (self.accepted, self.refused)]

    # ----------------------------------------------------------- service
    def _settings(self):
        from rocket.base.config import DEFAULTS
        return {k: self._cfg(k) for k in DEFAULTS["xmpp"]}

    def start(self, agent):
        self.agent = agent
        if self._reload not in agent.on_reload:
            agent.on_reload.append(self._reload)
        self._applied = self._settings()
        self._build_params()
        if not agent.cfg.bool("xmpp", "enable"):
            self._status("Disabled")
            self._methods(False)
            return
        local, domain, _ = self._account()
        if not local or not domain:
            log.error("xmpp: [xmpp] jid must be user@domain[/resource]; XMPP connection requests are off")
            self._status("Error")
            return
        self._methods(True)
        self._later("connect", 0, self._connect)

    def stop(self):
        for t in self._timers.values():
            t.cancel()
        self._timers.clear()
        if self.sock is not None and self.proto is not None and self.state == "up":
            self.proto.close()
            self._flush()
        self._close()

    def _reload(self):
        """SIGHUP: a changed [xmpp] section restarts the connection."""
        if self._settings() == self._applied:
            return
        log.info("xmpp: configuration changed, reconnecting")
        self.stop()
        self.state = "down"
        self.failures = 0
        self.start(self.agent)

    def _later(self, name, delay, cb):
        old = self._timers.pop(name, None)
        if old is not None:
            old.cancel()

        def run():
            self._timers.pop(name, None)
            cb()
        self._timers[name] = self.agent.loop.call_later(delay, run, "xmpp-" + name, nested=True)

    def _cancel(self, name):
        t = self._timers.pop(name, None)
        if t is not None:
            t.cancel()

    # ------------------------------------------------------------ connect
    def _connect(self):
        from rocket.net.resolver import default_resolver
        host = self._cfg("server") or self._account()[1]
        port = self._int("port", 1)
        self.state = "connecting"
        self._status("Connecting")
        self._later("deadline", self._int("connect_timeout", 1), lambda: self._fail("negotiation timed out"))
        loop = self.agent.loop
        self._lookup = default_resolver().lookup(loop, host, port, self._resolved,
                                                 loop.clock() + self._int("connect_timeout", 1))

    def _resolved(self, addrs, err):
        """The server's address is known (from the loop's resolver): connect
        without blocking; the loop says when the socket is writable."""
        import errno
        self._lookup = None
        if err:
            return self._fail(err)
        local, domain, res = self._account()
        family, addr = addrs[0]
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as e:
            return self._fail("cannot connect: %s" % e)
        sock.setblocking(False)
        _tcp_keepalive(sock, self._int("keepalive_interval", 1))
        self.sock = sock
        self._wbuf = b""
        self._handshaking = False
        rc = sock.connect_ex(addr)
        if rc not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            return self._fail("cannot connect to %s: %s" % (addr[0], errno.errorcode.get(rc, rc)))
        self.proto = XmppProtocol(local, domain, res, self._cfg("password"), self._check)
        self.agent.loop.add_writer(sock, self._connected, nested=True)

    def _connected(self):
        import os
        if self.sock is None:
            return
        self.agent.loop.remove_writer(self.sock)
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            return self._fail("connect failed: %s" % os.strerror(err))
        self.agent.loop.add_reader(self.sock, self._readable, nested=True)
        self.proto.start()
        self._flush()

    def _start_tls(self):
        import ssl
        ctx = ssl.create_default_context(cafile=self._cfg("ca_file") or None)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        raw = self.sock
        self.agent.loop.remove_reader(raw)
        try:
            from rocket.net.httpclient import tls_name
            self.sock = ctx.wrap_socket(raw, server_hostname=tls_name(self.proto.domain),
                                        do_handshake_on_connect=False)
        except (OSError, ValueError) as e:
            self.sock = raw
            return self._fail("TLS setup failed: %s" % e)
        self.agent.loop.add_reader(self.sock, self._readable, nested=True)
        self._handshaking = True
        self._handshake()

    def _handshake(self):
        import ssl
        try:
            self.sock.do_handshake()
        except ssl.SSLWantReadError:
            return
        except ssl.SSLWantWriteError:
            self._later("poll", self.POLL, self._handshake)
            return
        except (ssl.SSLError, OSError) as e:
            return self._fail("TLS handshake failed: %s" % e)
        self._handshaking = False
        if self._mirror:
            self.agent.model.set_internal(self._conn("TLSEstablished"), "true")
        self.proto.tls_done()
        self._flush()
        self._drain()  # the server may already have answered

    # ---------------------------------------------------------------- I/O
    def _readable(self):
        if self.sock is None:
            return
        if self._handshaking:
            return self._handshake()
        self._drain()

    def _drain(self):
        import ssl
        for _ in range(64):  # bounded: never starve the loop
            if self.sock is None:
                return
            try:
                data = self.sock.recv(16384)
            except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
                return
            except ssl.SSLWantWriteError:
                self._later("poll", self.POLL, self._drain)
                return
            except (OSError, ssl.SSLError) as e:
                return self._fail("connection lost: %s" % e)
            if not data:
                return self._fail("connection closed by the server")
            try:
                events = self.proto.feed(data)
            except XmppError as e:
                self.proto.close()
                self._flush()
                return self._fail(str(e))
            self._flush()
            for e in events:
                self._event(e)
                if self.sock is None:
                    return
            if self._handshaking:
                return  # TLS handshake in progress: the reader drives it

    def _event(self, e):
        if isinstance(e, StartTls):
            self._start_tls()
        elif isinstance(e, Connected):
            self._cancel("deadline")
            self.state = "up"
            self.failures = 0
            self._status("Enabled")  # TR-181: connected is Enabled (there is no Up)
            log.info("xmpp: connected as %s", e.jid)
            self._publish_jid(e.jid)
            self._later("keepalive", self._int("keepalive_interval", 1), self._keepalive)
        elif isinstance(e, ConnectionRequest):
            if e.accepted:
                self.accepted += 1
                self.gate.accepted("xmpp", e.sender)
            else:
                self.refused += 1
                self.gate.refused("xmpp", e.sender, e.reason)
        elif isinstance(e, Closed):
            self._fail(e.reason)

    def _flush(self):
        import ssl
        if self.proto is not None and self.proto.outbox:
            self._wbuf += b"".join(self.proto.outbox)
            del self.proto.outbox[:]
        while self._wbuf and self.sock is not None:
            try:
                n = self.sock.send(self._wbuf)
            except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                self._later("flush", self.POLL, self._flush)
                return
            except (OSError, ssl.SSLError) as e:
                return self._fail("send failed: %s" % e)
            self._wbuf = self._wbuf[n:]

    def _keepalive(self):
        if self.state != "up" or self.sock is None:
            return
        self._wbuf += b" "  # RFC 6120 §4.6.1 whitespace keep-alive
        self._flush()
        if self.sock is not None:
            self._later("keepalive", self._int("keepalive_interval", 1), self._keepalive)

    # ------------------------------------------------------------ failure
    def _close(self):
        self._handshaking = False
        if getattr(self, "_lookup", None) is not None:
            self._lookup.cancel()
            self._lookup = None
        if self.sock is not None:
            self.agent.loop.remove(self.sock)
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None
        if self._mirror:
            self.agent.model.set_internal(self._conn("TLSEstablished"), "false")

    def _fail(self, reason):
        for name in ("deadline", "poll", "flush", "keepalive"):
            self._cancel(name)
        self._close()
        self.state = "down"
        self.failures += 1
        lo = self._int("retry_initial_interval", 1)
        hi = max(lo, self._int("retry_max_interval", 1))
        delay = min(hi, lo * 2 ** min(self.failures - 1, 16))
        delay = self.agent.rng.uniform(delay / 2.0, delay)
        self._status("Error")
        log.warning("xmpp: %s; reconnecting in %.0f s", reason, delay)
        self._later("connect", delay, self._connect)

    # --------------------------------------------------------- the check
    def _check(self, sender, username, password):
        """None to accept a connection request, else the refusal reason."""
        agent = self.agent
        allowed = [j for j in (agent.ms("ConnReqAllowedJabberIDs") or "").split(",") if j.strip()]
        if not jid_allowed(sender, allowed):
            return "sender not allowed"
        want_user = agent.ms("ConnectionRequestUsername") or ""
        want_pw = agent.model.store.get(agent.model.ms("ConnectionRequestPassword")).value or ""
        if not want_user or not want_pw:
            return "no connection request credentials configured"
        ok_user = same(username, want_user)
        if not (same(password, want_pw) and ok_user):
            return "wrong credentials"
        return self.gate.admit("xmpp", sender)


def _tcp_keepalive(sock, interval):
    """Let the kernel find a dead server: probes after 2 keep-alive
    intervals of silence, 3 of them a keep-alive interval apart (Linux)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 2 * interval), ("TCP_KEEPINTVL", interval),
                        ("TCP_KEEPCNT", 3)):
        opt = getattr(socket, name, None)
        if opt is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, opt, value)
            except OSError:
                pass
