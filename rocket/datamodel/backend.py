"""Shell-script backends: manifests, routing and the batched record protocol.

A backend is an executable POSIX sh script ``NAME`` in ``[backends] dir``
with a manifest ``NAME.manifest`` beside it. The manifest says which
subtrees the backend owns and what each of its parameters is (type, limits,
access, Inform and notification flags, which tables the ACS may add to); the
agent routes by it and never runs a script to find out who owns a path.

A script is run as ``SCRIPT VERB`` (the verb is the only argument, and it
is always one of ours), with escaped line records on stdin and stdout
(``rocket.records``) and diagnostics on stderr. At most one process runs per
backend per RPC: the first touch of a backend in a session runs ``get`` and
the answer is cached in the store for the rest of the session, so
GetParameterNames followed by GetParameterValues costs one process; a
SetParameterValues that concerns one backend runs ``set-commit`` once.

Verbs (stdin -> stdout, see rocket/backends/README.md):

    get          owned prefixes          PATH TAB VALUE [TAB TYPE] / OBJECT.
    validate     PATH TAB VALUE TAB TYPE  faults, or "valid"
    set          PATH TAB VALUE TAB TYPE  "fault" TAB PATH TAB CODE TAB TEXT... or "staged"
    set-commit   same                    faults, or "status" TAB 0|1
    commit       -                       "status" TAB 0|1
    abort        -                       -
    add          TABLE.                  "instance" TAB N, parameters, "status" TAB 0|1
    delete       INSTANCE.               "status" TAB 0|1
    apply        -                       - (end of a session that changed something)

A script that hangs (``[backends] timeout``), exits non-zero, prints more
than ``[backends] max_output`` bytes or prints something that is not a record
makes the RPC fail with 9002 and one log line naming the script and verb.
"""

import os
import re

from rocket.datamodel import records
from rocket.datamodel.instances import InstanceMap
from rocket.cwmp import values
from rocket.base.log import log
from rocket.cwmp.soap import CwmpFault
from rocket.datamodel.store import (
    ACTIVE_DEFAULT,
    ACTIVE_FORCED,
    CAN_DENY,
    FORCED_INFORM,
    HIDDEN,
    VOLATILE,
    Param,
    parent_of,
)

_INSTANCE = re.compile(r"\.\d+(?=\.)")
_FAULT_CODES = (9005, 9006, 9007, 9008)


MAX_PATH = 256  # TR-106: a full parameter name is at most 256 characters


def generic(path):
    """'Device.IP.Interface.3.Name' -> 'Device.IP.Interface.{i}.Name'."""
    return _INSTANCE.sub(".{i}", path)


class ManifestError(ValueError):
    pass


class Spec:
    """What the manifest says about one parameter (or pattern)."""

    __slots__ = ("type", "limit", "writable", "flags", "notification")

    def __init__(self, ptype="string", limit=None, writable=False, flags=0, notification=0):
        self.type = ptype
        self.limit = limit
        self.writable = writable
        self.flags = flags
        self.notification = notification


DEFAULT_SPEC = Spec()
_ACTIVE = {"forced": ACTIVE_FORCED, "default": ACTIVE_DEFAULT, "candeny": CAN_DENY}


def _parse_range(text):
    lo, sep, hi = text.partition("..")
    if not sep:
        raise ManifestError("range wants LO..HI")
    return (int(lo) if lo else None, int(hi) if hi else None)


