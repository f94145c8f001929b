"""Helpers for the software-module tests: packages built with dpkg-deb (and
ipk files built with tar), isolated package roots, ChangeDUState requests."""

import io
import os
import shutil
import subprocess
import tarfile
from xml.sax.saxutils import escape as e

from conftest import ROOT

BACKENDS = os.path.join(ROOT, "rocket", "backends")
BIN = os.path.join(ROOT, "tests", "bin")
VENDOR = "Test Co <pkg@example.net>"

# A real service: a background sleep with a pid file inside the root; the
# sysvinit verbs, and procd's (enable, disable, enabled, running) as
# OpenWrt's rc.common provides them.
SERVICE = r"""#!/bin/sh
R=${DPKG_ROOT:-$(cd "${0%/*}/../.." && pwd)}
[ -n "$ROCKET_TEST_ROOT" ] && R=$ROCKET_TEST_ROOT
PID=$R/run/NAME.pid
running() { [ -f "$PID" ] && kill -0 "$(cat "$PID")" 2>/dev/null; }
case "$1" in
start) running && exit 0; mkdir -p "$R/run"; sleep 300 >/dev/null 2>&1 </dev/null & echo $! > "$PID" ;;
stop) running && kill "$(cat "$PID")"; rm -f "$PID" ;;
status | running) running ;;
enable) mkdir -p "$R/etc/rc.d"; ln -sf ../init.d/NAME "$R/etc/rc.d/S50NAME" ;;
disable) rm -f "$R/etc/rc.d/S50NAME" ;;
enabled) [ -e "$R/etc/rc.d/S50NAME" ] ;;
*) exit 3 ;;
esac
"""


def build_deb(out_dir, name, version, depends="", preinst=None, service=False, payload=0, postinst=None):
    d = os.path.join(out_dir, "src-%s-%s" % (name, version))
    os.makedirs(os.path.join(d, "DEBIAN"))
    ctl = ("Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: %s\nDescription: test package %s\n"
           " built by the tests\n" % (name, version, VENDOR, name))
    if depends:
        ctl += "Depends: %s\n" % depends
    with open(os.path.join(d, "DEBIAN", "control"), "w") as f:
        f.write(ctl)
    for script, body in (("preinst", preinst), ("postinst", postinst)):
        if body is not None:
            p = os.path.join(d, "DEBIAN", script)
            with open(p, "w") as f:
                f.write("#!/bin/sh\n" + body + "\n")
            os.chmod(p, 0o755)
    os.makedirs(os.path.join(d, "usr", "share", name))
    with open(os.path.join(d, "usr", "share", name, "VERSION"), "w") as f:
        f.write(version + "\n")
    if payload:
        with open(os.path.join(d, "usr", "share", name, "payload"), "wb") as f:
            f.write(os.urandom(payload))
    if service:
        os.makedirs(os.path.join(d, "etc", "init.d"))
        p = os.path.join(d, "etc", "init.d", name)
        with open(p, "w") as f:
            f.write(SERVICE.replace("NAME", name))
        os.chmod(p, 0o755)
    out = os.path.join(out_dir, "%s_%s_all.deb" % (name, version))
    subprocess.check_call(["dpkg-deb", "--build", "--root-owner-group", d, out], stdout=subprocess.DEVNULL)
    with open(out, "rb") as f:
        return f.read()


def dpkg_root(path):
    admin = os.path.join(path, "var", "lib", "dpkg")
    for sub in ("info", "updates", "triggers"):
        os.makedirs(os.path.join(admin, sub), exist_ok=True)
    for f in ("status", "available"):
        open(os.path.join(admin, f), "a").close()
    os.makedirs(os.path.join(path, "etc", "init.d"), exist_ok=True)
    return path


def _tar_gz(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data, mode in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = mode
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def build_ipk(name, version, service=False):
    """An OpenWrt-style ipk: a tar.gz of debian-binary, control.tar.gz, data.tar.gz."""
    ctl = ("Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: %s\nDescription: test ipk %s\n"
           % (name, version, VENDOR, name)).encode()
    data = [("./usr/share/%s/VERSION" % name, version.encode() + b"\n", 0o644)]
    if service:
        data.append(("./etc/init.d/%s" % name, SERVICE.replace("NAME", name).encode(), 0o755))
    return _tar_gz([("./debian-binary", b"2.0\n", 0o644), ("./control.tar.gz", _tar_gz([("./control", ctl, 0o644)]), 0o644),
                    ("./data.tar.gz", _tar_gz(data), 0o644)])


def link_backends(dest, names=("swmod-dpkg", "swmod-opkg", "swmod-service", "lib.sh")):
    os.makedirs(dest, exist_ok=True)
    for n in names:
        p = os.path.join(dest, n)
        if not os.path.exists(p):
            shutil.copy(os.path.join(BACKENDS, n), p)
    return dest


def op(kind, member=False, **args):
    """One operation: an ``<Operations xsi:type=...>`` element, or (member=True)
    an ``<InstallOpStruct>``... member for the SOAP array form."""
    order = {"Install": ("URL", "UUID", "Username", "Password", "ExecutionEnvRef"),
             "Update": ("UUID", "Version", "URL", "Username", "Password"),
             "Uninstall": ("UUID", "Version", "ExecutionEnvRef")}[kind]
    inner = "".join("<%s>%s</%s>" % (k, e(args[k]), k) for k in order if k in args)
    if member:
        return "<%sOpStruct>%s</%sOpStruct>" % (kind, inner, kind)
    return '<Operations xsi:type="cwmp:%sOpStruct">%s</Operations>' % (kind, inner)


def cdus(ops, key="k1", array=False):
    body = "".join(ops)
    if array:
        body = '<Operations soap-enc:arrayType="cwmp:OperationStruct[%d]">%s</Operations>' % (len(ops), body)
    return "<cwmp:ChangeDUState>%s<CommandKey>%s</CommandKey></cwmp:ChangeDUState>" % (body, e(key))


def gpv(*names):
    return ('<cwmp:GetParameterValues><ParameterNames soap-enc:arrayType="xsd:string[%d]">%s'
            '</ParameterNames></cwmp:GetParameterValues>' % (len(names), "".join("<string>%s</string>" % n
                                                                                 for n in names)))


def spv(*items, key="pk"):
    members = "".join('<ParameterValueStruct><Name>%s</Name><Value xsi:type="xsd:%s">%s</Value>'
                      '</ParameterValueStruct>' % (n, t, v) for n, v, t in items)
    return ('<cwmp:SetParameterValues><ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[%d]">%s'
            '</ParameterList><ParameterKey>%s</ParameterKey></cwmp:SetParameterValues>' % (len(items), members, key))
