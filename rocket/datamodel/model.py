"""The data model: the store plus the rules of the parameter RPCs.

``DataModel`` answers the questions of GetParameterValues, GetParameterNames,
SetParameterValues, Get/SetParameterAttributes, AddObject and DeleteObject,
in Python terms (lists of paths, CwmpFault on error); ``rocket.rpc`` turns
them into XML. Parameters belong either to the agent (built-in:
``ManagementServer.*``, ``DeviceInfo`` basics, ``RootDataModelVersion``) or to
a backend (``rocket.backend``), found by longest owned prefix. A backend is
asked for its subtree at most once per session, on first touch.

The built-in parameters that an operator also sets in the INI file
(``ManagementServer.URL``, ``PeriodicInformInterval``...) follow the rule in
``rocket.config``: an ACS write is persisted in the state directory with the
file's value at that time, and wins until the file's value changes. Every
other writable parameter the agent owns (UpgradesManaged,
DefaultActiveNotificationThrottle, ScheduleReboot, ...) is persisted the same
way and simply wins: there is no file value to compare with.
"""


from rocket.cwmp import values
from rocket.base.log import log
from rocket.cwmp.soap import CwmpFault
from rocket.datamodel import stack
from rocket.base.booleans import config_to_xsd
from rocket.datamodel.store import (
    Change,
    ACTIVE_DEFAULT,
    ACTIVE_FORCED,
    CAN_DENY,
    FORCED_INFORM,
    HIDDEN,
    VOLATILE,
    Obj,
    Param,
    Store,
    parent_of,
)

MAX_RESULT = 250000  # parameters in one answer before 9004 ([acs] max_parameters)

# ManagementServer parameter -> (INI section, key); these are file-backed.
FILE_BACKED = {
    "URL": ("acs", "url"),
    "Username": ("acs", "username"),
    "Password": ("acs", "password"),
    "PeriodicInformEnable": ("acs", "periodic_inform_enable"),
    "PeriodicInformInterval": ("acs", "periodic_inform_interval"),
    "PeriodicInformTime": ("acs", "periodic_inform_time"),
    "CWMPRetryMinimumWaitInterval": ("acs", "retry_minimum_wait_interval"),
    "CWMPRetryIntervalMultiplier": ("acs", "retry_interval_multiplier"),
    "ConnectionRequestUsername": ("connection_request", "username"),
    "ConnectionRequestPassword": ("connection_request", "password"),
    "HTTPConnectionRequestEnable": ("connection_request", "enable"),
    "STUNEnable": ("stun", "enable"),
    "STUNServerAddress": ("stun", "server_address"),
    "STUNServerPort": ("stun", "server_port"),
    "STUNUsername": ("stun", "username"),
    "STUNPassword": ("stun", "password"),
    "STUNMinimumKeepAlivePeriod": ("stun", "minimum_keepalive"),
    "STUNMaximumKeepAlivePeriod": ("stun", "maximum_keepalive"),
    "ConnReqAllowedJabberIDs": ("xmpp", "allowed_jids"),
    "HTTPCompression": ("acs", "http_compression"),
    "DeviceInfo.ProvisioningCode": ("cpe", "provisioning_code"),  # a path under the root
}

