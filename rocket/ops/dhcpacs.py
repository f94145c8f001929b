"""ACS discovery through DHCP (TR-069 §3.1): what a DHCP client learned.

The hook scripts in ``backends/hooks`` (dhcp-udhcpc, dhcp-odhcp6c,
dhcp-dhclient, dhcp-networkd, all through dhcp-acs) decode DHCPv4 option 43
or DHCPv6 option 17 (enterprise 3561) sub-options 1-4 and hand them over as
``ctl dhcp-acs`` with FIELD=VALUE items: url, provcode, retry_min,
retry_mult, source (the client and interface, for the log).

Rules:

- The owner's configuration wins: the learned values are used only when
  ``[acs] url`` is empty or ``[acs] dhcp_discovery = yes``. Otherwise they
  are logged, audited and ignored.
- A used URL must pass the same checks as a configured one; it becomes
  ManagementServer.URL (kept across restarts like an ACS write), and a
  changed URL gives "0 BOOTSTRAP" and a session. ProvisioningCode and the
  two retry parameters follow when given and valid.
- Every offer is one log line and one audit record (``dhcp_acs``).

Not here: talking DHCP (the system's client does) or parsing the options
(the hook scripts do).
"""

from rocket.base.log import log

_FIELDS = {"url": "URL", "provcode": "DeviceInfo.ProvisioningCode",
           "retry_min": "CWMPRetryMinimumWaitInterval", "retry_mult": "CWMPRetryIntervalMultiplier"}


def handle(agent, rest):
    from rocket.base.config import url_problem
    from rocket.net.acsclient import safe_url
    from rocket.owner.ctl import RequestError, unescape
    f = {}
    for item in rest.split("\t") if rest else []:
        k, _, v = item.partition("=")
        if k not in _FIELDS and k != "source":
            raise RequestError("unknown field %r (url, provcode, retry_min, retry_mult, source)" % k[:32])
        f[k] = unescape(v)[:1024]
    url = f.get("url", "")
    why = url_problem(url) if url else "no URL"
    src = f.get("source", "dhcp")[:64]
    if why is None and agent.cfg.get("acs", "url") and not agent.cfg.bool("acs", "dhcp_discovery"):
        why = "[acs] url is configured and dhcp_discovery is off"
    log.info("dhcp: ACS URL %s offered (%s)%s", safe_url(url) if url else "-", src,
             ": ignored, " + why if why else "")
    agent.audit.record("dhcp_acs", url=safe_url(url), source=src, used=not why,
                       **({"reason": why} if why else {}))
    if why:
        return ["ignored: " + why]
    m = agent.model
    for k in ("provcode", "retry_min", "retry_mult"):
        v = f.get(k)
        if v:
            path = m.root + _FIELDS[k] if "." in _FIELDS[k] else m.ms(_FIELDS[k])
            try:
                from rocket.cwmp.values import check
                p = m.store.get(path)
                m.set_persisted(path, check(p.type, p.limit, v))
            except Exception as e:
                log.warning("dhcp: %s %r not used: %s", k, v[:64], e)
    if url != agent.acs_url:
        m.set_persisted(m.ms("URL"), url)
        agent._url_changed()
        return ["used: URL changed"]
    return ["used: URL unchanged"]


def install(agent):
    if agent.ctl is not None:
        agent.ctl.handlers["dhcp-acs"] = lambda rest: handle(agent, rest)
