"""The pure CWMP protocol: SOAP codec, session state machine, RPC dispatch,
event codes and queue, value types.

Sans-I/O: no sockets, selectors, ssl, subprocess or open() in here (a test
enforces it). May import rocket.base only.
"""
