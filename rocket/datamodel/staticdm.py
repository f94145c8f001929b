"""A static device tree read from a CSV dump: simulation and tests.

``[backends] static = /path/device.csv`` makes the agent behave like the
device the dump came from (GenieACS-style dumps, e.g. tests/fixtures/devices/):
its whole parameter tree, its DeviceId (the ``DeviceID.*`` rows) and its
root (``Device.`` or ``InternetGatewayDevice.``). Both CSV layouts are read:

    Parameter,Object,Writable,Value,Value type
    Parameter,Object,Object timestamp,Writable,Writable timestamp,Value,Value type,
        Value timestamp,Notification,Notification timestamp,Access list,...

Rows outside the root (``Events.*``) are ignored. The agent's own
parameters (``ManagementServer.*``, the DeviceInfo basics) keep their
configured values; the dump only fills in what the configuration leaves
empty (HardwareVersion, SoftwareVersion...).

Writable parameters are writable, and values live in memory (and in the
state directory with ``[backends] static_persist = true``). AddObject on a
writable table clones the structure of an existing instance with empty
values; DeleteObject removes the instance. No process is ever started.
"""


from rocket.cwmp import values
from rocket.base.log import log
from rocket.datamodel.store import Obj, Param
from rocket.base.booleans import XSD_TRUE

_DEFAULTS = {"boolean": "false", "dateTime": values.UNKNOWN_TIME, "int": "0", "long": "0",
             "unsignedInt": "0", "unsignedLong": "0", "decimal": "0"}


def _true(s):
    return s.strip().lower() in XSD_TRUE


_SAVED = {"values": {"*": str}, "added": [str], "deleted": [str]}  # static.json

class Dump:
    """The rows of one CSV dump: device id, root, objects and parameters."""

    def __init__(self):
        self.device_id = {}
        self.root = None
        self.rows = []  # (path, is_object, writable, value, type, notification, access)

    @classmethod
    def read(cls, path):
        import csv
        d = cls()
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            for row in csv.DictReader(f):
                name = (row.get("Parameter") or "").strip()
                if not name:
                    continue
                if name.startswith("DeviceID."):
                    d.device_id[name[len("DeviceID."):]] = row.get("Value") or ""
                    continue
                top = name.split(".", 1)[0]
                if top not in ("Device", "InternetGatewayDevice"):
                    continue
                if d.root is None:
                    d.root = top + "."
                elif top + "." != d.root:
                    continue
                is_obj = _true(row.get("Object") or "")
                notif = (row.get("Notification") or "").strip()
                access = (row.get("Access list") or "").strip()
                d.rows.append((name + "." if is_obj else name, is_obj, _true(row.get("Writable") or ""),
                               row.get("Value") or "", values.normalize_type(row.get("Value type") or ""),
                               int(notif) if notif.isdigit() and int(notif) <= 2 else 0,
                               tuple(a for a in access.split(",") if a)))
        if d.root is None:
            raise ValueError("%s: no Device. or InternetGatewayDevice. rows" % path)
        return d

    def value(self, path):
        for row in self.rows:
            if row[0] == path:
                return row[3]
        return None


