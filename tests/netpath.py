"""A real network path in namespaces for the diagnostics tests and bench:

    agent (A) --- router 1 --- router 2 --- target (T)
     10.77.1.2   .1.1  .2.1    .2.2  .3.1    10.77.3.2 (HTTP :8080)
                                             10.77.3.53 (dnsmasq)
    fd77:1::2 ...                            fd77:3::2

``tc netem`` sits on router 2's interface towards router 1 (the way back
to the agent), ``tc tbf`` on both ends of the agent's link (the download
direction on router 1, the upload direction on the agent). A kernel
without sch_netem gets ``DelayLine`` instead: router 2 sends the ICMP
messages going back to the agent through a TUN device, where a thread of
this process holds each one for the delay (or drops it) before handing it
back to the kernel, which forwards it on. Namespace
names carry the ``rd-`` prefix and this process id, so two runs never
collide; links are created inside their namespaces. ``in_netns`` lets this
process open a socket inside a namespace (the ACS, the HTTP server).
Everything is removed by ``close``.
"""

import contextlib
import ctypes
import fcntl
import heapq
import os
import select
import struct
import time
import shutil
import socket
import subprocess
import threading

RATE_MBIT = 8
NETEM_DEV = ("r2", "rdr2a")


class Unavailable(Exception):
    """This kernel cannot build the path (the tests skip, saying why)."""


