"""TR-181 (Device:2) definitions read from ../shared/bbf, and a checker for
served parameter trees: names, xsi:types, writability, value syntax,
vendor prefixes and NumberOfEntries.

The XML (4 MB) is parsed once per process with the standard library into a
compact index (generic path -> facts); ``index()`` returns None when the
shared folder is absent. Used by tests/test_tr181_validity.py and by
bench/coverage.py (profiles).
"""

import datetime
import ipaddress
import os
import re
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
BBF = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "bbf")
FULL = os.path.join(BBF, "tr-181-2-17-0-cwmp-full.xml")
NEWER = os.path.join(BBF, "tr-181-2-19-1-cwmp")

PRIMITIVES = ("string", "int", "unsignedInt", "long", "unsignedLong", "boolean", "dateTime", "base64",
              "hexBinary", "decimal")
_LIMITS = {"int": (-2 ** 31, 2 ** 31 - 1), "unsignedInt": (0, 2 ** 32 - 1), "long": (-2 ** 63, 2 ** 63 - 1),
           "unsignedLong": (0, 2 ** 64 - 1)}
VENDOR = re.compile(r"X_(?:[0-9A-F]{6}|[A-Z0-9]+(?:[-_][A-Z0-9]+)+)_[A-Za-z0-9]")


class Syntax:
    __slots__ = ("base", "dtype", "enum", "ranges", "minlen", "maxlen", "patterns", "is_list", "list_max")

    def __init__(self):
        self.base = None  # primitive type
        self.dtype = None  # outermost named data type (IPAddress, MACAddress...)
        self.enum = None
        self.ranges = []
        self.minlen = None
        self.maxlen = None
        self.patterns = []
        self.is_list = False
        self.list_max = None

    def copy(self):
        s = Syntax()
        for k in self.__slots__:
            v = getattr(self, k)
            setattr(s, k, list(v) if isinstance(v, list) else v)
        return s


def _facets(elem, syn):
    """Apply the facet children of ``elem`` (a primitive or dataType element)."""
    enum = []
    pats = []
    for f in elem:
        if f.tag == "size":
            if f.get("maxLength"):
                syn.maxlen = int(f.get("maxLength"))
            if f.get("minLength"):
                syn.minlen = int(f.get("minLength"))
        elif f.tag == "range":
            lo, hi = f.get("minInclusive"), f.get("maxInclusive")
            syn.ranges.append((int(lo) if lo else None, int(hi) if hi else None))
        elif f.tag == "enumeration":
            enum.append(f.get("value"))
        elif f.tag == "enumerationRef":
            syn.enum = None
            enum = None
        elif f.tag == "pattern":
            pats.append(f.get("value"))
    if enum:
        syn.enum = enum
    if pats:
        syn.patterns = pats


