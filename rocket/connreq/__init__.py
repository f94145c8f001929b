"""Connection requests: the HTTP listener, UDP (with STUN) and XMPP.

May import rocket.base, rocket.cwmp, rocket.datamodel and rocket.net.
"""