def available():
    """'' when namespaces can be used here, else the reason."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return "%s (iproute2) not installed" % tool
    return ""


_libc = None


def _setns(fd):
    global _libc
    if hasattr(os, "setns"):
        os.setns(fd, 0x40000000)
        return
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, 0x40000000) != 0:
        raise OSError(ctypes.get_errno(), "setns")


@contextlib.contextmanager
def in_netns(name):
    """Run the body (this thread) inside namespace ``name``: sockets made
    there stay there."""
    mine = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        _setns(fd)
        yield
    finally:
        _setns(mine)
        os.close(fd)
        os.close(mine)


class Path:
    def __init__(self):
        tag = "rd-%d-" % os.getpid()
        self.ns = {k: tag + k for k in ("a", "r1", "r2", "t")}
        self.procs = []
        self.created = []

    def sh(self, *argv, check=True):
        r = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
        if check and r.returncode:
            raise RuntimeError("%s: %s" % (" ".join(argv), r.stderr.strip()))
        return r

    def ip(self, ns, *args):
        return self.sh("ip", "-n", self.ns[ns], *args)

    def run(self, ns, *argv, check=True):
        return self.sh("ip", "netns", "exec", self.ns[ns], *argv, check=check)

    def _reap(self):
        """Namespaces (and resolv.conf copies) left by a run that was killed."""
        try:
            names = os.listdir("/run/netns")
        except OSError:
            return
        for n in names:
            parts = n.split("-")
            if len(parts) == 3 and parts[0] == "rd" and parts[1].isdigit() and not os.path.exists(
                    "/proc/" + parts[1]):
                subprocess.run(["ip", "netns", "del", n], capture_output=True)
                shutil.rmtree("/etc/netns/" + n, ignore_errors=True)

    def setup(self):
        self._reap()
        for n in self.ns.values():
            self.sh("ip", "netns", "add", n)
            self.created.append(n)
        for k in self.ns:
            self.ip(k, "link", "set", "lo", "up")
        links = (("a", "rda0", "r1", "rdr1a"), ("r1", "rdr1b", "r2", "rdr2a"), ("r2", "rdr2b", "t", "rdt0"))
        for a, ia, b, ib in links:
            self.sh("ip", "link", "add", ia, "netns", self.ns[a], "type", "veth", "peer", "name", ib,
                    "netns", self.ns[b])
            self.ip(a, "link", "set", ia, "up")
            self.ip(b, "link", "set", ib, "up")
        addrs = (("a", "rda0", "10.77.1.2/24", "fd77:1::2/64"), ("r1", "rdr1a", "10.77.1.1/24", "fd77:1::1/64"),
                 ("r1", "rdr1b", "10.77.2.1/24", "fd77:2::1/64"), ("r2", "rdr2a", "10.77.2.2/24", "fd77:2::2/64"),
                 ("r2", "rdr2b", "10.77.3.1/24", "fd77:3::1/64"), ("t", "rdt0", "10.77.3.2/24", "fd77:3::2/64"))
        for ns, dev, v4, v6 in addrs:
            self.ip(ns, "addr", "add", v4, "dev", dev)
            self.ip(ns, "-6", "addr", "add", v6, "dev", dev, "nodad")
        self.ip("t", "addr", "add", "10.77.3.53/24", "dev", "rdt0")
        for ns, v4, v6 in (("a", "10.77.1.1", "fd77:1::1"), ("r2", "10.77.2.1", "fd77:2::1"),
                           ("t", "10.77.3.1", "fd77:3::1")):
            self.ip(ns, "route", "add", "default", "via", v4)
            self.ip(ns, "-6", "route", "add", "default", "via", v6)
        self.ip("r1", "route", "add", "10.77.3.0/24", "via", "10.77.2.2")
        self.ip("r1", "-6", "route", "add", "fd77:3::/64", "via", "fd77:2::2")
        for ns in ("r1", "r2", "t"):
            self.run(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                     "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0")
        tbf = ("tbf", "rate", "%dmbit" % RATE_MBIT, "burst", "16kb", "latency", "100ms")
        self.run("r1", "tc", "qdisc", "add", "dev", "rdr1a", "root", *tbf)
        self.run("a", "tc", "qdisc", "add", "dev", "rda0", "root", *tbf)
        ns, dev = NETEM_DEV
        self.line = None
        if self.run(ns, "tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", "0ms", check=False).returncode:
            if not os.path.exists("/dev/net/tun"):
                raise Unavailable("the kernel has no sch_netem and there is no /dev/net/tun")
            self.line = DelayLine(self)
        return self

    def netem(self, *args):
        """Set the delay or loss on the way back, e.g. ("delay", "20ms") or ("loss", "100%")."""
        if self.line is not None:
            self.line.set(*args)
            return
        ns, dev = NETEM_DEV
        self.run(ns, "tc", "qdisc", "replace", "dev", dev, "root", "netem", *args)

    def resolv_conf(self, ns, text):
        d = "/etc/netns/" + self.ns[ns]
        os.makedirs(d, exist_ok=True)
        with open(d + "/resolv.conf", "w") as f:
            f.write(text)

    def spawn(self, ns, argv, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[ns]] + list(argv), **kw)
        self.procs.append(p)
        return p

    def close(self):
        if getattr(self, "line", None) is not None:
            self.line.close()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        for n in self.created:
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
            shutil.rmtree("/etc/netns/" + n, ignore_errors=True)


class DelayLine:
    """netem's stand-in (delay, or 100 % loss) for ICMP coming back through
    router 2: policy routing sends it into a TUN device; the thread holds
    each packet ``delay`` seconds, then writes it back for forwarding."""

    def __init__(self, path):
        with in_netns(path.ns["r2"]):
            self.fd = os.open("/dev/net/tun", os.O_RDWR)
            fcntl.ioctl(self.fd, 0x400454CA, struct.pack("16sH", b"rdtun0", 0x0001 | 0x1000))  # TUN, NO_PI
        path.ip("r2", "link", "set", "rdtun0", "up")
        path.run("r2", "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.rdtun0.rp_filter=0")
        for fam, proto in (("-4", "icmp"), ("-6", "ipv6-icmp")):
            path.ip("r2", fam, "route", "add", "default", "dev", "rdtun0", "table", "100")
            path.ip("r2", fam, "rule", "add", "iif", "rdr2b", "ipproto", proto, "lookup", "100")
        self.delay = 0.0
        self.drop = False
        self.stopped = False
        r, self.wake = os.pipe()
        self.thread = threading.Thread(target=self._run, args=(r,), daemon=True)
        self.thread.start()

    def set(self, kind, value):
        if kind == "loss":
            self.drop = value != "0%"
        else:
            self.drop = False
            self.delay = float(value.rstrip("ms")) / 1000.0

    def _run(self, wake):
        held = []
        n = 0
        while not self.stopped:
            timeout = max(0.0, held[0][0] - time.monotonic()) if held else None
            ready, _, _ = select.select([self.fd, wake], [], [], timeout)
            if self.fd in ready:
                pkt = os.read(self.fd, 65536)
                if not self.drop:
                    n += 1
                    heapq.heappush(held, (time.monotonic() + self.delay, n, pkt))
            now = time.monotonic()
            while held and held[0][0] <= now:
                os.write(self.fd, heapq.heappop(held)[2])

    def close(self):
        self.stopped = True
        os.write(self.wake, b"x")
        self.thread.join(5)
        os.close(self.fd)


class FileServer:
    """HTTP/1.1 in a namespace: GET /file?N answers N bytes, PUT reads
    the body; ``heads`` keeps (method, head length received, head length
    sent) per request. A thread per connection (the bench opens several)."""

    def __init__(self, path, ns="t", port=8080):
        with in_netns(path.ns[ns]):
            self.sock = socket.socket()
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("0.0.0.0", port))
            self.sock.listen(16)
        self.heads = []
        self.body = bytes(range(256)) * 4096  # 1 MiB pattern
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, c):
        try:
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = c.recv(4096)
                if not d:
                    return
                buf += d
            head, _, rest = buf.partition(b"\r\n\r\n")
            line = head.split(b"\r\n")[0].split()
            if line[0] == b"GET":
                n = int(line[1].split(b"?")[1]) if b"?" in line[1] else 1000
                out = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % n
                self.heads.append(("GET", len(head) + 4, len(out)))
                c.sendall(out)
                left = n
                while left > 0:
                    k = min(left, len(self.body))
                    c.sendall(self.body[:k])
                    left -= k
            else:
                length = 0
                for h in head.split(b"\r\n")[1:]:
                    k, _, v = h.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v)
                got = len(rest)
                while got < length:
                    d = c.recv(65536)
                    if not d:
                        break
                    got += len(d)
                out = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                self.heads.append(("PUT", len(head) + 4, got))
                c.sendall(out)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.sock.close()
