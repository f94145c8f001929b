#!/usr/bin/env python3
"""Regenerate the python3 split data in this directory (a maintainer tool).

    python3 packaging/pydeps/update.py openwrt GITDIR BRANCH PYTHON OUT.json
    python3 packaging/pydeps/update.py oe-core GITDIR BRANCH [PYTHON] OUT.json

GITDIR is a clone of https://github.com/openwrt/packages or
https://github.com/openembedded/openembedded-core; BRANCH the release
branch read from it (only the split definitions are read: OpenWrt's
lang/python/python3/Makefile and files/python3-package-*.mk, oe-core's
meta/recipes-devtools/python/python3/python3-manifest.json). PYTHON is a
CPython of the same X.Y version as the branch packages, built with the
default module setup (e.g. a pyenv build): its standard library is walked to
expand each sub-package's file patterns into the module names it holds.
Without PYTHON (oe-core only) a package's modules are its explicit .py
files and whole directories ("trees"); the catch-all package then takes
everything else.

What is written is data only: per sub-package its dependencies, file
patterns, module names, and an estimated size (legacy .pyc as OpenWrt
ships them, extension modules as built by PYTHON on this machine: an
estimate for the footprint comparison, not a target's real size).
The tests (tests/test_packaging*.py) map every module the agent imports to
its owner through these lists.
"""

import fnmatch
import json
import os
import re
import subprocess
import sys

# test-only extension modules (--disable-test-modules) and the demo packages
SKIP_NAMES = ("_test", "_xx", "xxlimited", "xxsubtype", "_ctypes_test", "__hello__", "__phello__")
SKIP_TREES = ("test", "idlelib.idle_test", "tkinter.test", "lib2to3.tests", "ctypes.test",
              "unittest.test", "sqlite3.test", "distutils.tests", "site-packages")


def git_show(gitdir, branch, path):
    return subprocess.check_output(["git", "--git-dir", gitdir, "show", "%s:%s" % (branch, path)],
                                   text=True)


def git_ls(gitdir, branch, path):
    out = subprocess.check_output(["git", "--git-dir", gitdir, "ls-tree", "--name-only", branch, path + "/"],
                                  text=True)
    return out.split()


def git_commit(gitdir, branch):
    return subprocess.check_output(["git", "--git-dir", gitdir, "rev-parse", branch], text=True).strip()


# ------------------------------------------------------------ the stdlib
def stdlib_inventory(python):
    """{relative path: (module name or None, size)} of PYTHON's stdlib,
    plus its built-in module names and the X.Y version."""
    code = ("import sys,sysconfig,json;print(json.dumps([sysconfig.get_paths()['stdlib'],"
            "sorted(m for m in sys.builtin_module_names if m!='xxsubtype'),'%d.%d.%d' % sys.version_info[:3]]))")
    root, builtins, version = json.loads(subprocess.check_output([python, "-I", "-c", code], text=True))
    # the import system itself: frozen into libpython, imported under these names
    builtins += ["_frozen_importlib", "_frozen_importlib_external"]
    files = {}
    for d, dirs, names in os.walk(root):
        rel_d = os.path.relpath(d, root)
        rel_d = "" if rel_d == "." else rel_d
        dirs[:] = sorted(x for x in dirs if x != "__pycache__" and
                         (rel_d + "/" + x if rel_d else x).replace("/", ".") not in SKIP_TREES)
        for n in sorted(names):
            if n.startswith(SKIP_NAMES):
                continue
            rel = os.path.join(rel_d, n) if rel_d else n
            path = os.path.join(d, n)
            if n.endswith(".py"):
                mod = rel[:-3].replace("/", ".")
                if mod.endswith(".__init__"):
                    mod = mod[:-9]
                if rel_d.startswith("lib-dynload") or "-" in mod or mod.startswith("config-"):
                    mod = None
                files[rel] = (mod, pyc_size(python, path))
            elif n.endswith(".so") and rel_d == "lib-dynload":
                files[rel] = (n.split(".")[0], os.path.getsize(path))
            else:
                files[rel] = (None, os.path.getsize(path))
    return root, builtins, version, files


_PYC = {}


def pyc_size(python, path):
    """Size of the legacy .pyc compileall -b writes (what OpenWrt ships)."""
    if not _PYC:
        code = ("import sys,os,json,marshal\nout={}\nfor p in sys.stdin.read().split('\\n'):\n"
                "    try:\n        out[p]=16+len(marshal.dumps(compile(open(p,'rb').read(),p,'exec')))\n"
                "    except Exception:\n        out[p]=os.path.getsize(p)\nprint(json.dumps(out))")
        root = subprocess.check_output([python, "-I", "-c", "import sysconfig;print(sysconfig.get_paths()['stdlib'])"],
                                       text=True).strip()
        paths = []
        for d, dirs, names in os.walk(root):
            dirs[:] = [x for x in dirs if x != "__pycache__"]
            paths += [os.path.join(d, n) for n in names if n.endswith(".py")]
        out = subprocess.run([python, "-I", "-c", code], input="\n".join(paths), capture_output=True,
                             text=True, check=True).stdout
        _PYC.update(json.loads(out))
    return _PYC.get(path, os.path.getsize(path))


