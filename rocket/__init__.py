"""Rocket: a TR-069 / CWMP agent for home routers (CPE side).

The package is small on purpose: every module has one job and imports the
heavy parts of the standard library (ssl, hashlib, subprocess, http.client)
only on the code paths that need them.
"""

__version__ = "0.1.0"
