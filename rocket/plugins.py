"""Wiring: the features that plug into the agent core, installed in order.

Each feature module exposes ``install(agent)``, which registers its RPC
handlers with ``agent.rpc``, its services (listeners, sockets) in
``agent.services``, its CPE requests in ``agent.cpe_requests`` and its
end-of-session actions in ``agent.after_session``. Keeping the list here
means the core never imports a feature it does not need.
"""


def install(agent):
    """Install every feature into ``agent``."""
    from rocket.datamodel import backend
    backend.install(agent)  # first: the static tree may switch the root and DeviceId
    from rocket.owner import audit
    from rocket.owner import policy
    audit.install(agent)  # before the others: what they do is recorded from the start
    policy.install(agent)  # the owner's limits, ahead of every other RPC hook
    from rocket.owner import ctl
    from rocket.datamodel import notify
    notify.install(agent)  # value-change notifications (before ctl, which uses them)
    ctl.install(agent)  # the local control socket
    from rocket.connreq import httpcr as connreq
    from rocket.connreq.gate import Gate
    gate = Gate(agent)  # one admission gate for every kind of connection request
    connreq.install(agent, gate)
    from rocket.connreq import standby
    # UDP and STUN (TR-069 Annex G), XMPP (Annex K): imported once switched on
    standby.install(agent, gate)
    from rocket.ops import service as ops, vendorfiles
    vendorfiles.install(agent)  # DeviceInfo.VendorConfigFile/VendorLogFile from [transfer]
    ops.install(agent)  # transfers and device operations (rocket/ops/)
    from rocket.ops import dhcpacs, lwnotif
    lwnotif.install(agent)  # lightweight notifications (Annex M), fed by notify
    dhcpacs.install(agent)  # ctl dhcp-acs: an ACS URL learned by DHCP (TR-069 3.1)
    if agent.cfg.bool("diagnostics", "enable"):
        from rocket.diag import service
        service.install(agent)  # TR-143 diagnostics (rocket/diag/)
    if agent.cfg.bool("software", "enable"):
        from rocket.swmod import service as swmod
        swmod.install(agent)  # software modules, ChangeDUState (rocket/swmod/)
