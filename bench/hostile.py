#!/usr/bin/env python3
"""Peak memory of a session fed hostile input, as ratios to the floor.

    .venv/bin/python bench/hostile.py [--python /usr/bin/python3] [--size-mb 50]

Each case runs the built zipapp once (``python3 -I -S rocket.pyz --once``,
through bench/core.py's LAUNCH so the process reports its own VmHWM)
against the development ACS on 127.0.0.1, which answers the Inform (or
the empty POST) with:

- normal: a plain session (InformResponse, one GetParameterValues, 204);
- huge-length: a --size-mb body announced with Content-Length;
- huge-chunked: the same body with chunked transfer encoding;
- neg-chunked: chunked, with a chunk size of ``-1`` followed by the same
  body (http.client would read it to the end of the stream);
- laughs: the billion-laughs entity bomb as an ACS request;
- xxe: an external entity pointing at a local file, as an ACS request;
- nested: an ACS request nested 100,000 elements deep;
- wide: an ACS request of ~4 MB holding a million empty elements;
- max-garbage: [acs] max_body bytes of non-XML, as an ACS request;
- gzip-bomb: --size-mb of zeros gzip-compressed (about 1/1000 of that on
  the wire) with ``Content-Encoding: gzip``: refused at [acs] max_body
  bytes once decompressed.

Then downloads (rocket.net.fileclient.FileGet from the zipapp in a fresh
``python3 -I -S``) from a raw loopback file server sending --size-mb after:

- dl-neg-chunk: a chunk size line ``-1``;
- dl-signed-chunk: a chunk size line ``+1000``;
- dl-short-length: ``Content-Length: 4000000000`` and then closing early.

The outcome is the transfer's fault code (9017 expected) and seconds taken.

Printed: exit status (0: session ok, 1: failed cleanly), the session's
outcome, peak RSS and its difference to the floor (peak RSS of
``python3 -I -S -c "import selectors, socket, http.client,
xml.etree.ElementTree"``). Nothing is asserted.
"""

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from core import FLOOR_HWM, build, hwm_of, launch, write_conf  # noqa: E402
from rocket.devacs import Acs, build_rpc  # noqa: E402

HEAD = ('<?xml version="1.0"?>\n%s<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/'
        'soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><soap-env:Header><cwmp:ID '
        'soap-env:mustUnderstand="1">b1</cwmp:ID></soap-env:Header><soap-env:Body>')
TAIL = "</soap-env:Body></soap-env:Envelope>"
GPV = "<cwmp:GetParameterValues><ParameterNames><string>%s</string></ParameterNames></cwmp:GetParameterValues>"


def laughs():
    dtd = "<!DOCTYPE l [<!ENTITY l0 \"lol\">" + "".join(
        '<!ENTITY l%d "%s">' % (i, ("&l%d;" % (i - 1)) * 10) for i in range(1, 10)) + "]>"
    return ((HEAD % dtd) + GPV % "&l9;" + TAIL).encode()


def xxe():
    return ((HEAD % '<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>') + GPV % "&x;"
            + TAIL).encode()


def nested(depth=100000):
    return ((HEAD % "") + GPV.replace("</cwmp:", "<X>%s</X></cwmp:" % ("<a>" * depth + "</a>" * depth), 1)
            % "Device.DeviceInfo.SerialNumber" + TAIL).encode()


def neg_chunk_hook(total):
    def hook(a, h, body):
        if b"<cwmp:Inform>" not in body:
            return False
        try:
            h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n-1\r\n")
            block = b"<a>" * 21845 + b"x"
            sent = 0
            while sent < total:
                h.wfile.write(block)
                sent += len(block)
        except OSError:
            pass
        h.close_connection = True
        return True
    return hook


