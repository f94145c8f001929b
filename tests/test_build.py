"""build_zipapp.py: what goes into the zipapp, and the --bytecode build
running a whole session under the target interpreter (Python 3.8)."""

import os
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT, find_python, run_pyz, write_conf

PY38 = find_python("3.8")


def build(out, *args):
    subprocess.check_call([sys.executable, os.path.join(ROOT, "build_zipapp.py"), "--output", str(out)]
                          + list(args), stdout=subprocess.DEVNULL)
    return zipfile.ZipFile(str(out)).namelist()


def bundled(pyz):
    """Module names in the zipapp's bundle.bz2 (the default build)."""
    import bz2
    import marshal
    with zipfile.ZipFile(pyz) as z:
        return sorted(marshal.loads(bz2.decompress(z.read("bundle.bz2"))))


def test_default_build_holds_only_the_agent(pyz):
    names = zipfile.ZipFile(pyz).namelist()
    assert names == ["__main__.py", "bundle.bz2", "defusedxml/LICENSE"]
    names = bundled(pyz)
    assert "rocket.agent" in names and "rocket.cwmp.session" in names
    assert "defusedxml.ElementTree" in names
    assert not [n for n in names if "devacs" in n]
    assert not [n for n in names if n.startswith("tests/") or "/test_" in n or "conftest" in n]
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    assert not [n for n in names if n.startswith("rocket.backends")]  # installed on disk instead
    assert {n.split(".")[0] for n in names} <= {"rocket", "defusedxml"}
    print("default build: %d bytes" % os.path.getsize(pyz))


@pytest.mark.skipif(PY38 is None, reason="no CPython 3.8 found (python3.8 on PATH, pyenv, or "
                    "$ROCKET_TEST_PYTHON38)")
def test_bytecode_build_runs_a_session_under_python38(acs, tmp_path):
    out = tmp_path / "rocket-py38.pyz"
    names = build(out, "--bytecode", PY38)
    assert not [n for n in names if n.endswith(".py") and n != "__main__.py"]
    assert not [n for n in names if "devacs" in n or "__pycache__" in n]
    conf = write_conf(tmp_path, acs.url)
    r = run_pyz(str(out), conf, "--once", "--boot", python=PY38)
    assert r.returncode == 0, r.stderr
    assert len(acs.sessions) == 1 and acs.sessions[0].ended
    # the Python 3.8 bytecode is refused by another interpreter: it really is 3.8's
    other = run_pyz(str(out), conf, "--version")
    assert other.returncode == 2
    assert other.stderr.startswith("rocket: this zipapp was built with --bytecode for Python 3.8; this is "
                                   "Python %d.%d" % sys.version_info[:2]), other.stderr
    assert other.stderr.count("\n") == 1 and "Traceback" not in other.stderr
    print("--bytecode python3.8 build: %d bytes" % os.path.getsize(out))


@pytest.mark.parametrize("argv", [
    [], ["--once"], ["-c", "x.conf", "--once", "--boot"], ["--config=x.conf", "--boot", "auto"],
    ["--boot", "--once"], ["--boot=auto", "--state-dir", "/s", "--log-level", "debug"],
    ["--log-level=info", "-c", "a b.conf", "--boot", "yes"], ["--boot", "-c", "x"],
])
def test_fast_command_line_parser_agrees_with_argparse(argv):
    from rocket import cli
    fast = cli._fast_parse(argv)
    full = cli._parser().parse_args(argv)
    assert fast is not None
    assert {k: getattr(fast, k) for k in vars(full)} == vars(full)


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["-c"], ["--boot", "never"], ["--bogus"],
                                  ["-c", "--once"], ["ctlx"]])
def test_fast_command_line_parser_leaves_the_rest_to_argparse(argv):
    from rocket import cli
    assert cli._fast_parse(argv) is None


def test_docstring_stripping_keeps_the_code():
    sys.path.insert(0, ROOT)
    from build_zipapp import _drop_docstrings, _strip
    src = ('"""Module doc."""\nimport os\n\n\nclass A:\n    """Doc of A, é → ü."""\n\n'
           '    def f(self):\n        """Only a docstring."""\n\n    def g(self): """same line"""\n\n'
           '    def h(self):\n        """Doc\n        on two lines."""\n        x = """kept:\n not a docstring"""\n'
           '        return x\n')
    out = _strip(_drop_docstrings(src))
    ns = {}
    exec(compile(out, "t", "exec"), ns)
    a = ns["A"]()
    assert a.f() is None and a.g() is None and a.h() == "kept:\n not a docstring"
    assert "Module doc" not in out and "Doc of A" not in out and "Only a docstring" not in out
    assert "on two lines" not in out


def test_bundle_importer_compiles_in_a_child_and_shows_sources(pyz):
    # the importer of __main__.py, without running the agent
    code = r"""
import os, sys, zipimport
z = zipimport.zipimporter(sys.argv[1])
boot = z.get_data("__main__.py").decode().split("from rocket.cli import main")[0]
exec(boot, {"__loader__": z, "__name__": "boot"})
b = sys.meta_path[0]
keep = open(os.devnull)                                          # an fd of this process
import rocket.cwmp.soap
assert rocket.cwmp.soap.__file__.endswith("rocket/cwmp/soap.py"), rocket.cwmp.soap.__file__
assert b.src is None                                             # the sources stay in the child
pid = b.cc[0]
fds = sorted(int(f) for f in os.listdir("/proc/%d/fd" % pid))
assert fds[:3] == [0, 1, 2] and len(fds) == 5 and keep.fileno() not in fds, fds  # only its pipes
b.release()
assert b.cc is None and b.src is None
try:
    os.kill(pid, 0)
    raise AssertionError("the compiler child lives on")
except ProcessLookupError:
    pass                                                         # ended and reaped
import rocket.owner.audit                                        # a new child on demand
assert b.cc is not None and b.cc[0] != pid
b.release()
def no_fork():
    raise OSError("no fork here")
b._compiler = no_fork
import rocket.base.journal                                       # compiled here instead
assert b.src is not None and rocket.base.journal.__file__.endswith("journal.py")
b.release()
assert b.src is None
import linecache
line = linecache.getline(rocket.cwmp.soap.__file__, 1, rocket.cwmp.soap.__dict__)
assert line.strip(), "no source line for tracebacks"
print("ok")
import rocket.nonexistent
"""
    r = subprocess.run([sys.executable, "-I", "-S", "-c", code, pyz], capture_output=True, text=True,
                       timeout=60)
    assert "ModuleNotFoundError: No module named 'rocket.nonexistent'" in r.stderr, r.stderr
    assert "AssertionError" not in r.stderr, r.stderr
    assert r.stdout == "ok\n"


@pytest.mark.skipif(PY38 is None, reason="no CPython 3.8 found (python3.8 on PATH, pyenv, or "
                    "$ROCKET_TEST_PYTHON38)")
def test_every_bundled_module_compiles_under_python38(pyz):
    # the minifier runs under the build's Python; its output must still be 3.8 syntax
    code = ("import bz2, marshal, sys, zipfile\n"
            "src = marshal.loads(bz2.decompress(zipfile.ZipFile(sys.argv[1]).read('bundle.bz2')))\n"
            "for name, text in sorted(src.items()):\n"
            "    compile(text, name, 'exec')\n"
            "print(len(src))\n")
    r = subprocess.run([PY38, "-I", "-c", code, pyz], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) > 40
