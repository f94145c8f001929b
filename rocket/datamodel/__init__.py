"""The parameter store and everything that fills it: the flat store, the
data model facade the RPCs talk to, shell backends and their records, static
trees, value-change notifications.

May import rocket.base and rocket.cwmp. Not rocket.net: backends run as
child processes through a runner the agent passes in.
"""
