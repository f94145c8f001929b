"""The agent's run-time import closure, and who ships each module.

``feature_run(pyz, tmp)`` starts the zipapp under ``python3 -I -S`` through
tests/modtrace.py with every feature switched on (HTTPS + Digest ACS,
HTTPS + Digest file server for a Download and an Upload, HTTP, UDP/STUN and
XMPP connection requests, audit, owner policy, control socket, the shell
backends) and drives each one from here with the real peers, then runs
``ctl`` commands the same way. Returns the union of the modules every one of
those processes had loaded at exit.

``static_closure(python)`` adds what the code could import on paths no
session took: every stdlib module named in an import statement under
rocket/ (function-level lazy imports included), imported in a fresh
``python3 -I -S`` with its own dependencies.

``Split`` maps a module name to the distribution sub-package that ships it,
from packaging/pydeps/*.json (see packaging/pydeps/update.py).
"""

import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from conftest import ROOT, write_conf

PYDEPS = os.path.join(ROOT, "packaging", "pydeps")
MODTRACE = os.path.join(ROOT, "tests", "modtrace.py")


class Split:
    """One distribution's python3 split (packaging/pydeps/NAME.json)."""

    def __init__(self, name):
        with open(os.path.join(PYDEPS, name + ".json")) as f:
            self.data = json.load(f)
        self.packages = self.data["packages"]
        self.owner_of = {}
        for pkg, v in self.packages.items():
            for m in v["modules"]:
                self.owner_of.setdefault(m, pkg)

    def owner(self, module):
        """The sub-package holding ``module``; a submodule of a package goes
        with its package's directory. None: shipped by no sub-package."""
        name = module
        while name:
            if name in self.owner_of:
                return self.owner_of[name]
            name = name.rpartition(".")[0]
        return None

    def closure(self, names):
        """``names`` plus every package they depend on (recorded depends)."""
        out, todo = set(), list(names)
        while todo:
            p = todo.pop()
            if p in out:
                continue
            out.add(p)
            todo += [d for d in self.packages.get(p, {}).get("depends", ()) if d in self.packages]
        return out


def stdlib_only(modules):
    """Drop the agent's own modules (rocket, bundled defusedxml, __main__)."""
    return sorted(m for m in modules if m.split(".")[0] not in ("rocket", "defusedxml", "__main__")
                  and m != "modtrace")


# ------------------------------------------------------------ static
def _imports(path):
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            for a in node.names:  # "from xml.etree import ElementTree" names a module
                yield node.module + "." + a.name


def shipped_sources():
    """rocket/**/*.py as build_zipapp.py ships them (devacs.py stays out)."""
    out = []
    for d, dirs, names in os.walk(os.path.join(ROOT, "rocket")):
        dirs[:] = [x for x in dirs if x not in ("__pycache__", "backends")]
        out += [os.path.join(d, n) for n in names if n.endswith(".py") and n != "devacs.py"]
    return sorted(out)


def static_names():
    """Every module an import statement under rocket/ names (not rocket's own).
    Call it from one thread at a time: CPython 3.11's ast.parse is not
    thread-safe."""
    names = set()
    for path in shipped_sources():
        names.update(n for n in _imports(path) if n.split(".")[0] not in ("rocket", "defusedxml", "__future__"))
    return names


def static_closure(python=sys.executable, names=None):
    names = static_names() if names is None else set(names)
    code = ("import sys, importlib\nfor n in sys.argv[1:]:\n    try:\n        importlib.import_module(n)\n"
            "    except ImportError:\n        pass\nprint('\\n'.join(sorted(sys.modules)))")
    out = subprocess.run([python, "-I", "-S", "-c", code] + sorted(names), capture_output=True, text=True,
                         check=True).stdout.split()
    # importlib itself is the probe's, not the agent's, unless the agent names it
    probe = {"importlib", "importlib._abc", "importlib.machinery", "importlib.util", "importlib._bootstrap",
             "importlib._bootstrap_external"}
    return sorted(set(out) - (probe - names)), sorted(names)


# ------------------------------------------------------------ dynamic
def _traced(python, out, pyz, *args, **kw):
    return subprocess.Popen([python, "-I", "-S", MODTRACE, out, pyz] + list(args), **kw)


