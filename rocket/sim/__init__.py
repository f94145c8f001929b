"""The fleet simulator (``rocket.pyz sim``): many virtual CPEs in one process
and one loop, on the agent's session, SOAP, RPC, retry and digest code, for
people who build and run ACSs. Imported only by that subcommand."""
