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
import stat
import subprocess
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
# Modules Rocket itself imports inside "try: ... except ImportError", for a
# tool that is not the agent: never a reason for a package dependency.
GUARDED = {
    "resource": "rocket.sim raises its descriptor limit with it",
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
    names = pkgtrace.static_names()

    def full(xy):
        py = find_python(xy)
        if py is None:
            pytest.skip("CPython %s is not installed: the split data is for that version" % xy)
        dynamic, log = pkgtrace.feature_run(pyz, tmp_path_factory.mktemp("closure" + xy), python=py)
        assert "Traceback" not in log, log
        static, _ = pkgtrace.static_closure(py, names)
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
    conffiles = _define(text, "Package/rocket/conffiles").split()
    return {"text": text, "depends": [d[1:] for d in depends], "conffiles": conffiles}


# Just enough of OpenWrt's build system to run the package's install recipe
STUB_RULES = """
INSTALL_DIR:=install -d -m0755
INSTALL_BIN:=install -m0755
INSTALL_DATA:=install -m0644
INSTALL_CONF:=install -m0600
CP:=cp -fpR
"""
# package.mk evals the install recipe inside a rule: the same expansions here
STUB_WRAPPER = """
include {makefile}
define RocketInstall
rocket-install:
\t$(call Package/rocket/install,$(DEST))
endef
$(eval $(RocketInstall))
"""


def openwrt_install(tmp_path, pyz):
    """Run the Makefile's Package/rocket/install (GNU make, stub includes)
    into a directory; returns it."""
    if shutil.which("make") is None:
        pytest.skip("GNU make is not installed")
    top = tmp_path / "top"
    (top / "include").mkdir(parents=True)
    (top / "rules.mk").write_text(STUB_RULES)
    (top / "include" / "package.mk").write_text("Download=\nBuildPackage=\n")
    host = top / "feeds" / "packages" / "lang" / "python"
    host.mkdir(parents=True)
    (host / "python3-host.mk").write_text("HOST_PYTHON3_BIN:=python3\n")
    build = tmp_path / "build"
    build.mkdir()
    shutil.copy(pyz, str(build / "rocket.pyz"))
    wrapper = tmp_path / "wrapper.mk"
    wrapper.write_text(STUB_WRAPPER.format(makefile=OPENWRT))
    dest = tmp_path / "ipkg"
    r = subprocess.run(["make", "-s", "-C", os.path.dirname(OPENWRT), "-f", str(wrapper), "rocket-install",
                        "TOPDIR=%s" % top, "INCLUDE_DIR=%s" % (top / "include"), "PKG_BUILD_DIR=%s" % build,
                        "DEST=%s" % dest], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return dest


def tree(root):
    """{path: (mode, bytes)} of the files under root."""
    out = {}
    for d, _, names in os.walk(str(root)):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                out["/" + os.path.relpath(p, str(root))] = (stat.S_IMODE(os.stat(p).st_mode), f.read())
    return out


def recipe():
    assert len(RECIPES) == 1, RECIPES
    with open(RECIPES[0]) as f:
        text = f.read()
    joined = text.replace("\\\n", " ")
    rdeps = re.search(r'^RDEPENDS:\$\{PN\}\s*=\s*"([^"]*)"', joined, re.M).group(1).split()
    src_uri = re.search(r'^SRC_URI\s*=\s*"([^"]*)"', joined, re.M).group(1).split()
    return {"text": text, "rdepends": rdeps, "src_uri": src_uri}


# The BitBake variables do_install uses, as oe-core sets them
BB_VARS = {"nonarch_libdir": "/usr/lib", "sysconfdir": "/etc", "systemd_system_unitdir": "/lib/systemd/system"}


def yocto_install(tmp_path, pyz, features=("systemd", "sysvinit")):
    """Run the recipe's do_install (its ${VAR}s expanded as BitBake would,
    DISTRO_FEATURES = ``features``) with sh into a directory; returns it."""
    body = re.search(r"^do_install\(\) \{\n(.*?)^\}", recipe()["text"], re.M | re.S).group(1)
    dest, build = tmp_path / "image", tmp_path / "B"
    build.mkdir(parents=True)
    shutil.copy(pyz, str(build / "rocket.pyz"))
    vars_ = dict(BB_VARS, D=str(dest), S=ROOT, B=str(build))

    def contains(m):
        return "true" if m.group(1) in features else "false"
    body = re.sub(r"\$\{@bb\.utils\.contains\('DISTRO_FEATURES', '(\w+)', 'true', 'false', d\)\}", contains, body)
    body = re.sub(r"\$\{(\w+)\}", lambda m: vars_[m.group(1)], body)
    assert "${" not in body, body
    # no group "rocket" on this host: ownership is useradd's business at build time
    body = body.replace(" -g rocket ", " ")
    r = subprocess.run(["sh", "-eu", "-c", body], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return dest


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
        elif m not in OPTIONAL and m not in GUARDED:
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


def _expected_lib(pyz):
    """/usr/lib/rocket as every package installs it: the zipapp, every file
    of rocket/backends (0755 if executable in the tree, else 0644), the hooks."""
    with open(pyz, "rb") as f:
        out = {"/usr/lib/rocket/rocket.pyz": (0o644, f.read())}
    src = os.path.join(ROOT, "rocket", "backends")
    for n in os.listdir(src):
        p = os.path.join(src, n)
        if os.path.isfile(p) and not n.endswith(".md"):
            with open(p, "rb") as f:
                out["/usr/lib/rocket/backends/" + n] = (0o755 if os.access(p, os.X_OK) else 0o644, f.read())
    for n in os.listdir(os.path.join(src, "hooks")):
        with open(os.path.join(src, "hooks", n), "rb") as f:
            out["/usr/lib/rocket/backends/hooks/" + n] = (0o755, f.read())
    # a script is executable in the tree too
    for path, (mode, _) in out.items():
        if path.startswith("/usr/lib/rocket/backends/"):
            rel = path.replace("/usr/lib/rocket/backends/", "rocket/backends/")
            assert bool(mode & 0o111) == os.access(os.path.join(ROOT, rel), os.X_OK), rel
    return out


def _from_etc(path, mode):
    with open(os.path.join(ROOT, path), "rb") as f:
        return (mode, f.read())


def test_openwrt_makefile_installs_the_tree(pyz, tmp_path):
    pkg = openwrt_package()
    assert "ROCKET_SRC ?= $(abspath $(CURDIR)/../../..)" in pkg["text"]
    assert "--output $(PKG_BUILD_DIR)/rocket.pyz" in pkg["text"]
    got = tree(openwrt_install(tmp_path, pyz))
    want = _expected_lib(pyz)
    want.update({
        "/usr/lib/rocket/uci2ini": _from_etc("etc/openwrt/uci2ini", 0o755),
        "/etc/init.d/rocket": _from_etc("etc/openwrt/rocket.init", 0o755),
        "/etc/config/rocket": _from_etc("etc/openwrt/rocket.uci", 0o600),
        "/lib/upgrade/keep.d/rocket": _from_etc("etc/openwrt/sysupgrade.conf", 0o644),
        "/etc/udhcpc.user.d/rocket": _from_etc("etc/openwrt/udhcpc.user", 0o644),
    })
    assert sorted(got) == sorted(want)
    for path in want:
        assert got[path] == want[path], path
    # every file of etc/openwrt is in the package
    assert sorted(os.listdir(os.path.join(ROOT, "etc", "openwrt"))) == [
        "rocket.init", "rocket.uci", "sysupgrade.conf", "uci2ini", "udhcpc.user"]
    assert pkg["conffiles"] == ["/etc/config/rocket"]
    # the paths the shipped configuration and init script name are installed
    uci = got["/etc/config/rocket"][1].decode()
    for path in re.findall(r"'(/usr/lib/rocket/[^']+)'", uci):
        assert path.rstrip("/") in got or any(p.startswith(path.rstrip("/") + "/") for p in got), path
    for path in re.findall(r"=(/usr/lib/rocket/\S+)", got["/etc/init.d/rocket"][1].decode()):
        assert path in got, path


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


def test_yocto_recipe_installs_the_tree(pyz, tmp_path):
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
    assert "--output ${B}/rocket.pyz" in text
    want = _expected_lib(pyz)
    want.update({
        "/etc/rocket/rocket.conf": _from_etc("etc/rocket.conf", 0o640),
        "/lib/systemd/system/rocket.service": _from_etc("etc/systemd/rocket.service", 0o644),
        "/etc/init.d/rocket": _from_etc("etc/init.d/rocket", 0o755),
    })
    got = tree(yocto_install(tmp_path / "both", pyz))
    assert sorted(got) == sorted(want)
    for path in want:
        assert got[path] == want[path], path
    # an image without sysvinit gets no init script, one without systemd no unit
    assert "/etc/init.d/rocket" not in tree(yocto_install(tmp_path / "sd", pyz, ("systemd",)))
    assert "/lib/systemd/system/rocket.service" not in tree(yocto_install(tmp_path / "sv", pyz, ("sysvinit",)))
    assert re.search(r'CONFFILES:\$\{PN\} = "\$\{sysconfdir\}/rocket/rocket.conf"', text)
    assert 'SYSTEMD_SERVICE:${PN} = "rocket.service"' in text and 'INITSCRIPT_NAME = "rocket"' in text
    assert re.search(r"^inherit .*\bsystemd\b.*\bupdate-rc\.d\b", text, re.M)
    assert "USERADD_PARAM:${PN}" in text and " rocket" in re.search(r'USERADD_PARAM:\$\{PN\} = "([^"]*)"',
                                                                     text).group(1)
