"""Instance aliases and wildcards in path names (CWMP 1.3/1.4).

What it is for: parsing a path name whose instance segments are numbers,
Instance Aliases (``Device.IP.Interface.[lan].Name``, TR-069 §3.6.1) or
instance wildcards (``Device.IP.Interface.*.Name``, Amendment 6), naming
the concrete paths it denotes in a Store, and writing a concrete path back
in its alias form (InstanceMode = InstanceAlias). Pure: no I/O, no faults;
the data model (rocket.datamodel.model) turns PathError into 9005 and
decides where aliases may be created and where wildcards are allowed.

Rules:
- Segments are separated by '.'; only the last may be empty (an object
  path ends with '.'); the first is a name, never an instance.
- ``[alias]``: the alias is non-empty, starts with a letter and holds no
  '.', '[' or ']' (the TR-181 Alias rules, plus what keeps a path
  readable); it names the instance of the table whose ``Alias`` parameter
  equals it. ``*`` names every instance of the table. Neither appears
  anywhere else, and '[' or ']' never appears inside a plain segment.
- Resolution walks the segments left to right with the set of concrete
  prefixes so far: an alias that names no instance is reported as missing
  (table, alias, the rest of the path) for auto-creation; a wildcard after
  an object that is neither a table nor has instances is a PathError (an
  empty table gives an empty answer); concrete paths that do not exist are
  left out.
"""

import re


class PathError(ValueError):
    pass


def valid_alias(a):
    return bool(a) and a[0].isalpha() and not any(c in a for c in ".[]")


def split(path):
    """'A.[x].*.B.' -> ['A', '[x]', '*', 'B', '']; PathError if malformed."""
    segs = path.split(".")
    for i, s in enumerate(segs):
        if s == "":
            if i != len(segs) - 1 or i == 0:
                raise PathError("empty segment")
        elif s[0] == "[":
            if i == 0 or s[-1] != "]" or not valid_alias(s[1:-1]):
                raise PathError("bad instance alias %r" % s[:70])
        elif "[" in s or "]" in s or ("*" in s and (s != "*" or i == 0)):
            raise PathError("bad segment %r" % s[:70])
    return segs


def find_alias(store, table, alias, index=None):
    """The instance number (as text) of ``table`` whose Alias is ``alias``
    (the lowest when several share it). ``index``, a dict kept for the
    length of one request, holds each table's aliases once read: n names by
    alias cost O(n), not O(n x instances)."""
    t = None if index is None else index.get(table)
    if t is None:
        t = {}
        for n in sorted(store.instances(table)):
            t.setdefault(getattr(store.get("%s%d.Alias" % (table, n)), "value", None), str(n))
        if index is not None:
            index[table] = t
    return t.get(alias)


def expand(store, path, index=None):
    """(concrete paths that exist, [(table, alias, rest) of missing aliases])."""
    segs = split(path)
    last = len(segs) - 1
    heads = [""]
    missing = []
    for i, s in enumerate(segs):
        if s == "":
            break
        dot = "." if i < last else ""
        if s == "*":
            nxt = []
            for h in heads:
                nums = sorted(store.instances(h))
                if not (nums or getattr(store.get(h), "table", False)):
                    raise PathError("%s is not a table" % h[:200])
                nxt.extend("%s%d%s" % (h, n, dot) for n in nums)
            heads = nxt
        elif s[0] == "[":
            nxt = []
            for h in heads:
                n = find_alias(store, h, s[1:-1], index)
                if n is None:
                    missing.append((h, s[1:-1], ".".join(segs[i + 1:])))
                else:
                    nxt.append(h + n + dot)
            heads = nxt
        else:
            heads = [h + s + dot for h in heads]
    return [h for h in heads if h in store], missing


_NUM = re.compile(r"\.(\d+)(?=\.|$)")


def aliased(store, rows):
    """Rows (path, ...) with 'Device.IP.Interface.1.Name' written as
    'Device.IP.Interface.[lan].Name' where instance 1's Alias is valid and
    unique in its table (real devices repeat aliases: those keep numbers)."""
    tables = {}

    def rep(m):
        table = path[:m.start() + 1]
        t = tables.get(table)
        if t is None:
            t = tables[table] = {}
            seen = {}
            for n in store.instances(table):
                a = getattr(store.get("%s%d.Alias" % (table, n)), "value", "")
                if valid_alias(a):
                    t[str(n)] = a
                    seen[a] = seen.get(a, 0) + 1
            for n, a in list(t.items()):
                if seen[a] > 1:
                    del t[n]
        a = t.get(m.group(1))
        return ".[%s]" % a if a else m.group(0)

    out = []
    done = {}  # object path -> its alias form (an answer lists many parameters per object)
    for r in rows:
        path = r[0]
        cut = len(path) if path.endswith(".") else path.rfind(".") + 1
        head = done.get(path[:cut])
        if head is None:
            path = path[:cut]
            head = done[path] = _NUM.sub(rep, path)
            path = r[0]
        out.append((head + path[cut:],) + tuple(r[1:]))
    return out
