#!/usr/bin/env python3
"""Run a fuzz target: atheris when asked and installed, else a plain mutation loop.

    python3 fuzz/run.py TARGET [-n INPUTS] [--seed S] [--timeout SEC] [--atheris]
    python3 fuzz/run.py all -n 2000          # every target, briefly
    python3 fuzz/run.py --list

The plain loop needs only the standard library: it starts from the seeds in
``fuzz/seeds/TARGET/``, applies 1 to 4 byte-level mutations per input (bit
flips, interesting bytes and numbers, inserted tokens, deleted, repeated
and spliced ranges), and keeps an input in its pool when it produces an
outcome not seen before (a new exception type and message shape): a cheap
stand-in for coverage feedback.

- crash: an exception the target does not document (see targets.py); the
  first input of each distinct crash (type + innermost rocket frame) is
  written to ``fuzz/findings/TARGET/``;
- hang: one input running longer than ``--timeout`` (SIGALRM through
  ``setitimer``), also written there;
- peak RSS: the process's ``ru_maxrss`` at the end.

One summary line per target: ``TARGET inputs=N crashes=C hangs=H
peak_rss_mb=M seconds=S rate=R/s``; exit status 1 if anything was found.
"""

import argparse
import hashlib
import os
import random
import re
import resource
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from targets import TARGETS, Broken  # noqa: E402

TOKENS = [b"-1", b"+5", b"0x10", b"ffffffffffffffffffff", b"9" * 40, b"\r\n", b"\n", b"\r\n\r\n",
          b"\x00", b"\t", b"\\", b"\\0", b"\\0777", b'"', b",", b"=", b";", b":", b"%00",
          b"Transfer-Encoding: chunked\r\n", b"Content-Length: 99999999999\r\n",
          b"Content-Length: -1\r\n", b"HTTP/1.1 100 Continue\r\n\r\n", b"Location: http://[::1\r\n",
          b"<", b">", b"&amp;", b"&#0;", b"]]>", b"<!DOCTYPE x>", b"<![CDATA[", b"xsi:type=\"xsd:int\"",
          b"</", b"cwmp:", b"soap-env:", b"null", b"[]", b"{}", b"[[1,2]]", b'"s"', b"true",
          b"1e999", b"NaN", b"\xff\xfe", b"\xc3\x28", b"\xf0\x9f\x92\xa9",
          b"\x21\x12\xa4\x42", b"\x00\x01\x00\x00", b"\x80\x22", b"\x00\x08\x00\x14",
          b"algorithm=SHA-256-sess", b"qop=auth", b'nonce=""', b"nc=ffffffff", b"Digest ", b"Basic "]


class Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise Hang()


def load_seeds(t):
    out = []
    if os.path.isdir(t.seeds):
        for n in sorted(os.listdir(t.seeds)):
            with open(os.path.join(t.seeds, n), "rb") as f:
                out.append(f.read())
    return out or [b""]


def mutate(rng, data, pool):
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
        op = rng.randrange(10)
        n = len(b)
        i = rng.randrange(n + 1)
        if op == 0 and n:
            b[i % n] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            b[i % n] = rng.choice((0, 0xFF, 0x7F, 0x80, 0x20, 0x2D, 0x30, 0x39, 0x0A, 0x0D, 0x3C))
        elif op == 2:
            b[i:i] = rng.choice(TOKENS)
        elif op == 3 and n:
            j = min(n, i + rng.choice((1, 2, 4, 16, 64, 512)))
            del b[i:j]
        elif op == 4 and n:
            j = min(n, i + rng.choice((1, 4, 16, 64)))
            b[i:i] = bytes(b[i:j]) * rng.choice((2, 8, 64, 512))
        elif op == 5:
            other = rng.choice(pool)
            j = rng.randrange(len(other) + 1)
            b = b[:i] + other[j:j + rng.randrange(1, 256)] + b[i:]
        elif op == 6:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
        elif op == 7:
            m = list(re.finditer(rb"\d+", bytes(b)))
            if m:
                mm = rng.choice(m)
                b[mm.start():mm.end()] = rng.choice((b"-1", b"0", b"4294967296", b"9" * 25,
                                                     b"18446744073709551616", b"00000001", b"-0"))
        elif op == 8 and n:
            del b[i:]
        elif op == 9 and n:
            j = rng.randrange(n)
            b[i % n], b[j] = b[j], b[i % n]
        if len(b) > 200000:
            del b[200000:]
    return bytes(b)


