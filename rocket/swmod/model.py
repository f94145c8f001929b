"""``Device.SoftwareModules.``: execution environments, deployment units and
execution units, read from the package systems' shell backends.

What it is for: the DataModel backend object that fills that subtree (once
per session, on first touch, like a script backend), keeps instance numbers
and UUIDs stable, and turns ACS writes of ``ExecEnv.{i}.Enable``,
``ExecutionUnit.{i}.RequestedState`` and ``AutoStart`` into actions. What it
is not: ChangeDUState (rocket.swmod.service).

- One ExecEnv per package system present (``swmod-dpkg``, ``swmod-opkg``
  in ``[backends] dir`` that answer ``env``); one DeploymentUnit per package
  dpkg/opkg consider present (not "config-files" or "not-installed"); one
  ExecutionUnit per service those packages ship (``/etc/init.d`` scripts,
  systemd units), state from ``swmod-service``.
- A read costs one ``list`` process per package system and one
  ``swmod-service status`` process, whatever the number of packages (the
  sysvinit/procd status of each service is one init-script run inside it).
- Instance numbers: kept in ``STATE_DIR/swmod.json`` by package (and by
  package and service), never reused; a package keeps its number while it
  is installed, across restarts and updates. UUIDs: the ACS's when it gave
  one at install, else ``ops.du_uuid(name, vendor)``.
- RequestedState and AutoStart are checked and recorded at once and carried
  out by ``apply`` at the end of the session (SetParameterValues Status 1),
  so starting a service never cuts into the session. A start or stop that
  fails shows in ExecutionFaultCode/ExecutionFaultMessage.
"""

import os

from rocket.datamodel import records
from rocket.base.log import log
from rocket.cwmp.soap import CwmpFault
from rocket.datamodel.store import CAN_DENY, Param
from rocket.swmod.ops import du_uuid

NAME = "swmod"
STATE = "swmod"
SYSTEMS = ("dpkg", "opkg")
_PRESENT = "iUFWtH"  # dpkg/opkg states of a package that is (partly) there
_OPKG_PRESENT = ("installed", "unpacked", "half-installed", "half-configured")


