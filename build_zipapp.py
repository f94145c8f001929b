#!/usr/bin/env python3
"""Build dist/rocket.pyz: the agent and defusedxml in one small zipapp.

    python3 build_zipapp.py [--output dist/rocket.pyz] [--bytecode python3.8]
                            [--defusedxml-wheel FILE.whl]

defusedxml is taken from the installed package, or from a wheel given with
--defusedxml-wheel (or found in ./wheels/). Only the three modules the agent
uses are bundled (``common``, ``ElementTree`` and a minimal ``__init__``),
with defusedxml's licence.

The default (portable source) build packs every module into one solid,
bzip2-compressed bundle (``bundle.bz2``) that a small importer in
``__main__.py`` serves: compressing all modules together is about 15 %
smaller than deflating each zip member alone, and bzip2 a further 19 %
smaller than zlib on these sources (its C module, ``_bz2``, is in
OpenWrt's python3-light, oe-core's python3-core and Debian's python3, and
the decompressor's few megabytes live only in the compiling child below). When python-minifier is
available (installed, in ./wheels/, or fetched from PyPI) the sources are
minified first (whitespace, annotations, literal statements, the names of
local variables; module, class, function, argument and attribute names stay);
--no-minify keeps them as the plain stripped source. Minified sources are cached in build/minify/.

--bytecode PYTHON compiles everything with that interpreter (the one on the
target device) and ships only the .pyc files as ordinary zip members:
no compile step on the router, but tied to that Python version.

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
    return fetch_wheel("defusedxml")


def fetch_wheel(project, quiet=False):
    """Download a pure-Python wheel from PyPI into ./wheels/ (once).

    For a machine with only python3: no pip needed, the file is checked
    against the SHA-256 digest PyPI publishes for it.
    """
    import hashlib
    import json
    import urllib.request
    if not quiet:
        print("build_zipapp: %s is not installed; fetching its wheel from PyPI into wheels/" % project)
    try:
        from urllib.parse import urljoin
        index = "https://pypi.org/pypi/%s/json" % project
        meta = json.load(urllib.request.urlopen(index, timeout=60))
        url = [u for u in meta["urls"] if u["filename"].endswith("-none-any.whl")][0]
        # some mirrors answer with links relative to the index
        data = urllib.request.urlopen(urljoin(index, url["url"]), timeout=120).read()
    except Exception as e:  # no network, PyPI down: say what to do instead
        sys.exit("build_zipapp: %s is not installed and its wheel could not be fetched (%s); "
                 "pip install %s%s" % (project, e, project,
                                       ", or pass --defusedxml-wheel FILE" if project == "defusedxml" else ""))
    if hashlib.sha256(data).hexdigest() != url["digests"]["sha256"]:
        sys.exit("build_zipapp: the downloaded %s wheel does not match PyPI's digest" % project)
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
# The default build's __main__.py: an importer (_Bundle) of rocket and
# defusedxml from bundle.bz2, one solid bzip2 stream of {module: source}. A
# child process, forked at the first import and ended by release() (the
# agent calls it when idle), decompresses the sources and compiles each
# module asked for (framed messages on two pipes, _io); the agent's process
# only loads the marshalled code, as from a .pyc. So the sources and the
# garbage of parsing and compiling (megabytes, which would stay scattered
# over the heap for good) never touch the agent's memory. The child keeps
# none of the parent's file descriptors (a socket it held would not close).
# Without a child (no fork, or it failed) a module is compiled in process.
BOOT = '''import sys
import marshal
import os
def _io(fd, data=None):
    if data is not None:
        data = len(data).to_bytes(4, "big") + data
        while data:
            data = data[os.write(fd, data):]
        return None
    out, n = b"", 4
    while len(out) < n:
        chunk = os.read(fd, n - len(out))
        if not chunk:
            raise OSError("pipe closed")
        out += chunk
        if n == 4 and len(out) == 4:
            out, n = b"", int.from_bytes(out, "big")
    return out
def _load(loader):
    import _bz2
    return marshal.loads(_bz2.BZ2Decompressor().decompress(loader.get_data("bundle.bz2")))
class _Bundle:
    def __init__(self, loader, names):
        self.loader = loader
        self.names = names
        self.src = None
        self.cc = None
    def _sources(self):
        if self.src is None:
            self.src = _load(self.loader)
        return self.src
    def _origin(self, name):
        return self.loader.archive + "/" + name.replace(".", "/") + ("/__init__.py" if self.names[name] else ".py")
    def release(self):
        self.src = None
        if self.cc is not None:
            pid, w, r = self.cc
            self.cc = None
            os.close(w)
            os.close(r)
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass
    def _compiler(self):
        a, b = os.pipe(), os.pipe()
        try:
            pid = os.fork()
        except (OSError, AttributeError):
            for fd in a + b:
                os.close(fd)
            raise OSError("no fork")
        if pid:
            os.close(a[0])
            os.close(b[1])
            self.cc = (pid, a[1], b[0])
            return
        try:
            r, w = a[0], b[1]
            lo, hi = sorted((r, w))
            os.closerange(3, lo)
            os.closerange(lo + 1, hi)
            os.closerange(hi + 1, 65536)
            import gc
            gc.disable()  # a collection would touch, and so copy, every page of the parent's heap
            sig = sys.modules.get("_signal")
            if sig is not None:
                sig.set_wakeup_fd(-1)
                for n in ("SIGTERM", "SIGINT", "SIGHUP"):
                    sig.signal(getattr(sig, n), sig.SIG_DFL)
            while True:
                name = _io(r).decode()
                try:
                    out = marshal.dumps(compile(self._sources()[name], self._origin(name), "exec"))
                except Exception:
                    out = b""
                _io(w, out)
        finally:
            os._exit(0)
    def _code(self, name, origin):
        try:
            if self.cc is None:
                self._compiler()
            _io(self.cc[1], name.encode())
            out = _io(self.cc[2])
            if out:
                return marshal.loads(out)
        except OSError:
            self.release()
        return compile(self._sources()[name], origin, "exec")
    def find_spec(self, name, path=None, target=None):
        if name not in self.names:
            return None
        spec = sys.modules["_frozen_importlib"].ModuleSpec(name, self, origin=self._origin(name),
                                                           is_package=self.names[name])
        spec.has_location = True
        return spec
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        module.__file__ = module.__spec__.origin
        exec(self._code(module.__spec__.name, module.__file__), module.__dict__)
    def get_source(self, name):
        if name not in self.names:
            return None
        return _load(self.loader)[name].decode("utf-8")
_L = globals().get("__loader__")
if not hasattr(_L, "get_data"):  # run by a tool that execs this file without its zipimporter
    import zipimport
    _L = zipimport.zipimporter(__file__.rsplit("/", 1)[0])
sys.meta_path.insert(0, _Bundle(_L, %r))
from rocket.cli import main
sys.exit(main())
'''


def _minifier():
    """python_minifier.minify, or None: installed, from ./wheels/, or fetched
    from PyPI like defusedxml's wheel."""
    try:
        import python_minifier
        return python_minifier
    except ImportError:
        pass
    found = sorted(glob.glob(os.path.join(HERE, "wheels", "python_minifier-*.whl")))
    if not found:
        try:
            found = [fetch_wheel("python-minifier", quiet=True)]
        except SystemExit as e:
            print("build_zipapp: python-minifier unavailable (%s); sources not minified" % (e,))
            return None
    sys.path.insert(0, found[-1])
    try:
        import python_minifier
        return python_minifier
    except ImportError as e:
        print("build_zipapp: python-minifier unusable (%s); sources not minified" % (e,))
        return None