class Manifest:
    """A parsed ``NAME.manifest``.

    Line grammar (``#`` starts a comment line; fields are separated by
    blanks; patterns use ``{i}`` for an instance number)::

        prefix PATH.
        param  PATTERN TYPE [r|rw|w] [len=N] [range=LO..HI] [enum=A|B|C]
               [hidden] [inform] [volatile] [notify=0|1|2]
               [active=forced|default|candeny]
        table  PATTERN.        (the ACS may AddObject here and DeleteObject
                                its instances)
        requires TOOL...       (commands the script needs; without them the
                                backend is left out, see ``load_backends``)
    """

    def __init__(self):
        self.requires = []  # commands that must exist on this system
        self.prefixes = []
        self.specs = {}  # generic path -> Spec
        self.tables = set()  # generic table paths (ending with '.')
        self.forced = False  # declares a forced-inform parameter

    @classmethod
    def parse(cls, text):
        m = cls()
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            words = line.split()
            try:
                m._line(words)
            except (ManifestError, ValueError) as e:
                raise ManifestError("line %d: %s" % (lineno, e)) from None
        if not m.prefixes:
            raise ManifestError("no prefix line")
        for path in list(m.specs) + list(m.tables):
            if not any(path.startswith(p) for p in m.prefixes):
                raise ManifestError("%s is outside every prefix" % path)
        return m

    def _line(self, words):
        kind = words[0]
        if kind == "prefix" and len(words) == 2:
            if not words[1].endswith("."):
                raise ManifestError("a prefix ends with '.'")
            self.prefixes.append(words[1])
        elif kind == "requires" and len(words) >= 2:
            self.requires.extend(words[1:])
        elif kind == "table" and len(words) == 2:
            if not words[1].endswith("."):
                raise ManifestError("a table ends with '.'")
            self.tables.add(words[1])
        elif kind == "param" and len(words) >= 3:
            path = words[1]
            if path.endswith("."):
                raise ManifestError("a parameter does not end with '.'")
            spec = Spec(values.normalize_type(words[2]))
            if spec.type not in values.TYPES:
                raise ManifestError("unknown type %s" % words[2])
            for w in words[3:]:
                key, eq, val = w.partition("=")
                if w == "r":
                    spec.writable = False
                elif w == "rw":
                    spec.writable = True
                elif w == "w":
                    spec.writable = True
                    spec.flags |= HIDDEN
                elif w == "hidden":
                    spec.flags |= HIDDEN
                elif w == "inform":
                    spec.flags |= FORCED_INFORM
                    self.forced = True
                elif w == "volatile":
                    spec.flags |= VOLATILE
                elif eq and key == "len":
                    spec.limit = int(val)
                elif eq and key == "range":
                    spec.limit = _parse_range(val)
                elif eq and key == "enum":
                    spec.limit = tuple(val.split("|"))
                elif eq and key == "notify" and val in ("0", "1", "2"):
                    spec.notification = int(val)
                elif eq and key == "active" and val in _ACTIVE:
                    spec.flags |= _ACTIVE[val]
                    if val in ("forced", "default"):
                        spec.notification = 2
                else:
                    raise ManifestError("unknown option %s" % w)
            self.specs[path] = spec
        else:
            raise ManifestError("cannot read %r" % " ".join(words)[:80])

    def spec(self, path):
        s = self.specs.get(path)
        if s is None:
            s = self.specs.get(generic(path))
        return s


class BackendError(Exception):
    """A backend process failed (timeout, crash, garbage): answer 9002."""


def _clip(data, n=300):
    text = data.decode("utf-8", "replace").strip()
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text)
    return text[:n] + ("..." if len(text) > n else "")


