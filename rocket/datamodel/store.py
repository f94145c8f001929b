"""The flat parameter store: full path -> value and metadata.

Objects are stored under their path with a trailing dot
(``Device.IP.Interface.1.``), parameters without. A sorted list of all keys
is kept (rebuilt lazily after changes) so that a partial path, the next level
of an object, or a table's instances are found with ``bisect`` in O(log n +
answer) instead of a scan of the whole tree: on a 10,000-parameter tree a
GetParameterNames with NextLevel=true touches only the children it returns.
"""

from bisect import bisect_left

# Param.flags
FORCED_INFORM = 1  # always in the Inform's ParameterList
HIDDEN = 2  # reads back as the empty string (passwords)
ACTIVE_FORCED = 4  # activeNotify=forceEnabled: always active, 9009 on change
ACTIVE_DEFAULT = 8  # activeNotify=forceDefaultEnabled: active unless the ACS says otherwise
CAN_DENY = 16  # activeNotify=canDeny: active notification may be refused (9009)
VOLATILE = 32  # value is read fresh from its owner; never a notification baseline


class Param:
    __slots__ = ("value", "type", "writable", "notification", "access", "owner", "flags", "limit")

    def __init__(self, value="", ptype="string", writable=False, owner=None, flags=0, limit=None,
                 notification=0, access=()):
        self.value = value
        self.type = ptype
        self.writable = writable
        self.notification = notification
        self.access = access
        self.owner = owner
        self.flags = flags
        self.limit = limit

    def __repr__(self):
        return "<Param %s=%r>" % (self.type, self.value)


class Obj:
    __slots__ = ("writable", "owner", "table")

    def __init__(self, writable=False, owner=None, table=False):
        self.writable = writable
        self.owner = owner
        self.table = table  # a multi-instance table (AddObject target)

    def __repr__(self):
        return "<Obj%s%s>" % (" table" if self.table else "", " rw" if self.writable else "")


def parent_of(path):
    """'A.B.C' -> 'A.B.'; 'A.B.' -> 'A.'; 'A.' -> ''."""
    p = path[:-1] if path.endswith(".") else path
    i = p.rfind(".")
    return p[:i + 1] if i >= 0 else ""


class Store:
    def __init__(self):
        self.nodes = {}
        self._keys = []
        self._dirty = False

    def __len__(self):
        return len(self.nodes)

    def __contains__(self, path):
        return path in self.nodes

    def get(self, path):
        return self.nodes.get(path)

    def keys(self):
        if self._dirty:
            self._keys = sorted(self.nodes)
            self._dirty = False
        return self._keys

    def _ensure_parents(self, path, owner):
        p = parent_of(path)
        while p and p not in self.nodes:
            self.nodes[p] = Obj(owner=owner)
            p = parent_of(p)

    def add(self, path, param):
        if path not in self.nodes:
            self._dirty = True
            self._ensure_parents(path, param.owner)
        self.nodes[path] = param
        return param

    def add_object(self, path, writable=False, owner=None, table=False):
        node = self.nodes.get(path)
        if isinstance(node, Obj):
            node.writable = writable or node.writable
            node.table = table or node.table
            if owner is not None:
                node.owner = owner
            return node
        self._dirty = True
        self._ensure_parents(path, owner)
        node = self.nodes[path] = Obj(writable, owner, table)
        return node

    def subtree(self, prefix):
        """Every key at or under ``prefix`` (an object path, or '' for all)."""
        keys = self.keys()
        i = bisect_left(keys, prefix)
        n = len(keys)
        while i < n and keys[i].startswith(prefix):
            yield keys[i]
            i += 1

    def params_under(self, prefix):
        """(path, Param) for every parameter at or under ``prefix``."""
        nodes = self.nodes
        for k in self.subtree(prefix):
            if not k.endswith("."):
                yield k, nodes[k]

    def children(self, prefix):
        """Direct children of object ``prefix``: parameters and objects."""
        keys = self.keys()
        i = bisect_left(keys, prefix)
        if i < len(keys) and keys[i] == prefix:
            i += 1
        n = len(keys)
        plen = len(prefix)
        while i < n:
            k = keys[i]
            if not k.startswith(prefix):
                break
            dot = k.find(".", plen)
            if dot < 0:
                yield k
                i += 1
            else:
                name = k[:dot + 1]
                yield name
                # skip the whole subtree of this child: '/' sorts right after '.'
                i = bisect_left(keys, k[:dot] + "/", i)

    def instances(self, table):
        """Instance numbers present in table object ``table`` (e.g. 'X.Y.')."""
        out = []
        for child in self.children(table):
            if child.endswith("."):
                seg = child[len(table):-1]
                if seg.isdigit():
                    out.append(int(seg))
        return out

    def remove(self, paths):
        """Remove exactly the nodes named in ``paths`` (no subtrees)."""
        n = 0
        for k in paths:
            if self.nodes.pop(k, None) is not None:
                n += 1
        if n:
            self._dirty = True
        return n

    def delete(self, prefix):
        """Remove ``prefix`` (an object path) and everything below it."""
        doomed = list(self.subtree(prefix))
        for k in doomed:
            del self.nodes[k]
        if doomed:
            self._dirty = True
        return doomed


class Change(tuple):
    """One change made to the data model by an RPC (or by the owner through
    the control socket), as DataModel.on_change callbacks receive it.

    ``kind`` is "set" (``old`` and ``new`` are the values), "attributes"
    (``new`` is ``(notification, access_list)``), "add" or "delete" (``path``
    is the instance, ending with a dot; ``old`` and ``new`` are None).
    """

    __slots__ = ()
    KINDS = ("set", "attributes", "add", "delete")

    def __new__(cls, kind, path, old=None, new=None):
        if kind not in cls.KINDS:
            raise ValueError("unknown change kind %r" % (kind,))
        return tuple.__new__(cls, (kind, path, old, new))

    kind = property(lambda self: self[0])
    path = property(lambda self: self[1])
    old = property(lambda self: self[2])
    new = property(lambda self: self[3])

    def __repr__(self):
        return "Change(%r, %r, %r, %r)" % self