DL_CHILD = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
from rocket.net.loop import Loop
from rocket.net.fileclient import FetchError, FileGet
loop = Loop()
fd = os.open(sys.argv[3], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
res = []
t0 = time.monotonic()
g = FileGet(loop, sys.argv[2], fd, lambda c, r: res.append((c, r)), timeout=30)
try:
    g.start()
except FetchError as e:
    res.append((e.code, e.reason))
while not res:
    loop.run_once(max_wait=1)
hwm = [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(res[0][0], time.monotonic() - t0, hwm)
"""


def raw_server(head, total, close_early=False):
    """A loopback server answering every GET with ``head`` then ``total`` bytes."""
    import socket
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)

    def handle(c):
        try:
            c.recv(65536)
            c.sendall(head)
            block = b"x" * 65536
            sent = 0
            while sent < total:
                c.sendall(block)
                sent += len(block)
        except OSError:
            pass
        finally:
            c.close()

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(c,), daemon=True).start()
    threading.Thread(target=serve, daemon=True).start()
    return srv, "http://127.0.0.1:%d/f" % srv.getsockname()[1]


def huge_hook(total, chunked):
    def hook(a, h, body):
        if b"<cwmp:Inform>" not in body:
            return False
        try:
            h.send_response(200)
            h.send_header("Content-Type", "text/xml")
            h.send_header("Transfer-Encoding" if chunked else "Content-Length",
                          "chunked" if chunked else str(total))
            h.end_headers()
            block = b"<a>" * 21845 + b"x"
            sent = 0
            while sent < total:
                h.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
                sent += len(block)
        except OSError:
            pass
        h.close_connection = True
        return True
    return hook


def gzip_bomb_hook(total):
    import zlib
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    bomb = b"".join(z.compress(block) for _ in range(total >> 20)) + z.flush()

    def hook(a, h, body):
        if b"<cwmp:Inform>" not in body:
            return False
        a._reply(h, 200, bomb, [("Content-Encoding", "gzip")])
        return True
    return hook


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--size-mb", type=int, default=50)
    ap.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    a = ap.parse_args()
    only = set(filter(None, a.cases.split(",")))
    py = a.python
    with tempfile.TemporaryDirectory() as d:
        pyz = os.path.join(d, "rocket.pyz")
        build(pyz)
        p = subprocess.run([py, "-I", "-S", "-c", FLOOR_HWM], capture_output=True, text=True)
        floor = hwm_of(p.stderr)
        print("interpreter: %s" % py)
        print("floor peak RSS: %d KiB" % floor)
        print("%-14s %4s  %-34s %10s %10s" % ("case", "exit", "outcome", "peak KiB", "vs floor"))
        total = a.size_mb * 1024 * 1024
        gpv = build_rpc("GetParameterValues", ["Device.DeviceInfo.SerialNumber"])
        cases = [
            ("normal", dict(queue=[gpv])),
            ("huge-length", dict(hook=huge_hook(total, False))),
            ("huge-chunked", dict(hook=huge_hook(total, True))),
            ("neg-chunked", dict(hook=neg_chunk_hook(total))),
            ("laughs", dict(queue=[laughs(), gpv])),
            ("xxe", dict(queue=[xxe(), gpv])),
            ("nested", dict(queue=[nested(), gpv])),
            ("wide", dict(queue=[((HEAD % "") + "<cwmp:X>" + "<a/>" * 1000000 + "</cwmp:X>"
                                  + TAIL).encode(), gpv])),
            ("max-garbage", dict(queue=[bytes(range(256)) * (4 * 1024 * 1024 // 256), gpv])),
            ("gzip-bomb", dict(hook=gzip_bomb_hook(total))),
        ]
        for i, (name, setup) in enumerate(cases):
            if only and name not in only:
                continue
            with Acs() as acs:
                for k, v in setup.items():
                    setattr(acs, k, v)
                conf = write_conf(os.path.join(d, "c%d" % i), acs.url)
                secs, rc, hwm = launch(py, pyz, conf, 0, "--once", "--boot")
                faults = [r for s in acs.sessions for _, r in s.answers if b"<FaultCode>" in r]
                outcome = ("ok, %d fault answer%s" % (len(faults), "" if len(faults) == 1 else "s")
                           if rc == 0 else "session failed cleanly")
                print("%-14s %4d  %-34s %10d %+9d (x%.2f)"
                      % (name, rc, outcome, hwm, hwm - floor, hwm / floor))
        dl = [("dl-neg-chunk", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n"),
              ("dl-signed-chunk", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+1000\r\n"),
              ("dl-short-length", b"HTTP/1.1 200 OK\r\nContent-Length: 4000000000\r\n\r\n")]
        for name, head in dl:
            if only and name not in only:
                continue
            srv, url = raw_server(head, total)
            try:
                p = subprocess.run([py, "-I", "-S", "-c", DL_CHILD, pyz, url, os.path.join(d, "dl")],
                                   capture_output=True, text=True, timeout=600)
            finally:
                srv.close()
            try:
                code, secs, hwm = p.stdout.split()
                outcome = "fault %s in %.2f s" % (code, float(secs))
                hwm = int(hwm)
            except ValueError:
                print("%-14s failed: %s" % (name, p.stderr.strip()[-200:]))
                continue
            print("%-14s %4d  %-34s %10d %+9d (x%.2f)"
                  % (name, p.returncode, outcome, hwm, hwm - floor, hwm / floor))


if __name__ == "__main__":
    main()
