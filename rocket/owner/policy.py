"""The owner's policy: what the ACS may read, write and do on this device.

A small INI file the owner controls (``[policy] file``, sample in
``etc/rocket-policy.conf``) says which parameter paths the ACS may not write
or read, whether it may reboot, factory-reset, download (firmware,
configuration files, from where) and upload (to where), and whether remote
management is on at all. It is re-read on SIGHUP; a file that cannot be read
or parsed stops the agent at start (exit 2) and leaves the previous policy in
force on a reload: a policy is never silently ignored.

Where it is enforced (every ACS request passes through these):

- ``Dispatcher.before``, by RPC name and arguments, before any handler runs,
  whoever implements it: Reboot, FactoryReset, Download, ScheduleDownload,
  Upload, ChangeDUState ([download] and [software] allow/from) -> fault 9001
  Request denied; with remote management
  off every RPC -> 9001.
- ``DataModel.checks`` for the parameter RPCs: SetParameterValues on a
  denied path -> 9003 with a 9008 (non-writable) entry for each denied
  parameter and nothing applied; AddObject, DeleteObject and
  SetParameterAttributes touching a denied subtree -> 9001 (they change the
  device's structure or what it reports, and have no per-parameter fault).
- ``DataModel.masks``: a read-denied parameter reads back as the empty string
  in GetParameterValues and in the Inform's InformParameter entries, exactly
  like the standard's hidden parameters (``Password``), while it stays listed
  by GetParameterNames and GetParameterAttributes. Masked, not absent: the
  ACS's picture of the tree stays whole (an ACS that walks the tree with
  GetParameterNames would otherwise see a model that contradicts itself), a
  whole-subtree read keeps working, and nothing leaks through notifications.
  Forced Inform parameters are never masked: the Inform never lies about the
  device.
- ``DataModel.locks``: GetParameterNames reports write-denied parameters and
  objects as not writable, so the ACS is told the truth before it tries.
- ``Agent.gates``: with ``remote = no`` no session starts; each trigger says
  so in the log and in the audit. Connection requests (HTTP, UDP, XMPP) are
  refused once authenticated (HTTP: 503).
- Diagnostics (rocket.diag): with ``[diagnostics] allow = no`` every write
  to a diagnostics object (``*Diagnostics.*``, ``UDPEchoConfig.*``) is
  refused like a deny_write path; ``targets`` (host names, ``.domain``
  suffixes, CIDR networks such as ``192.0.2.0/24``) limits the hosts a test
  may reach: a Host, URL or DNSServer outside it gets 9007 in the
  SetParameterValues, and each test checks again once the name is resolved.
- ``agent.policy.download_allowed(url)`` / ``upload_allowed(url)``: the
  transfer code asks again for every URL it contacts, the first one and each
  redirect (TransferComplete 9001 if refused), so neither a redirect nor a
  policy tightened while a transfer waited can take it elsewhere.

Why 9001 for SetParameterAttributes rather than 9009 (Notification request
rejected): 9009 belongs to the data model's own rules (canDeny,
forceEnabled) and speaks of the notification only, while a denied subtree
refuses the AccessList change as well; 9001 is the standard's policy refusal.

Every refusal is a fault to the ACS, a log line and an audit record (the
``rpc`` record carries ``policy``: the rule that refused it).

Only the ACS is restricted: the model hooks act while a session runs, and
the owner's own reads and writes through the control socket (served only
between sessions) are not touched.

Path patterns: ``Device.WiFi.`` (a trailing dot) covers the whole subtree;
``Device.Users.User.*.Password`` (no trailing dot) is one parameter, ``*``
standing for any one instance number.
"""

import os
import re

from rocket.base.config import ConfigError
from rocket.base.log import log
from rocket.cwmp.soap import CwmpFault
from rocket.base.booleans import config_bool

DENIED = "Request denied by the device owner's policy"

# section -> key -> kind
SCHEMA = {
    "management": {"remote": "bool", "reboot": "bool", "factory_reset": "bool"},
    "parameters": {"deny_write": "paths", "deny_read": "paths"},
    "download": {"allow": "bool", "firmware": "bool", "config": "bool", "from": "places"},
    "upload": {"allow": "bool", "to": "places"},
    "diagnostics": {"allow": "bool", "targets": "places"},
    "software": {"allow": "bool", "from": "places", "names": "names"},
}
_PATH_OK = re.compile(r"^(?:Device|InternetGatewayDevice)\.(?:(?:[A-Za-z_][\w-]*|\d+|\*)\.)*"
                      r"(?:[A-Za-z_][\w-]*)?$")
