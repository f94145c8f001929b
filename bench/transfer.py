#!/usr/bin/env python3
"""Download throughput and memory of rocket.fetch, against curl, on loopback.

    python3 bench/transfer.py [--size-mb 100] [--small-mb 10] [--repeat 3] [--tls]

A small threaded server sends a file from disk with sendfile(). The same
file is fetched by rocket (rocket.net.fileclient.FileGet in a fresh ``python3 -I -S``
process, driven by rocket.net.loop.Loop, written to disk) and by
``curl -o FILE``. Reported: MB/s for both and their ratio (best of
--repeat), and the peak RSS of the rocket process for the small and the
big file (streaming: the two must be about equal), next to the floor
(peak RSS of ``python3 -I -S -c "import selectors, socket, http.client,
xml.etree.ElementTree"``). Peak RSS is the process's own VmHWM (ru_maxrss
would carry the parent's high-water mark across fork+exec).

--python PATH runs the rocket side (and the floor) under another
interpreter, e.g. the router's /usr/bin/python3.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable

CHILD = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
from rocket.net.loop import Loop
from rocket.net.fileclient import FileGet
url, out, ca = sys.argv[2], sys.argv[3], sys.argv[4]
loop = Loop()
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
res = []
def tls():
    from rocket.net.acsclient import tls_context
    return tls_context(ca)
t0 = time.monotonic()
g = FileGet(loop, url, fd, lambda c, r: res.append((c, r)), tls_factory=tls, timeout=30)
g.start()
while not res:
    loop.run_once(max_wait=1)
dt = time.monotonic() - t0
os.close(fd)
hwm = [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(res[0][0], dt, os.path.getsize(out), hwm)
"""


def serve(path, ctx):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    size = os.path.getsize(path)

    def handle(c):
        try:
            if ctx is not None:
                c = ctx.wrap_socket(c, server_side=True)
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = c.recv(4096)
                if not d:
                    return
                buf += d
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % size)
            with open(path, "rb") as f:
                if ctx is None:
                    c.sendfile(f)
                else:
                    while True:
                        b = f.read(1 << 20)
                        if not b:
                            break
                        c.sendall(b)
        except OSError:
            pass
        finally:
            c.close()

    def loop():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return srv, srv.getsockname()[1]


def rocket_get(url, out, ca):
    r = subprocess.run([PYTHON, "-I", "-S", "-c", CHILD, ROOT, url, out, ca],
                       check=True, capture_output=True, text=True)
    code, dt, size, rss = r.stdout.split()
    if code != "0":
        raise SystemExit("rocket download failed with %s" % code)
    return float(dt), int(size), int(rss)


def curl_get(url, out, ca):
    args = ["curl", "-s", "-o", out, url]
    if ca:
        args[1:1] = ["--cacert", ca]
    t0 = time.monotonic()
    subprocess.run(args, check=True)
    return time.monotonic() - t0


def floor_rss():
    code = ("import selectors, socket, http.client, xml.etree.ElementTree;"
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')][0])")
    return int(subprocess.run([PYTHON, "-I", "-S", "-c", code], capture_output=True,
                              text=True, check=True).stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=100)
    ap.add_argument("--small-mb", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tls", action="store_true", help="HTTPS (needs trustme)")
    ap.add_argument("--python", default=sys.executable, help="interpreter for the rocket side")
    a = ap.parse_args()
    global PYTHON
    PYTHON = a.python
    tmp = tempfile.mkdtemp(prefix="rocket-bench-")
    try:
        ctx, ca = None, ""
        if a.tls:
            import ssl
            import trustme
            authority = trustme.CA()
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            authority.issue_cert("127.0.0.1").configure_cert(ctx)
            ca = os.path.join(tmp, "ca.pem")
            authority.cert_pem.write_to_path(ca)
        big = os.path.join(tmp, "big.bin")
        small = os.path.join(tmp, "small.bin")
        for path, mb in ((big, a.size_mb), (small, a.small_mb)):
            with open(path, "wb") as f:
                block = os.urandom(1 << 20)
                for _ in range(mb):
                    f.write(block)
        srv_big, port_big = serve(big, ctx)
        srv_small, port_small = serve(small, ctx)
        scheme = "https" if a.tls else "http"
        url_big = "%s://127.0.0.1:%d/big.bin" % (scheme, port_big)
        url_small = "%s://127.0.0.1:%d/small.bin" % (scheme, port_small)
        out = os.path.join(tmp, "out.bin")
        have_curl = shutil.which("curl") is not None
        r_times, c_times, rss_big = [], [], []
        for _ in range(a.repeat):
            dt, size, rss = rocket_get(url_big, out, ca)
            assert size == a.size_mb << 20
            r_times.append(dt)
            rss_big.append(rss)
            os.unlink(out)
            if have_curl:
                c_times.append(curl_get(url_big, out, ca))
                assert os.path.getsize(out) == a.size_mb << 20
                os.unlink(out)
        rss_small = []
        for _ in range(a.repeat):
            dt, size, rss = rocket_get(url_small, out, ca)
            rss_small.append(rss)
            os.unlink(out)
        fl = floor_rss()
        mb = a.size_mb
        print("transfer bench (%s, loopback, %d MB file, best of %d)" % (scheme, mb, a.repeat))
        rocket_mbs = mb / min(r_times)
        print("  rocket.net.fileclient : %8.1f MB/s" % rocket_mbs)
        if c_times:
            curl_mbs = mb / min(c_times)
            print("  curl         : %8.1f MB/s" % curl_mbs)
            print("  ratio rocket/curl throughput: %.2f" % (rocket_mbs / curl_mbs))
        else:
            print("  curl not installed: no ratio")
        print("  peak RSS downloading %3d MB: %6d KiB" % (a.small_mb, min(rss_small)))
        print("  peak RSS downloading %3d MB: %6d KiB" % (mb, min(rss_big)))
        print("  ratio RSS %d MB / %d MB: %.3f" % (mb, a.small_mb, min(rss_big) / min(rss_small)))
        print("  floor (python3 -I -S + selectors, socket, http.client, ElementTree): %d KiB" % fl)
        print("  ratio RSS %d MB download / floor: %.2f" % (mb, min(rss_big) / fl))
        srv_big.close()
        srv_small.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
