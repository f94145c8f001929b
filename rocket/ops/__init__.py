"""Device operations carried out after a session: file transfers (their
RPCs, runner, hooks and journal; TransferComplete survives until
acknowledged), Reboot, FactoryReset, ScheduleInform, scheduled reboots,
RequestDownload, ACS discovery by DHCP, lightweight notifications.

May import every room below it (base, cwmp, datamodel, net, connreq, owner),
never the agent.
"""
