#!/usr/bin/env python3
"""Build dist/rocket.pyz: the agent and defusedxml in one small zipapp.

    python3 build_zipapp.py [--output dist/rocket.pyz] [--bytecode python3.8]
                            [--defusedxml-wheel FILE.whl]

defusedxml is taken from the installed package, or from a wheel given with
--defusedxml-wheel (or found in ./wheels/). Only the three modules the agent
uses are bundled (``common``, ``ElementTree`` and a minimal ``__init__``),
with defusedxml's licence.

--bytecode PYTHON compiles everything with that interpreter (the one on the
target device) and ships only the .pyc files: smaller on flash and no
compile step on the router, but tied to that Python version.

The development ACS (rocket/devacs.py), the tests and the shell backends
(rocket/backends/, installed as files in [backends] dir, e.g.
/usr/lib/rocket/backends) are not included.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
EXCLUDE = {"devacs.py", "README.md"}
DEFUSED_INIT = '''"""defusedxml (bundled subset): XML bomb protection for Python stdlib modules.

Only ElementTree is bundled. Full package: https://pypi.org/project/defusedxml/
"""
from .common import (DefusedXmlException, DTDForbidden, EntitiesForbidden,
                     ExternalReferenceForbidden, NotSupportedError)

__version__ = "%s"
'''


def _drop_docstrings(src):
    """Replace every docstring (module, class, function) by an empty string.

    Docstrings are documentation for readers of the source, which stays in
    the repository; on the router they only cost flash and memory. Each one
    becomes ``""`` on its first line, so a body that was only a docstring
    stays valid. Sources that use ``__doc__`` keep theirs.
    """
    import ast
    if "__doc__" in src:
        return src
    tree = ast.parse(src)
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                d = body[0]
                spans.append((d.lineno, d.end_lineno, d.col_offset))
    lines = src.splitlines()
    for start, end, col in sorted(spans, reverse=True):
        first, last = lines[start - 1], lines[end - 1]
        if first[:col].strip() or last[len(last.rstrip()):].strip():
            continue  # shares its lines with other code: leave it
        lines[start - 1:end] = [" " * col + '""']
    return "\n".join(lines) + "\n"


def _strip(src):
    """Drop comment-only and blank lines outside string literals.

    Lines inside multi-line strings are kept as they are, so the code's
    behaviour is unchanged; only bytes that cannot matter are removed.
    """
    import io
    import tokenize
    keep = set()  # lines inside multi-line strings (not their first line)
    fstart = getattr(tokenize, "FSTRING_START", None)
    fend = getattr(tokenize, "FSTRING_END", None)
    opened = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                keep.update(range(tok.start[0] + 1, tok.end[0] + 1))
            elif fstart is not None and tok.type == fstart:
                opened.append(tok.start[0])
            elif fend is not None and tok.type == fend and opened:
                keep.update(range(opened.pop() + 1, tok.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        return src
    out = []
    for n, line in enumerate(src.splitlines(), 1):
        s = line.strip()
        if n not in keep and (not s or (s.startswith("#") and n > 1)):
            continue
        if n not in keep:
            # one space per indentation level instead of four: indentation
            # only has to be consistent, and continuation lines are free
            body = line.lstrip(" ")
            line = " " * ((len(line) - len(body)) // 4) + body
        out.append(line)
    return "\n".join(out) + "\n"


def copy_rocket(dst):
    src = os.path.join(HERE, "rocket")
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        # rocket/backends/ (shell scripts, manifests) is installed on disk, in
        # [backends] dir: nothing can execute it from inside the zip
        dirnames[:] = [d for d in dirnames
                       if d != "__pycache__" and not (rel == "." and d == "backends")]
        out = os.path.join(dst, "rocket", rel)
        os.makedirs(out, exist_ok=True)
        for f in filenames:
            if f in EXCLUDE or f.endswith((".pyc", ".pyo")):
                continue
            s, d = os.path.join(dirpath, f), os.path.join(out, f)
            if f.endswith(".py"):
                with open(s, encoding="utf-8") as fh:
                    original = fh.read()
                text = _strip(_drop_docstrings(original))
                try:
                    compile(text, d, "exec")
                except SyntaxError:
                    text = original  # never ship a broken module to save bytes
                    print("build_zipapp: %s kept unstripped" % os.path.relpath(s, HERE))
                with open(d, "w", encoding="utf-8") as fh:
                    fh.write(text)
            else:
                shutil.copy2(s, d)


def fetch_defusedxml_wheel():
    """Download defusedxml's wheel from PyPI into ./wheels/ (once).

    For a machine with only python3: no pip needed, the file is checked
    against the SHA-256 digest PyPI publishes for it.
    """
    import hashlib
    import json
    import urllib.request
    print("build_zipapp: defusedxml is not installed; fetching its wheel from PyPI into wheels/")
    try:
        from urllib.parse import urljoin
        index = "https://pypi.org/pypi/defusedxml/json"
        meta = json.load(urllib.request.urlopen(index, timeout=60))
        url = [u for u in meta["urls"] if u["filename"].endswith("-none-any.whl")][0]
        # some mirrors answer with links relative to the index
        data = urllib.request.urlopen(urljoin(index, url["url"]), timeout=120).read()
    except Exception as e:  # no network, PyPI down: say what to do instead
        sys.exit("build_zipapp: defusedxml is not installed and its wheel could not be fetched (%s); "
                 "pip install defusedxml, or pass --defusedxml-wheel FILE" % (e,))
    if hashlib.sha256(data).hexdigest() != url["digests"]["sha256"]:
        sys.exit("build_zipapp: the downloaded defusedxml wheel does not match PyPI's digest")
    os.makedirs(os.path.join(HERE, "wheels"), exist_ok=True)
    path = os.path.join(HERE, "wheels", url["filename"])
    with open(path, "wb") as f:
        f.write(data)
    return path


def copy_defusedxml(dst, wheel=None):
    out = os.path.join(dst, "defusedxml")
    os.makedirs(out)
    if wheel is None:
        found = sorted(glob.glob(os.path.join(HERE, "wheels", "defusedxml-*.whl")))
        wheel = found[-1] if found else None
    if wheel is None:
        try:
            import defusedxml
        except ImportError:
            defusedxml = None
            wheel = fetch_defusedxml_wheel()
    if wheel is None:
        base = os.path.dirname(defusedxml.__file__)
        version = defusedxml.__version__
        for name in ("common.py", "ElementTree.py"):
            shutil.copy2(os.path.join(base, name), os.path.join(out, name))
        lic = glob.glob(os.path.join(os.path.dirname(base), "defusedxml-*", "LICENSE*")) + \
            glob.glob(os.path.join(os.path.dirname(base), "defusedxml-*", "licenses", "LICENSE*"))
        if lic:
            shutil.copy2(lic[0], os.path.join(out, "LICENSE"))
    else:
        with zipfile.ZipFile(wheel) as z:
            version = os.path.basename(wheel).split("-")[1]
            for name in ("common.py", "ElementTree.py"):
                with open(os.path.join(out, name), "wb") as f:
                    f.write(z.read("defusedxml/" + name))
            for n in z.namelist():
                if os.path.basename(n).startswith("LICENSE"):
                    with open(os.path.join(out, "LICENSE"), "wb") as f:
                        f.write(z.read(n))
                    break
    with open(os.path.join(out, "__init__.py"), "w") as f:
        f.write(DEFUSED_INIT % version)


def _guard(python):
    """The first lines of a --bytecode build's __main__.py: a .pyc runs only
    on the interpreter version that wrote it, so say which one, in one line,
    instead of an import error."""
    out = subprocess.check_output([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
    version = out.decode().strip()
    major, minor = version.split(".")
    return ("import sys\n"
            "if sys.version_info[:2] != (%s, %s):\n"
            "    sys.stderr.write('rocket: this zipapp was built with --bytecode for Python %s; this is Python "
            "%%d.%%d (%%s): run it with python%s, or build it for this one\\n' %% (sys.version_info[:2] + "
            "(sys.executable,)))\n"
            "    sys.exit(2)\n" % (major, minor, version, version))


def compile_for(python, tree):
    code = ("import compileall,sys; ok=compileall.compile_dir(sys.argv[1], quiet=1, legacy=True, "
            "optimize=2); sys.exit(0 if ok else 1)")
    subprocess.check_call([python, "-c", code, tree])
    for dirpath, _, filenames in os.walk(tree):
        for f in filenames:
            # the zipapp's own entry point stays source; everything else is .pyc only
            if f.endswith(".py") and not (dirpath == tree and f == "__main__.py"):
                os.unlink(os.path.join(dirpath, f))


def write_archive(tree, output):
    """Like zipapp.create_archive, with the strongest deflate level and a
    fixed file order and timestamp (the same sources give the same bytes)."""
    files = []
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames.sort()
        for f in sorted(filenames):
            full = os.path.join(dirpath, f)
            files.append((os.path.relpath(full, tree).replace(os.sep, "/"), full))
    tmp = output + ".tmp"
    with open(tmp, "wb") as out:
        out.write(b"#!/usr/bin/env python3\n")
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            for name, full in sorted(files):
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                mode = os.stat(full).st_mode & 0o777
                info.external_attr = (0o100000 | mode) << 16
                with open(full, "rb") as fh:
                    z.writestr(info, fh.read(), compresslevel=9)
    os.chmod(tmp, 0o755)
    os.replace(tmp, output)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--output", default=os.path.join(HERE, "dist", "rocket.pyz"))
    ap.add_argument("--bytecode", metavar="PYTHON", help="ship .pyc compiled by this interpreter only")
    ap.add_argument("--defusedxml-wheel", metavar="WHEEL")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tree = os.path.join(tmp, "app")
        os.makedirs(tree)
        copy_rocket(tree)
        copy_defusedxml(tree, a.defusedxml_wheel)
        main_py = "import sys\nfrom rocket.cli import main\nsys.exit(main())\n"
        if a.bytecode:
            main_py = _guard(a.bytecode) + main_py
        with open(os.path.join(tree, "__main__.py"), "w") as f:
            f.write(main_py)
        if a.bytecode:
            compile_for(a.bytecode, tree)
        os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
        write_archive(tree, a.output)
    print("build_zipapp: wrote %s (%d bytes)" % (a.output, os.path.getsize(a.output)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
