"""Device.InterfaceStack: the layering of interfaces, derived from every LowerLayers.

TR-181 has the CPE build this table itself: one row per (higher layer,
lower layer) pair named by the ``LowerLayers`` parameters of all interface
objects, whoever serves them (any backend, or several). The data model
calls ``rebuild`` after an RPC loaded backends; rows are numbered through
the same stable key map as keyed backend instances (key "HIGHER LOWER"), so
a row keeps its number while that link exists. Not for: writes (the table
is read-only) or the TR-098 root.
"""

from rocket.datamodel.store import Param

TABLE = "InterfaceStack."


def rebuild(store, root, instances=None):
    """Replace ``root``InterfaceStack.* with the rows the store's LowerLayers give."""
    table = root + TABLE
    count = store.get(root + "InterfaceStackNumberOfEntries")
    if getattr(count, "owner", None) is not None or getattr(store.get(table), "owner", None) is not None:
        return  # served as it is (a device dump, a backend)
    rows = []
    for path, p in store.params_under(root):
        if path.endswith(".LowerLayers") and p.value and not path.startswith(table):
            higher = path[:-len(".LowerLayers")]
            for low in p.value.split(","):
                low = low.strip().rstrip(".")
                if low:
                    rows.append((higher, low))
    store.delete(table)
    store.add_object(table, table=True)
    seen = {}
    for i, (higher, low) in enumerate(rows, 1):
        n = instances.number(table, higher + " " + low, seen) if instances is not None else i
        inst = "%s%d." % (table, n)
        store.add_object(inst)
        store.add(inst + "HigherLayer", Param(higher, "string", limit=256))
        store.add(inst + "LowerLayer", Param(low, "string", limit=256))
    if instances is not None:
        instances.vanished(table, seen)
    if isinstance(count, Param):
        count.value = str(len(rows))
    else:
        store.add(root + "InterfaceStackNumberOfEntries", Param(str(len(rows)), "unsignedInt"))