class ScriptBackend:
    """One backend script, seen by the DataModel as a backend object."""

    def __init__(self, name, script, manifest, loop, model=None, timeout=10.0,
                 max_output=4 * 1024 * 1024, env=None, instances=None):
        self.name = name
        self.script = script
        self.manifest = manifest
        self.prefixes = list(manifest.prefixes)
        self.forced = manifest.forced
        self.loop = loop
        self.model = model
        self.timeout = timeout
        self.max_output = max_output
        self.env = env
        self.spawned = 0  # processes started, for tests and benchmarks
        self.instances = instances if instances is not None else InstanceMap()
        self._said_skipped = False

    def __repr__(self):
        return "<ScriptBackend %s>" % self.name

    # ------------------------------------------------------------ running
    def run(self, verb, recs=()):
        """Run one verb; the list of output records, or raise CwmpFault 9002."""
        self.spawned += 1
        res = self.loop.run_process([self.script, verb], stdin=records.encode_all(recs),
                                    timeout=self.timeout, max_output=self.max_output,
                                    env=self.env)
        why = None
        if res.timed_out:
            why = "timed out after %g s" % self.timeout
        elif res.truncated:
            why = "printed more than %d bytes" % self.max_output
        elif res.returncode != 0:
            why = "exit status %d" % res.returncode
        out = None
        if why is None:
            try:
                out = records.decode(res.stdout)
            except records.RecordError as e:
                why = "garbage on stdout (%s): %s" % (e, _clip(res.stdout, 80))
        if why is not None:
            err = _clip(res.stderr)
            log.error("backend %s: %s %s: %s%s", self.name, self.script, verb, why,
                      "; stderr: " + err if err else "")
            raise CwmpFault(9002, "backend %s failed" % self.name)
        if res.stderr:
            log.info("backend %s: %s: %s", self.name, verb, _clip(res.stderr))
        return out

    def _garbage(self, verb, what):
        log.error("backend %s: %s %s: garbage on stdout: %s", self.name, self.script, verb, what[:120])
        return CwmpFault(9002, "backend %s failed" % self.name)

    # ------------------------------------------------------------ reading
    def load(self, store):
        recs = self.instances.translate_get(self.run("get", [[p] for p in self.prefixes]), self.prefixes,
                                            self.name)
        # Forget what the previous session saw: instances may have gone.
        stale = [k for p in self.prefixes for k in store.subtree(p)
                 if getattr(store.nodes[k], "owner", None) == self.name and k not in self.prefixes]
        store.remove(stale)
        self._put(store, recs, "get")

    def _mine(self, path):
        if self.model is None:
            return any(path.startswith(p) for p in self.prefixes)
        return self.model.owner(path) is self

    def _put(self, store, recs, verb):
        """Records of parameters/objects -> store nodes."""
        attrs = self.model.attrs if self.model is not None else {}
        seen_objs = set()
        skipped = 0
        spec_of = self.manifest.spec
        for rec in recs:
            path = rec[0]
            if len(path) > MAX_PATH:  # each level costs a copy of the path: n levels, n^2
                raise self._garbage(verb, "a name longer than %d characters: %s..." % (MAX_PATH, path[:60]))
            if (len(rec) == 1) != path.endswith(".") or len(rec) > 3:
                raise self._garbage(verb, "\t".join(rec))
            if len(rec) == 1:
                if not self._mine(path):
                    skipped += 1
                    continue
                self._objects(store, path, seen_objs)
                continue
            if not self._mine(path):
                skipped += 1
                continue
            value = rec[1]
            old = store.nodes.get(path)
            if old is not None and getattr(old, "owner", self.name) != self.name:
                # The agent's own parameter (config wins): fill it only if empty.
                if isinstance(old, Param) and not old.value:
                    old.value = value
                continue
            spec = spec_of(path) or DEFAULT_SPEC
            ptype = spec.type
            if len(rec) == 3 and rec[2]:
                ptype = values.normalize_type(rec[2])
                if ptype not in values.TYPES:
                    raise self._garbage(verb, "unknown type %s" % rec[2])
            if isinstance(old, Param):
                old.value = value
                old.type = ptype
            else:
                a = attrs.get(path)
                notif = a[0] if a else spec.notification
                access = tuple(a[1]) if a else ()
                store.add(path, Param(value, ptype, spec.writable, self.name, spec.flags, spec.limit,
                                      notif, access))
                self._objects(store, path, seen_objs)
        if skipped:
            # Expected when another backend owns part of this one's subtree;
            # said once at warning level, then at debug level.
            level = log.DEBUG if self._said_skipped else log.WARNING
            self._said_skipped = True
            log.log(level, "backend %s: %s: %d record%s outside its subtrees ignored", self.name, verb,
                    skipped, "" if skipped == 1 else "s")

    def _objects(self, store, path, seen):
        """Create the objects above ``path`` (and ``path`` itself if an object),
        marking tables (parents of instance numbers) and what the ACS may
        add to or delete (``table`` lines of the manifest)."""
        parts = path.split(".")
        tables = self.manifest.tables
        prefixes = tuple(self.prefixes)
        for i in range(1, len(parts)):
            obj = ".".join(parts[:i]) + "."
            if obj in seen:
                continue
            seen.add(obj)
            if not obj.startswith(prefixes):
                continue
            seg = parts[i - 1]
            if seg.isdigit():
                table = obj[:len(obj) - len(seg) - 1]
                addable = generic(table) in tables
                store.add_object(table, owner=self.name, table=True).writable = addable
                store.add_object(obj, owner=self.name).writable = addable
            else:
                is_table = generic(obj) in tables
                store.add_object(obj, writable=is_table, owner=self.name, table=is_table)

    # ------------------------------------------------------------ writing
    def _set_records(self, changes):
        recs = []
        im = self.instances
        for path, value in changes:
            p = self.model.store.get(path) if self.model is not None else None
            recs.append([im.to_keys(path, self.name), im.refs_to_keys(value),
                         p.type if isinstance(p, Param) else "string"])
        return recs

    def _set_answer(self, verb, recs, want):
        faults = []
        result = None
        for r in recs:
            if r[0] == "fault" and len(r) >= 3:
                try:
                    code = int(r[2])
                except ValueError:
                    raise self._garbage(verb, "fault code %r" % r[2]) from None
                if code not in _FAULT_CODES:
                    code = 9007
                faults.append((self.instances.to_numbers(r[1]), code, r[3] if len(r) > 3 and r[3] else None))
            elif r[0] == want:
                result = r
            else:
                raise self._garbage(verb, "\t".join(r))
        if faults:
            raise CwmpFault(9003, param_faults=faults)
        if result is None:
            raise self._garbage(verb, "no %s record" % want)
        return result

    def validate(self, changes):
        """Only check the values (the request fails anyway): faults or None."""
        recs = self.run("validate", self._set_records(changes))
        self._set_answer("validate", recs, "valid")

    def set(self, changes):
        """Validate and stage (two-phase: commit() follows)."""
        recs = self.run("set", self._set_records(changes))
        self._set_answer("set", recs, "staged")

    def set_and_commit(self, changes):
        """Validate, stage and commit in one process; returns the Status."""
        recs = self.run("set-commit", self._set_records(changes))
        return self._status("set-commit", self._set_answer("set-commit", recs, "status"))

    def _status(self, verb, rec):
        if len(rec) != 2 or rec[1] not in ("0", "1"):
            raise self._garbage(verb, "\t".join(rec))
        return int(rec[1])

    def commit(self):
        recs = self.run("commit")
        st = [r for r in recs if r[0] == "status"]
        if len(st) != 1:
            raise self._garbage("commit", "no status record")
        return self._status("commit", st[0])

    def abort(self):
        self.run("abort")

    def add(self, table, store):
        im = self.instances
        recs = self.run("add", [[im.to_keys(table, self.name)]])
        number = status = None
        params = []
        for r in recs:
            if r[0] == "instance" and len(r) == 2 and r[1]:
                key = r[1]
                if key[0] == "{" and key[-1] == "}":
                    key = key[1:-1]
                elif key.isdigit() and not im.keyed(table):
                    key = None  # a plain number, as before keys existed
                    number = int(r[1]) or None
                if key is not None and "{" not in key and "}" not in key:
                    number = im.number(table, key, by=self.name)
                    im.save()
            elif r[0] == "status" and len(r) == 2:
                status = self._status("add", r)
            else:
                params.append(r)
        if number is None or status is None:
            raise self._garbage("add", "no instance or status record")
        for r in params:
            r[0] = im.to_numbers(r[0], by=self.name)
            if len(r) > 1 and ".{" in r[1]:
                r[1] = im.refs_to_numbers(r[1])
        inst = "%s%d." % (table, number)
        if any(not r[0].startswith(inst) for r in params):
            raise self._garbage("add", "a parameter outside %s" % inst)
        store.add_object(inst, writable=True, owner=self.name)
        self._put(store, params, "add")
        return number, status

    def delete(self, instance, store):
        im = self.instances
        recs = self.run("delete", [[im.to_keys(instance, self.name)]])
        st = [r for r in recs if r[0] == "status"]
        if len(st) != 1:
            raise self._garbage("delete", "no status record")
        status = self._status("delete", st[0])
        table = parent_of(instance)
        key = im.key(table, instance[len(table):-1])
        if key is not None and im.tables[table].get("by", self.name) == self.name:
            im.forget(table, key)
            im.save()
        return status

    def apply(self):
        self.run("apply")