class Index:
    def __init__(self):
        self.params = {}  # generic path -> (access, Syntax)
        self.objects = {}  # generic object path -> (access, numEntriesParameter or None)
        self.profiles = {}  # name -> element data: (base list, [(objref, objreq, [paramrefs])])
        self.types = {}  # data type name -> Syntax

    # ------------------------------------------------------------ building
    @classmethod
    def load(cls, path=FULL):
        ix = cls()
        root = ET.parse(path).getroot()
        for dt in root.findall("dataType"):
            ix._datatype(dt)
        model = root.find("model")
        for obj in model.findall("object"):
            name = obj.get("name")
            ix.objects[name] = (obj.get("access"), obj.get("numEntriesParameter"))
            for p in obj.findall("parameter"):
                syn = ix._syntax(p.find("syntax"))
                ix.params[name + p.get("name")] = (p.get("access"), syn)
        for prof in model.findall("profile"):
            bases = (prof.get("base") or "").split() + (prof.get("extends") or "").split()
            objs = []
            for o in prof.findall("object"):
                objs.append((o.get("ref"), o.get("requirement"), [p.get("ref") for p in o.findall("parameter")]))
            ix.profiles[prof.get("name")] = (bases, objs)
        return ix

    def _datatype(self, dt):
        name = dt.get("name")
        base = dt.get("base")
        if base and base in self.types:
            syn = self.types[base].copy()
        else:
            syn = Syntax()
        for prim in PRIMITIVES:
            e = dt.find(prim)
            if e is not None:
                syn.base = prim
                _facets(e, syn)
        _facets(dt, syn)
        if dt.find("list") is not None:
            syn.is_list = True
        syn.dtype = name
        self.types[name] = syn

    def _syntax(self, s):
        syn = Syntax()
        if s is None:
            return syn
        for e in s:
            if e.tag in PRIMITIVES:
                syn.base = e.tag
                _facets(e, syn)
            elif e.tag == "dataType":
                ref = self.types.get(e.get("ref"))
                if ref is not None:
                    keep_list = syn.is_list, syn.list_max
                    syn = ref.copy()
                    syn.is_list, syn.list_max = keep_list if keep_list[0] else (ref.is_list, ref.list_max)
                    _facets(e, syn)
            elif e.tag == "list":
                syn.is_list = True
                size = e.find("size")
                if size is not None and size.get("maxLength"):
                    syn.list_max = int(size.get("maxLength"))
        if syn.is_list and syn.maxlen is not None and syn.list_max is None and syn.base == "string":
            # a <list> without its own size: the string size bounds the whole list
            pass
        return syn

    # ------------------------------------------------------------ profiles
    def profile_params(self, name, _seen=None):
        """Generic paths of the parameters profile ``name`` requires (with
        its bases and extensions)."""
        _seen = _seen if _seen is not None else set()
        if name in _seen or name not in self.profiles:
            return []
        _seen.add(name)
        bases, objs = self.profiles[name]
        out = []
        for b in bases:
            out.extend(self.profile_params(b, _seen))
        for ref, _req, params in objs:
            out.extend(ref + p for p in params)
        seen = set()
        return [p for p in out if not (p in seen or seen.add(p))]


_INDEX = []


def index():
    """The TR-181 index, built once per process; None without ../shared/bbf."""
    if not _INDEX:
        _INDEX.append(Index.load() if os.path.exists(FULL) else None)
    return _INDEX[0]


def generic(path):
    return re.sub(r"\.\d+(?=\.|$)", ".{i}", path)


# ---------------------------------------------------------------- values

_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$")


def _check_item(syn, v):
    """Problems of one (list item) value against ``syn``."""
    base = syn.base
    if base == "boolean":
        return [] if v in ("true", "false", "0", "1") else ["not a boolean"]
    if base in _LIMITS:
        try:
            n = int(v)
        except ValueError:
            return ["not an integer"]
        lo, hi = _LIMITS[base]
        if not lo <= n <= hi:
            return ["out of the %s range" % base]
        if syn.ranges and not any((a is None or n >= a) and (b is None or n <= b) for a, b in syn.ranges):
            return ["%d outside %s" % (n, syn.ranges)]
        return []
    if base == "dateTime":
        return [] if _DATETIME.match(v) else ["not a dateTime"]
    if base == "decimal":
        try:
            float(v)
        except ValueError:
            return ["not a decimal"]
        return []
    if base == "hexBinary":
        if not re.fullmatch(r"([0-9A-Fa-f]{2})*", v):
            return ["not hexBinary"]
        n = len(v) // 2
    else:
        n = len(v)
    out = []
    if syn.maxlen is not None and n > syn.maxlen:
        out.append("longer than %d" % syn.maxlen)
    if syn.minlen is not None and n < syn.minlen and v:
        out.append("shorter than %d" % syn.minlen)
    if syn.enum is not None and v not in syn.enum:
        out.append("%r not in the enumeration" % v)
    dt = syn.dtype or ""
    if v and dt.endswith("Address") and dt.startswith("IP"):
        try:
            a = ipaddress.ip_address(v)
        except ValueError:
            return out + ["not an IP address"]
        if dt == "IPv4Address" and a.version != 4 or dt == "IPv6Address" and a.version != 6:
            out.append("not an %s" % dt)
    elif v and dt.endswith("Prefix") and dt.startswith("IP"):
        try:
            a = ipaddress.ip_network(v, strict=False)
        except ValueError:
            return out + ["not an IP prefix"]
        if dt == "IPv4Prefix" and a.version != 4 or dt == "IPv6Prefix" and a.version != 6:
            out.append("not an %s" % dt)
    elif syn.patterns and not dt.startswith("IP"):
        ok = False
        for p in syn.patterns:
            try:
                if re.fullmatch(p, v):
                    ok = True
                    break
            except re.error:
                ok = True
                break
        if not ok:
            out.append("%r does not match %s" % (v[:60], syn.patterns))
    return out


