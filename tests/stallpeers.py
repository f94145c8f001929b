"""Peers that stall at one step of an HTTP(S) exchange, for tests and bench/stall.py.

``Stall(step, tmp_dir, port)`` prepares a URL whose exchange stops at
``step`` and the [dns] configuration the agent must use:

- dns: the host is a name; resolv.conf points at a UDP/TCP DNS server on
  127.53.x.y that never answers (root needed to bind port 53);
- connect: a listening socket whose backlog is full (SYNs are dropped);
- tls: an https URL; the server accepts and never speaks;
- headers / body: left to the caller (an ACS hook or a file server path
  that never answers, or stops in the middle of the body).

``close()`` releases everything.
"""

import os
import socket
import threading

from dnsserver import DnsServer

STEPS = ("dns", "connect", "tls", "headers", "body")


class Stall:
    def __init__(self, step, tmp_dir, http_port, path="/acs"):
        self.step = step
        self.socks = []
        self.dns = None
        self.resolv_conf = os.path.join(str(tmp_dir), "resolv-%s.conf" % step)
        self.hosts = os.path.join(str(tmp_dir), "hosts-%s" % step)
        with open(self.hosts, "w") as f:
            f.write("127.0.0.1 localhost\n")
        ns = "127.0.0.1"
        host, port, scheme = "127.0.0.1", http_port, "http"
        if step == "dns":
            self.dns = DnsServer(mode="silent").start()
            ns, host = self.dns.ip, "acs.stall.test"
        elif step == "connect":
            srv = socket.socket()
            srv.bind(("127.0.0.1", 0))
            srv.listen(0)
            port = srv.getsockname()[1]
            self.socks.append(srv)
            for _ in range(3):  # fill the accept queue: later SYNs are dropped
                c = socket.socket()
                c.setblocking(False)
                try:
                    c.connect(("127.0.0.1", port))
                except BlockingIOError:
                    pass
                self.socks.append(c)
        elif step == "tls":
            srv = socket.socket()
            srv.bind(("127.0.0.1", 0))
            srv.listen(16)
            port, scheme = srv.getsockname()[1], "https"
            self.socks.append(srv)
            threading.Thread(target=self._mute, args=(srv,), daemon=True).start()
        with open(self.resolv_conf, "w") as f:
            f.write("nameserver %s\noptions timeout:30 attempts:1\n" % ns)
        self.url = "%s://%s:%d%s" % (scheme, host, port, path)

    def _mute(self, srv):
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            self.socks.append(c)  # accepted, never answered

    def dns_conf(self):
        return {"resolv_conf": self.resolv_conf, "hosts": self.hosts}

    def close(self):
        if self.dns is not None:
            self.dns.stop()
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


def stall_hook(step, release):
    """An ACS hook answering the Inform by stalling before the headers or
    in the middle of the body, until ``release`` (an Event) is set."""
    def hook(a, h, body):
        if b"<cwmp:Inform>" not in body:
            return False
        try:
            if step == "body":
                h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 5000\r\n\r\n<soap")
                h.wfile.flush()
            release.wait(60)
        except OSError:
            pass
        h.close_connection = True
        return True
    return hook
