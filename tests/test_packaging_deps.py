"""The OpenWrt Makefile and the Yocto recipe: the files they install exist,
and their python3 dependency lists are exactly what the agent imports.

The agent's import closure is measured, not listed: tests/pkgtrace.py runs
the zipapp with every feature (TLS, Digest, transfers, XMPP, STUN, audit,
policy, ctl) under ``python3 -I -S`` and records sys.modules, plus what any
import statement under rocket/ pulls in. Each module is mapped to the
sub-package shipping it with packaging/pydeps/*.json (OpenWrt's and
oe-core's split definitions, module by module).
"""

import glob
import hashlib
import os
import re
import shutil
import sys

import pytest

import pkgtrace
from conftest import ROOT

OPENWRT = os.path.join(ROOT, "packaging", "openwrt", "rocket", "Makefile")
LAYER = os.path.join(ROOT, "packaging", "yocto", "meta-rocket")
RECIPES = glob.glob(os.path.join(LAYER, "recipes-connectivity", "rocket", "rocket_*.bb"))

# Modules the standard library imports only inside "try: ... except
# ImportError": present when their package is installed, never needed
# (test_packaging_prune.py runs everything without them).
OPTIONAL = {
    "lzma": "shutil: archive formats, tried at import",
    "_lzma": "lzma's extension module",
}


def find_python(xy):
    """A CPython X.Y with the default module setup (extension modules in
    lib-dynload, as OpenWrt and oe-core build it), or None."""
    if "%d.%d" % sys.version_info[:2] == xy:
        return os.path.realpath(sys.executable)
    cands = sorted(glob.glob("/root/.pyenv/versions/%s.*/bin/python%s" % (xy, xy)), reverse=True)
    which = shutil.which("python" + xy)
    return (cands + [which] if which else cands or [None])[0]


_measured = {}


def measure(pyz, tmp_path_factory):
    """Every feature once on CPython 3.11 (OpenWrt 24.10's python3), on 3.12
    (oe-core scarthgap's), and on the pruned 3.11 stdlib of
    test_packaging_prune.py: the three runs go in parallel (they wait on
    their peers much more than they compute). Each result is a dict, or the
    pytest.skip / failure its run raised, re-raised by ``result``."""
    if _measured:
        return _measured
    import concurrent.futures

    def full(xy):
        py = find_python(xy)
        if py is None:
            pytest.skip("CPython %s is not installed: the split data is for that version" % xy)
        dynamic, log = pkgtrace.feature_run(pyz, tmp_path_factory.mktemp("closure" + xy), python=py)
        assert "Traceback" not in log, log
        static, _ = pkgtrace.static_closure(py)
        return {"dynamic": pkgtrace.stdlib_only(dynamic), "static": pkgtrace.stdlib_only(static), "log": log}

    def pruned():
        p = pkgtrace.pruned_python(pkgtrace.Split("openwrt-24.10"), openwrt_package()["depends"],
                                   tmp_path_factory.mktemp("pruned"), find_python)
        mods, log = pkgtrace.feature_run(pyz, tmp_path_factory.mktemp("prunedrun"), python=p["wrapper"])
        p.update(modules=mods, log=log)
        return p

    jobs = {"openwrt": lambda: full(pkgtrace.Split("openwrt-24.10").data["python"].rsplit(".", 1)[0]),
            "oe-core": lambda: full(pkgtrace.Split("oe-core-scarthgap").data["python"].rsplit(".", 1)[0]),
            "pruned": pruned}
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as ex:
        futures = {k: ex.submit(f) for k, f in jobs.items()}
        for k, fut in futures.items():
            try:
                _measured[k] = fut.result()
            except BaseException as e:  # a skip or a failure, for the test that reads it
                _measured[k] = e
    return _measured


def result(pyz, tmp_path_factory, name):
    r = measure(pyz, tmp_path_factory)[name]
    if isinstance(r, BaseException):
        raise r
    return r


# ------------------------------------------------------------ parsers
def _define(text, name):
    m = re.search(r"^define %s\n(.*?)^endef" % re.escape(name), text, re.M | re.S)
    assert m, name
    return m.group(1)


