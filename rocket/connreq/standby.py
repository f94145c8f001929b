"""Stand-ins for the connection-request kinds that are switched off.

What it is for: UDP (with STUN) and XMPP are off by default, HTTP can be
switched off, and their code is a few hundred KiB of memory once imported.
While a kind is off, its stand-in keeps the kind's parameters in the off
state, says "off" in ``ctl status``, and, the moment the kind is switched
on, imports the real service, puts it in its place among the agent's
services and starts it: UDP when ``[udp_connection_request] enable`` is set
(SIGHUP) or ManagementServer.STUNEnable is true at the end of a session (the
ACS set it; the real service applies STUN changes at that point too); XMPP
when ``[xmpp] enable`` is set (SIGHUP); HTTP when
ManagementServer.HTTPConnectionRequestEnable becomes true (the ACS, or
``[connection_request] enable`` and SIGHUP). The admission gate all kinds
share (``rocket.connreq.gate``) is made when the first kind goes live.
Not for: anything a running kind does (switched off again, the real
service stays, idle).
"""

from rocket.base.log import log


def set_method(model, method, on):
    """Keep ``method`` in SupportedConnReqMethods exactly while ``on``
    (listed in the order HTTP, STUN, XMPP)."""
    path = model.ms("SupportedConnReqMethods")
    cur = [m for m in (model.value(path) or "").split(",") if m and m != method]
    if on:
        cur.append(method)
    order = {"HTTP": 0, "STUN": 1, "XMPP": 2}
    cur.sort(key=lambda m: order.get(m, 9))
    model.set_internal(path, ",".join(cur))


def udp_wanted(agent):
    """UDP connection requests are on: STUN enabled, or the port asked for."""
    return agent.ms("STUNEnable") == "true" or agent.cfg.bool("udp_connection_request", "enable")


class OneGate:
    """The admission gate of every kind (``rocket.connreq.gate.Gate``),
    made (and its module imported) at the first call."""

    def __init__(self, agent):
        self.agent = agent
        self.gate = None

    def __call__(self):
        if self.gate is None:
            from rocket.connreq.gate import Gate
            self.gate = Gate(self.agent)
        return self.gate


class Standby:
    """A kind that is off (subclasses: ``label``, ``wanted``, ``off``,
    ``service``); ``gate`` is a ``OneGate``."""

    label = ""

    def __init__(self, gate):
        self.gate = gate
        self.agent = None
        self.live = None  # the real service, once switched on

    def status_lines(self):
        return ["%s: off" % self.label]

    def start(self, agent):
        self.agent = agent
        agent.on_reload.append(self.check)
        self.off()

    def stop(self):
        pass

    def check(self):
        """Switched on since: load the real service in this one's place."""
        agent = self.agent
        if self.live is not None or agent is None or not self.wanted():
            return
        self.live = self.service(self.gate())
        agent.services[agent.services.index(self)] = self.live
        self.live.start(agent)


class HttpStandby(Standby):
    """HTTP connection requests while HTTPConnectionRequestEnable is false:
    no port, an empty ConnectionRequestURL."""

    label = "connection_request"

    def start(self, agent):
        Standby.start(self, agent)
        enable = agent.model.ms("HTTPConnectionRequestEnable")
        agent.model.on_set.append(lambda path, value: self.check() if path == enable else None)

    def wanted(self):
        return self.agent.ms("HTTPConnectionRequestEnable") == "true"

    def off(self):
        model = self.agent.model
        path = model.ms("ConnectionRequestURL")
        if model.value(path) != "":
            model.set_internal(path, "")
        log.info("connreq: ConnectionRequestURL is empty (disabled)")

    def service(self, gate):
        from rocket.connreq import httpcr
        svc = httpcr.ConnectionRequests(self.agent, gate)
        self.agent.connreq = svc
        return svc


class UdpStandby(Standby):
    label = "udp_connection_request"

    def start(self, agent):
        Standby.start(self, agent)
        agent.after_session.append(lambda ok: self.check())

    def wanted(self):
        return udp_wanted(self.agent)

    def off(self):
        model = self.agent.model
        model.set_internal(model.ms("NATDetected"), "false")
        model.set_internal(model.ms("UDPConnectionRequestAddress"), "")
        set_method(model, "STUN", False)

    def service(self, gate):
        from rocket.connreq.udpcr import UdpConnReq
        return UdpConnReq(gate)


def install(agent):
    """Add the HTTP, UDP (STUN) and XMPP connection-request services to
    ``agent``: the real one for a kind that is on, else its stand-in."""
    from rocket.connreq.xmppmodel import XmppStandby
    gate = OneGate(agent)
    for kind in (HttpStandby(gate), UdpStandby(gate), XmppStandby(gate)):
        kind.agent = agent
        agent.services.append(kind.service(gate()) if kind.wanted() else kind)
