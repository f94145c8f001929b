"""Lightweight notifications (TR-069 Annex M): value changes sent over UDP.

Rules:

- Notification attributes 3 to 6 (CWMP 1.4): 3 passive lightweight, 4
  passive + passive lightweight, 5 active lightweight, 6 passive + active
  lightweight. rocket.datamodel.notify hands the lightweight part here
  (``changed``) and keeps the CWMP part (4 and 6 also ride the next Inform
  as passive changes).
- Nothing is sent unless ``ManagementServer.LightweightNotificationProtocolsUsed``
  is "UDP". The datagram goes to ``UDPLightweightNotificationHost`` (empty:
  the ACS URL's host) and ``UDPLightweightNotificationPort``.
- An active change is sent at once (with every passive one waiting); the
  passive ones at ``LightweightNotificationTriggerTime`` plus a multiple of
  ``LightweightNotificationTriggerInterval`` seconds (Unknown Time: that
  many seconds after the first waiting change; interval 0: only with the
  next active one). TR-098 has neither parameter: there passive ones wait
  for an active one.
- One datagram is an HTTP-style POST (Annex M, as for Annex G's UDP
  messages): a request line, Host, Content-Type, Content-Length and a
  ``Signature`` header, then the ``lwn:Notification`` document of
  cwmp-UDPLightweightNotification-1-0.xsd (TS, UN, CN, OUI, ProductClass,
  SerialNumber, one Param per changed parameter with its current value;
  hidden ones read as empty). Signature: HMAC-SHA1 of that document keyed
  with ManagementServer.Password, 40 upper-case hex digits; the TS and the
  random CN it covers let the ACS refuse replays.
- A datagram holds as many changes as fit in MAX_DATAGRAM bytes (at least
  one); the rest go in the next ones. UDP is fire-and-forget: a send error
  is logged once per datagram, nothing is retried.

Not here: detecting changes (rocket.datamodel.notify).
"""

from rocket.base.log import log
from rocket.cwmp.soap import esc

NS = "urn:broadband-forum-org:cwmp:lwnotif-1-0"
MAX_DATAGRAM = 1400  # bytes: one Ethernet frame over IPv4/IPv6 without fragments


def message(ts, username, cnonce, device_id, params):
    """The XML document (str); device_id = (OUI, ProductClass, SerialNumber)."""
    oui, pc, sn = device_id
    return ('<?xml version="1.0" encoding="UTF-8"?><lwn:Notification xmlns:lwn="%s"><lwn:TS>%d</lwn:TS>'
            "<lwn:UN>%s</lwn:UN><lwn:CN>%s</lwn:CN><lwn:OUI>%s</lwn:OUI><lwn:ProductClass>%s</lwn:ProductClass>"
            "<lwn:SerialNumber>%s</lwn:SerialNumber>%s</lwn:Notification>"
            % (NS, ts, esc(username[:256]), cnonce, esc(oui), esc(pc[:64]), esc(sn[:64]),
               "".join("<lwn:Param><lwn:Name>%s</lwn:Name><lwn:Value>%s</lwn:Value></lwn:Param>"
                       % (esc(n), esc(v)) for n, v in params)))


def datagram(host, port, body, password):
    """The UDP payload for the document ``body`` (bytes)."""
    import hmac
    sig = hmac.new(password.encode("utf-8"), body, "sha1").hexdigest().upper()
    return (('POST / HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: text/xml; charset="utf-8"\r\n'
             "Content-Length: %d\r\nSignature: %s\r\n\r\n")
            % ("[%s]" % host if ":" in host else host, port, len(body), sig)).encode() + body


def split(make, params, limit=MAX_DATAGRAM):
    """[(datagram, number of parameters)] for ``params``: ``make(part)`` for
    parts as large as fit in ``limit`` bytes (one parameter alone may exceed
    it), in order."""
    out, todo = [], [params]
    while todo:
        part = todo.pop()
        data = make(part)
        if len(data) > limit and len(part) > 1:
            half = len(part) // 2
            todo += [part[half:], part[:half]]
        else:
            out.append((data, len(part)))
    return out


class Sender:
    def __init__(self, agent):
        self.agent = agent
        self.waiting = []  # paths with a passive lightweight change
        self.timer = None
        self.sent = 0

    def _ms(self, name):
        return self.agent.ms(name) or ""

    def changed(self, items):
        """[(path, active)] from the notifier."""
        for path, _ in items:
            if path not in self.waiting:
                self.waiting.append(path)
        if any(a for _, a in items):
            self.flush()
        elif self.timer is None:
            try:
                every = int(self._ms("LightweightNotificationTriggerInterval"))
            except ValueError:
                every = 0
            if every > 0:
                from rocket.base.timefmt import parse_datetime
                phase = parse_datetime(self._ms("LightweightNotificationTriggerTime"))
                delay = every if phase is None else (phase - self.agent.wallclock()) % every or every
                self.timer = self.agent.loop.call_later(delay, self._due, "lwnotif", nested=True)

    def _due(self):
        self.timer = None
        self.flush()

    def flush(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if "UDP" not in self._ms("LightweightNotificationProtocolsUsed").split(","):
            self.waiting = []
            return
        host = self._ms("UDPLightweightNotificationHost")
        if not host:
            from urllib.parse import urlsplit
            host = urlsplit(self.agent.acs_url).hostname or ""
        try:
            port = int(self._ms("UDPLightweightNotificationPort") or 7547)
        except ValueError:
            port = 7547
        paths, self.waiting = self.waiting, []
        self._send(host, port, paths)

    def _send(self, host, port, paths):
        import os
        import socket
        from rocket.net import resolver
        a = self.agent
        m = a.model
        params = []
        from rocket.datamodel.store import HIDDEN, Param
        for p in paths:
            node = m.store.get(p)
            if isinstance(node, Param):
                params.append((p, "" if node.flags & HIDDEN else m.value(p) or ""))
        if not params:
            return
        di = m.root + "DeviceInfo."
        dev = (m.value(di + "ManufacturerOUI") or "", m.value(di + "ProductClass") or "",
               m.value(di + "SerialNumber") or "")
        password = m.store.get(m.ms("Password")).value or ""

        def make(part):
            body = message(int(a.wallclock()), self._ms("Username"), os.urandom(8).hex(), dev, part)
            return datagram(host, port, body.encode("utf-8"), password)
        grams = split(make, params)

        def done(addrs, err):
            if not addrs:
                log.warning("lwnotif: %s not resolved (%s): %d change(s) not sent", host, err, len(params))
                return
            fam, addr = addrs[0]
            s = socket.socket(fam, socket.SOCK_DGRAM)
            try:
                for data, n in grams:
                    try:
                        s.sendto(data, addr)
                        self.sent += 1
                        log.info("lwnotif: %d change(s) sent to %s port %d", n, host, port)
                    except OSError as e:
                        log.warning("lwnotif: send of %d change(s) to %s port %d failed: %s", n, host, port, e)
            finally:
                s.close()
        resolver.default_resolver().lookup(a.loop, host, port, done, a.loop.clock() + 10, socket.SOCK_DGRAM)


def install(agent):
    agent.lwnotif = Sender(agent)
