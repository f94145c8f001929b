"""Device.DeviceInfo.VendorConfigFile.{i} / VendorLogFile.{i} from the
configuration, and which of their files an Upload means.

What it is for: ``[transfer] vendor_config_files`` and ``vendor_log_files``
list ``NAME=SOURCE`` entries. For each non-empty key the agent serves that
table itself, with one instance per entry, in order. It takes the table from
whatever backend served it before. SOURCE is an absolute path (the file is
uploaded byte for byte) or a word the upload hook knows (``sysupgrade``,
``logread``, ``dmesg``, ``uci``: see rocket/backends/hooks/upload-vendor).
Not for: producing the files. The upload hook does that; this module only
hands it ROCKET_VENDOR_NAME and ROCKET_VENDOR_SOURCE in the environment.

Which instance an Upload means (TR-069 A.4.1.5, CWMP 1.2+ file types):
"3 Vendor Configuration File <i>" / "4 Vendor Log File <i>" name instance i
of the table. When the table exists and has no such instance, the Upload is
refused with 9003. "1 Vendor Configuration File" means the instance with
UseForBackupRestore true, else the lowest-numbered one. "2 Vendor Log File"
means the lowest-numbered log file. With no table at all, the hook decides
from the file type alone, as it did before these tables existed.
UseForBackupRestore (TR-181 only) is true for the first configured entry
whose SOURCE is a path: only such a file comes back exactly as it was, so
only it can be restored. The hook strips secrets from the other sources.
Date is the file's modification time, read when asked (a Download of "3
Vendor Configuration File" that rewrites it moves it on); Unknown Time
for the other sources.
"""

import os

from rocket.base.log import log
from rocket.cwmp import values
from rocket.cwmp.soap import CwmpFault
from rocket.datamodel.store import Param

_TABLES = (("vendor_config_files", "VendorConfigFile", "config"), ("vendor_log_files", "VendorLogFile", "log"))
_VOLATILE = ("/tmp/", "/run/", "/var/run/", "/dev/", "/proc/", "/sys/")


def entries(text):
    """'a=/x b=logread' -> [('a', '/x'), ('b', 'logread')]; ValueError if malformed."""
    out = []
    for e in text.split():
        name, eq, src = e.partition("=")
        if not (name and eq and src) or len(name) > 64:
            raise ValueError("%r is not NAME=SOURCE (a name of at most 64 characters)" % e[:80])
        out.append((name, src))
    return out


class VendorFiles:
    """A backend-like owner of the configured tables: they are built once,
    from the configuration, so loading them costs nothing."""

    name = "vendorfiles"

    def __init__(self, model, cfg):
        self.prefixes = []
        self.sources = {}  # instance path -> SOURCE
        di = model.root + "DeviceInfo."
        s = model.store
        for key, obj, alias in _TABLES:
            try:
                rows = entries(cfg.get("transfer", key))
            except ValueError as e:
                log.error("config: [transfer] %s: %s; left to the backends", key, e)
                continue
            if not rows:
                continue
            table = di + obj + "."
            s.delete(table)  # a static tree's own rows: this table is ours now
            self.prefixes.append(table)
            restorable = True
            for i, (name, src) in enumerate(rows, 1):
                inst = "%s%d." % (table, i)
                self.sources[inst] = src
                s.add_object(inst, owner=self.name)
                real = os.path.realpath(src) if src.startswith("/") else ""
                p = {"Alias": ("string", "cpe-%s%d" % (alias, i)), "Name": ("string", name)}
                if alias == "config":
                    p["Version"] = ("string", "")
                    p["Date"] = ("dateTime", _mtime(real))
                    if real:  # read when asked: a Download of the file changes it
                        model.getters[inst + "Date"] = lambda real=real: _mtime(real)
                    p["Description"] = ("string", "%s (%s)" % (name, src))
                    if model.root == "Device.":  # TR-098 has no UseForBackupRestore
                        p["UseForBackupRestore"] = ("boolean", "true" if real and restorable else "false")
                    restorable = restorable and not real
                else:
                    p["MaximumSize"] = ("unsignedInt", "0")  # TR-181: 0 when not known
                    p["Persistent"] = ("boolean", "true" if real and not real.startswith(_VOLATILE) else "false")
                for k, (t, v) in p.items():
                    s.add(inst + k, Param(v, t, owner=self.name))
            s.add(di + obj + "NumberOfEntries", Param(str(len(rows)), "unsignedInt"))

    def load(self, store):
        pass

    def apply(self):
        pass


def _mtime(path):
    from rocket.base.timefmt import iso_now
    try:
        return iso_now(os.stat(path).st_mtime) if path else values.UNKNOWN_TIME
    except OSError:
        return values.UNKNOWN_TIME


def pick(model, num, inst):
    """The environment naming the file of an Upload of FileType ``num``
    ('1'..'4', instance ``inst`` or ''); 9003 for a missing instance."""
    table = model.root + "DeviceInfo." + ("VendorConfigFile." if num in ("1", "3") else "VendorLogFile.")
    try:
        model.touch(table)
    except CwmpFault:
        if inst:
            raise
        return {}
    nums = sorted(model.store.instances(table))
    if inst:
        if table not in model.store:
            return {}  # no table: the hook decides by the file type
        if int(inst) not in nums:
            raise CwmpFault(9003, "no instance %s of %s" % (inst, table))
        n = int(inst)
    elif not nums:
        return {}
    else:
        n = next((k for k in nums if num == "1" and model.value("%s%d.UseForBackupRestore" % (table, k)) == "true"),
                 nums[0])
    base = "%s%d." % (table, n)
    src = next((b.sources.get(base, "") for b in model.backends if b.name == VendorFiles.name), "")
    return {"ROCKET_INSTANCE": str(n), "ROCKET_VENDOR_NAME": model.value(base + "Name") or "",
            "ROCKET_VENDOR_SOURCE": src}


def install(agent):
    vf = VendorFiles(agent.model, agent.cfg)
    if vf.prefixes:
        agent.model.add_backend(vf)
