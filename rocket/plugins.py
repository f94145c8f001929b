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
    from rocket.base.log import log
    if agent.cfg.bool("audit", "enable"):
        from rocket.owner import audit
        audit.install(agent)  # before the others: what they do is recorded from the start
    else:
        log.info("audit: disabled ([audit] enable)")
    _policy(agent)  # the owner's limits, ahead of every other RPC hook
    from rocket.datamodel import notify
    notify.install(agent)  # value-change notifications (before ctl, which uses them)
    if not agent.once and agent.cfg.bool("control", "enable"):
        from rocket.owner import ctl
        ctl.install(agent)  # the local control socket
    from rocket.connreq import standby
    # HTTP (TR-069 3.2.2), UDP and STUN (Annex G), XMPP (Annex K), behind one
    # admission gate: each imported once switched on
    standby.install(agent)
    from rocket.ops import service as ops, vendorfiles
    vendorfiles.install(agent)  # DeviceInfo.VendorConfigFile/VendorLogFile from [transfer]
    if agent.cfg.get("cpe", "device_images"):
        from rocket.datamodel import deviceimages
        deviceimages.install(agent)  # DeviceInfo.DeviceImageFile from [cpe] device_images
    ops.install(agent)  # transfers and device operations (rocket/ops/)
    from rocket.ops import dhcpacs, lwnotif
    lwnotif.install(agent)  # lightweight notifications (Annex M), fed by notify
    dhcpacs.install(agent)  # ctl dhcp-acs: an ACS URL learned by DHCP (TR-069 3.1)
    if agent.cfg.bool("diagnostics", "enable"):
        from rocket.diag import standby as diag
        diag.install(agent)  # TR-143 diagnostics (rocket/diag/), their code once used
    if agent.cfg.bool("software", "enable"):
        from rocket.swmod import service as swmod
        swmod.install(agent)  # software modules, ChangeDUState (rocket/swmod/)


# rocket.owner.policy.Policy().summary(): no policy file, nothing restricted
NO_POLICY = ("remote=yes reboot=yes factory_reset=yes download=yes (firmware=yes config=yes from anywhere) "
             "upload=yes (to anywhere) deny_write=0 deny_read=0 diagnostics=yes (to anywhere) "
             "software=yes (from anywhere)")


def _policy(agent):
    """rocket.owner.policy, imported once ``[policy] file`` names a file (at
    start or at a reload); until then nothing is restricted and
    ``agent.policy`` is None, which every user of it reads as "allowed"."""
    if agent.cfg.get("policy", "file"):
        from rocket.owner import policy
        policy.install(agent)
        return
    from rocket.base.log import log

    def reload():
        if not agent.cfg.get("policy", "file"):  # as Enforcer.use says and records it
            log.info("policy: no policy file, nothing restricted: %s", NO_POLICY)
            agent.audit.record("policy", file="", summary=NO_POLICY)
            return
        agent.on_reload.remove(reload)
        from rocket.owner import policy
        enf = policy.Enforcer(agent, policy.Policy())  # the file is a change from no policy
        policy.install(agent, enf)
        enf.reload()

    log.info("policy: no policy file, nothing restricted: %s", NO_POLICY)
    agent.on_reload.append(reload)