def _where(tb):
    frames = traceback.extract_tb(tb)
    for f in reversed(frames):
        if os.sep + "rocket" + os.sep in f.filename:
            return "%s:%d" % (os.path.basename(f.filename), f.lineno)
    return "%s:%d" % (os.path.basename(frames[-1].filename), frames[-1].lineno) if frames else "?"


def _expected(e, names):
    return any(c.__name__ in names for c in type(e).__mro__)


def _outcome(e):
    if e is None:
        return "ok"
    return type(e).__name__ + ":" + re.sub(r"\d+|'[^']*'|\"[^\"]*\"", "#", str(e))[:40]


def run_plain(t, n, seed, timeout, out_dir, progress):
    run = t.func()
    rng = random.Random(seed)
    pool = load_seeds(t)
    seen = set()
    crashes = {}
    hangs = 0
    signal.signal(signal.SIGALRM, _alarm)
    start = time.monotonic()
    for k in range(n):
        data = pool[k] if k < len(pool) else mutate(rng, rng.choice(pool), pool)
        err = ret = None
        try:
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                ret = run(data)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except Hang:
            hangs += 1
            _save(out_dir, t.name, "hang", data)
            continue
        except Exception as e:  # noqa: B902 (sorted out below)
            if isinstance(e, Broken) or not _expected(e, t.expected):
                key = "%s@%s" % (type(e).__name__, _where(e.__traceback__))
                if key not in crashes:
                    crashes[key] = [0, str(e)[:200]]
                    _save(out_dir, t.name, "crash", data)
                    sys.stderr.write("%s: crash %s: %s\n" % (t.name, key, str(e)[:200]))
                crashes[key][0] += 1
                continue
            err = e
        o = _outcome(err) if err is not None else "ok:%s" % (ret,)
        if o not in seen and len(pool) < 2000:
            seen.add(o)
            pool.append(data)
        if progress and k and k % progress == 0:
            sys.stderr.write("%s: %d inputs, %.0f/s, pool %d\n"
                             % (t.name, k, k / (time.monotonic() - start), len(pool)))
    secs = time.monotonic() - start
    return {"inputs": n, "crashes": sum(c[0] for c in crashes.values()), "unique": sorted(crashes),
            "hangs": hangs, "seconds": secs}


def _save(out_dir, name, kind, data):
    if not out_dir:
        return
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "%s-%s" % (kind, hashlib.sha1(data).hexdigest()[:16])), "wb") as f:
        f.write(data)


def run_atheris(t, n, timeout):
    import shutil
    import tempfile
    import atheris
    with atheris.instrument_imports():
        import rocket  # noqa: F401 (instrumented)
        run = t.func()
    corpus = tempfile.mkdtemp(prefix="rocket-fuzz-%s-" % t.name)
    for s in os.listdir(t.seeds) if os.path.isdir(t.seeds) else ():
        shutil.copy(os.path.join(t.seeds, s), corpus)

    def one(data):
        try:
            run(data)
        except Exception as e:  # noqa: B902
            if isinstance(e, Broken) or not _expected(e, t.expected):
                raise
    atheris.Setup([sys.argv[0], "-runs=%d" % n, "-timeout=%d" % max(1, int(timeout)),
                   "-rss_limit_mb=1024", corpus], one)
    atheris.Fuzz()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("target", nargs="?", help="a target name or 'all'")
    ap.add_argument("-n", type=int, default=10000, help="inputs per target (default 10000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=2.0, help="seconds per input (hang)")
    ap.add_argument("--out", default=os.path.join(HERE, "findings"),
                    help="where crash and hang inputs go ('' for nowhere)")
    ap.add_argument("--progress", type=int, default=0, help="a progress line every N inputs")
    ap.add_argument("--atheris", action="store_true", help="use atheris (coverage-guided)")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args(argv)
    if a.list or not a.target:
        for t in TARGETS.values():
            print("%-14s %s" % (t.name, t.doc))
        return 0
    names = sorted(TARGETS) if a.target == "all" else [a.target]
    if a.atheris:
        return run_atheris(TARGETS[names[0]], a.n, a.timeout)
    found = 0
    for name in names:
        r = run_plain(TARGETS[name], a.n, a.seed, a.timeout, a.out, a.progress)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print("%s inputs=%d crashes=%d hangs=%d peak_rss_mb=%.1f seconds=%.1f rate=%.0f/s%s"
              % (name, r["inputs"], r["crashes"], r["hangs"], rss, r["seconds"],
                 r["inputs"] / max(r["seconds"], 1e-9),
                 (" unique=" + ",".join(r["unique"])) if r["unique"] else ""))
        sys.stdout.flush()
        found += r["crashes"] + r["hangs"]
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
