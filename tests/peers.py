"""Real protocol peers for the tests: coturn (STUN) and prosody (XMPP).

Each is started on a free loopback port in a temporary directory and
stopped by its PID. When the binary is missing the tests that need it skip
with the reason (CI installs the packages: see .ci/run).
"""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stop(proc):
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


def utc_in(seconds):
    """An xsd:dateTime ``seconds`` from now, in UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))


def wait_for(agent, cond, timeout=20.0):
    """Drive ``agent.loop`` until ``cond()`` holds; fails the test on timeout."""
    assert run_until(agent, cond, timeout), "condition not reached in %.0f s" % timeout


def run_until(agent, cond, timeout=15.0, step=0.05):
    """Drive ``agent.loop`` until ``cond()`` holds; False on timeout."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        agent.loop.run_once(max_wait=step)
    return True


class Coturn:
    def __init__(self, tmp_path, attempts=3):
        exe = shutil.which("turnserver")
        if exe is None:
            pytest.skip("coturn's turnserver is not installed (apt-get install coturn)")
        # A "free" port can be taken between the probe and turnserver's bind
        # (coturn also binds port+1): try a fresh port a few times.
        for attempt in range(attempts):
            self.port = free_port(socket.SOCK_DGRAM)
            self.log = open(os.path.join(str(tmp_path), "turnserver.log"), "w+")
            argv = [exe, "-n", "--stun-only", "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1",
                    "-p", str(self.port), "--no-cli", "--no-tls", "--no-dtls", "--log-file", "stdout",
                    "--simple-log", "--userdb", os.path.join(str(tmp_path), "turndb"),
                    "--pidfile", os.path.join(str(tmp_path), "turnserver.pid")]
            self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
            try:
                self._wait_ready()
                return
            except RuntimeError:
                if attempt == attempts - 1:
                    raise

    def _wait_ready(self):
        from rocket.connreq import stun
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.2)
        try:
            # it answers within a second when it comes up at all; a start that
            # hangs (seen under load) is cheaper to retry on a fresh port
            for _ in range(40):
                if self.proc.poll() is not None:
                    break
                tx = os.urandom(12)
                s.sendto(stun.binding_request(tx), ("127.0.0.1", self.port))
                try:
                    data, _ = s.recvfrom(2048)
                except socket.timeout:
                    continue
                if stun.decode(data).txid == tx:
                    return
        finally:
            s.close()
        self.log.seek(0)
        tail = self.log.read()[-2000:]
        self.stop()
        raise RuntimeError("turnserver did not answer: %s" % tail)

    def stop(self):
        stop(self.proc)
        self.log.close()


PROSODY_CFG = """
run_as_root = true
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
certificates = "{d}"
plugin_paths = {{}}
modules_enabled = {{ "roster"; "saslauth"; "tls"; "ping"; "posix" }}
modules_disabled = {{ "s2s"; "offline" }}
c2s_ports = {{ {port} }}
c2s_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{}}
s2s_interfaces = {{}}
c2s_direct_tls_ports = {{}}
legacy_ssl_ports = {{}}
admin_socket = "{d}/admin.sock"
authentication = "internal_plain"
c2s_require_encryption = true
allow_unencrypted_plain_auth = false
log = {{ info = "{d}/prosody.log"; }}
VirtualHost "{domain}"
  ssl = {{ certificate = "{d}/cert.pem"; key = "{d}/key.pem"; }}
"""


class Prosody:
    """prosody on a loopback port with its own config, certificate (from a
    trustme CA: ``ca_file``) and accounts written as internal_plain files."""

    def __init__(self, tmp_path, domain="rocket.test", users=()):
        exe = shutil.which("prosody")
        if exe is None:
            pytest.skip("prosody is not installed (apt-get install prosody)")
        import trustme
        self.dir = d = os.path.join(str(tmp_path), "prosody")
        os.makedirs(d)
        self.domain = domain
        ca = trustme.CA()
        cert = ca.issue_cert(domain)
        cert.private_key_pem.write_to_path(os.path.join(d, "key.pem"))
        cert.cert_chain_pems[0].write_to_path(os.path.join(d, "cert.pem"))
        self.ca_file = os.path.join(d, "ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        self.port = free_port()
        for user, password in users:
            self.add_user(user, password)
        self.cfg = os.path.join(d, "prosody.cfg.lua")
        with open(self.cfg, "w") as f:
            f.write(PROSODY_CFG.format(d=d, port=self.port, domain=domain))
        self.exe = exe
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "stdout.log"), "a+")
        self.proc = subprocess.Popen([self.exe, "--config", self.cfg, "-F"], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("prosody did not start: %s" % self.logs())

    def add_user(self, user, password):
        host = self.domain.replace(".", "%2e").replace("-", "%2d")
        acc = os.path.join(self.dir, "data", host, "accounts")
        os.makedirs(acc, exist_ok=True)
        lua = password.replace("\\", "\\\\").replace('"', '\\"')
        with open(os.path.join(acc, user + ".dat"), "w") as f:
            f.write('return {\n\t["password"] = "%s";\n};\n' % lua)

    def logs(self):
        out = []
        for name in ("stdout.log", "prosody.log"):
            try:
                with open(os.path.join(self.dir, name)) as f:
                    out.append(f.read()[-3000:])
            except OSError:
                pass
        return "\n".join(out)

    def stop(self):
        stop(self.proc)
        self.log.close()


class XmppTestClient:
    """A blocking XMPP client for the ACS side of the tests (threads and
    blocking sockets are fine in tests). Logs in with rocket.connreq.xmpp's
    protocol class, then sends raw stanzas and reads whole ones back."""

    def __init__(self, port, jid, password, ca_file, resource="acs"):
        import ssl
        from rocket.connreq import xmpp
        local, domain, _ = xmpp.split_jid(jid)
        self.sock = socket.create_connection(("127.0.0.1", port), 10)
        self.sock.settimeout(10)
        p = self.proto = xmpp.XmppProtocol(local, domain, resource, password, lambda *a: "no")
        p.start()
        self._send_out()
        while True:
            for e in self._feed():
                if isinstance(e, xmpp.StartTls):
                    ctx = ssl.create_default_context(cafile=ca_file)
                    self.sock = ctx.wrap_socket(self.sock, server_hostname=domain)
                    p.tls_done()
                    self._send_out()
                elif isinstance(e, xmpp.Connected):
                    self.jid = e.jid
                    return

    def _send_out(self):
        if self.proto.outbox:
            self.sock.sendall(b"".join(self.proto.outbox))
            del self.proto.outbox[:]

    def _feed(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("server closed the stream")
        events = self.proto.feed(data)
        self._send_out()
        return events

    def request(self, to, username, password, iq_id="cr1"):
        """Send a connectionRequest IQ; return the answering <iq> element."""
        from rocket.connreq import xmpp
        self.sock.sendall((
            "<iq type='get' id='%s' to='%s'><connectionRequest xmlns='%s'><username>%s</username>"
            "<password>%s</password></connectionRequest></iq>"
            % (iq_id, to, xmpp.NS_CONNREQ, username, password)).encode())
        return self.wait_iq(iq_id)

    def wait_iq(self, iq_id):
        from rocket.connreq import xmpp
        while True:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("server closed the stream")
            for kind, el in self.proto.reader.feed(data):
                if kind == "stanza" and el.tag == "{%s}iq" % xmpp.NS_CLIENT and el.get("id") == iq_id:
                    return el

    def close(self):
        try:
            self.sock.sendall(b"</stream:stream>")
        except OSError:
            pass
        self.sock.close()
