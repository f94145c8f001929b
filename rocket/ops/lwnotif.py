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
  passive ones every ``LightweightNotificationTriggerInterval`` seconds (0:
  only with the next active one).
- One datagram: the ``lwn:Notification`` document of
  cwmp-UDPLightweightNotification-1-0.xsd (TS, UN, CN, OUI, ProductClass,
  SerialNumber, one Param per changed parameter with its current value;
  hidden ones read as empty), at most MAX_PARAMS parameters; the rest go in
  the next datagram. UDP is fire-and-forget: a send error is logged once
  per datagram, nothing is retried.

Not here: detecting changes (rocket.datamodel.notify).
"""

from rocket.base.log import log
from rocket.cwmp.soap import esc

NS = "urn:broadband-forum-org:cwmp:lwnotif-1-0"
MAX_PARAMS = 32


def message(ts, username, cnonce, device_id, params):
    """The XML document (str); device_id = (OUI, ProductClass, SerialNumber)."""
    oui, pc, sn = device_id
    return ('<?xml version="1.0" encoding="UTF-8"?><lwn:Notification xmlns:lwn="%s"><lwn:TS>%d</lwn:TS>'
            "<lwn:UN>%s</lwn:UN><lwn:CN>%s</lwn:CN><lwn:OUI>%s</lwn:OUI><lwn:ProductClass>%s</lwn:ProductClass>"
            "<lwn:SerialNumber>%s</lwn:SerialNumber>%s</lwn:Notification>"
            % (NS, ts, esc(username[:256]), cnonce, esc(oui), esc(pc[:64]), esc(sn[:64]),
               "".join("<lwn:Param><lwn:Name>%s</lwn:Name><lwn:Value>%s</lwn:Value></lwn:Param>"
                       % (esc(n), esc(v)) for n, v in params)))


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
                self.timer = self.agent.loop.call_later(every, self._due, "lwnotif", nested=True)

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
        while self.waiting:
            batch, self.waiting = self.waiting[:MAX_PARAMS], self.waiting[MAX_PARAMS:]
            self._send(host, port, batch)

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
        body = message(int(a.wallclock()), self._ms("Username"), os.urandom(8).hex(),
                       (m.value(di + "ManufacturerOUI") or "", m.value(di + "ProductClass") or "",
                        m.value(di + "SerialNumber") or ""), params).encode("utf-8")

        def done(addrs, err):
            if not addrs:
                log.warning("lwnotif: %s not resolved (%s): %d change(s) not sent", host, err, len(params))
                return
            fam, addr = addrs[0]
            s = socket.socket(fam, socket.SOCK_DGRAM)
            try:
                s.sendto(body, addr)
                self.sent += 1
                log.info("lwnotif: %d change(s) sent to %s port %d", len(params), host, port)
            except OSError as e:
                log.warning("lwnotif: send to %s port %d failed: %s", host, port, e)
            finally:
                s.close()
        resolver.default_resolver().lookup(a.loop, host, port, done, a.loop.clock() + 10, socket.SOCK_DGRAM)


def install(agent):
    agent.lwnotif = Sender(agent)