# name, type, writable, flags, limit, default (for non file-backed)
_MS = (
    ("URL", "string", True, 0, 2048, None),
    ("Username", "string", True, 0, 256, None),
    ("Password", "string", True, HIDDEN, 256, None),
    ("PeriodicInformEnable", "boolean", True, 0, None, None),
    ("PeriodicInformInterval", "unsignedInt", True, 0, (1, None), None),
    ("PeriodicInformTime", "dateTime", True, 0, None, None),
    ("ParameterKey", "string", False, FORCED_INFORM | CAN_DENY, 32, ""),
    ("ConnectionRequestURL", "string", False, FORCED_INFORM | ACTIVE_DEFAULT, 2048, ""),
    ("ConnectionRequestUsername", "string", True, 0, 256, None),
    ("ConnectionRequestPassword", "string", True, HIDDEN, 256, None),
    ("UpgradesManaged", "boolean", True, 0, None, "false"),
    ("DefaultActiveNotificationThrottle", "unsignedInt", True, 0, None, "0"),
    ("CWMPRetryMinimumWaitInterval", "unsignedInt", True, 0, (1, 65535), None),
    ("CWMPRetryIntervalMultiplier", "unsignedInt", True, 0, (1000, 65535), None),
    ("HTTPConnectionRequestEnable", "boolean", True, 0, None, None),
    # TR-069 §3.6.1 and Amendment 6 instance wildcards (rocket.datamodel.paths)
    ("AliasBasedAddressing", "boolean", False, FORCED_INFORM, None, "true"),
    ("InstanceMode", "string", True, 0, ("InstanceNumber", "InstanceAlias"), "InstanceNumber"),
    ("AutoCreateInstances", "boolean", True, 0, None, "false"),
    ("InstanceWildcardsSupported", "boolean", False, 0, None, "true"),
    ("SupportedConnReqMethods", "string", False, 0, None, "HTTP"),
    ("HTTPCompressionSupported", "string", False, 0, None, "GZIP"),
    ("HTTPCompression", "string", True, 0, ("Disabled", "GZIP"), None),
    ("ScheduleReboot", "dateTime", True, 0, None, values.UNKNOWN_TIME),
    ("DelayReboot", "int", True, 0, (-1, None), "-1"),
    ("UDPConnectionRequestAddress", "string", False, 0, 256, ""),
    ("NATDetected", "boolean", False, 0, None, "false"),
    ("STUNEnable", "boolean", True, 0, None, None),
    ("STUNServerAddress", "string", True, 0, 256, None),
    ("STUNServerPort", "unsignedInt", True, 0, (0, 65535), None),
    ("STUNUsername", "string", True, 0, 256, None),
    ("STUNPassword", "string", True, HIDDEN, 256, None),
    ("STUNMaximumKeepAlivePeriod", "int", True, 0, (-1, None), None),
    ("STUNMinimumKeepAlivePeriod", "unsignedInt", True, 0, None, None),
    ("InformParameterNumberOfEntries", "unsignedInt", False, 0, None, "0"),
    ("ConnReqXMPPConnection", "string", False, 0, 256, ""),
    ("ConnReqAllowedJabberIDs", "string", True, 0, None, None),
    ("ConnReqJabberID", "string", False, ACTIVE_DEFAULT, 256, ""),
    # TR-069 Annex O (CWMP 1.4): "14 HEARTBEAT" Informs on their own schedule
    ("HeartbeatPolicy.Enable", "boolean", True, 0, None, "false"),
    ("HeartbeatPolicy.ReportingInterval", "unsignedInt", True, 0, (30, None), "300"),
    ("HeartbeatPolicy.InitiationTime", "dateTime", True, 0, None, values.UNKNOWN_TIME),
    # TR-069 Annex M: lightweight notifications over UDP (rocket.ops.lwnotif)
    ("LightweightNotificationProtocolsSupported", "string", False, 0, None, "UDP"),
    ("LightweightNotificationProtocolsUsed", "string", True, 0, ("", "UDP"), ""),
    ("LightweightNotificationTriggerInterval", "unsignedInt", True, 0, None, "0"),  # TR-181 only
    ("LightweightNotificationTriggerTime", "dateTime", True, 0, None, values.UNKNOWN_TIME),  # TR-181 only
    ("UDPLightweightNotificationHost", "string", True, 0, 256, ""),
    ("UDPLightweightNotificationPort", "unsignedInt", True, 0, (0, 65535), "7547"),
    # which autonomous transfers are reported (rocket.ops.autonomous applies it)
    ("AutonomousTransferCompletePolicy.Enable", "boolean", True, 0, None, "true"),
    ("AutonomousTransferCompletePolicy.TransferTypeFilter", "string", True, 0, ("Upload", "Download", "Both"),
     "Both"),
    ("AutonomousTransferCompletePolicy.ResultTypeFilter", "string", True, 0, ("Success", "Failure", "Both"),
     "Both"),
    ("AutonomousTransferCompletePolicy.FileTypeFilter", "string", True, 0, 1024,
     "1 Firmware Upgrade Image,2 Web Content,3 Vendor Configuration File,4 Vendor Log File"),
)
_MS_OBJECTS = ("HeartbeatPolicy.", "AutonomousTransferCompletePolicy.")  # their values persist


def file_value_of(cfg, sec, key, ptype):
    """The value the INI file gives an agent parameter, as CWMP text."""
    v = cfg.get(sec, key)
    if ptype == "boolean":
        return config_to_xsd(v)
    if ptype == "dateTime" and not v:
        return values.UNKNOWN_TIME
    return v


def _one_request(fn):
    """A parameter RPC: the alias index (paths.find_alias) lives as long as it."""
    def run(self, *args):
        self._aidx = {}
        try:
            return fn(self, *args)
        finally:
            self._aidx = None
    return run


