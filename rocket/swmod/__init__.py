"""Software modules (TR-157 / TR-181 ``Device.SoftwareModules.``) and the
ChangeDUState RPC: install, update and remove packages (dpkg, opkg) from
the ACS, and report what is installed and running.

Off by default (``[software] enable``); when off, nothing of it is
imported (rocket.plugins). The pieces: ``ops`` (the RPC and its reports in
CWMP terms, pure), ``model`` (the data model subtree, from the package
systems' shell backends), ``service`` (journal, runner, reports).
"""