def openwrt_package():
    with open(OPENWRT) as f:
        text = f.read()
    pkg = _define(text, "Package/rocket")
    depends = re.search(r"^\s*DEPENDS:=(.*)$", pkg, re.M).group(1).split()
    assert all(d.startswith("+") for d in depends), depends
    install = []
    for line in _define(text, "Package/rocket/install").splitlines():
        m = re.match(r"\s*\$\((INSTALL_BIN|INSTALL_DATA|INSTALL_CONF|CP)\)\s+(.*)$", line)
        if m:
            args = m.group(2).split()
            install.append((m.group(1), args[:-1], args[-1]))
    conffiles = _define(text, "Package/rocket/conffiles").split()
    return {"text": text, "depends": [d[1:] for d in depends], "install": install, "conffiles": conffiles}


def recipe():
    assert len(RECIPES) == 1, RECIPES
    with open(RECIPES[0]) as f:
        text = f.read()
    joined = text.replace("\\\n", " ")
    rdeps = re.search(r'^RDEPENDS:\$\{PN\}\s*=\s*"([^"]*)"', joined, re.M).group(1).split()
    src_uri = re.search(r'^SRC_URI\s*=\s*"([^"]*)"', joined, re.M).group(1).split()
    body = re.search(r"^do_install\(\) \{\n(.*?)^\}", text, re.M | re.S).group(1)
    install = []
    for line in body.replace("\\\n", " ").splitlines():
        args = line.split()
        if args[:1] == ["install"] and "-d" not in args:
            paths = [a for a in args[1:] if a.startswith("${")]
            install.append((paths[:-1], paths[-1]))
    return {"text": text, "rdepends": rdeps, "src_uri": src_uri, "install": install}


# ------------------------------------------------------------ the checker
def dependency_problems(split, modules, named, implicit):
    """Compare the packages that ship ``modules`` with the ``named`` list.

    Returns (unshipped, missing, extra): modules no sub-package ships,
    packages the modules need that ``named`` (with what it pulls in) lacks,
    and named packages no module needs. ``implicit`` packages always come
    with the interpreter (never required to be named)."""
    owners, unshipped = {}, []
    for m in modules:
        o = split.owner(m)
        if o is None:
            unshipped.append(m)
        elif m not in OPTIONAL:
            owners.setdefault(o, []).append(m)
    have = split.closure(named)
    missing = {o: ms for o, ms in owners.items() if o not in have and o not in implicit}
    extra = sorted(set(named) - set(owners) - set(implicit))
    return sorted(unshipped), missing, extra


def test_checker_catches_a_missing_sub_package():
    s = pkgtrace.Split("openwrt-24.10")
    assert s.owner("logging.handlers") == "python3-logging"
    assert s.owner("_ssl") == "python3-openssl" and s.owner("unicodedata") == "python3-codecs"
    assert s.owner("http.client") == "python3-light" and s.owner("os") == "python3-base"
    assert s.owner("tkinter") is None and s.owner("no_such_module") is None
    unshipped, missing, extra = dependency_problems(
        s, ["os", "json", "logging", "tkinter"], ["python3-light", "python3-xml"], {"python3-base", "libpython3"})
    assert unshipped == ["tkinter"]
    assert missing == {"python3-logging": ["logging"]}
    assert extra == ["python3-xml"]
    # a package pulled in by a named one counts as there
    assert s.closure(["python3-xml"]) >= {"python3-urllib", "python3-email", "python3-light", "libpython3"}


# ------------------------------------------------------------ OpenWrt
def test_openwrt_depends_are_what_the_agent_imports(pyz, tmp_path_factory):
    split = pkgtrace.Split("openwrt-24.10")
    run = result(pyz, tmp_path_factory, "openwrt")
    dynamic, static = run["dynamic"], run["static"]
    pkg = openwrt_package()
    for d in pkg["depends"]:
        assert d in split.packages, "%s is not an OpenWrt %s package" % (d, split.data["source"]["branch"])
    for mods in (dynamic, static):
        unshipped, missing, extra = dependency_problems(split, mods, pkg["depends"],
                                                        {"libpython3", "python3-base", "python3-light"})
        assert unshipped == [], "imported, but in no OpenWrt python3 sub-package: %s" % unshipped
        assert missing == {}, "Makefile DEPENDS lacks: %s" % missing
    unshipped, missing, extra = dependency_problems(split, sorted(set(dynamic) | set(static)), pkg["depends"],
                                                    {"libpython3", "python3-base"})
    assert extra == [], "Makefile DEPENDS names packages the agent never imports: %s" % extra
    assert "python3-light" in pkg["depends"]
    # the dynamic run saw the features it is meant to exercise
    for m in ("ssl", "_ssl", "hashlib", "http.client", "xml.etree.ElementTree", "pyexpat", "subprocess",
              "selectors", "socket", "json"):
        assert m in dynamic, m