def matches(rel, pattern):
    """FILES-style match: the path itself, anything under a directory, or a glob."""
    pattern = pattern.rstrip("/")
    return rel == pattern or rel.startswith(pattern + "/") or fnmatch.fnmatchcase(rel, pattern)


# ------------------------------------------------------------ OpenWrt
def parse_openwrt(gitdir, branch):
    mk = git_show(gitdir, branch, "lang/python/python3/Makefile")
    ver = git_show(gitdir, branch, "lang/python/python3-version.mk")
    v = dict(re.findall(r"^PYTHON3_VERSION_(MAJOR|MINOR|MICRO):=(\S+)", ver, re.M))
    xy = "%s.%s" % (v["MAJOR"], v["MINOR"])
    pre = "/usr/lib/python$(PYTHON3_VERSION)/"

    def rel(p):
        p = p.strip()
        assert p.startswith(pre) or not p.startswith("/usr/lib/python"), p
        if not p.startswith(pre):
            return None
        return p[len(pre):].replace("$(PYTHON3_SO_SUFFIX)", "*.so").replace("$(PYTHON3_VERSION)", xy)

    packages = {}
    texts = [("lang/python/python3/Makefile", mk)]
    for f in git_ls(gitdir, branch, "lang/python/python3/files"):
        if os.path.basename(f).startswith("python3-package-") and f.endswith(".mk"):
            texts.append((f, git_show(gitdir, branch, f)))
    for name, text in texts:
        for pkg, body in re.findall(r"^define Package/([\w.-]+)\n(.*?)^endef", text, re.M | re.S):
            m = re.search(r"DEPENDS:=(.*)", body)
            if m and not pkg.endswith("/description"):
                deps = [d[1:] for d in m.group(1).split() if d.startswith("+") and ":" not in d]
                packages.setdefault(pkg, {})["depends"] = sorted(deps)
                packages[pkg]["defined_in"] = name
        for pkg, body in re.findall(r"Py3BasePackage,([\w.-]+),(.*?)\)\)", text, re.S):
            paths = [rel(p) for p in body.replace("\\", " ").split(",")[0].split()]
            packages.setdefault(pkg, {})["files"] = [p for p in paths if p]
    base = re.search(r"^PYTHON3_BASE_LIB_FILES:=(.*?)\n\n", mk, re.M | re.S).group(1)
    packages["python3-base"]["files"] = [rel(p) for p in base.replace("\\", " ").split()]
    light = re.search(r"define Py3Package/python3-light/filespec\n(.*?)\nendef", mk, re.S).group(1)
    excluded = [rel(line[2:]) for line in light.splitlines() if line.startswith("-|") and "$(foreach" not in line]
    packages["python3-light"]["files"] = ["*"]
    return xy, "%s.%s" % (xy, v["MICRO"]), packages, [e for e in excluded if e]


def expand_openwrt(packages, excluded, inv_files, builtins):
    order = [p for p in sorted(packages) if packages[p].get("files") and p not in ("python3-base", "python3-light")]
    owner = {}
    for rel, (mod, size) in inv_files.items():
        who = None
        for p in order:
            if any(matches(rel, pat) for pat in packages[p]["files"]):
                who = p
                break
        if who is None and any(matches(rel, pat) for pat in packages["python3-base"]["files"]):
            who = "python3-base"
        if who is None and any(matches(rel, pat) for pat in excluded):
            continue
        who = who or "python3-light"
        owner[rel] = who
    return owner


# ------------------------------------------------------------ oe-core
def parse_oe(gitdir, branch):
    d = "meta/recipes-devtools/python"
    recipe = [f for f in git_ls(gitdir, branch, d) if re.search(r"/python3_[\d.]+\.bb$", f)][0]
    version = re.search(r"python3_([\d.]+)\.bb", recipe).group(1)
    text = git_show(gitdir, branch, d + "/python3/python3-manifest.json")
    text = text[text.find("# EOC") + 6:] if "# EOC" in text else "\n".join(
        line for line in text.splitlines() if not line.startswith("#"))
    manifest = json.loads(text)
    pre = "${libdir}/python${PYTHON_MAJMIN}/"
    packages = {}
    for key, v in manifest.items():
        files = [f[len(pre):].replace("${SOLIBSDEV}", "*") for f in v["files"] + v.get("cached", [])
                 if f.startswith(pre)]
        packages["python3-" + key] = {"depends": sorted("python3-" + r for r in v["rdepends"]),
                                      "files": files, "summary": v["summary"]}
    packages["python3-misc"] = {"depends": [], "files": ["*"], "summary": "everything the manifest leaves out"}
    return version, recipe, packages, list(manifest)


