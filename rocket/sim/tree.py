"""One read-only parameter tree per device model, and a device's view of it.

What it is for: a fleet of thousands of virtual CPEs answering the parameter
RPCs from one shared tree. ``Template`` builds the tree once per model with
the agent's own code (``DataModel.build_builtin`` for ManagementServer and
DeviceInfo, the static backend's CSV loader for a device dump). ``View``
answers GetParameterValues/Names/Attributes, SetParameterValues/Attributes,
AddObject and DeleteObject for one device during its session, with the
rules and faults of ``rocket.datamodel.model.DataModel``, reading the shared
tree through the device's overlay. What it is not: a backend (nothing is
ever applied) or per-device storage of the tree.

Per device only what differs is kept (``Device.vals``: written values;
``attrs``: notification and access lists; ``added``: instance -> the
instance it was cloned from; ``deleted``: removed instances). Some values
are computed, never stored: the serial number, UpTime (grows from the
device's boot), ParameterKey, the connection-request URL and credentials,
and the Stats counters (``...Bytes/PacketsSent/Received``), which advance
at a per-device rate.
"""

from rocket.cwmp import values
from rocket.cwmp.soap import CwmpFault
from rocket.datamodel.store import ACTIVE_DEFAULT, ACTIVE_FORCED, CAN_DENY, VOLATILE, Obj, Param, parent_of

_DEFAULTS = {"boolean": "false", "dateTime": values.UNKNOWN_TIME, "int": "0", "long": "0",
             "unsignedInt": "0", "unsignedLong": "0", "decimal": "0"}
_COUNTERS = ("BytesSent", "BytesReceived", "PacketsSent", "PacketsReceived")
_NEW = Obj(writable=True)  # an instance the ACS added

# The built-in model (no --model): a small TR-181 device, per table
# "path{i}" with its instance count, then "name:type:writable:value".
_BUILTIN = (
    ("Ethernet.Interface.{i}.", 4, ("Enable:boolean:1:true", "Status:string:0:Up", "Name:string:0:eth{i}",
                                    "MaxBitRate:int:1:1000", "Stats.BytesSent:unsignedLong:0:0",
                                    "Stats.BytesReceived:unsignedLong:0:0",
                                    "Stats.PacketsSent:unsignedLong:0:0",
                                    "Stats.PacketsReceived:unsignedLong:0:0")),
    ("WiFi.SSID.{i}.", 2, ("Enable:boolean:1:true", "SSID:string:1:rocket-{i}", "Status:string:0:Up",
                           "Stats.BytesSent:unsignedLong:0:0", "Stats.BytesReceived:unsignedLong:0:0")),
    ("IP.Interface.{i}.", 2, ("Enable:boolean:1:true", "Name:string:0:ip{i}", "IPv4Address.1.IPAddress:string:1:",
                              "IPv4Address.1.SubnetMask:string:1:255.255.255.0")),
    ("Time.", 1, ("Enable:boolean:1:true", "NTPServer1:string:1:pool.ntp.org")),
)


class Template:
    """The shared tree of one model; ``device_id`` = (Manufacturer, OUI, ProductClass)."""

    def __init__(self, cfg, csv_path=None):
        from rocket.datamodel.model import DataModel
        dump = None
        if csv_path:
            from rocket.datamodel.staticdm import Dump
            dump = Dump.read(csv_path)
        root = dump.root if dump else cfg.get("cpe", "data_model") + "."
        m = DataModel(root)
        m.build_builtin(cfg)
        s = m.store
        if dump:
            from rocket.datamodel.staticdm import StaticBackend
            b = StaticBackend(dump, m)
            m.add_backend(b)
            b.fill(s)
            di = dump.device_id
        else:
            di = {}
            for table, n, rows in _BUILTIN:
                for i in range(1, n + 1):
                    if "{i}" in table:  # a table the ACS may add to and delete from
                        s.add_object(root + table.replace("{i}.", ""), writable=True, table=True)
                        s.add_object(root + table.replace("{i}", str(i)), writable=True)
                    for row in rows:
                        name, ptype, w, v = row.split(":", 3)
                        path = root + table.replace("{i}", str(i)) + name
                        s.add(path, Param(v.replace("{i}", str(i)), ptype, w == "1"))
        self.device_id = tuple(di.get(k) or cfg.get("cpe", c) for k, c in (
            ("Manufacturer", "manufacturer"), ("OUI", "oui"), ("ProductClass", "product_class")))
        self.root = root
        self.store = s
        s.keys()  # sorted once, shared from now on
        self.ms = m.ms("")
        self.forced = [k for k, p in s.params_under(root) if p.flags & 1]  # FORCED_INFORM
        self.counters = frozenset(k for k, _ in s.params_under(root)
                                  if k.endswith(_COUNTERS) and ".Stats." in k)
        self.serial = root + "DeviceInfo.SerialNumber"
        self.uptime = root + "DeviceInfo.UpTime"


