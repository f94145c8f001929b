"""The Debian package (packaging/debian/): built with dpkg-buildpackage,
checked by lintian, installed into a throw-away root with dpkg --root, one
session run from the installed files, then purged."""

import configparser
import os
import re
import shutil
import subprocess
import sys

import pytest

import debbuild
from conftest import ROOT

def _floor():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    return cfg["options"]["python_requires"].replace(">=", "").strip()


@pytest.fixture(scope="session")
def deb(tmp_path_factory):
    return debbuild.build(tmp_path_factory)


def _field(deb, name):
    return subprocess.run(["dpkg-deb", "-f", deb.path, name], capture_output=True, text=True,
                          check=True).stdout.strip()


def _contents(deb):
    out = subprocess.run(["dpkg-deb", "-c", deb.path], capture_output=True, text=True, check=True).stdout
    files = {}
    for line in out.splitlines():
        perms, owner, size, _, _, path = line.split(None, 5)
        files[path.split(" -> ")[0].lstrip(".")] = (perms, owner, int(size))
    return files


def _member(deb, path):
    return subprocess.run("dpkg-deb --fsys-tarfile '%s' | tar -xO '.%s'" % (deb.path, path), shell=True,
                          capture_output=True, check=True).stdout


def test_deb_is_arch_all_and_depends_on_the_python_floor(deb):
    assert _field(deb, "Architecture") == "all"
    assert _field(deb, "Package") == "rocket"
    deps = [d.strip() for d in _field(deb, "Depends").split(",")]
    assert "python3 (>= %s)" % _floor() in deps
    # nothing but the interpreter and the user-creation tool at run time
    assert all(d.startswith(("python3 ", "systemd")) for d in deps), deps


def test_deb_contents(deb):
    files = _contents(deb)
    print("\n".join("%s %s %8d %s" % (p, o, s, n) for n, (p, o, s) in sorted(files.items())))
    must = {
        "/usr/lib/rocket/rocket.pyz": "-rw-r--r--",
        "/etc/rocket/rocket.conf": "-rw-r--r--",  # 0640 root:rocket by dpkg-statoverride
        "/etc/init.d/rocket": "-rwxr-xr-x",
        "/lib/systemd/system/rocket.service": "-rw-r--r--",
        "/usr/lib/sysusers.d/rocket.conf": "-rw-r--r--",
        "/usr/share/doc/rocket/copyright": "-rw-r--r--",
        "/usr/share/doc/rocket/README.md": "-rw-r--r--",  # the unit's Documentation=, uncompressed
    }
    # every backend script, lib.sh and manifest, every hook: as on OpenWrt and Yocto
    src = os.path.join(ROOT, "rocket", "backends")
    for n in os.listdir(src):
        if os.path.isfile(os.path.join(src, n)) and not n.endswith(".md"):
            script = os.access(os.path.join(src, n), os.X_OK)
            must["/usr/lib/rocket/backends/" + n] = "-rwxr-xr-x" if script else "-rw-r--r--"
    for n in os.listdir(os.path.join(src, "hooks")):
        must["/usr/lib/rocket/backends/hooks/" + n] = "-rwxr-xr-x"
    lib = {p for p in files if p.startswith("/usr/lib/rocket/") and not p.endswith("/")}
    assert lib == {p for p in must if p.startswith("/usr/lib/rocket/")}
    for path, perms in must.items():
        assert path in files, path
        assert files[path][0] == perms and files[path][1] == "root/root", (path, files[path])
    # the state directory is made by postinst (owned by the package's user), not shipped
    assert not any(p.startswith("/var/") for p in files)
    # the unit, the init script and the sysusers file are etc/'s, byte for byte
    for inst, src in (("/lib/systemd/system/rocket.service", "etc/systemd/rocket.service"),
                      ("/etc/init.d/rocket", "etc/init.d/rocket"),
                      ("/usr/lib/sysusers.d/rocket.conf", "etc/systemd/rocket.sysusers"),
                      ("/etc/rocket/rocket.conf", "etc/rocket.conf")):
        with open(os.path.join(ROOT, src), "rb") as f:
            assert _member(deb, inst) == f.read(), inst
    conffiles = subprocess.run("dpkg-deb --ctrl-tarfile '%s' | tar -xO ./conffiles" % deb.path, shell=True,
                               capture_output=True, text=True, check=True).stdout.split()
    assert conffiles == ["/etc/init.d/rocket", "/etc/rocket/rocket.conf"]


