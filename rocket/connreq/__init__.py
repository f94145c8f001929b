"""Connection requests: the HTTP listener, UDP (with STUN) and XMPP.

``standby`` installs each kind: the real service when it is on, else a
stand-in that keeps its parameters off and loads it when switched on;
``gate`` (one admission gate for all kinds) is loaded with the first kind
that is on. ``httpcr``, ``udpcr`` (with ``stun``), ``xmpp`` (its
parameters in ``xmppmodel``) are the kinds.

May import rocket.base, rocket.cwmp, rocket.datamodel and rocket.net.
"""