class DataModel:
    def __init__(self, root="Device.", state=None):
        self.root = root
        self.store = Store()
        self.state = state
        self.cfg = None  # the Config the agent's own parameters come from
        self.max_result = MAX_RESULT  # the agent sets [acs] max_parameters
        self.breathe = None  # called between names of a big request (the agent's loop)
        self.backends = []  # objects with .name, .prefixes, load/set/commit/abort/add/delete/apply
        self._routes = []  # (prefix, backend), longest first
        self._loaded = set()
        self._touched = set()
        self.on_set = []  # callbacks(path, value) after an ACS write of an agent parameter
        self.on_change = []  # callbacks(Change) after any ACS or owner write (audit, notify)
        self.checks = []  # callbacks(op, paths) raising CwmpFault (policy)
        self.value_checks = []  # callbacks(path, value) raising values.BadValue (9007) in an SPV
        self.masks = []  # callables(path) -> True: the ACS reads the value as "" (policy)
        self.locks = []  # callables(path) -> True: GetParameterNames says not writable (policy)
        self.getters = {}  # path -> callable returning the current value (agent-owned)
        self.on_internal = []  # callbacks(path, old, new) after set_internal changed a value
        self.on_inform = []  # callbacks([(name, type, value)]) with each Inform's ParameterList
        self._last_instance = {}  # table -> highest instance number handed out
        self.instances = None  # the backends' InstanceMap (rocket.datamodel.backend)
        # Device.InterfaceStack is derived from every backend's LowerLayers
        self.stacked = root + "InterfaceStack" if root == "Device." else None
        saved = state.load("params", {}, {"key": str, "attrs": {"*": [int, [str]]}}) if state is not None else {}
        self.parameter_key = saved.get("key", "")
        self.attrs = saved.get("attrs", {})  # path -> [notification, [access...]]
        self.overrides = state.load("overrides", {}, {"*": [str, str]}) if state is not None else {}

    # ------------------------------------------------------------- setup
    def ms(self, name):
        return self.root + "ManagementServer." + name

    def build_builtin(self, cfg):
        """Create the agent's own parameters from the configuration."""
        self.cfg = cfg
        r = self.root
        s = self.store
        s.add_object(r)
        di = r + "DeviceInfo."
        s.add_object(di)
        for name, key, flags in (("Manufacturer", "manufacturer", 0), ("ManufacturerOUI", "oui", 0),
                                 ("ProductClass", "product_class", 0),
                                 ("SerialNumber", "serial_number", 0),
                                 ("HardwareVersion", "hardware_version", FORCED_INFORM),
                                 ("SoftwareVersion", "software_version", FORCED_INFORM | ACTIVE_FORCED)):
            s.add(di + name, Param(cfg.get("cpe", key), "string", False, None, flags, 64))
        s.add(di + "ProvisioningCode", Param(self._file_value(cfg, "DeviceInfo.ProvisioningCode", "cpe",
                                                              "provisioning_code", "string"),
                                             "string", True, None, FORCED_INFORM | ACTIVE_FORCED, 64))
        s.add(di + "UpTime", Param("0", "unsignedInt", False, None, CAN_DENY | VOLATILE))
        self.getters[di + "UpTime"] = _uptime
        if r == "Device.":
            s.add(r + "RootDataModelVersion", Param("2.19", "string", False, None, FORCED_INFORM, 32))
            # DeviceImageFile: empty unless [cpe] device_images names pictures
            # (rocket.datamodel.deviceimages) or a static tree has its own
            s.add_object(di + "DeviceImageFile.")
            s.add(di + "DeviceImageNumberOfEntries", Param("0", "unsignedInt"))

        else:
            s.add(di + "SpecVersion", Param("1.0", "string", False, None, FORCED_INFORM, 16))
            s.add(r + "DeviceSummary", Param("InternetGatewayDevice:1.4[](Baseline:1)", "string", False,
                                             None, FORCED_INFORM, 1024))
        s.add_object(r + "ManagementServer.")
        for o in _MS_OBJECTS[r != "Device.":]:  # TR-181 only: TR-098 has no HeartbeatPolicy
            s.add_object(self.ms(o))
        for name, ptype, writable, flags, limit, default in _MS:
            if r != "Device." and name.startswith(("HeartbeatPolicy.", "LightweightNotificationTrigger")):
                continue
            if name in FILE_BACKED:
                sec, key = FILE_BACKED[name]
                value = self._file_value(cfg, name, sec, key, ptype)
            elif writable and name in self.overrides:
                value = self.overrides[name][0]  # set by the ACS or `ctl set` before
            else:
                value = default
            s.add(self.ms(name), Param(value, ptype, writable, None, flags, limit))
        s.get(self.ms("ParameterKey")).value = self.parameter_key
        s.add_object(self.ms("InformParameter."), writable=True, table=True)
        self._load_inform_params()
        self._apply_saved_attrs()

    def _file_value(self, cfg, name, sec, key, ptype):
        file_value = file_value_of(cfg, sec, key, ptype)
        ov = self.overrides.get(name)
        if ov is not None:
            if ov[1] == file_value:
                return ov[0]
            log.info("config: %s changed in the file; the file's value replaces the ACS's", name)
            del self.overrides[name]
            self._save_overrides()
        return file_value

    def reload_config(self, cfg):
        """The INI file was re-read: file-backed parameters take its values
        (an ACS-set value survives only while the file's value is unchanged)."""
        self.cfg = cfg
        for short, (sec, key) in FILE_BACKED.items():
            p = self.store.get(self.override_path(short))
            p.value = self._file_value(cfg, short, sec, key, p.type)

    def _save_overrides(self):
        if self.state is not None:
            self.state.save("overrides", self.overrides)

    def _apply_saved_attrs(self):
        for path, (notif, access) in list(self.attrs.items()):
            p = self.store.get(path)
            if isinstance(p, Param):
                p.notification = notif
                p.access = tuple(access)
        for path, p in self.store.params_under(self.root):
            if p.flags & (ACTIVE_FORCED | ACTIVE_DEFAULT) and path not in self.attrs:
                p.notification = 2

    def save(self):
        if self.state is not None:
            self.state.save("params", {"key": self.parameter_key, "attrs": self.attrs})

    def factory_reset(self):
        """Forget what the ACS set here: ParameterKey, attributes, overrides (saved)."""
        self.parameter_key = ""
        p = self.store.get(self.ms("ParameterKey"))
        if p is not None:
            p.value = ""
        self.attrs = {}
        self.overrides = {}
        self.save()
        self._save_overrides()

    def add_backend(self, backend):
        self.backends.append(backend)
        for prefix in backend.prefixes:
            self._routes.append((prefix, backend))
            self.store.add_object(prefix, owner=backend.name)
        self._routes.sort(key=lambda r: -len(r[0]))

    def owner(self, path):
        for prefix, b in self._routes:
            if path.startswith(prefix):
                return b
        return None

    # ------------------------------------------------------------ session
    def begin_session(self):
        self._loaded.clear()
        self._touched.clear()
        self._failed = {}  # backend name -> its fault, this session

    def end_session(self):
        """Run each touched backend's end-of-session apply (service reloads)."""
        for b in self.backends:
            if b.name in self._touched:
                try:
                    b.apply()
                except CwmpFault as e:
                    log.error("backend %s: apply failed: %s", b.name, e)
        self._touched.clear()

    def touch(self, path, deep=True):
        """Load the backends whose subtrees overlap ``path`` (once a session).

        ``deep=False`` (GetParameterNames with NextLevel): only a backend
        whose subtree holds ``path`` itself; the object of a deeper prefix
        is in the store from ``add_backend`` on, so listing it needs no load.
        InterfaceStack needs every backend, and is rebuilt after any load.
        """
        if self.stacked and path.startswith(self.stacked):
            path = self.root
        loaded = False
        try:
            for prefix, b in self._routes:
                if b.name in self._loaded:
                    continue
                inside = path.startswith(prefix)
                if inside or (deep and prefix.startswith(path)):
                    # One failing backend never fails a request for the others:
                    # a path inside its subtree gets its 9002; a partial path above
                    # it is answered without its subtree (dropped, never stale).
                    err = self._failed.get(b.name)
                    if err is None:
                        try:
                            self.load_backend(b)
                        except CwmpFault as e:
                            err = self._backend_failed(b, e)
                        else:
                            self._loaded.add(b.name)
                            loaded = True
                            continue
                    if inside:
                        raise err
        finally:
            if loaded and self.stacked:
                stack.rebuild(self.store, self.root, self.instances)

    _failed = {}

    def _backend_failed(self, b, e):
        """Backend ``b`` could not be read this session: forget its values
        (never serve stale ones) and say so once."""
        self._failed[b.name] = e
        stale = [k for p in b.prefixes for k in self.store.subtree(p)
                 if getattr(self.store.nodes[k], "owner", None) == b.name and k not in b.prefixes]
        self.store.remove(stale)
        log.warning("backend %s unavailable (%s): answers leave out %s", b.name, e.string or e.code,
                    " ".join(b.prefixes))
        return e

    def load_backend(self, b):
        """Fill the store from backend ``b``, keeping the persisted attributes."""
        b.load(self.store)
        for path, (notif, access) in self.attrs.items():
            if b.name == getattr(self.owner(path), "name", None):
                p = self.store.get(path)
                if isinstance(p, Param):
                    p.notification = notif
                    p.access = tuple(access)

    def value(self, path):
        p = self.store.get(path)
        if p is None or isinstance(p, Obj):
            return None
        g = self.getters.get(path)
        return g() if g is not None else p.value

    def set_internal(self, path, value):
        """The agent itself changes one of its parameters (no ACS involved)."""
        p = self.store.get(path)
        if isinstance(p, Param):
            old = p.value
            p.value = value
            if old != value:
                for cb in self.on_internal:
                    cb(path, old, value)

    def set_persisted(self, path, value):
        """The agent changes a writable parameter of its own and keeps the
        value across restarts, as if written (e.g. DelayReboot back to -1)."""
        self.set_internal(path, value)
        self._remember_override(path, value)

    # -------------------------------------------------------------- paths
    def _resolve(self, name, stars=True):
        """Parameters named by ``name`` ('' = root, 'X.' = subtree; instance
        aliases, and wildcards when ``stars``)."""
        path = name.strip()
        if path == "":
            path = self.root
        if not path.startswith(self.root):
            raise CwmpFault(9005, "Invalid parameter name: %s" % path[:256])
        if "[" in path or "*" in path:
            out = []
            for c in self._concrete(path, stars):
                out.extend(self._resolve(c))
            return out
        self.touch(path)
        node = self.store.get(path)
        if node is None:
            raise CwmpFault(9005, "Invalid parameter name: %s" % path[:256])
        if path.endswith("."):
            return list(self.store.params_under(path))
        return [(path, node)]

    def _concrete(self, path, stars, missing=None):
        """The concrete paths a path with instance aliases or wildcards names
        (rocket.datamodel.paths); 9005 for a malformed one, a wildcard where
        none is allowed, or an alias that names no instance (unless
        ``missing``, a list, is given to collect those)."""
        from rocket.datamodel import paths
        bad = "Invalid parameter name: %s" % path[:256]
        cut = min(i for i in (path.find("["), path.find("*")) if i >= 0)
        self.touch(path[:path.rfind(".", 0, cut) + 1])
        try:
            if "*" in paths.split(path) and not stars:
                raise CwmpFault(9005, "instance wildcards not allowed here: %s" % path[:256])
            found, gone = paths.expand(self.store, path, self._aidx)
        except paths.PathError as e:
            raise CwmpFault(9005, "%s (%s)" % (bad, e)) from None
        if gone and missing is None:
            raise CwmpFault(9005, "%s (no instance with alias %s)" % (bad, gone[0][1]))
        if missing is not None:
            missing.extend(gone)
        elif not found and "*" not in path:
            raise CwmpFault(9005, bad)
        return found

    _aidx = None  # each table's aliases, read once per request (paths.find_alias)

    def aliased(self, rows):
        """Rows whose first item is a path, in the alias form when the ACS
        chose InstanceMode = InstanceAlias (TR-069 §3.6.1)."""
        if self.value(self.ms("InstanceMode")) != "InstanceAlias":
            return rows
        from rocket.datamodel.paths import aliased
        return aliased(self.store, rows)

    def read(self, path, p):
        """The value of ``p`` as the ACS may see it (GPV, Inform).

        Hidden parameters and those the owner policy masks read as "";
        Forced Inform parameters are never masked: the Inform does not lie.
        """
        if p.flags & HIDDEN:
            return ""
        if self.masks and not p.flags & FORCED_INFORM:
            for m in self.masks:
                if m(path):
                    return ""
        g = self.getters.get(path)
        return g() if g is not None else p.value

    def _locked(self, path):
        return any(lk(path) for lk in self.locks)

    # ------------------------------------------------------------ the RPCs
    @_one_request
    def get_values(self, names):
        """GetParameterValues -> [(path, type, value)]."""
        if len(names) > self.max_result:  # refused before any work
            raise CwmpFault(9004, "more than %d parameters requested" % self.max_result)
        for c in self.checks:
            c("get", names)
        out = []
        seen = set() if len(names) > 1 else None  # one name cannot repeat a path
        breathe = self.breathe
        for name in names:
            if breathe is not None:
                breathe()
            for path, p in self._resolve(name):
                if seen is not None:
                    if path in seen:
                        continue
                    seen.add(path)
                out.append((path, p.type, self.read(path, p)))
                if len(out) > self.max_result:
                    raise CwmpFault(9004, "more than %d parameters requested" % self.max_result)
        return self.aliased(out)

    @_one_request
    def get_names(self, path, next_level):
        """GetParameterNames -> [(name, writable)]."""
        path = path.strip()
        for c in self.checks:
            c("names", [path])
        if path == "":
            if next_level:
                return [(self.root, False)]
            path = self.root
        if not path.startswith(self.root):
            raise CwmpFault(9005, "Invalid parameter name: %s" % path[:256])
        if "[" in path or "*" in path:
            out = []
            for c in self._concrete(path, True):
                out.extend(self._names(c, next_level))
            return self.aliased(list(dict.fromkeys(out)))
        return self.aliased(self._names(path, next_level))

    def _names(self, path, next_level):
        self.touch(path, deep=not next_level)
        node = self.store.get(path)
        if node is None:
            raise CwmpFault(9005, "Invalid parameter name: %s" % path[:256])
        if not path.endswith("."):
            if next_level:
                raise CwmpFault(9003, "NextLevel true on a parameter")
            return [(path, node.writable and not self._locked(path))]
        nodes = self.store.nodes
        keys = self.store.children(path) if next_level else self.store.subtree(path)
        if self._failed:  # subtrees nobody can serve now are not advertised
            gone = tuple(p for b in self.backends if b.name in self._failed for p in b.prefixes)
            keys = [k for k in keys if not k.startswith(gone)]
        if self.locks:
            out = [(k, nodes[k].writable and not self._locked(k)) for k in keys]
        else:
            out = [(k, nodes[k].writable) for k in keys]
        if len(out) > self.max_result:
            raise CwmpFault(9004, "more than %d names" % self.max_result)
        return out

    @_one_request
    def set_values(self, items, parameter_key):
        """SetParameterValues, all or nothing. items: [(name, value, xsi_type)].

        Returns the Status (0 applied, 1 applied on commit/reboot). A name
        with an instance alias that names no instance creates it when
        AutoCreateInstances is true (TR-069 A.3.2.1); such instances are
        removed again when the request fails.
        """
        if not any("[" in n or "*" in n for n, _, _ in items):
            return self._set_values(items, parameter_key)
        created = []
        auto = self.value(self.ms("AutoCreateInstances")) == "true"
        out = []
        try:
            for name, value, sent in items:
                if "[" in name or "*" in name:
                    try:
                        for _ in range(name.count("[") + 1):
                            missing = []
                            found = self._concrete(name, False, missing)
                            if not (missing and auto):
                                break
                            created.append(self._create(missing[0][0], missing[0][1], out))
                        if len(found) == 1 and not missing:
                            name = found[0]
                    except CwmpFault as e:
                        if e.code != 9005:
                            raise  # the owner's policy, a failed backend
                out.append((name, value, sent))
            status = self._set_values(out, parameter_key)
        except CwmpFault:
            for inst in reversed(created):
                self._drop(inst)
            raise
        for inst in created:
            for cb in self.on_change:
                cb(Change("add", inst))
        return status

    def _create(self, table, alias, items):
        """A new instance of ``table`` whose Alias will be ``alias`` (the
        write is appended to ``items``); 9005 where that cannot be."""
        for c in self.checks:
            c("add", [table])
        node = self.store.get(table)
        if not isinstance(node, Obj) or not node.table or not node.writable:
            raise CwmpFault(9005, "Not a table the ACS may add to: %s" % table[:256])
        man = getattr(self._backend(node.owner), "manifest", None) if node.owner is not None else None
        spec = man.spec(table + "1.Alias") if man is not None else None
        olds = [self.store.get("%s%d.Alias" % (table, n)) for n in self.store.instances(table)]
        if (man is not None and not getattr(spec, "writable", False)) or (
                olds and not any(getattr(p, "writable", False) for p in olds)):
            raise CwmpFault(9005, "%s has no writable Alias" % table[:256])  # before any change
        if node.owner is not None:
            b = self._backend(node.owner)
            number = b.add(table, self.store)[0]
            self._touched.add(b.name)
        else:
            number = self._add_local(table)
        inst = "%s%d." % (table, number)
        p = self.store.get(inst + "Alias")
        if not isinstance(p, Param) or not p.writable:
            self._drop(inst)
            raise CwmpFault(9005, "%s has no writable Alias" % table[:256])
        p.value = alias  # later names of the same request find it
        if self._aidx is not None:
            self._aidx.pop(table, None)
        items.append((inst + "Alias", alias, None))
        return inst

    def _drop(self, inst):
        node = self.store.get(inst)
        if node is not None and node.owner is not None:
            try:
                self._backend(node.owner).delete(inst, self.store)
            except CwmpFault as e:
                log.error("cannot remove %s again: %s", inst, e)
        self.store.delete(inst)
        if inst.startswith(self.ms("InformParameter.")):
            self._count_inform_params()
            self._save_inform_params()

    def _set_values(self, items, parameter_key):
        names = [n for n, _, _ in items]
        if len(set(names)) != len(names):
            raise CwmpFault(9003, "the same parameter appears twice")
        for c in self.checks:
            c("set", names)
        faults = []
        staged = []  # (path, Param, new value)
        for name, value, sent in items:
            if not name.startswith(self.root) or name.endswith("."):
                faults.append((name, 9005, None))
                continue
            self.touch(name)
            p = self.store.get(name)
            if not isinstance(p, Param):
                faults.append((name, 9005, None))
                continue
            if not p.writable:
                faults.append((name, 9008, None))
                continue
            try:
                v = values.check(p.type, p.limit, value, sent)
                for vc in self.value_checks:
                    vc(name, v)
            except values.BadType as e:
                faults.append((name, 9006, "Invalid parameter type: %s" % e))
                continue
            except values.BadValue as e:
                faults.append((name, 9007, "Invalid parameter value: %s" % e))
                continue
            if name.endswith(".Alias"):
                why = self._alias_problem(name, v)
                if why:
                    faults.append((name, 9007, why))
                    continue
            if name.startswith(self.ms("InformParameter.")) and name.endswith(".ParameterName"):
                target = self.store.get(v)
                if isinstance(target, Param) and target.flags & FORCED_INFORM:
                    faults.append((name, 9007, "Forced Inform parameters cannot be InformParameters"))
                    continue
            staged.append((name, p, v))
        if faults:
            # Report every offending parameter: let the backends judge the
            # values that passed the checks above (validation only).
            faults.extend(self._backend_validate(staged))
            raise CwmpFault(9003, param_faults=faults)
        by_owner = {}
        for name, p, v in staged:
            if p.owner is not None:
                by_owner.setdefault(p.owner, []).append((name, v))
        status = self._backend_set(by_owner)
        for name, p, v in staged:
            old = p.value
            p.value = v
            if p.owner is None:
                self._remember_override(name, v)
            for cb in self.on_change:
                cb(Change("set", name, old, v))
            if p.owner is None:
                for cb in self.on_set:
                    cb(name, v)
        if any(name.startswith(self.ms("InformParameter.")) for name, _, _ in staged):
            self._save_inform_params()
        self._set_key(parameter_key)
        return status

    def _alias_problem(self, name, v):
        """Why ``v`` cannot be the Alias ``name`` (TR-181 Alias rules), or None."""
        from rocket.datamodel import paths
        inst = name[:-5]
        if not paths.valid_alias(v):
            return "an Alias starts with a letter and holds no '.', '[' or ']'"
        n = paths.find_alias(self.store, parent_of(inst), v)
        if n is not None and parent_of(inst) + n + "." != inst:
            return "Alias %s is taken in this table" % v
        return None

    def _backend_validate(self, staged):
        by_owner = {}
        for name, p, v in staged:
            if p.owner is not None:
                by_owner.setdefault(p.owner, []).append((name, v))
        faults = []
        for owner, changes in by_owner.items():
            validate = getattr(self._backend(owner), "validate", None)
            if validate is None:
                continue
            try:
                validate(changes)
            except CwmpFault as e:
                faults.extend(e.param_faults)
        return faults

    def _backend_set(self, by_owner):
        """Hand the changes to their backends, all or nothing; the Status.

        One backend: validate, stage and commit in one step (one process
        for a script backend). Several: every backend validates and stages
        first, per-parameter faults of all of them are merged into one
        9003, and only then does each commit.
        """
        if not by_owner:
            return 0
        if len(by_owner) == 1:
            owner, changes = next(iter(by_owner.items()))
            b = self._backend(owner)
            combined = getattr(b, "set_and_commit", None)
            if combined is not None:
                status = combined(changes) or 0
                self._touched.add(b.name)
                return status
        staged = []
        faults = []
        try:
            for owner, changes in by_owner.items():
                b = self._backend(owner)
                try:
                    b.set(changes)  # validates and stages; raises CwmpFault
                except CwmpFault as e:
                    if e.code != 9003 or not e.param_faults:
                        raise
                    faults.extend(e.param_faults)
                    continue
                staged.append(b)
            if faults:
                raise CwmpFault(9003, param_faults=faults)
            status = 0
            for b in staged:
                status = max(status, b.commit() or 0)
                self._touched.add(b.name)
            return status
        except CwmpFault:
            for b in staged:
                if b.name not in self._touched:
                    try:
                        b.abort()
                    except CwmpFault:
                        pass
            raise

    def override_path(self, key):
        """The parameter an ``overrides`` key names ("URL", "DeviceInfo.ProvisioningCode")."""
        return self.root + key if "." in key else self.ms(key)

    def _remember_override(self, path, value):
        """Persist a written agent parameter (``overrides.json``): with the file's
        value at that time if the INI file also sets it, else alone."""
        if path.startswith(self.ms("")):
            short = path[len(self.ms("")):]
            if "." in short and not short.startswith(_MS_OBJECTS):
                return  # InformParameter.{i}: informparams.json
        elif path == self.root + "DeviceInfo.ProvisioningCode":
            short = path[len(self.root):]
        else:
            return
        file_value = ""
        if short in FILE_BACKED:
            if self.cfg is None:
                return
            sec, key = FILE_BACKED[short]
            file_value = file_value_of(self.cfg, sec, key, self.store.get(path).type)
        self.overrides[short] = [value, file_value]
        self._save_overrides()


    def _set_key(self, key):
        self.parameter_key = key
        self.set_internal(self.ms("ParameterKey"), key)
        self.save()

    def _backend(self, name):
        for b in self.backends:
            if b.name == name:
                return b
        raise CwmpFault(9002, "no backend %s" % name)

    @_one_request
    def get_attributes(self, names):
        if len(names) > self.max_result:  # refused before any work
            raise CwmpFault(9004, "more than %d parameters requested" % self.max_result)
        for c in self.checks:
            c("get", names)
        out = []
        seen = set()
        breathe = self.breathe
        for name in names:
            if breathe is not None:
                breathe()
            for path, p in self._resolve(name):
                if path not in seen:
                    seen.add(path)
                    # A backend may have re-created the Param on load: the
                    # persisted attributes are the reference.
                    a = self.attrs.get(path)
                    if a is not None:
                        out.append((path, a[0], tuple(a[1])))
                    else:
                        out.append((path, p.notification, p.access))
                    if len(out) > self.max_result:
                        raise CwmpFault(9004, "more than %d parameters requested" % self.max_result)
        return self.aliased(out)

    @_one_request
    def set_attributes(self, items):
        """items: [(name, notification or None, access list or None)]."""
        for c in self.checks:
            c("attributes", [x for n, _, _ in items for x in (self._concrete(n, False) if "[" in n else [n])])
        plan = []
        for name, notif, access in items:
            if notif is not None and not 0 <= notif <= 6:  # 3-6: lightweight (rocket.ops.lwnotif)
                raise CwmpFault(9003, "Notification %d not supported" % notif)
            if access is not None and any(a != "Subscriber" for a in access):
                raise CwmpFault(9003, "AccessList entries other than Subscriber")
            explicit = not name.endswith(".") and name != ""
            for path, p in self._resolve(name, stars=False):
                if notif is not None:
                    forced = p.flags & ACTIVE_FORCED and notif != 2
                    denied = notif == 2 and p.flags & CAN_DENY and p.flags & VOLATILE
                    if forced or denied:
                        if explicit:
                            raise CwmpFault(9009, "Notification request rejected for %s" % path)
                        continue
                plan.append((path, p, notif, access))
        for path, p, notif, access in plan:
            if notif is not None:
                p.notification = notif
            if access is not None:
                p.access = tuple(access)
            if p.notification == 0 and not p.access and not p.flags & ACTIVE_DEFAULT:
                self.attrs.pop(path, None)
            else:
                self.attrs[path] = [p.notification, list(p.access)]
            for cb in self.on_change:
                cb(Change("attributes", path, None, (p.notification, list(p.access))))
        self.save()

    @_one_request
    def add_object(self, path, parameter_key):
        if not path.endswith(".") or not path.startswith(self.root):
            raise CwmpFault(9005, "Invalid object name: %s" % path[:256])
        if path.endswith("]."):
            return self._add_alias(path, parameter_key)
        path = self._one(path)  # the owner's policy judges the instance numbers, never aliases
        for c in self.checks:
            c("add", [path])
        self.touch(path)
        node = self.store.get(path)
        if not isinstance(node, Obj) or not node.table or not node.writable:
            raise CwmpFault(9005, "Not a table the ACS may add to: %s" % path[:256])
        owner = self._backend(node.owner) if node.owner is not None else None
        if owner is not None:
            number, status = owner.add(path, self.store)
            self._touched.add(owner.name)
        else:
            number, status = self._add_local(path), 0
        for cb in self.on_change:
            cb(Change("add", "%s%d." % (path, number)))
        self._set_key(parameter_key)
        alias = self.store.get("%s%d.Alias" % (path, number))
        if isinstance(alias, Param) and not alias.value:  # CPE-assigned: "cpe-" (TR-181 Alias)
            try:
                self._set_values([("%s%d.Alias" % (path, number), "cpe-%d" % number, None)], parameter_key)
            except CwmpFault as e:
                log.warning("no Alias for %s%d.: %s", path, number, e)
        return number, status

    def _one(self, path):
        """``path`` with its instance aliases resolved (no wildcards): one object."""
        if "[" not in path and "*" not in path:
            return path
        found = self._concrete(path, False)
        if len(found) != 1:
            raise CwmpFault(9005, "Invalid object name: %s" % path[:256])
        return found[0]

    def _add_alias(self, path, parameter_key):
        """AddObject of 'Table.[alias].': a new instance with that Alias."""
        from rocket.datamodel.paths import find_alias, valid_alias
        cut = path.rfind("[")
        table, alias = self._one(path[:cut]), path[cut + 1:-2]
        self.touch(table)
        if not valid_alias(alias) or find_alias(self.store, table, alias) is not None:
            raise CwmpFault(9005, "Invalid object name (alias bad or taken): %s" % path[:256])
        items = []
        inst = self._create(table, alias, items)
        try:
            status = self._set_values(items, parameter_key)
        except CwmpFault as e:
            self._drop(inst)
            why = "; ".join("%s: %s" % (f[1], f[2] or "") for f in e.param_faults) or e.string
            raise CwmpFault(9005 if e.param_faults else e.code, "%s: %s" % (path[:256], why)) from None
        for cb in self.on_change:
            cb(Change("add", inst))
        return int(inst[len(table):-1]), status

    def _add_local(self, table):
        existing = self.store.instances(table)
        number = max(existing + [self._last_instance.get(table, 0)]) + 1
        self._last_instance[table] = number
        inst = "%s%d." % (table, number)
        self.store.add_object(inst, writable=True)
        if table == self.ms("InformParameter."):
            self._new_inform_param(inst, "false", "", "", "cpe-%d" % number)
            self._count_inform_params()
            self._save_inform_params()
        return number

    # InformParameter.{i}: the agent's own table, persisted as informparams.json
    def _new_inform_param(self, inst, enable, name, event_list, alias=""):
        s = self.store
        s.add(inst + "Alias", Param(alias, "string", True, limit=64))
        s.add(inst + "Enable", Param(enable, "boolean", True))
        s.add(inst + "ParameterName", Param(name, "string", True, limit=256))
        s.add(inst + "EventList", Param(event_list, "string", True))

    def _save_inform_params(self):
        if self.state is None:
            return
        ip = self.ms("InformParameter.")
        rows = {}
        for n in self.store.instances(ip):
            base = "%s%d." % (ip, n)
            rows[str(n)] = [self.store.get(base + k).value for k in ("Enable", "ParameterName", "EventList", "Alias")]
        self.state.save("informparams", {"last": self._last_instance.get(ip, 0), "rows": rows})

    def _load_inform_params(self):
        saved = self.state.load("informparams", {}, {"last": int, "rows": dict}) if self.state is not None else {}
        if not isinstance(saved, dict):
            return
        ip = self.ms("InformParameter.")
        rows = saved.get("rows") or {}
        for n in sorted(rows, key=lambda k: int(k) if k.isdigit() else 0):
            row = rows[n]
            if n.isdigit() and int(n) > 0 and isinstance(row, list) and len(row) in (3, 4):  # 3: no Alias yet
                inst = "%s%s." % (ip, n)
                self.store.add_object(inst, writable=True)
                self._new_inform_param(inst, *[str(v) for v in row[:3]], alias=str(row[3:] and row[3] or "cpe-" + n))
        nums = self.store.instances(ip)
        self._last_instance[ip] = max(nums + [int(saved.get("last") or 0)])
        self._count_inform_params()

    @_one_request
    def delete_object(self, path, parameter_key):
        if not path.endswith(".") or not path.startswith(self.root):
            raise CwmpFault(9005, "Invalid object name: %s" % path[:256])
        path = self._one(path)
        for c in self.checks:
            c("delete", [path])
        self.touch(path)
        node = self.store.get(path)
        parent = self.store.get(parent_of(path))
        seg = path[len(parent_of(path)):-1]
        if (not isinstance(node, Obj) or not isinstance(parent, Obj) or not parent.table
                or not seg.isdigit() or not node.writable):
            raise CwmpFault(9005, "Not an instance the ACS may delete: %s" % path[:256])
        owner = self._backend(node.owner) if node.owner is not None else None
        status = 0
        if owner is not None:
            status = owner.delete(path, self.store)
            self._touched.add(owner.name)
        self.store.delete(path)
        for k in [k for k in self.attrs if k.startswith(path)]:
            del self.attrs[k]
        if path.startswith(self.ms("InformParameter.")):
            self._count_inform_params()
            self._save_inform_params()
        for cb in self.on_change:
            cb(Change("delete", path))
        self._set_key(parameter_key)
        return status

    def _count_inform_params(self):
        n = len(self.store.instances(self.ms("InformParameter.")))
        self.set_internal(self.ms("InformParameterNumberOfEntries"), str(n))

    # -------------------------------------------------------- the Inform
    def inform_params(self, events, changed=(), forced_only=False):
        """(name, type, value) for the Inform: forced, changed, InformParameter.

        ``changed`` (parameters with a pending value change) is listed only
        when "4 VALUE CHANGE" is among ``events``; each parameter appears
        once, with its current value.
        """
        out = []
        seen = set()
        for b in self.backends:
            if getattr(b, "forced", False) and b.name not in self._loaded and b.name not in self._failed:
                try:
                    self.load_backend(b)
                    self._loaded.add(b.name)
                except CwmpFault as e:
                    self._backend_failed(b, e)  # its parameters sit this Inform out
        for path, p in self.store.params_under(self.root):
            if p.flags & FORCED_INFORM and (p.owner is None or p.owner in self._loaded):
                out.append((path, p.type, self.read(path, p)))
                seen.add(path)
        if forced_only:  # a heartbeat Inform (TR-069 Annex O)
            return out
        codes = [c for c, _ in events]
        if "4 VALUE CHANGE" in codes:
            for path in changed:
                p = self.store.get(path)
                if isinstance(p, Param) and path not in seen:
                    seen.add(path)
                    out.append((path, p.type, self.read(path, p)))
        ip = self.ms("InformParameter.")
        for inst in self.store.instances(ip):
            base = "%s%d." % (ip, inst)
            if self.value(base + "Enable") != "true":
                continue
            name = self.value(base + "ParameterName") or ""
            evl = [e.strip() for e in (self.value(base + "EventList") or "").split(",") if e.strip()]
            if evl:
                if not any(c in evl for c in codes):
                    continue
            elif all(c == "4 VALUE CHANGE" for c in codes):
                continue
            for path, p in self._inform_matches(name):
                if path not in seen:
                    seen.add(path)
                    out.append((path, p.type, self.read(path, p)))
        for cb in self.on_inform:
            cb(out)
        return self.aliased(out)

    def _inform_matches(self, name):
        """Parameters an InformParameter's ParameterName names: one path, a
        partial path, or a pattern with '*' or [alias] in place of instance numbers."""
        if not name.startswith(self.root):
            return []
        if "[" in name:  # instance aliases (rocket.datamodel.paths)
            try:
                return [x for c in self._concrete(name, True) for x in self._resolve(c)]
            except CwmpFault:
                return []
        star = name.find("*")
        head = name if star < 0 else name[:name.rfind(".", 0, star) + 1]
        try:
            self.touch(head)  # a backend's value, read once this session
        except Exception as e:  # a broken backend must not stop the Inform
            log.warning("inform: cannot read %s: %s", head[:256], e)
            return []
        if star < 0:
            if name.endswith("."):
                return list(self.store.params_under(name))
            p = self.store.get(name)
            return [(name, p)] if isinstance(p, Param) else []
        import re
        rx = re.compile(re.escape(name).replace(r"\*", "[0-9]+") + ("" if name.endswith(".") else "$"))
        return [(k, p) for k, p in self.store.params_under(head) if rx.match(k)]


def _uptime():
    try:
        with open("/proc/uptime") as f:
            return str(int(float(f.read().split()[0])))
    except (OSError, ValueError, IndexError):
        return "0"