def test_deb_zipapp_runs(deb, tmp_path):
    pyz = tmp_path / "rocket.pyz"
    pyz.write_bytes(_member(deb, "/usr/lib/rocket/rocket.pyz"))
    r = subprocess.run([sys.executable, "-I", "-S", str(pyz), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("rocket "), r.stderr


def _prepare_root(root, deb_path):
    """Account files from the host, and a dpkg database holding the packages
    the .deb depends on (their host entries: the tools in /usr are the host's)."""
    etc = root / "etc"
    etc.mkdir(parents=True)
    for name in ("passwd", "group", "shadow", "gshadow", "login.defs", "nsswitch.conf"):
        if os.path.exists("/etc/" + name):
            shutil.copy2("/etc/" + name, str(etc / name))
    # the directories every Debian system has before this package comes
    for d in ["rc%s.d" % r for r in "0123456S"] + ["init.d", "default", "systemd/system"]:
        (etc / d).mkdir(parents=True)
    (root / "var" / "lib" / "systemd").mkdir(parents=True)
    admin = root / "var" / "lib" / "dpkg"
    for d in ("info", "updates", "triggers", "alternatives"):
        (admin / d).mkdir(parents=True)
    (root / "var" / "log").mkdir(parents=True)
    names = []
    for field in ("Pre-Depends", "Depends"):
        value = subprocess.run(["dpkg-deb", "-f", deb_path, field], capture_output=True, text=True).stdout
        for dep in filter(None, (d.strip() for d in value.split(","))):
            alts = [a.split()[0].split(":")[0] for a in dep.split("|")]
            ok = [a for a in alts if debbuild.installed(a)]
            if not ok:
                pytest.skip("the host lacks a package the .deb needs: %s" % dep)
            names.append(ok[0])
    stanzas = []
    for n in names:
        stanzas.append(subprocess.run(["dpkg-query", "-s", n], capture_output=True, text=True,
                                      check=True).stdout.strip() + "\n")
        (admin / "info" / (n + ".list")).write_text("")
    (admin / "status").write_text("\n".join(stanzas))
    (admin / "available").write_text("")
    os.chmod(str(root), 0o755)


def test_install_session_and_purge(deb, acs, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("dpkg --root with chrooted maintainer scripts needs root")
    for tool in ("unshare", "chroot", "dpkg"):
        if shutil.which(tool) is None:
            pytest.skip("%s is not installed" % tool)
    root, out = tmp_path / "root", tmp_path / "out"
    out.mkdir()
    _prepare_root(root, deb.path)
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh",
                        os.path.join(ROOT, "tests", "debroot.sh"), str(root), deb.path, str(out), acs.url],
                       capture_output=True, text=True, timeout=300)
    logs = "".join("\n== %s\n%s" % (n, (out / n).read_text()) for n in
                   ("dpkg-install.log", "session.log", "dpkg-purge.log") if (out / n).exists())
    if r.returncode != 0 and "overlay" in r.stderr:
        pytest.skip("no overlayfs here: %s" % r.stderr.strip())
    assert r.returncode == 0, r.stderr + logs

    # installed: the user exists, the configuration is root:rocket 0640, the state dir rocket's 0700
    modes = (out / "modes.txt").read_text().split("\n")
    assert modes[0].startswith("root:rocket 640 ") and modes[1].startswith("rocket:rocket 700 "), modes
    installed = set((out / "tree-installed.txt").read_text().split())
    assert {"etc/rocket/rocket.conf", "etc/init.d/rocket", "var/lib/rocket"} <= installed
    assert any(p.startswith("etc/systemd/system/multi-user.target.wants/rocket.service") for p in installed)
    assert any(re.match(r"etc/rc[2-5]\.d/S\d\drocket$", p) for p in installed), sorted(installed)

    # the session ran from the installed files, as the unprivileged user
    assert (out / "session.rc").read_text().strip() == "0", logs
    assert len(acs.sessions) == 1 and "DEB-0001" in acs.sessions[0].inform
    assert "<EventCode>1 BOOT</EventCode>" in acs.sessions[0].inform
    assert (out / "state.txt").read_text().split(), "nothing in the state directory"

    # purge: everything of the package is gone; only the system user stays (Debian policy)
    before = set((out / "tree-before.txt").read_text().split())
    after = set((out / "tree-purged.txt").read_text().split())
    left = sorted(p for p in after - before
                  if not p.startswith(("var/lib/dpkg/", "var/log/", "var/cache/", "var/lib/systemd/deb-systemd"))
                  and p not in ("etc/passwd-", "etc/group-", "etc/shadow-", "etc/gshadow-", "etc/.pwd.lock"))
    assert left == [], left
    assert not any("rocket" in p for p in after - before), sorted(after - before)
    assert re.search(r"^rocket:x:\d+:\d+:", (out / "passwd-after").read_text(), re.M)
    assert "rocket" not in (out / "statoverride-after").read_text()
    usr_before = set((out / "usr-before.txt").read_text().split())
    usr_after = set((out / "usr-purged.txt").read_text().split())
    # overlay copy-ups of host directories may remain; no file of the package does
    stray = [p for p in usr_after - usr_before if not os.path.isdir(os.path.join("/usr", p))]
    assert stray == [], stray