MINIFY = dict(remove_literal_statements=True, hoist_literals=False, rename_locals=True, rename_globals=False,
              preserve_shebang=False, convert_posargs_to_args=False)


def minify(text, mod):
    """Minified source (cached by content and options), or ``text`` when
    that fails."""
    import hashlib
    key = hashlib.sha256(("%s %r\0%s" % (getattr(mod, "__version__", ""), sorted(MINIFY.items()), text))
                         .encode("utf-8")).hexdigest()
    cache = os.path.join(HERE, "build", "minify", key + ".py")
    if os.path.exists(cache):
        with open(cache, encoding="utf-8") as f:
            return f.read()
    try:
        out = mod.minify(text, **MINIFY)
        compile(out, "minified", "exec")
    except Exception as e:  # never ship a broken module to save bytes
        print("build_zipapp: not minified (%s)" % (e,))
        return text
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    with open(cache + ".tmp", "w", encoding="utf-8") as f:
        f.write(out)
    os.replace(cache + ".tmp", cache)
    return out


def bundle(tree, use_minifier=True):
    """Replace the modules under ``tree`` by bundle.bz2 and the importer."""
    import bz2
    import marshal
    mod = _minifier() if use_minifier else None
    names, sources = {}, {}
    for top in ("rocket", "defusedxml"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(tree, top)):
            dirnames.sort()
            for f in sorted(filenames):
                if not f.endswith(".py"):
                    continue
                full = os.path.join(dirpath, f)
                rel = os.path.relpath(full, tree)[:-3].replace(os.sep, ".")
                pkg = rel.endswith(".__init__")
                name = rel[:-len(".__init__")] if pkg else rel
                with open(full, encoding="utf-8") as fh:
                    text = fh.read()
                if mod is not None:
                    text = minify(text, mod)
                names[name] = pkg
                sources[name] = text.encode("utf-8")
                os.unlink(full)
    with open(os.path.join(tree, "bundle.bz2"), "wb") as f:
        f.write(bz2.compress(marshal.dumps(sources), 9))
    with open(os.path.join(tree, "__main__.py"), "w") as f:
        boot = BOOT % (names,)
        f.write(boot if mod is None else minify(boot, mod))
    for top in ("rocket", "defusedxml"):
        for dirpath, _, filenames in sorted(os.walk(os.path.join(tree, top)), reverse=True):
            if not os.listdir(dirpath):
                os.rmdir(dirpath)


def compile_for(python, tree):
    code = ("import compileall,sys; ok=compileall.compile_dir(sys.argv[1], quiet=1, legacy=True, "
            "optimize=2); sys.exit(0 if ok else 1)")
    subprocess.check_call([python, "-X", "no_debug_ranges", "-c", code, tree])
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
                # bundle.bz2 is compressed already; __main__.py stays plain so
                # that reading it does not load zlib into the agent for good
                # (3.5 KB of flash for about 40 KiB of memory)
                stored = name.endswith(".bz2") or name == "__main__.py"
                info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
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
    ap.add_argument("--no-minify", action="store_true", help="bundle the stripped sources as they are")
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
        else:
            bundle(tree, not a.no_minify)
        os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
        write_archive(tree, a.output)
    print("build_zipapp: wrote %s (%d bytes)" % (a.output, os.path.getsize(a.output)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