def _wait_file(path, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert proc.poll() is None, "the agent exited early"
        assert time.monotonic() < deadline, "timed out waiting for %s" % path
        time.sleep(0.05)


def feature_run(pyz, tmp_path, python=sys.executable):
    """Every feature once, in traced processes. Returns (modules, log text)."""
    import trustme

    from crclient import connection_request
    from fileserver import FileServer
    from peers import Coturn, Prosody, XmppTestClient
    from rocket.devacs import Acs, build_rpc, send_udp_cr
    from transfer_util import download_rpc, hook, upload_rpc

    import ssl
    ca = trustme.CA()
    ca_file = str(tmp_path / "ca.pem")
    ca.cert_pem.write_to_path(ca_file)

    def tls_ctx():
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1").configure_cert(ctx)
        return ctx

    sockdir = tempfile.mkdtemp(prefix="rkp", dir="/tmp")
    peers, procs, dumps = [], [], []
    try:
        prosody = Prosody(tmp_path, users=[("cpe", "cpe-secret"), ("acs", "acs-secret")])
        peers.append(prosody)
        coturn = Coturn(tmp_path)
        peers.append(coturn)
        acs = Acs(tls_context=tls_ctx()).start()
        peers.append(acs)
        acs.auth = ("digest", "cpe", "acs-pw", "SHA-256")
        files = FileServer(tls_context=tls_ctx()).start()
        peers.append(files)
        files.auth = ("digest", "fuser", "fpass")
        files.files["/page"] = b"<html>rocket</html>\n" * 100

        hooks = tmp_path / "hooks"
        hooks.mkdir()
        sock = os.path.join(sockdir, "r.sock")
        policy = tmp_path / "policy.conf"
        shutil.copy(os.path.join(ROOT, "etc", "rocket-policy.conf"), str(policy))
        conf = write_conf(
            tmp_path, acs.url,
            acs={"username": "cpe", "password": "acs-pw", "ca_file": ca_file, "periodic_inform_enable": "false",
                 "get_rpc_methods": "true"},
            backends={"dir": os.path.join(ROOT, "rocket", "backends"), "enabled": "linux"},
            stun={"enable": "true", "server_address": "127.0.0.1", "server_port": coturn.port,
                  "minimum_keepalive": "1"},
            udp_connection_request={"enable": "true", "port": "0", "address": "127.0.0.1"},
            xmpp={"enable": "true", "jid": "cpe@%s/rocket" % prosody.domain, "password": "cpe-secret",
                  "server": "127.0.0.1", "port": prosody.port, "ca_file": prosody.ca_file,
                  "allowed_jids": "acs@%s" % prosody.domain},
            audit={"enable": "true", "file": str(tmp_path / "audit.log")},
            policy={"file": str(policy)},
            control={"socket": sock, "timeout": "5"},
            notify={"settle": "0"},
            transfer={"download_dir": str(tmp_path / "dl"), "timeout": "5",
                      "upload_hook": hook(hooks / "up", 'printf "cfg\\n" > "$ROCKET_OUTPUT"'),
                      "config_hook": hook(hooks / "cfg", "exit 0")},
        )
        acs.queue = [
            build_rpc("GetParameterValues", ["Device.DeviceInfo.", "Device.ManagementServer.URL"]),
            build_rpc("SetParameterValues", ["Device.ManagementServer.PeriodicInformInterval=700"]),
            "<cwmp:GetParameterNames><ParameterPath>Device.IP.</ParameterPath><NextLevel>true</NextLevel>"
            "</cwmp:GetParameterNames>",
            download_rpc(files.url("/page"), "2 Web Content", "web-1", "fuser", "fpass", target="index.html"),
            upload_rpc(files.url("/up/cfg"), key="up-1", user="fuser", password="fpass"),
        ]
        log = open(str(tmp_path / "agent.log"), "w")
        dump = str(tmp_path / "mods-agent.txt")
        dumps.append(dump)
        agent = _traced(python, dump, pyz, "-c", conf, "--boot", stdout=log, stderr=subprocess.STDOUT)
        procs.append(agent)

        def ctl(*args):
            d = str(tmp_path / ("mods-ctl-%d.txt" % len(dumps)))
            dumps.append(d)
            p = _traced(python, d, pyz, "ctl", "--socket", sock, *args, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
            o, e = p.communicate(timeout=30)
            return p.returncode, o + e

        def until(cond, what, timeout=20, step=0.05):
            deadline = time.monotonic() + timeout
            while not cond():
                assert agent.poll() is None, "agent exited:\n" + open(log.name).read()[-3000:]
                assert time.monotonic() < deadline, "timed out: %s\n%s" % (what, open(log.name).read()[-3000:])
                time.sleep(step)

        # boot session (GPV, SPV, GPN, Download, Upload), then the transfer results
        until(lambda: any("TransferComplete" in r for s in acs.sessions for r in s.cpe_requests)
              and "/up/cfg" in files.uploads, "transfers")
        _wait_file(sock, agent)

        def value(path):
            rc, text = ctl("get", path)
            return text.strip().partition("=")[2] if rc == 0 else ""

        # both come up during the first sessions: one ctl process per check, not a busy poll
        until(lambda: value("Device.ManagementServer.UDPConnectionRequestAddress"), "STUN binding", 20, 0.3)
        until(lambda: "xmpp: up" in ctl("status")[1], "XMPP up", 20, 0.3)
        n = len(acs.sessions)
        # HTTP connection request (Digest)
        until(lambda: acs.cr_url, "ConnectionRequestURL")
        connection_request(acs.cr_url, "cr-user", "cr-pass")
        until(lambda: len(acs.sessions) > n and all(s.ended for s in acs.sessions), "HTTP CR session")
        # UDP connection request (TR-111)
        n = len(acs.sessions)
        host, _, port = value("Device.ManagementServer.UDPConnectionRequestAddress").rpartition(":")
        send_udp_cr(host, int(port), "cr-user", "cr-pass")
        until(lambda: len(acs.sessions) > n and all(s.ended for s in acs.sessions), "UDP CR session")
        # XMPP connection request
        n = len(acs.sessions)
        client = XmppTestClient(prosody.port, "acs@%s" % prosody.domain, "acs-secret", prosody.ca_file)
        try:
            iq = client.request("cpe@%s/rocket" % prosody.domain, "cr-user", "cr-pass")
            assert iq.get("type") == "result"
        finally:
            client.close()
        until(lambda: len(acs.sessions) > n and all(s.ended for s in acs.sessions), "XMPP CR session")
        # local control
        for args in (("set", "Device.ManagementServer.PeriodicInformInterval=800"), ("transfers",),
                     ("audit", "--json"), ("audit", "--since", "1h"), ("notify", "Device.DeviceInfo.")):
            rc, text = ctl(*args)
            assert rc == 0, (args, text)
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(30) == 0, open(log.name).read()[-3000:]
        log.close()
        mods = set()
        for d in dumps:
            with open(d) as f:
                mods.update(f.read().split())
        with open(log.name) as f:
            return sorted(mods), f.read()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for p in reversed(peers):
            p.stop()
        shutil.rmtree(sockdir, ignore_errors=True)


# ------------------------------------------------------------ pruned
def _module_files(stdlib, module):
    """Files of ``module`` in ``stdlib``: its .py (or package dir's
    __init__.py) or its extension module in lib-dynload."""
    parts = module.split(".")
    base = os.path.join(stdlib, *parts)
    if os.path.isfile(base + ".py"):
        return [base + ".py"]
    if os.path.isfile(os.path.join(base, "__init__.py")):
        return [os.path.join(base, "__init__.py")]
    if len(parts) == 1:
        dyn = os.path.join(stdlib, "lib-dynload")
        return [os.path.join(dyn, n) for n in os.listdir(dyn) if n.split(".")[0] == module]
    return []


def pruned_python(split, depends, prefix, find_python):
    """A copy of CPython X.Y (the split's version) whose standard library
    holds only the modules of the ``depends`` sub-packages and of those they
    pull in. ``wrapper`` runs it with frozen modules off (a frozen copy of
    a module would hide its absence). Skips when no such CPython is here or
    it builds extension modules in (not OpenWrt's module setup)."""
    import pytest
    xy = split.data["python"].rsplit(".", 1)[0]
    py = find_python(xy)
    if py is None:
        pytest.skip("CPython %s is not installed" % xy)
    info = subprocess.run([py, "-I", "-c", "import sys, sysconfig; print(sysconfig.get_paths()['stdlib']);"
                           "print(' '.join(sys.builtin_module_names))"], capture_output=True, text=True,
                          check=True).stdout.splitlines()
    stdlib, builtins = info[0], info[1].split()
    if "pyexpat" in builtins or "_ssl" in builtins:
        pytest.skip("%s has extension modules built in (not OpenWrt's module setup)" % py)
    keep = split.closure(depends)
    lib = os.path.join(str(prefix), "lib", "python" + xy)
    os.makedirs(os.path.join(lib, "lib-dynload"))
    copied = set()
    for pkg in sorted(keep):
        for m in split.packages[pkg]["modules"]:
            for f in _module_files(stdlib, m):
                dst = os.path.join(lib, os.path.relpath(f, stdlib))
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy2(f, dst)
                copied.add(m)
    os.makedirs(os.path.join(str(prefix), "bin"))
    exe = os.path.join(str(prefix), "bin", "python" + xy)
    shutil.copy2(py, exe)  # a copy, not a link: the prefix is found from the binary's place
    wrapper = os.path.join(str(prefix), "bin", "python-nofrozen")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec "%s" -X frozen_modules=off "$@"\n' % exe)
    os.chmod(wrapper, 0o755)
    return {"exe": exe, "wrapper": wrapper, "lib": lib, "copied": copied, "keep": keep, "split": split}
