"""The package layout keeps its promises: a lower room never imports a
higher one, and rocket.cwmp stays pure (no sockets, loops, TLS, processes or
files). Lazy imports inside functions count too."""

import ast
import os

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "rocket")

# Lowest first. A room may import rooms of a strictly lower rank and itself.
RANK = {"base": 0, "cwmp": 1, "datamodel": 2, "net": 2, "connreq": 3, "owner": 3,
        "ops": 4, "diag": 4, "swmod": 4, "sim": 4}
TOP = 5  # rocket/*.py: agent, cli, plugins, devacs wire the rooms together
PURE_BANNED = {"socket", "selectors", "select", "ssl", "subprocess", "http"}


def modules():
    for d, dirs, names in os.walk(ROOT):
        dirs[:] = [x for x in dirs if x not in ("backends", "__pycache__")]
        for n in names:
            if n.endswith(".py"):
                path = os.path.join(d, n)
                rel = os.path.relpath(path, ROOT).split(os.sep)
                room = rel[0] if len(rel) > 1 else None
                yield path, room


def imports(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name, node
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "rocket":
                for a in node.names:
                    yield node.lineno, "rocket." + a.name, node
            else:
                yield node.lineno, node.module, node


def rank(room):
    return TOP if room is None else RANK[room]


def test_every_room_is_ranked():
    rooms = {room for _, room in modules() if room}
    assert rooms <= set(RANK), "give %s a rank in RANK" % sorted(rooms - set(RANK))


def test_no_room_imports_a_higher_one():
    bad = []
    for path, room in modules():
        for line, name, _ in imports(path):
            parts = name.split(".")
            if parts[0] != "rocket" or len(parts) < 2 or parts[1] == "__version__":
                continue
            target = parts[1] if parts[1] in RANK else None
            if target == room:
                continue
            if rank(target) >= rank(room):
                bad.append("%s:%d imports %s" % (os.path.relpath(path, ROOT), line, name))
    assert not bad, "\n".join(bad)


def test_cwmp_is_pure():
    bad = []
    for path, room in modules():
        if room != "cwmp":
            continue
        for line, name, _ in imports(path):
            if name.split(".")[0] in PURE_BANNED:
                bad.append("%s:%d imports %s" % (path, line, name))
        tree = ast.parse(open(path, encoding="utf-8").read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open":
                bad.append("%s:%d calls open()" % (path, node.lineno))
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("room", sorted(RANK))
def test_room_has_a_docstring(room):
    init = os.path.join(ROOT, room, "__init__.py")
    if not os.path.exists(init):
        pytest.skip("rocket/%s does not exist (yet)" % room)
    assert ast.get_docstring(ast.parse(open(init, encoding="utf-8").read())), init


def test_readme_picture_says_what_rank_says():
    """README's architecture picture: one line per room, its arrow naming
    exactly the rooms of lower rank (what test_no_room_imports_a_higher_one
    allows)."""
    import re
    readme = open(os.path.join(os.path.dirname(ROOT), "README.md"), encoding="utf-8").read()
    section = readme.split("### Architecture", 1)[1].split("\n## ", 1)[0]
    lines = re.findall(r"^    rocket/(\S+)\s.*->\s*(.+)$", section, re.M)
    drawn = {}
    for room, arrow in lines:
        room = None if room == "*.py" else room.rstrip("/")
        assert room not in drawn, "two lines for %s" % room
        drawn[room] = set() if arrow.strip() == "(nothing)" else (
            set(RANK) if arrow.strip() == "every room" else {a.strip() for a in arrow.split(",")})
    assert set(drawn) == set(RANK) | {None}
    for room, arrow in drawn.items():
        assert arrow == {r for r in RANK if RANK[r] < rank(room)}, room


def _receiver(node):
    """The dotted name a call is made on: ``self.agent.state.save`` -> "self.agent.state"."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def test_each_state_document_has_one_owner():
    """A document of the state directory is written by one module only
    (the event queue its events, the agent its session record, the
    transfer journal its transfers...); the others ask that owner."""
    writers = {}
    for path, _ in modules():
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "save"
                    and _receiver(node.func.value).split(".")[-1] == "state" and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                writers.setdefault(node.args[0].value, set()).add(os.path.relpath(path, ROOT))
    assert writers.get("events") == {os.path.join("cwmp", "events.py")}
    assert writers.get("session") == {"agent.py"}
    shared = {name: sorted(w) for name, w in writers.items() if len(w) > 1}
    assert not shared, shared


def test_event_queue_lists_change_only_in_their_owner():
    """The agent's pending events change through EventQueue's methods (add,
    sync, deliver, reset, note_changed...), never by writing its lists. The
    simulator's devices are not the agent: each restores a queue of its own."""
    bad = []
    for path, room in modules():
        if path.endswith(os.path.join("cwmp", "events.py")) or room == "sim":
            continue
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, (ast.AugAssign, ast.AnnAssign)) else []
            for t in targets:
                if (isinstance(t, ast.Attribute) and t.attr in ("pending", "changed", "inflight", "again")
                        and _receiver(t.value).split(".")[-1] == "events"):
                    bad.append("%s:%d writes %s" % (os.path.relpath(path, ROOT), node.lineno, _receiver(t)))
    assert not bad, "\n".join(bad)
