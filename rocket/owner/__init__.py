"""What answers to the owner of the box: the audit trail, the owner policy
and the local control socket (ctl; its client, ``rocket.pyz ctl``, is
ctlclient, which the agent never imports). The policy module is imported
only when a policy file is configured (rocket.plugins).

May import rocket.base, rocket.cwmp, rocket.datamodel and rocket.net.
"""