class StaticBackend:
    """The DataModel backend serving a Dump from memory."""

    name = "static"

    def __init__(self, dump, model=None, state=None):
        self.dump = dump
        self.prefixes = [dump.root]
        self.model = model
        self.state = state
        self._pending = []
        self._last = {}
        saved = state.load("static", {}, _SAVED) if state is not None else {}
        self.saved = {"values": saved.get("values", {}), "added": saved.get("added", []),
                      "deleted": saved.get("deleted", [])}
        self.loaded = False

    # ------------------------------------------------------------ reading
    def fill(self, store):
        """Put the dump into ``store`` (once), around the agent's own nodes."""
        agent_tables = tuple(k for k, n in store.nodes.items()
                             if isinstance(n, Obj) and n.table and n.owner is None)
        owner_of = self.model.owner if self.model is not None else None
        attrs = self.model.attrs if self.model is not None else {}
        for path, is_obj, writable, value, ptype, notif, access in self.dump.rows:
            if agent_tables and path.startswith(agent_tables):
                continue
            if owner_of is not None and owner_of(path) is not self and path not in self.prefixes:
                continue  # a script backend owns this subtree
            old = store.nodes.get(path)
            if is_obj:
                seg = path[:-1].rsplit(".", 1)[-1]
                if old is None or (isinstance(old, Obj) and old.owner == self.name):
                    n = store.add_object(path, owner=self.name, table=writable and not seg.isdigit())
                    n.writable = writable
                if seg.isdigit():
                    parent = path[:-len(seg) - 1]
                    store.add_object(parent, owner=None if parent in store.nodes else self.name,
                                     table=True)
                continue
            if old is not None:
                if isinstance(old, Param) and old.owner is None and not old.value:
                    old.value = value  # the agent's own parameter, left empty by the config
                continue
            a = attrs.get(path)
            store.add(path, Param(value, ptype if ptype in values.TYPES else "string", writable,
                                  self.name, 0, None, a[0] if a else notif,
                                  tuple(a[1]) if a else access))
        self._replay(store)
        self.loaded = True

    def _replay(self, store):
        for inst in self.saved["deleted"]:
            store.delete(inst)
        for inst in self.saved["added"]:
            table = inst[:-1].rsplit(".", 1)[0] + "."
            if table in store.nodes and inst not in store.nodes:
                self._clone(store, table, int(inst[len(table):-1]))
        for path, v in self.saved["values"].items():
            p = store.nodes.get(path)
            if isinstance(p, Param) and p.owner == self.name:
                p.value = v

    def load(self, store):
        if not self.loaded:
            self.fill(store)

    # ------------------------------------------------------------ writing
    def set(self, changes):
        self._pending = list(changes)

    def commit(self):
        if self.state is not None and self._persist:
            for path, v in self._pending:
                self.saved["values"][path] = v
            self._save()
        self._pending = []
        return 0

    def abort(self):
        self._pending = []

    def set_and_commit(self, changes):
        self.set(changes)
        return self.commit()

    def add(self, table, store):
        existing = store.instances(table)
        number = max(existing + [self._last.get(table, 0)]) + 1
        self._last[table] = number
        self._clone(store, table, number)
        inst = "%s%d." % (table, number)
        if self._persist:
            self.saved["added"].append(inst)
            self._save()
        return number, 0

    def _clone(self, store, table, number):
        inst = "%s%d." % (table, number)
        existing = sorted(n for n in store.instances(table) if n != number)
        store.add_object(inst, writable=True, owner=self.name)
        if not existing:
            return
        tmpl = "%s%d." % (table, existing[0])
        nodes = store.nodes
        for k in list(store.subtree(tmpl)):
            rel = k[len(tmpl):]
            if not rel:
                continue
            # sub-tables start empty: skip nested instances
            if any(seg.isdigit() for seg in rel.split(".")[:-1]):
                continue
            n = nodes[k]
            if isinstance(n, Obj):
                store.add_object(inst + rel, writable=n.writable, owner=self.name, table=n.table)
            else:
                store.add(inst + rel, Param(_DEFAULTS.get(n.type, ""), n.type, n.writable,
                                            self.name, n.flags, n.limit))

    def delete(self, instance, store):
        if self._persist:
            if instance in self.saved["added"]:
                self.saved["added"].remove(instance)
            else:
                self.saved["deleted"].append(instance)
            for k in [k for k in self.saved["values"] if k.startswith(instance)]:
                del self.saved["values"][k]
            self._save()
        return 0

    def apply(self):
        pass

    @property
    def _persist(self):
        return self.state is not None

    def _save(self):
        self.state.save("static", self.saved)


def install(agent, path):
    """Serve the dump at ``path``; the agent takes its DeviceId and root.

    Call ``fill(agent.model.store)`` on the result once the script backends
    are added (their subtrees are left to them)."""
    from rocket.base.config import ConfigError
    try:
        dump = Dump.read(path)
    except OSError as e:
        raise ConfigError("[backends] static: cannot read %s: %s" % (path, e.strerror or e)) from None
    except ValueError as e:
        raise ConfigError("[backends] static: %s is not a usable device dump: %s" % (path, e)) from None
    cfg = agent.cfg
    for key, col in (("manufacturer", "Manufacturer"), ("oui", "OUI"),
                     ("product_class", "ProductClass"), ("serial_number", "SerialNumber")):
        if dump.device_id.get(col):
            cfg.set("cpe", key, dump.device_id[col])
    cfg.set("cpe", "data_model", dump.root[:-1])
    for key, name in (("hardware_version", "HardwareVersion"), ("software_version", "SoftwareVersion"),
                      ("provisioning_code", "ProvisioningCode")):
        if not cfg.get("cpe", key):
            v = dump.value(dump.root + "DeviceInfo." + name)
            if v:
                cfg.set("cpe", key, v)
    agent.rebuild_model()
    persist = cfg.bool("backends", "static_persist")
    b = StaticBackend(dump, agent.model, agent.state if persist else None)
    agent.model.add_backend(b)
    log.info("backends: static tree %s: %d nodes of %s %s %s, root %s", path, len(dump.rows),
             cfg.get("cpe", "manufacturer"), cfg.get("cpe", "product_class"),
             cfg.get("cpe", "serial_number"), dump.root)
    return b
