"""Stand-ins for the connection-request kinds that are switched off.

What it is for: UDP (with STUN) and XMPP are off by default, and their
code is a few hundred KiB of memory once imported. While a kind is off,
its stand-in keeps the kind's parameters in the off state, says "off" in
``ctl status``, and, the moment the kind is switched on, imports the real
service, puts it in its place among the agent's services and starts it:
UDP when ``[udp_connection_request] enable`` is set (SIGHUP) or
ManagementServer.STUNEnable is true at the end of a session (the ACS set
it; the real service applies STUN changes at that point too); XMPP when
``[xmpp] enable`` is set (SIGHUP). Not for: anything a running kind does
(switched off again, the real service stays, idle).
"""


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


class Standby:
    """A kind that is off (subclasses: ``label``, ``wanted``, ``off``, ``service``)."""

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
        self.live = self.service(self.gate)
        agent.services[agent.services.index(self)] = self.live
        self.live.start(agent)


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


def install(agent, gate):
    """Add the UDP (STUN) and XMPP connection-request services to ``agent``:
    the real one for a kind that is on, else its stand-in."""
    from rocket.connreq.xmppmodel import XmppStandby
    for kind in (UdpStandby(gate), XmppStandby(gate)):
        kind.agent = agent
        agent.services.append(kind.service(gate) if kind.wanted() else kind)