class View:
    """The parameter RPCs of one device (``fleet.Device``) on its Template.

    ``computed`` maps a path to a function(device) for per-device values;
    ``on_set(path, value)`` hears every ACS write (the fleet reschedules)."""

    def __init__(self, tpl, dev, computed, uptime=0.0, on_set=None):
        self.t = tpl
        self.d = dev
        self.computed = computed
        self.on_set = on_set
        self.up = int(uptime)

    # ------------------------------------------------------------ reading
    def node(self, path):
        d = self.d
        if d.deleted and path.startswith(tuple(d.deleted)):
            return None
        n = self.t.store.nodes.get(path)
        if n is not None or not d.added:
            return n
        for inst, src in d.added.items():
            if path.startswith(inst):
                rel = path[len(inst):]
                if not rel:
                    return _NEW
                if src is None or any(x.isdigit() for x in rel.split(".")[:-1]):
                    return None
                return self.t.store.nodes.get(src + rel)
        return None

    def value(self, path, p=None):
        d = self.d
        if d.vals is not None:
            v = d.vals.get(path)
            if v is not None:
                return v
        f = self.computed.get(path)
        if f is not None:
            return f(d)
        if p is None:
            p = self.node(path)
        if path in self.t.store.nodes:
            if path in self.t.counters:
                return str((int(p.value) if p.value.isdigit() else 0) + (1000 + d.n * 7919 % 9000) * self.up)  # per-device bytes/s
            return p.value
        return _DEFAULTS.get(p.type, "") if isinstance(p, Param) else None

    def read(self, path, p):
        return "" if p.flags & 2 else self.value(path, p)  # HIDDEN reads as ""

    def keys(self, prefix, next_level):
        """Every path at or under ``prefix`` (next_level: its children), as this device sees them."""
        d, s = self.d, self.t.store
        for inst, src in (d.added or {}).items():
            if prefix.startswith(inst):  # inside an added instance: its source's shape
                if src is None:
                    return
                base = src + prefix[len(inst):]
                for k in (s.children(base) if next_level else s.subtree(base)):
                    rel = k[len(src):]
                    if not any(x.isdigit() for x in rel.split(".")[:-1]):
                        yield inst + rel
                return
        gone = tuple(d.deleted or ())
        for k in (s.children(prefix) if next_level else s.subtree(prefix)):
            if not (gone and k.startswith(gone)):
                yield k
        for inst in list(d.added or ()):
            if inst.startswith(prefix) and inst != prefix:
                if next_level:
                    if parent_of(inst) == prefix:
                        yield inst
                else:
                    yield from self.keys(inst, False)

    def _resolve(self, name):
        path = name.strip() or self.t.root
        node = self.node(path) if path.startswith(self.t.root) else None
        if node is None:
            raise CwmpFault(9005, "Invalid parameter name: %s" % path[:256])
        if path.endswith("."):
            return [(k, self.node(k)) for k in self.keys(path, False) if not k.endswith(".")]
        return [(path, node)]

    def get_values(self, names):
        out, seen = [], set()
        for name in names:
            for path, p in self._resolve(name):
                if path not in seen:
                    seen.add(path)
                    out.append((path, p.type, self.read(path, p)))
        return out

    def get_names(self, path, next_level):
        path = path.strip()
        if path == "":
            if next_level:
                return [(self.t.root, False)]
            path = self.t.root
        node = self.node(path) if path.startswith(self.t.root) else None
        if node is None:
            raise CwmpFault(9005, "Invalid parameter name: %s" % path[:256])
        if not path.endswith("."):
            if next_level:
                raise CwmpFault(9003, "NextLevel true on a parameter")
            return [(path, node.writable)]
        return [(k, self.node(k).writable) for k in self.keys(path, next_level)]

    def attributes(self, path, p):
        a = self.d.attrs.get(path) if self.d.attrs else None
        return (a[0], a[1]) if a is not None else (p.notification, p.access)

    def get_attributes(self, names):
        out, seen = [], set()
        for name in names:
            for path, p in self._resolve(name):
                if path not in seen:
                    seen.add(path)
                    out.append((path,) + self.attributes(path, p))
        return out

    # ------------------------------------------------------------ writing
    def set_values(self, items, parameter_key):
        names = [n for n, _, _ in items]
        if len(set(names)) != len(names):
            raise CwmpFault(9003, "the same parameter appears twice")
        faults, staged = [], []
        for name, value, sent in items:
            p = None if name.endswith(".") else self.node(name) if name.startswith(self.t.root) else None
            if not isinstance(p, Param):
                faults.append((name, 9005, None))
            elif not p.writable:
                faults.append((name, 9008, None))
            else:
                try:
                    staged.append((name, values.check(p.type, p.limit, value, sent)))
                except values.BadType as e:
                    faults.append((name, 9006, "Invalid parameter type: %s" % e))
                except values.BadValue as e:
                    faults.append((name, 9007, "Invalid parameter value: %s" % e))
        if faults:
            raise CwmpFault(9003, param_faults=faults)
        d = self.d
        if d.vals is None:
            d.vals = {}
        for name, v in staged:
            d.vals[name] = v
            a = d.attrs.get(name) if d.attrs else None
            if a is not None:
                a[2] = v  # the ACS's own write is no value change to report
            if self.on_set is not None:
                self.on_set(name, v)
        d.key = parameter_key
        return 0

    def set_attributes(self, items):
        plan = []
        for name, notif, access in items:
            if notif is not None and not 0 <= notif <= 2:
                raise CwmpFault(9003, "Notification %d not supported" % notif)
            if access is not None and any(a != "Subscriber" for a in access):
                raise CwmpFault(9003, "AccessList entries other than Subscriber")
            explicit = not name.endswith(".") and name != ""
            for path, p in self._resolve(name):
                if notif is not None and ((p.flags & ACTIVE_FORCED and notif != 2)
                                          or (notif == 2 and p.flags & CAN_DENY and p.flags & VOLATILE)):
                    if explicit:
                        raise CwmpFault(9009, "Notification request rejected for %s" % path)
                    continue
                plan.append((path, p, notif, access))
        d = self.d
        for path, p, notif, access in plan:
            old_n, old_a = self.attributes(path, p)
            n = old_n if notif is None else notif
            a = old_a if access is None else tuple(access)
            if d.attrs is None:
                d.attrs = {}
            if n == p.notification and a == p.access and not p.flags & ACTIVE_DEFAULT:
                d.attrs.pop(path, None)
            else:
                d.attrs[path] = [n, a, self.value(path, p)]  # the baseline of value changes

    def add_object(self, path, parameter_key):
        n = self.node(path) if path.endswith(".") and path.startswith(self.t.root) else None
        if not isinstance(n, Obj) or not n.table or not n.writable:
            raise CwmpFault(9005, "Not a table the ACS may add to: %s" % path[:256])
        nums = [int(k[len(path):-1]) for k in self.keys(path, True) if k[len(path):-1].isdigit()]
        d = self.d
        number = max(nums + [d.last.get(path, 0) if d.last else 0]) + 1
        if d.last is None:
            d.last = {}
        d.last[path] = number
        if d.added is None:
            d.added = {}
        src = ("%s%d." % (path, min(nums))) if nums else None
        d.added["%s%d." % (path, number)] = d.added.get(src, src)  # a clone of a clone: the original
        d.key = parameter_key
        return number, 0

    def delete_object(self, path, parameter_key):
        n = self.node(path) if path.endswith(".") and path.startswith(self.t.root) else None
        parent = self.node(parent_of(path))
        if (not isinstance(n, Obj) or not isinstance(parent, Obj) or not parent.table
                or not path[len(parent_of(path)):-1].isdigit() or not n.writable):
            raise CwmpFault(9005, "Not an instance the ACS may delete: %s" % path[:256])
        d = self.d
        if d.added and path in d.added:
            del d.added[path]
        else:
            if d.deleted is None:
                d.deleted = set()
            d.deleted.add(path)
        for m in (d.vals, d.attrs):
            for k in [k for k in m or () if k.startswith(path)]:
                del m[k]
        d.key = parameter_key
        return 0

    # ------------------------------------------------------------ Inform
    def inform_params(self, changed=()):
        out = [(k, self.t.store.nodes[k].type, self.read(k, self.t.store.nodes[k])) for k in self.t.forced]
        seen = set(self.t.forced)
        for k in changed:
            p = self.node(k)
            if isinstance(p, Param) and k not in seen:
                seen.add(k)
                out.append((k, p.type, self.read(k, p)))
        return out

    def changes(self):
        """Parameters under notification whose value moved since the last
        look: [(path, notification)]; the baselines move with them."""
        out = []
        for path, a in (self.d.attrs or {}).items():
            if a[0]:
                p = self.node(path)
                v = self.value(path, p) if p is not None else None
                if v is not None and v != a[2]:
                    a[2] = v
                    out.append((path, a[0]))
        return out