FIRMWARE_TYPES = ("1 ", "6 ")  # Firmware Upgrade Image, Stored Firmware Image
CONFIG_TYPES = ("3 ",)  # Vendor Configuration File


def _regex(patterns):
    """One compiled regex matching every path a pattern covers."""
    if not patterns:
        return None
    parts = []
    for p in patterns:
        r = re.escape(p).replace(r"\*", r"[^.]+")
        parts.append(r if p.endswith(".") else r + r"\Z")
    return re.compile("|".join("(?:%s)" % x for x in parts))


def _overlaps(name, pattern):
    """True if partial path ``name`` ('' = everything) holds part of ``pattern``."""
    if name == "":
        return True
    if not name.endswith("."):
        return False
    ns = name[:-1].split(".")
    ps = pattern.rstrip(".").split(".")
    if len(ps) < len(ns):
        return False
    return all(p == "*" or p == n for n, p in zip(ns, ps))


_REBOOTING = (".ManagementServer.ScheduleReboot", ".ManagementServer.DelayReboot")


class Policy:
    """One parsed policy file (the permissive default when there is none)."""

    def __init__(self, source=None):
        self.source = source
        self.remote = True
        self.reboot = True
        self.factory_reset = True
        self.download = True
        self.firmware = True
        self.config = True
        self.download_from = []  # URL prefixes or host names; empty: anywhere
        self.upload = True
        self.upload_to = []
        self.software = True
        self.software_from = []  # URL prefixes or host names; empty: anywhere
        self.software_names = []  # package name patterns (fnmatch); empty: any
        self.deny_write = []
        self.deny_read = []
        self.diagnostics = True
        self.diagnostics_targets = []
        self._compile()

    def _compile(self):
        self._write_rx = _regex(self.deny_write)
        self._read_rx = _regex(self.deny_read)

    # ------------------------------------------------------------ parse
    @classmethod
    def load(cls, path):
        """Read ``path``; ConfigError if it cannot be read or is wrong."""
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            st = os.stat(path)
        except OSError as e:
            raise ConfigError("policy %s: %s" % (path, e.strerror)) from None
        if st.st_mode & 0o022:
            log.warning("policy: %s is writable by others than its owner; "
                        "anyone who can write it decides what the ACS may do", path)
        return cls.parse(text, path)

    @classmethod
    def parse(cls, text, source="<policy>"):
        from rocket.base.ini import Ini, IniError
        cp = Ini()
        try:
            cp.read_string(text, source)
        except IniError as e:
            raise ConfigError("policy %s" % e) from None
        pol = cls(source)
        for sec in cp.sections():
            if sec not in SCHEMA:
                raise ConfigError("policy %s: unknown section [%s]" % (source, sec))
            for key, raw in cp[sec].items():
                kind = SCHEMA[sec].get(key)
                if kind is None:
                    raise ConfigError("policy %s: unknown key %s in [%s]" % (source, key, sec))
                v = raw.strip()
                where = "policy %s: [%s] %s" % (source, sec, key)
                if kind == "bool":
                    try:
                        value = config_bool(v)
                    except ValueError:
                        raise ConfigError("%s: %r is not yes or no" % (where, v)) from None
                elif kind == "paths":
                    value = v.split()
                    for p in value:
                        if not _PATH_OK.match(p):
                            raise ConfigError("%s: %r is not a parameter path or a partial path "
                                              "(Device.X.Y, Device.X.*.Y or Device.X.)" % (where, p))
                elif kind == "names":
                    value = v.replace(",", " ").split()
                else:
                    value = v.replace(",", " ").split()
                    for p in value:
                        if "://" in p and not re.match(r"^[a-z][a-z0-9+.-]*://[^/@\s]+(/|$)", p):
                            raise ConfigError("%s: %r is not a URL prefix (scheme://host/path)"
                                              % (where, p))
                attr = {("download", "allow"): "download", ("download", "from"): "download_from",
                        ("upload", "allow"): "upload", ("upload", "to"): "upload_to",
                        ("diagnostics", "allow"): "diagnostics",
                        ("diagnostics", "targets"): "diagnostics_targets",
                        ("software", "allow"): "software", ("software", "from"): "software_from",
                        ("software", "names"): "software_names"}.get((sec, key), key)
                setattr(pol, attr, value)
        pol._compile()
        return pol

    def summary(self):
        """The policy in one log line."""
        def yn(b):
            return "yes" if b else "no"
        return ("remote=%s reboot=%s factory_reset=%s download=%s (firmware=%s config=%s from %s) "
                "upload=%s (to %s) deny_write=%d deny_read=%d diagnostics=%s (to %s) software=%s (from %s)"
                % (yn(self.remote), yn(self.reboot), yn(self.factory_reset), yn(self.download),
                   yn(self.firmware), yn(self.config), " ".join(self.download_from) or "anywhere",
                   yn(self.upload), " ".join(self.upload_to) or "anywhere", len(self.deny_write),
                   len(self.deny_read), yn(self.diagnostics), " ".join(self.diagnostics_targets) or "anywhere",
                   yn(self.software), " ".join(self.software_from) or "anywhere"))

    # ---------------------------------------------------------- queries
    def write_denied(self, path):
        """True if the ACS may not write parameter ``path`` (or inside object ``path``)."""
        if not self.reboot and path.endswith(_REBOOTING):
            return True  # writing them reboots the device
        if not self.diagnostics and _diag_path(path):
            return True
        rx = self._write_rx
        return rx is not None and rx.match(path) is not None

    def write_rule(self, path):
        """The rule that makes ``path`` write-denied (for the log and the
        audit), or None."""
        if not self.reboot and path.endswith(_REBOOTING):
            return "[management] reboot = no"
        if not self.diagnostics and _diag_path(path):
            return "[diagnostics] allow = no"
        for p in self.deny_write:
            if _regex([p]).match(path):
                return "[parameters] deny_write: %s" % p
        return None

    def structure_denied(self, path):
        """True if an object operation / attribute change on ``path`` would
        touch anything write-denied (``path`` itself, below it, or above it)."""
        return self.structure_rule(path) is not None

    def structure_rule(self, path):
        """The rule an object operation / attribute change on ``path`` would break, or None."""
        rule = self.write_rule(path)
        if rule is None:
            for p in self.deny_write:
                if _overlaps(path, p):
                    return "[parameters] deny_write: %s" % p
        return rule

    def read_denied(self, path):
        rx = self._read_rx
        return rx is not None and rx.match(path) is not None

    def locked(self, path):
        """DataModel.locks: what GetParameterNames reports as not writable."""
        if path.endswith("."):
            return self.structure_denied(path)
        return self.write_denied(path)

    def url_allowed(self, url, places):
        """True if ``url`` is under one of ``places`` (URL prefixes or host
        names; ``.example.net`` = any host under example.net); empty = any.

        The transfer code should ask again for every redirect it follows.
        """
        from urllib.parse import urlsplit
        if not places:
            return True
        try:
            u = urlsplit(url.strip())
            host = (u.hostname or "").lower()
            port = u.port
        except ValueError:
            return False
        segs = u.path.split("/")
        sneaky = ".." in segs or "." in segs or "%2e" in u.path.lower() or "\\" in u.path
        for place in places:
            if "://" in place:
                a = urlsplit(place)
                if (u.scheme.lower() == a.scheme.lower() and host == (a.hostname or "").lower()
                        and port == a.port and not sneaky):
                    prefix = a.path or "/"
                    if u.path.startswith(prefix) and (prefix.endswith("/") or u.path == prefix
                                                      or u.path[len(prefix):len(prefix) + 1] == "/"):
                        return True
                continue
            place = place.lower()
            if host == place.lstrip(".") or (place.startswith(".") and host.endswith(place)):
                return True
        return False

    def target_allowed(self, host, addr=None):
        """True if a diagnostic may reach ``host`` (a name or an address;
        ``addr``: what it resolved to): [diagnostics] targets."""
        places = self.diagnostics_targets
        if not places:
            return True
        import ipaddress
        host = host.strip("[]").lower().rstrip(".")
        for place in places:
            if "/" in place or place.replace(".", "").isdigit() or ":" in place:
                try:
                    net = ipaddress.ip_network(place, strict=False)
                    if any(ipaddress.ip_address(a) in net for a in (host, addr) if a and _is_ip(a)):
                        return True
                except ValueError:
                    continue
            elif host == place.lstrip(".") or (place.startswith(".") and host.endswith(place)):
                return True
        return False

    def rpc_denied(self, msg):
        """The rule that refuses ACS request ``msg``, or None (Dispatcher.before)."""
        from rocket.cwmp.soap import operations, text
        name = msg.name
        if not self.remote:
            return "[management] remote = no"
        if name == "Reboot" and not self.reboot:
            return "[management] reboot = no"
        if name == "FactoryReset" and not self.factory_reset:
            return "[management] factory_reset = no"
        if name in ("Download", "ScheduleDownload", "ChangeDUState"):
            if not self.download:
                return "[download] allow = no"
            if name == "ChangeDUState":
                if not self.software:
                    return "[software] allow = no"
                urls = [(text(op, "URL") or "").strip() for op in operations(msg.body)]
                for u in urls:
                    if u and not self.url_allowed(u, self.software_from):
                        return "[software] from: URL not allowed"
            else:
                ftype = (text(msg.body, "FileType") or "").strip() + " "
                if not self.firmware and ftype.startswith(FIRMWARE_TYPES):
                    return "[download] firmware = no"
                if not self.config and ftype.startswith(CONFIG_TYPES):
                    return "[download] config = no"
                urls = [(text(msg.body, "URL") or "").strip()]
            for u in urls:
                if u and not self.url_allowed(u, self.download_from):
                    return "[download] from: URL not allowed"
        if name == "Upload":
            if not self.upload:
                return "[upload] allow = no"
            if not self.url_allowed((text(msg.body, "URL") or "").strip(), self.upload_to):
                return "[upload] to: URL not allowed"
        return None