def check_value(syn, value):
    if syn.is_list and syn.base not in ("boolean",):
        out = []
        if syn.list_max is not None and len(value) > syn.list_max:
            out.append("list longer than %d" % syn.list_max)
        if value == "":
            return out
        for item in value.split(","):
            out.extend(_check_item(syn, item.strip()))
        return out
    return _check_item(syn, value)


# ---------------------------------------------------------------- trees

def check_tree(entries, ix=None):
    """Problems of a served tree: ``entries`` maps every served path
    (objects with a trailing dot, from GetParameterNames) to
    (writable, xsi type or None for objects, value or None)."""
    ix = ix or index()
    problems = []
    for path, (writable, xtype, value) in sorted(entries.items()):
        g = generic(path)
        segs = path.split(".")
        if any(s.startswith("X_") for s in segs):
            bad = [s for s in segs if s.startswith("X_") and not VENDOR.match(s)]
            if bad:
                problems.append("%s: vendor segment %s is not X_<OUI>_" % (path, bad[0]))
            continue
        if path.endswith("."):
            if g.endswith("{i}."):
                continue  # an instance; its table is checked
            if g not in ix.objects and g + "{i}." not in ix.objects:
                problems.append("%s: no such object in TR-181" % path)
                continue
            table = ix.objects.get(g + "{i}.")
            if writable and (table is None or table[0] != "readWrite"):
                problems.append("%s: writable (AddObject) but TR-181 says readOnly" % path)
            continue
        spec = ix.params.get(g)
        if spec is None:
            problems.append("%s: no such parameter in TR-181" % path)
            continue
        access, syn = spec
        if writable and access not in ("readWrite", "writeOnceReadOnly"):
            problems.append("%s: writable but TR-181 says %s" % (path, access))
        # a list travels as a string (TR-106 3.2.3: comma-separated values)
        want = "string" if syn.is_list else syn.base
        if xtype is not None and want and xtype != "xsd:" + want:
            problems.append("%s: type %s, TR-181 says xsd:%s" % (path, xtype, want))
        if value is not None and syn.base:
            for why in check_value(syn, value):
                problems.append("%s = %r: %s" % (path, value[:80], why))
    problems.extend(check_counts(entries, ix))
    return problems


def check_counts(entries, ix=None):
    """Every ...NumberOfEntries equals the instances served."""
    ix = ix or index()
    out = []
    by_generic = {}
    for path in entries:
        if path.endswith(".") and re.search(r"\.\d+\.$", path):
            table = path[:path.rstrip(".").rfind(".") + 1]
            by_generic.setdefault(table, set()).add(path)
    for obj, (_access, numparam) in ix.objects.items():
        if not numparam or not obj.endswith("{i}."):
            continue
        table_g = obj[:-4]
        parent_g = table_g[:table_g.rstrip(".").rfind(".") + 1]
        # every served parent instance
        parents = set()
        rx = re.compile("^" + re.escape(parent_g).replace(r"\{i\}", r"\d+") + "$")
        for path in entries:
            if path.endswith(".") and rx.match(path):
                parents.add(path)
        for parent in parents:
            table = parent + table_g[len(parent_g):]
            n = len(by_generic.get(table, ()))
            counter = entries.get(parent + numparam)
            if counter is None:
                if n:
                    out.append("%s has %d instances but %s%s is not served" % (table, n, parent, numparam))
                continue
            if counter[2] is not None and counter[2] != str(n):
                out.append("%s%s = %s but %d instances are served" % (parent, numparam, counter[2], n))
    return out