def test_openwrt_makefile_installs_existing_files():
    pkg = openwrt_package()
    text = pkg["text"]
    assert "ROCKET_SRC ?= $(abspath $(CURDIR)/../../..)" in text
    assert os.path.samefile(os.path.join(os.path.dirname(OPENWRT), "..", "..", ".."), ROOT)
    dests, sources = {}, set()
    for op, srcs, dest in pkg["install"]:
        assert srcs, (op, dest)
        for s in srcs:
            if s.startswith("$(ROCKET_SRC)/"):
                rel = s[len("$(ROCKET_SRC)/"):]
                found = glob.glob(os.path.join(ROOT, rel))
                assert found, "installed but missing from the tree: %s" % rel
                sources.update(os.path.relpath(p, ROOT) for p in found)
                for p in found:
                    d = dest + os.path.basename(p) if dest.endswith("/") else dest
                    dests[d.replace("$(1)", "")] = (op, os.path.relpath(p, ROOT))
            else:
                assert s == "$(PKG_BUILD_DIR)/rocket.pyz", s
                assert "--output $(PKG_BUILD_DIR)/rocket.pyz" in text
                dests[dest.replace("$(1)", "")] = (op, "rocket.pyz")
    # every backend, hook and OpenWrt file of the tree is in the package
    tree = {os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "rocket", "backends", "*"))
            + glob.glob(os.path.join(ROOT, "rocket", "backends", "hooks", "*"))
            + glob.glob(os.path.join(ROOT, "etc", "openwrt", "*")) if os.path.isfile(p)}
    assert tree - sources == {"rocket/backends/README.md"}
    assert dests["/usr/lib/rocket/rocket.pyz"] == ("INSTALL_DATA", "rocket.pyz")
    assert dests["/etc/init.d/rocket"] == ("INSTALL_BIN", "etc/openwrt/rocket.init")
    assert dests["/etc/config/rocket"] == ("INSTALL_CONF", "etc/openwrt/rocket.uci")
    assert dests["/lib/upgrade/keep.d/rocket"] == ("INSTALL_DATA", "etc/openwrt/sysupgrade.conf")
    assert dests["/usr/lib/rocket/uci2ini"] == ("INSTALL_BIN", "etc/openwrt/uci2ini")
    # executables keep their bit, data files are not made executable
    for d, (op, src) in dests.items():
        if src != "rocket.pyz" and not src.endswith(".uci"):
            assert (op == "INSTALL_BIN") == os.access(os.path.join(ROOT, src), os.X_OK), (d, op, src)
    assert pkg["conffiles"] == ["/etc/config/rocket"]
    # the paths the shipped configuration points at are installed
    with open(os.path.join(ROOT, "etc", "openwrt", "rocket.uci")) as f:
        uci = f.read()
    for path in re.findall(r"'(/usr/lib/rocket/[^']+)'", uci):
        assert path.rstrip("/") in dests or any(d.startswith(path.rstrip("/") + "/") for d in dests), path
    with open(os.path.join(ROOT, "etc", "openwrt", "rocket.init")) as f:
        init = f.read()
    for path in re.findall(r"=(/usr/lib/rocket/\S+)", init):
        assert path in dests, path


