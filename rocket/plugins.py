"""Wiring: the features that plug into the agent core, installed in order.

Each feature module exposes ``install(agent)``, which registers its RPC
handlers with ``agent.rpc``, its services (listeners, sockets) in
``agent.services``, its CPE requests in ``agent.cpe_requests`` and its
end-of-session actions in ``agent.after_session``. Keeping the list here
means the core never imports a feature it does not need.
"""


def install(agent):
    """Install every feature into ``agent``."""
    from rocket import transfer
    transfer.install(agent)
