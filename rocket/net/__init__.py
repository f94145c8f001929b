"""Sockets and the loop: the selectors loop (timers, signals, child
processes), the HTTP client for the ACS and for file transfers, the HTTP
request parser of listeners, digest authentication, interface addresses.

May import rocket.base and rocket.cwmp (faults); knows nothing of the data
model or of features.
"""