# ------------------------------------------------------------ Yocto
def test_yocto_rdepends_are_what_the_agent_imports(pyz, tmp_path_factory):
    split = pkgtrace.Split("oe-core-scarthgap")
    run = result(pyz, tmp_path_factory, "oe-core")
    dynamic, static = run["dynamic"], run["static"]
    rdeps = [d for d in recipe()["rdepends"] if d.startswith("python3")]
    for d in rdeps:
        assert d in split.packages, "%s is not an oe-core %s package" % (d, split.data["source"]["branch"])
    mods = sorted(set(dynamic) | set(static))
    unshipped, missing, extra = dependency_problems(split, mods, rdeps, {"libpython3"})
    assert unshipped == [], "imported, but in no oe-core python3 package: %s" % unshipped
    assert missing == {}, "RDEPENDS lacks: %s" % missing
    assert extra == [], "RDEPENDS names packages the agent never imports: %s" % extra
    # python3-misc (everything the manifest leaves out) is never needed
    assert "python3-misc" not in split.closure(rdeps)
    with open(os.path.join(LAYER, "conf", "layer.conf")) as f:
        compat = re.search(r'LAYERSERIES_COMPAT_rocket = "([^"]*)"', f.read()).group(1).split()
    assert compat == [split.data["source"]["branch"]]


def test_yocto_recipe_installs_existing_files():
    r = recipe()
    text = r["text"]
    # the sources are the tree five levels up
    assert 'FILESEXTRAPATHS:prepend := "${THISDIR}/../../../../..:"' in text
    assert os.path.samefile(os.path.join(os.path.dirname(RECIPES[0]), *[".."] * 5), ROOT)
    for u in r["src_uri"]:
        if u.startswith("file://"):
            assert os.path.exists(os.path.join(ROOT, u[7:].split(";")[0])), u
    md5 = re.search(r'LIC_FILES_CHKSUM = "file://LICENSE;md5=(\w+)"', text).group(1)
    with open(os.path.join(ROOT, "LICENSE"), "rb") as f:
        assert hashlib.md5(f.read()).hexdigest() == md5
    # the same wheel as the OpenWrt package
    sha = re.search(r'SRC_URI\[defusedxml.sha256sum\] = "(\w+)"', text).group(1)
    assert "HASH:=%s" % sha in openwrt_package()["text"]
    dests = {}
    for srcs, dest in r["install"]:
        for s in srcs:
            if s.startswith("${S}/"):
                found = glob.glob(os.path.join(ROOT, s[len("${S}/"):]))
                assert found, "installed but missing from the tree: %s" % s
                for p in found:
                    d = dest + os.path.basename(p) if dest.endswith("/") else dest
                    dests[d] = os.path.relpath(p, ROOT)
            else:
                assert s == "${B}/rocket.pyz" and "--output ${B}/rocket.pyz" in text, s
                dests[dest] = "rocket.pyz"
    assert dests["${D}${systemd_system_unitdir}/rocket.service"] == "etc/systemd/rocket.service"
    assert dests["${D}${sysconfdir}/init.d/rocket"] == "etc/init.d/rocket"
    assert dests["${D}${sysconfdir}/rocket/rocket.conf"] == "etc/rocket.conf"
    assert dests["${D}${nonarch_libdir}/rocket/rocket.pyz"] == "rocket.pyz"
    # the same backends and hooks as the OpenWrt package, at the same paths
    ow = {d.replace("$(1)", ""): src for op, srcs, d in openwrt_package()["install"] for src in srcs}
    yo = {d.replace("${D}${nonarch_libdir}", "/usr/lib"): s for d, s in dests.items()
          if d.startswith("${D}${nonarch_libdir}/")}
    ow_files = set()
    for op, srcs, d in openwrt_package()["install"]:
        for s in srcs:
            if s.startswith("$(ROCKET_SRC)/rocket/"):
                for p in glob.glob(os.path.join(ROOT, s[len("$(ROCKET_SRC)/"):])):
                    ow_files.add((d.replace("$(1)", "") + os.path.basename(p)) if d.endswith("/")
                                 else d.replace("$(1)", ""))
    assert ow_files == {d for d in yo if d != "/usr/lib/rocket/rocket.pyz"}, (ow_files, sorted(yo), ow)
    assert re.search(r'CONFFILES:\$\{PN\} = "\$\{sysconfdir\}/rocket/rocket.conf"', text)
    assert 'SYSTEMD_SERVICE:${PN} = "rocket.service"' in text and 'INITSCRIPT_NAME = "rocket"' in text
    assert re.search(r"^inherit .*\bsystemd\b.*\bupdate-rc\.d\b", text, re.M)
