"""The runtime contract: rocket/ needs only the standard library and defusedxml,
and the zipapp runs on the oldest supported interpreter (CPython 3.8)."""

import ast
import os
import sys

import pytest

from conftest import ROOT, find_python, run_pyz, write_conf

ALLOWED = set(sys.stdlib_module_names) | {"defusedxml", "rocket"}


def imported_modules(path):
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                yield node.lineno, node.module
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            arg = node.args[0] if node.args else None
            yield node.lineno, arg.value if isinstance(arg, ast.Constant) else "<dynamic>"


def test_rocket_imports_only_stdlib_and_defusedxml():
    pkg = os.path.join(ROOT, "rocket")
    files = []
    for d, _, names in os.walk(pkg):
        files += [os.path.join(d, n) for n in names if n.endswith(".py")]
    assert len(files) > 10
    bad = []
    for path in files:
        for line, mod in imported_modules(path):
            if str(mod).split(".")[0] not in ALLOWED:
                bad.append("%s:%d imports %s" % (os.path.relpath(path, ROOT), line, mod))
    assert bad == []


def test_scan_catches_a_third_party_import(tmp_path):
    p = tmp_path / "x.py"
    p.write_text("import os\nfrom requests import get\nimport yaml.loader\n")
    mods = [m for _, m in imported_modules(str(p))]
    assert [m for m in mods if m.split(".")[0] not in ALLOWED] == ["requests", "yaml.loader"]


def test_zipapp_on_python38(acs, pyz, tmp_path):
    py = find_python("3.8")
    if not py:
        pytest.skip("no CPython 3.8 found (python3.8 on PATH, pyenv, or $ROCKET_TEST_PYTHON38)")
    acs.auth = ("digest", "cpe", "pw", "SHA-256")
    acs.hold_requests = True
    acs.queue = ["<cwmp:GetParameterValues><ParameterNames soap-enc:arrayType=\"xsd:string[1]\">"
                 "<string>Device.ManagementServer.</string></ParameterNames></cwmp:GetParameterValues>",
                 "<cwmp:X_Nope/>"]
    conf = write_conf(tmp_path, acs.url, acs={"username": "cpe", "password": "pw",
                                              "get_rpc_methods": "true"})
    r = run_pyz(pyz, conf, "--once", "--boot", python=py)
    assert r.returncode == 0, r.stderr
    (s,) = acs.sessions
    assert len(s.answers) == 2 and b"GetParameterValuesResponse" in s.answers[0][1]
    assert b"<FaultCode>9000</FaultCode>" in s.answers[1][1]
    assert len(s.cpe_requests) == 1 and "GetRPCMethods" in s.cpe_requests[0]
    assert "Traceback" not in r.stderr
