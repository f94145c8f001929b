"""Device operations carried out after a session: file transfers and their
journal (TransferComplete survives until acknowledged).

May import every room below it (base, cwmp, datamodel, net, connreq, owner),
never the agent.
"""
