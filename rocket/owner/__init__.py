"""What answers to the owner of the box: the audit trail, the owner policy
and the local control socket (ctl).

May import rocket.base, rocket.cwmp, rocket.datamodel and rocket.net.
"""
