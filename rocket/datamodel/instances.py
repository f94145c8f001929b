"""Stable instance numbers for backends that name their instances by key.

A backend's ``get`` may write an instance segment as ``{KEY}`` in place of
a number (``Device.IP.Interface.{br-lan}.Name``); KEY is any stable name of
the instance without ``{``, ``}``, TAB or LF (it may hold dots and colons).
This module maps (table path with the parents' numbers resolved, KEY) to an
instance number, and back for writes, so that scripts never see numbers and
the ACS never sees keys. It is pure bookkeeping: no I/O beyond the
``StateDir`` document ``instances`` it is given.

Rules:
- A number is handed out once per table (``next`` only grows): never reused,
  even after its instance vanished.
- An instance keeps its number while it exists, across sessions, restarts
  and reboots (the map is persisted, atomically, only when it changed).
- A vanished key is remembered (up to ``KEEP_GONE`` per table, oldest
  forgotten first, with the tables nested under it): when it comes back it
  gets its old number again.
- Paths inside values (references, comma-separated lists) are translated
  the same way; numeric segments pass through untouched.
"""

import re

KEEP_GONE = 64
_KEYSEG = re.compile(r"\.\{([^{}\t\n]*)\}(?=\.|$)")
_NUMSEG = re.compile(r"\.(\d+)(?=\.|$)")
_REF = re.compile(r"(?:Device|InternetGatewayDevice)\.(?:\{[^{}\t\n]*\}|[^{},\s])*")


class InstanceMap:
    def __init__(self, state=None):
        self.state = state
        doc = (state.load("instances", {}, {"*": {"next": int, "keys": dict, "gone": list, "by": str}})
               if state is not None else {})
        self.tables = doc if isinstance(doc, dict) else {}  # table -> {"next", "keys", "gone"}
        self._rev = {}  # table -> {number: key}
        self.dirty = False

    # ------------------------------------------------------------ keys -> numbers
    def number(self, table, key, seen=None, by=None):
        t = self.tables.get(table)
        if t is None:
            t = self.tables[table] = {"next": 1, "keys": {}, "gone": []}
        if by is not None and t.get("by") != by:
            t["by"] = by  # the backend whose own paths name this table
            self.dirty = True
        n = t["keys"].get(key)
        if n is None:
            n = t["keys"][key] = t["next"]
            t["next"] = n + 1
            self._rev.pop(table, None)
            self.dirty = True
        if seen is not None:
            seen.setdefault(table, set()).add(key)
        return n

    def to_numbers(self, path, seen=None, by=None):
        """'Device.X.{a}.Y.{b}.Z' -> 'Device.X.1.Y.4.Z' (allocating)."""
        last = 0
        done = ""
        for m in _KEYSEG.finditer(path):
            done += path[last:m.start()] + "."
            done += str(self.number(done, m.group(1), seen, by))
            last = m.end()
        return done + path[last:] if last else path

    def refs_to_numbers(self, value):
        return _REF.sub(lambda m: self.to_numbers(m.group(0)) if "{" in m.group(0) else m.group(0), value)

    # ------------------------------------------------------------ numbers -> keys
    def _reverse(self, table):
        r = self._rev.get(table)
        if r is None:
            t = self.tables.get(table)
            r = self._rev[table] = {n: k for k, n in t["keys"].items()} if t else {}
        return r

    def to_keys(self, path, by=None):
        """'Device.X.1.Y.4.Z' -> 'Device.X.{a}.Y.{b}.Z' where numbers are keyed
        (with ``by``: only in the tables backend ``by`` keys itself)."""
        if not self.tables:
            return path
        out = ""
        last = 0
        for m in _NUMSEG.finditer(path):
            table = path[:m.start() + 1]
            if by is not None and self.tables.get(table, {}).get("by", by) != by:
                continue
            key = self._reverse(table).get(int(m.group(1)))
            if key is not None:
                out += path[last:m.start()] + ".{" + key + "}"
                last = m.end()
        return out + path[last:] if last else path

    def refs_to_keys(self, value):
        if not self.tables or "." not in value:
            return value
        return _REF.sub(lambda m: self.to_keys(m.group(0)), value)

    def key(self, table, number):
        """The key of instance ``number`` (int or digits) of ``table``, or None."""
        return self._reverse(table).get(int(number)) if str(number).isdigit() else None

    def keyed(self, table):
        return table in self.tables

    # ------------------------------------------------------------ lifecycle
    def translate_get(self, recs, prefixes, by=None):
        """Records of a ``get`` (by backend ``by``) with keys -> with numbers;
        then note which keyed instances under ``prefixes`` vanished, and
        persist. Records outside ``prefixes`` are left alone (the caller
        ignores them)."""
        seen = {}
        prefixes = tuple(prefixes)
        for rec in recs:
            if "{" in rec[0] and rec[0].startswith(prefixes):
                rec[0] = self.to_numbers(rec[0], seen, by)
        for rec in recs:
            if len(rec) > 1 and ".{" in rec[1]:
                rec[1] = self.refs_to_numbers(rec[1])
        self._vanish(prefixes, seen)
        self.save()
        return recs

    def _vanish(self, prefixes, seen):
        for table in [t for t in self.tables if t.startswith(prefixes)]:
            t = self.tables.get(table)
            if t is None:  # dropped as nested below a forgotten instance
                continue
            here = seen.get(table, ())
            gone = t["gone"]
            new_gone = [k for k in gone if k not in here and k in t["keys"]]
            new_gone += [k for k in t["keys"] if k not in here and k not in gone]
            if new_gone != gone:
                t["gone"] = new_gone
                self.dirty = True
            while len(t["gone"]) > KEEP_GONE:
                self.forget(table, t["gone"][0])

    def vanished(self, table, seen):
        """After rebuilding ``table`` from the keys in ``seen`` (as
        ``number(..., seen)`` fills it): note which vanished, persist."""
        self._vanish((table,), seen)
        self.save()

    def forget(self, table, key):
        """``key`` no longer exists (deleted): drop it and every table under it.
        Its number is not handed out again."""
        t = self.tables.get(table)
        if t is None or key not in t["keys"]:
            return
        n = t["keys"].pop(key)
        if key in t["gone"]:
            t["gone"].remove(key)
        self._rev.pop(table, None)
        below = "%s%d." % (table, n)
        for sub in [s for s in self.tables if s.startswith(below)]:
            del self.tables[sub]
            self._rev.pop(sub, None)
        self.dirty = True

    def save(self):
        if self.dirty and self.state is not None:
            self.state.save("instances", self.tables)
        self.dirty = False