def expand_oe(packages, order, inv_files):
    owner = {}
    for rel in inv_files:
        who = "python3-misc"
        for key in order:
            if any(matches(rel, pat) for pat in packages["python3-" + key]["files"]):
                who = "python3-" + key
                break
        owner[rel] = who
    return owner


# ------------------------------------------------------------ output
def fill(packages, owner, inv_files, builtins, builtin_pkg):
    for p in packages.values():
        p["modules"], p["size_estimate"] = [], 0
    for rel, who in owner.items():
        mod, size = inv_files[rel]
        if mod:
            packages[who]["modules"].append(mod)
        packages[who]["size_estimate"] += size
    packages[builtin_pkg]["modules"] += builtins
    for p in packages.values():
        p["modules"] = sorted(set(p["modules"]))


def trees_only(packages):
    """Without a stdlib to walk: explicit module files and whole directories."""
    for p in packages.values():
        mods, trees = [], []
        for f in p["files"]:
            if "__pycache__" in f or f == "*" or "/" in f.rstrip("/") and not f.endswith(".py"):
                if f.startswith("lib-dynload/") and f.endswith(".so"):
                    mods.append(f.split("/")[1].split(".")[0])
                continue
            if f.endswith(".py"):
                m = f[:-3].replace("/", ".")
                mods.append(m[:-9] if m.endswith(".__init__") else m)
            elif "." not in f and "*" not in f:
                trees.append(f.replace("/", "."))
        p["modules"], p["trees"] = sorted(set(mods)), sorted(set(trees))


def main(argv):
    kind, gitdir, branch = argv[:3]
    python = argv[3] if len(argv) == 5 else None
    out = argv[-1]
    commit = git_commit(gitdir, branch)
    if kind == "openwrt":
        xy, full, packages, excluded = parse_openwrt(gitdir, branch)
        root, builtins, version, inv = stdlib_inventory(python)
        assert version.startswith(xy + "."), (version, xy)
        owner = expand_openwrt(packages, excluded, inv, builtins)
        packages.setdefault("libpython3", {}).setdefault("files", [])
        fill(packages, owner, inv, builtins, "libpython3")
        data = {
            "what": "the stdlib modules each OpenWrt python3 sub-package holds",
            "source": {"repository": "https://github.com/openwrt/packages", "branch": branch, "commit": commit,
                       "files": ["lang/python/python3-version.mk", "lang/python/python3/Makefile",
                                 "lang/python/python3/files/python3-package-*.mk"]},
            "python": full,
            "expanded_with": "CPython %s standard library, default module setup (built-in modules go to "
                             "libpython3)" % version,
            "catch_all": "python3-light", "excluded": excluded,
            "size_note": "size_estimate: bytes of legacy .pyc (compileall -b, as the feed ships them) and of "
                         "x86_64 extension modules, uncompressed; not a target's real size",
        }
    else:
        version, recipe, packages, order = parse_oe(gitdir, branch)
        data = {
            "what": "the stdlib modules each oe-core python3 sub-package holds",
            "source": {"repository": "https://github.com/openembedded/openembedded-core", "branch": branch,
                       "commit": commit, "files": ["meta/recipes-devtools/python/python3/python3-manifest.json",
                                                   recipe]},
            "python": version,
            "catch_all": "python3-misc", "order": ["python3-" + k for k in order] + ["python3-misc"],
        }
        if python:
            root, builtins, v, inv = stdlib_inventory(python)
            assert v.rsplit(".", 1)[0] == version.rsplit(".", 1)[0], (v, version)
            owner = expand_oe(packages, order, inv)
            packages["libpython3"] = {"depends": [], "files": [], "summary": "libpython3.so"}
            fill(packages, owner, inv, builtins, "libpython3")
            data["expanded_with"] = ("CPython %s standard library, default module setup (built-in modules go "
                                     "to libpython3)" % v)
        else:
            packages["libpython3"] = {"depends": [], "files": [], "summary": "libpython3.so"}
            trees_only(packages)
            data["expanded_with"] = None
            data["note"] = ("not expanded (no CPython %s here): modules are the manifest's explicit .py and "
                            "extension files, trees its whole directories; the rest is python3-misc" % version)
            data["builtin_note"] = "built-in modules go to libpython3 (python3-core depends on it)"
    for p in packages.values():
        p.pop("defined_in", None)
    data["packages"] = dict(sorted(packages.items()))
    with open(out, "w") as f:
        json.dump(data, f, indent=1, sort_keys=False)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