# ----------------------------------------------------------------- setup

def discover(directory, enabled=None):
    """[(name, script path, manifest path)] of the backends in ``directory``.

    ``enabled``: names to use, in priority order (None: all, by name).
    """
    try:
        names = sorted(f[:-len(".manifest")] for f in os.listdir(directory) if f.endswith(".manifest"))
    except OSError:
        return []
    if enabled:
        missing = [n for n in enabled if n not in names]
        for n in missing:
            log.error("backends: %s is enabled but %s has no %s.manifest", n, directory, n)
        names = [n for n in enabled if n in names]
    return [(n, os.path.join(directory, n), os.path.join(directory, n + ".manifest")) for n in names]


def missing_tools(tools, path=None):
    """The commands of ``tools`` not found on ``path`` ($PATH) as executables
    (a name with a slash is checked as it is)."""
    dirs = (os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin") if path is None else path).split(":")
    out = []
    for t in tools:
        cands = [t] if "/" in t else [os.path.join(d or ".", t) for d in dirs]
        if not any(os.path.isfile(c) and os.access(c, os.X_OK) for c in cands):
            out.append(t)
    return out


def load_backends(agent):
    """ScriptBackends for ``[backends] dir``, added to ``agent.model``.

    Which: the names in ``[backends] enabled`` (in priority order), or by
    default every backend whose manifest's ``requires`` tools this system
    has (an OpenWrt pack on a Debian box is simply not used). A backend named
    explicitly whose tools are missing is an error, reported once here, and
    left out: it could only answer 9002.
    """
    cfg = agent.cfg
    directory = cfg.get("backends", "dir")
    enabled = cfg.get("backends", "enabled").replace(",", " ").split() or None
    if not os.path.isdir(directory):
        if enabled:
            from rocket.base.config import ConfigError
            raise ConfigError("[backends] dir %s is not a directory (enabled = %s)" % (directory,
                                                                                     " ".join(enabled)))
        log.warning("backends: [backends] dir %s is not a directory; no device backends, only the "
                    "agent's own parameters", directory)
    timeout = float(cfg.int("backends", "timeout", 1))
    max_output = cfg.int("backends", "max_output", 1024)
    rundir = os.path.join(agent.state.path, "backends")
    taken = {b_prefix for b in agent.model.backends for b_prefix in b.prefixes}
    instances = agent.model.instances = InstanceMap(agent.state)
    out = []
    for name, script, mpath in discover(directory, enabled):
        try:
            with open(mpath, encoding="utf-8") as f:
                manifest = Manifest.parse(f.read())
        except (OSError, ManifestError) as e:
            log.error("backends: %s: %s; backend %s disabled", mpath, e, name)
            continue
        if not os.access(script, os.X_OK):
            log.error("backends: %s is not an executable file; backend %s disabled", script, name)
            continue
        lacking = missing_tools(manifest.requires)
        if lacking:
            if enabled:
                log.error("backends: %s is enabled but needs %s, not found on this system (PATH); "
                          "left out", name, ", ".join(lacking))
            else:
                log.info("backends: %s not used: needs %s, not found on this system", name, ", ".join(lacking))
            continue
        dup = [p for p in manifest.prefixes if p in taken]
        for p in dup:
            log.warning("backends: %s also claims %s; an earlier backend keeps it", name, p)
        manifest.prefixes = [p for p in manifest.prefixes if p not in taken]
        manifest.prefixes = [p for p in manifest.prefixes if p.startswith(agent.root)]
        if not manifest.prefixes:
            log.warning("backends: %s owns nothing under %s; not used", name, agent.root)
            continue
        taken.update(manifest.prefixes)
        private = os.path.join(rundir, name)
        os.makedirs(private, mode=0o700, exist_ok=True)
        env = dict(os.environ)
        env.update({"ROCKET_ROOT": agent.root, "ROCKET_BACKEND": name, "ROCKET_RUNDIR": private})
        b = ScriptBackend(name, script, manifest, agent.loop, agent.model,
                          timeout=timeout, max_output=max_output, env=env, instances=instances)
        agent.model.add_backend(b)
        out.append(b)
        log.info("backends: %s owns %s", name, " ".join(manifest.prefixes))
    return out


def install(agent):
    """The static device tree (if configured), then the script backends.

    A static tree is a simulation of the device in the dump: the script
    backends are off then, unless ``[backends] enabled`` names some (they
    would otherwise mix this machine's facts into that device's tree)."""
    static = None
    if agent.cfg.get("backends", "static"):
        from rocket.datamodel import staticdm
        static = staticdm.install(agent, agent.cfg.get("backends", "static"))
    if static is None or agent.cfg.get("backends", "enabled").strip():
        load_backends(agent)
    else:
        log.info("backends: simulating the device of %s; script backends off (name them in "
                 "[backends] enabled to add them)", agent.cfg.get("backends", "static"))
    if static is not None:
        static.fill(agent.model.store)