class Units:
    """The DataModel backend for ``Device.SoftwareModules.``."""

    name = NAME
    forced = False

    def __init__(self, agent, cfg):
        self.agent = agent
        self.loop = agent.loop
        self.state = agent.state
        self.base = agent.root + "SoftwareModules."
        self.prefixes = [self.base]
        self.cfg = cfg
        self.spawned = 0
        self.envs = []  # [{"name", "script", "type", "vendor", "version", "disk", "sig"}]
        self.pkgs = {}  # "ee/name" -> package dict, from the last scan
        self.svcs = {}  # "ee/pkg/svc" -> service dict
        self._staged = []
        self._todo = []
        self._store = None
        self.doc = self.state.load(STATE, {}, {"du": dict, "eu": dict, "ee": dict, "last": [int, int, int]})
        for k, v in (("du", {}), ("eu", {}), ("ee", {}), ("known", None), ("last", [0, 0, 0]),
                     ("eufault", {})):
            self.doc.setdefault(k, v)

    # ------------------------------------------------------------ processes
    def _env(self):
        env = dict(os.environ)
        env["ROCKET_SW_ROOT"] = self.cfg("root")
        env["ROCKET_SW_INIT"] = self.cfg("init")
        return env

    def script(self, name):
        return os.path.join(self.agent.cfg.get("backends", "dir"), name)

    def run(self, script, verb, recs=(), timeout=None):
        """(exit status, [records], last stderr line)."""
        self.spawned += 1
        r = self.loop.run_process([script, verb], stdin=records.encode_all(recs),
                                  timeout=timeout or self.agent.cfg.int("backends", "timeout"),
                                  env=self._env())
        err = r.stderr.decode("utf-8", "replace").strip().splitlines()
        why = err[-1][:200] if err else ""
        if r.timed_out:
            return 124, [], "timed out"
        try:
            out = records.decode(r.stdout)
        except records.RecordError as e:
            log.error("software: %s %s: garbage on stdout (%s)", script, verb, e)
            return 1, [], "backend printed garbage"
        return r.returncode, out, why

    def discover(self):
        """Find the package systems present (``env`` of each backend)."""
        want = self.cfg("systems").replace(",", " ").split() or list(SYSTEMS)
        envs = []
        for n in want:
            s = self.script("swmod-" + n)
            if not os.access(s, os.X_OK):
                log.warning("software: no backend %s", s)
                continue
            rc, out, why = self.run(s, "env")
            if rc != 0:
                log.info("software: %s not present here%s", n, ": " + why if why and rc != 3 else "")
                continue
            e = {"script": s}
            for r in out:
                if len(r) >= 2:
                    e[r[0]] = r[1]
            e["name"] = n
            envs.append(e)
        self.envs = envs
        ee = self.doc["ee"]
        for e in envs:
            if e["name"] not in ee:
                self.doc["last"][0] += 1
                ee[e["name"]] = [self.doc["last"][0], True]
        self.save()
        log.info("software: execution environments: %s", " ".join(e["name"] for e in envs) or "none")
        return envs

    def env(self, name):
        for e in self.envs:
            if e["name"] == name:
                return e
        return None

    def enabled(self, name):
        return bool(self.doc["ee"].get(name, [0, True])[1])

    def ee_ref(self, name):
        return "%sExecEnv.%d" % (self.base, self.doc["ee"][name][0])

    def ee_by_ref(self, ref):
        ref = ref.rstrip(".")
        for e in self.envs:
            if self.ee_ref(e["name"]) == ref:
                return e
        return None

    # ---------------------------------------------------------------- scan
    def scan(self):
        """Read every package system and service state; fills pkgs/svcs.

        Raises CwmpFault 9002 if a backend fails (the previous view stays).
        """
        pkgs = {}
        svcs = {}
        for e in self.envs:
            rc, out, why = self.run(e["script"], "list")
            if rc != 0:
                log.error("software: %s list failed (status %d) %s", e["name"], rc, why)
                raise CwmpFault(9002, "package system %s failed" % e["name"])
            ee = e["name"]
            for r in out:
                if r[0] == "du" and len(r) >= 4:
                    st = r[3].strip()
                    if ee == "opkg":
                        present = st in _OPKG_PRESENT
                        resolved = st == "installed"
                    else:
                        present = len(st) > 1 and st[1] in _PRESENT
                        resolved = len(st) > 1 and st[1] in "iWt" and not st[2:].strip()
                    if not present:
                        continue
                    name = r[1].split(":", 1)[0]  # dpkg's name:arch
                    half = st in ("half-installed", "half-configured") or (len(st) > 1 and st[1] in "HF")
                    pkgs[ee + "/" + name] = {"ee": ee, "name": name, "version": r[2], "resolved": resolved,
                                             "half": half,
                                             "vendor": r[4] if len(r) > 4 else "",
                                             "summary": r[5] if len(r) > 5 else "", "eus": []}
                elif r[0] == "eu" and len(r) >= 4:
                    svcs[ee + "/" + r[1].split(":", 1)[0] + "/" + r[2]] = {"kind": r[3], "name": r[2]}
        for k in list(svcs):
            pk = k.rsplit("/", 1)[0]
            if pk not in pkgs:
                del svcs[k]
                continue
            pkgs[pk]["eus"].append(k)
        if svcs:
            names = sorted(set((s["name"], s["kind"]) for s in svcs.values()))
            rc, out, why = self.run(self.script("swmod-service"), "status", [list(n) for n in names])
            state = {r[0]: r for r in out if len(r) >= 3}
            if rc != 0:
                log.warning("software: service status failed: %s", why)
            for s in svcs.values():
                r = state.get(s["name"])
                s["active"] = bool(r) and r[1] == "1"
                s["enabled"] = bool(r) and r[2] == "1"
        self.pkgs = pkgs
        self.svcs = svcs
        self._number(pkgs, svcs)
        return pkgs

    def _number(self, pkgs, svcs):
        du, eu, last = self.doc["du"], self.doc["eu"], self.doc["last"]
        changed = False
        for k in sorted(pkgs):
            if k not in du:
                last[1] += 1
                du[k] = {"i": last[1]}
                changed = True
        for k in [k for k in du if k not in pkgs]:
            del du[k]
            changed = True
        for k in sorted(svcs):
            if k not in eu:
                last[2] += 1
                eu[k] = last[2]
                changed = True
        for k in [k for k in eu if k not in svcs]:
            del eu[k]
            self.doc["eufault"].pop(k, None)
            changed = True
        if changed:
            self.save()

    def save(self):
        self.state.save(STATE, self.doc)

    def uuid(self, key):
        p = self.pkgs.get(key)
        d = self.doc["du"].get(key) or {}
        if d.get("uuid"):
            return d["uuid"]
        return du_uuid(p["name"], p["vendor"]) if p else ""

    def note(self, key, **fields):
        """Remember something about an installed DU (ACS UUID, URL)."""
        d = self.doc["du"].get(key)
        if d is None:
            self.doc["last"][1] += 1
            d = self.doc["du"][key] = {"i": self.doc["last"][1]}
        d.update(fields)
        self.save()

    def du_ref(self, key):
        d = self.doc["du"].get(key)
        return "%sDeploymentUnit.%d" % (self.base, d["i"]) if d else ""

    def eu_refs(self, key):
        p = self.pkgs.get(key)
        eu = self.doc["eu"]
        return ["%sExecutionUnit.%d" % (self.base, eu[s]) for s in (p["eus"] if p else ()) if s in eu]

    def find(self, uuid, ee=None, version=None):
        """Installed DU keys with ``uuid`` (and EE name / version if given)."""
        out = []
        for k, p in self.pkgs.items():
            if self.uuid(k).lower() != uuid.lower():
                continue
            if ee is not None and p["ee"] != ee:
                continue
            if version and p["version"] != version:
                continue
            out.append(k)
        return sorted(out)

    # ------------------------------------------------------ DataModel side
    def load(self, store):
        self.scan()
        self.fill(store)
        self.agent_hook()

    def agent_hook(self):
        """Called after every scan that served the ACS (set by the service)."""

    def fill(self, store):
        self._store = store
        b = self.base
        store.remove([k for k in store.subtree(b) if k != b])
        own = self.name

        def add(path, value, ptype="string", writable=False, limit=None, flags=0):
            store.add(path, Param(value, ptype, writable, own, flags, limit))

        add(b + "ExecEnvNumberOfEntries", str(len(self.envs)), "unsignedInt")
        add(b + "DeploymentUnitNumberOfEntries", str(len(self.pkgs)), "unsignedInt")
        add(b + "ExecutionUnitNumberOfEntries", str(len(self.svcs)), "unsignedInt")
        for t in ("ExecEnv.", "DeploymentUnit.", "ExecutionUnit."):
            store.add_object(b + t, owner=own, table=True)
        eu_num = self.doc["eu"]
        mem = _mem_available()
        for e in self.envs:
            i = self.doc["ee"][e["name"]][0]
            p = "%sExecEnv.%d." % (b, i)
            store.add_object(p, owner=own)
            on = self.enabled(e["name"])
            add(p + "Enable", "true" if on else "false", "boolean", True)
            add(p + "Status", "Up" if on else "Disabled")
            add(p + "Name", e["name"], limit=256)
            add(p + "Type", e.get("type", "")[:64])
            add(p + "Vendor", e.get("vendor", "")[:128])
            add(p + "Version", e.get("version", "")[:32])
            add(p + "AllocatedDiskSpace", "-1", "int")
            disk = e.get("disk", "")
            add(p + "AvailableDiskSpace", str(int(disk) // 1024) if disk.isdigit() else "-1", "int")
            add(p + "AllocatedMemory", "-1", "int")
            add(p + "AvailableMemory", str(mem), "int")
            active = ["%sExecutionUnit.%d" % (b, eu_num[k]) for k, s in sorted(self.svcs.items())
                      if s.get("active") and k.split("/", 1)[0] == e["name"]]
            add(p + "ActiveExecutionUnits", ",".join(active))
        for k, pk in self.pkgs.items():
            p = "%sDeploymentUnit.%d." % (b, self.doc["du"][k]["i"])
            store.add_object(p, owner=own)
            add(p + "UUID", self.uuid(k), limit=36)
            add(p + "DUID", pk["name"][:64])
            add(p + "Name", pk["name"][:256])
            add(p + "Status", "Installed", flags=CAN_DENY)
            add(p + "Resolved", "true" if pk["resolved"] else "false", "boolean")
            add(p + "URL", self.doc["du"][k].get("url", ""), limit=1024)
            add(p + "Description", pk["summary"][:256])
            add(p + "Vendor", pk["vendor"][:128])
            add(p + "Version", pk["version"][:32])
            add(p + "VendorLogList", "")
            add(p + "VendorConfigList", "")
            add(p + "ExecutionUnitList", ",".join(self.eu_refs(k)))
            add(p + "ExecutionEnvRef", self.ee_ref(pk["ee"]))
        for k, s in self.svcs.items():
            pk_key = k.rsplit("/", 1)[0]
            pk = self.pkgs[pk_key]
            p = "%sExecutionUnit.%d." % (b, eu_num[k])
            store.add_object(p, owner=own)
            store.add_object(p + "Extensions.", owner=own)
            fault = self.doc["eufault"].get(k) or ["NoFault", ""]
            add(p + "EUID", s["name"][:64])
            add(p + "Name", s["name"][:256])
            add(p + "ExecEnvLabel", s["name"][:64])
            add(p + "Status", "Active" if s.get("active") else "Idle", flags=CAN_DENY)
            add(p + "RequestedState", "", writable=True, limit=("Idle", "Active"))
            add(p + "ExecutionFaultCode", fault[0], flags=CAN_DENY)
            add(p + "ExecutionFaultMessage", fault[1][:256])
            add(p + "AutoStart", "true" if s.get("enabled") else "false", "boolean", True)
            add(p + "Vendor", pk["vendor"][:128])
            add(p + "Version", pk["version"][:32])
            add(p + "Description", pk["summary"][:256])
            add(p + "References", self.du_ref(pk_key))
            add(p + "AssociatedProcessList", "")
            add(p + "VendorLogList", "")
            add(p + "VendorConfigList", "")
            add(p + "SupportedDataModelList", "")
            add(p + "ExecutionEnvRef", self.ee_ref(pk["ee"]))

    def _target(self, path):
        """(kind, key) of a writable parameter path."""
        rest = path[len(self.base):]
        parts = rest.split(".")
        if len(parts) == 3 and parts[1].isdigit():
            n = int(parts[1])
            if parts[0] == "ExecEnv" and parts[2] == "Enable":
                for name, (i, _) in self.doc["ee"].items():
                    if i == n:
                        return "ee", name
            if parts[0] == "ExecutionUnit" and parts[2] in ("RequestedState", "AutoStart"):
                for k, i in self.doc["eu"].items():
                    if i == n:
                        return parts[2], k
        raise CwmpFault(9005, "Invalid parameter name: %s" % path[:256])

    def validate(self, changes):
        faults = []
        for path, value in changes:
            try:
                kind, key = self._target(path)
            except CwmpFault:
                faults.append((path, 9005, None))
                continue
            ee = key.split("/", 1)[0]
            if kind != "ee" and not self.enabled(ee):
                faults.append((path, 9007, "execution environment %s is disabled" % ee))
        if faults:
            raise CwmpFault(9003, param_faults=faults)

    def set(self, changes):
        self.validate(changes)
        self._staged = [(self._target(p), v) for p, v in changes]

    def commit(self):
        status = 0
        for (kind, key), value in self._staged:
            if kind == "ee":
                self.doc["ee"][key][1] = value == "true"
                st = self._store and self._store.get("%sExecEnv.%d.Status" % (self.base, self.doc["ee"][key][0]))
                if st is not None:
                    st.value = "Up" if value == "true" else "Disabled"
                log.info("software: execution environment %s %s", key,
                         "enabled" if value == "true" else "disabled")
                self.save()
            else:
                self._todo.append((kind, key, value))
                status = 1
        self._staged = []
        return status

    def abort(self):
        self._staged = []

    def set_and_commit(self, changes):
        self.set(changes)
        return self.commit()

    def add(self, path, store):
        raise CwmpFault(9005, "Not a table the ACS may add to: %s" % path[:256])

    def delete(self, path, store):
        raise CwmpFault(9005, "Not an instance the ACS may delete: %s" % path[:256])

    def apply(self):
        """End of session: start, stop, enable or disable services."""
        todo, self._todo = self._todo, []
        for kind, key, value in todo:
            s = self.svcs.get(key)
            if s is None:
                continue
            if kind == "RequestedState":
                verb = "start" if value == "Active" else "stop"
            else:
                verb = "enable" if value == "true" else "disable"
            rc, _, why = self.run(self.script("swmod-service"), verb, [[s["name"], s["kind"]]],
                                  timeout=self.agent.cfg.int("backends", "timeout"))
            self.agent.audit.record("software", op=verb, service=s["name"], result="ok" if rc == 0 else "fault",
                                    reason=why or None)
            if rc == 0:
                log.info("software: service %s: %s", s["name"], verb)
                if kind == "RequestedState":
                    self.doc["eufault"].pop(key, None)
            else:
                log.warning("software: service %s: %s failed: %s", s["name"], verb, why)
                if kind == "RequestedState":
                    code = "FailureOnStart" if verb == "start" else "FailureOnStop"
                    self.doc["eufault"][key] = [code, why or "%s failed" % verb]
        if todo:
            self.save()


def _mem_available():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return -1