def _is_ip(a):
    import ipaddress
    try:
        ipaddress.ip_address(a)
        return True
    except ValueError:
        return False


def _diag_path(p):
    return "Diagnostics." in p or "UDPEchoConfig." in p


def _deny(code, rule, param_faults=()):
    f = CwmpFault(code, DENIED if code == 9001 else None, param_faults)
    f.policy = rule
    return f


class Enforcer:
    """The hooks that apply the current ``Policy`` to one agent."""

    def __init__(self, agent, policy):
        self.agent = agent
        self.policy = policy
        self.masked_count = 0  # values masked while answering the current request

    # Dispatcher.before / Dispatcher.after
    def before(self, msg):
        self.masked_count = 0
        rule = self.policy.rpc_denied(msg)
        if rule:
            log.warning("policy: %s refused (%s)", msg.name, rule)
            raise _deny(9001, rule)

    def after(self, msg, fault):
        n, self.masked_count = self.masked_count, 0
        if n and fault is None:
            log.info("policy: %s: %d value%s masked ([parameters] deny_read)", msg.name, n,
                     "" if n == 1 else "s")
            note = getattr(self.agent.audit, "note", None)
            if note is not None:
                note(masked=n, policy="[parameters] deny_read")

    # DataModel.checks. Only ACS requests are the policy's business: the owner's
    # own reads and writes (the control socket, which never runs during a
    # session) pass untouched.
    def check(self, op, paths):
        if not self.agent.in_session:
            return
        pol = self.policy
        if op == "set":
            what, rules = "SetParameterValues", [(p, pol.write_rule(p)) for p in paths]
        elif op in ("add", "delete", "attributes"):
            what = {"add": "AddObject", "delete": "DeleteObject", "attributes": "SetParameterAttributes"}[op]
            rules = [(p, pol.structure_rule(p)) for p in paths]
        else:
            return
        bad = [(p, r) for p, r in rules if r]
        if bad:
            named = "; ".join(sorted(set(r for _, r in bad)))  # every rule that refused, once
            log.warning("policy: %s refused for %s (%s)", what, " ".join(p for p, _ in bad), named)
            if op == "set":
                raise _deny(9003, named, [(p, 9008, DENIED) for p, _ in bad])
            raise _deny(9001, named)

    # DataModel.masks / DataModel.locks
    def masked(self, path):
        if self.agent.in_session and self.policy.read_denied(path):
            self.masked_count += 1
            return True
        return False

    def locked(self, path):
        return self.agent.in_session and self.policy.locked(path)

    # for the transfer and connection-request code (e.g. on each redirect)
    @property
    def remote(self):
        return self.policy.remote

    def download_allowed(self, url):
        p = self.policy
        return p.remote and p.download and p.url_allowed(url, p.download_from)

    def upload_allowed(self, url):
        p = self.policy
        return p.remote and p.upload and p.url_allowed(url, p.upload_to)

    def diagnostic_allowed(self, host, addr=None):
        """None, or the rule that forbids a diagnostic towards ``host``."""
        p = self.policy
        if not p.diagnostics:
            return "[diagnostics] allow = no"
        if host and not p.target_allowed(host, addr):
            return "[diagnostics] targets"
        return None

    def software_url_allowed(self, url):
        p = self.policy
        return p.remote and p.software and p.url_allowed(url, p.software_from)

    def software_name_allowed(self, name):
        """[software] names: package name patterns the ACS may install,
        update or remove (shell wildcards); empty: any."""
        p = self.policy
        if not p.software_names:
            return True
        from fnmatch import fnmatchcase
        return any(fnmatchcase(name, pat) for pat in p.software_names)

    # Agent.gates
    def gate(self):
        if self.policy.remote:
            return None
        why = "remote management is off by the owner's policy (%s: [management] remote = no)" % (
            self.policy.source)
        self.agent.audit.record("denied", action="session", rule="[management] remote = no",
                                events=[c for c, _ in self.agent.events.pending])
        self.agent.audit.flush()  # no session end will come to flush it
        return why

    # service: says so at start
    def start(self, agent):
        if not self.policy.remote:
            log.warning("policy: remote management is OFF (%s): no session with the ACS will start; "
                        "local services keep running", self.policy.source)

    def stop(self):
        pass

    def use(self, policy):
        old, self.policy = self.policy, policy
        log.info("policy: %s: %s", policy.source or "no policy file, nothing restricted", policy.summary())
        if policy.source or old is not None:
            self.agent.audit.record("policy", file=policy.source or "", summary=policy.summary())
        self._warn_forced()
        if old is not None and not old.remote and policy.remote:
            log.info("policy: remote management is back on")
            if self.agent.events.pending:
                self.agent.request_session()
        elif old is not None and old.remote and not policy.remote:
            log.warning("policy: remote management is now OFF: no further sessions")

    def _warn_forced(self):
        from rocket.datamodel.store import FORCED_INFORM
        if self.policy._read_rx is None:
            return
        for path, p in self.agent.model.store.params_under(""):
            if p.flags & FORCED_INFORM and self.policy.read_denied(path):
                log.warning("policy: deny_read covers %s, a Forced Inform parameter: it is still "
                            "reported truthfully in every Inform", path)

    def reload(self):
        path = self.agent.cfg.get("policy", "file")
        try:
            policy = Policy.load(path) if path else Policy()
        except ConfigError as e:
            log.error("policy: not reloaded, the previous policy stays in force: %s", e)
            self.agent.audit.record("policy", file=path, error=str(e), kept="previous policy")
            return
        self.use(policy)


def install(agent, enf=None):
    """Enforce the policy file named by ``[policy] file`` (ConfigError if bad),
    or ``enf`` as it is (rocket.plugins: a file named by a reload)."""
    if enf is None:
        path = agent.cfg.get("policy", "file")
        enf = Enforcer(agent, None)
        enf.use(Policy.load(path) if path else Policy())
    agent.policy = enf  # .remote, .download_allowed(url), .upload_allowed(url) for other modules
    agent.rpc.before.insert(0, enf.before)
    agent.rpc.after.insert(0, enf.after)  # ahead of the audit's, which takes its note
    agent.model.checks.insert(0, enf.check)
    agent.model.masks.append(enf.masked)
    agent.model.locks.append(enf.locked)
    agent.gates.append(enf.gate)
    agent.services.append(enf)
    agent.on_reload.append(enf.reload)
    return enf
