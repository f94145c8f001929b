"""The state directory: small JSON files written atomically, only on change,
each with its previous generation kept beside it.

What it is for: pending events, attributes, transfer records... that must
survive a crash or a power cut. Not for bulk data (downloads, the audit log).

Theory of operation:
- A save writes ``NAME.json.tmpPID`` and fsyncs it, links the current
  ``NAME.json`` as ``NAME.json.1`` (the previous generation; renamed where
  the file system has no hard links), renames the temp file to
  ``NAME.json`` and fsyncs the directory. A power cut at any point leaves
  ``NAME.json`` or ``NAME.json.1`` (or both) whole; never a torn file under
  either name. A file is rewritten only when its serialized
  content changed (flash wear).
- A load validates the document's shape (``shape``: by default the type of
  the default value). A file that cannot be read, is not JSON or has the
  wrong shape is moved aside as ``NAME.json.corrupt`` and the previous
  generation is used; only when both are damaged does the default apply.
  Either way one log line says what was lost.
- ``lock()`` (the daemon, at start): one agent per state directory
  (``flock`` on ``lock``), then temp files of interrupted writes are removed.

The directory itself is mode 0700 (it holds credentials and the owner's
history): an existing one that is open to group or others is tightened at
start with a warning, or refused (``StateError``) when that is impossible.
"""

import json
import os
import time

from rocket.base.log import log

# What each document holds, for the log line that says what a corruption lost.
WHAT = {"events": "pending events", "changed": "parameters of the pending 4 VALUE CHANGE",
        "params": "ParameterKey and parameter attributes", "overrides": "values the ACS set",
        "session": "bootstrap state", "boot": "last boot id", "transfers": "transfer records",
        "connreq": "connection request URL", "notify": "value-change baseline",
        "static": "changes to the static data model", "informparams": "InformParameter objects",
        "udpcr": "last UDP connection request", "xmpp": "JabberID",
        "instances": "instance numbers of backend keys", "duops": "ChangeDUState records",
        "swmod": "software module numbers and UUIDs", "diag": "diagnostics state",
        "reboots": "the due time of a delayed reboot"}


def shape(v, spec):
    """True if ``v`` matches ``spec``: None (anything), a type, a tuple of
    alternatives, ``[spec]`` (a list of), ``[s1, s2...]`` (a list of exactly
    those), ``{"key": spec}`` (a dict whose listed keys, when present, match),
    ``{"*": spec}`` (a dict of str to spec), or a callable."""
    if spec is None:
        return True
    if isinstance(spec, type):
        return isinstance(v, spec) and not (spec is int and isinstance(v, bool))
    if isinstance(spec, tuple):
        return any(shape(v, s) for s in spec)
    if isinstance(spec, list):
        if not isinstance(v, list):
            return False
        if len(spec) == 1:
            return all(shape(x, spec[0]) for x in v)
        return len(v) == len(spec) and all(shape(x, s) for x, s in zip(v, spec))
    if isinstance(spec, dict):
        if not isinstance(v, dict):
            return False
        if "*" in spec:
            return all(isinstance(k, str) and shape(x, spec["*"]) for k, x in v.items())
        return all(shape(v[k], s) for k, s in spec.items() if k in v)
    return bool(spec(v))


def _fsync_dir(d):
    try:
        dfd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def atomic_write(path, data, mode=0o600, sync=True, keep=None):
    """Replace ``path`` with ``data`` (bytes) atomically and durably.

    ``sync=False`` skips both fsyncs (still atomic, not durable across a
    power cut): for data whose loss a power cut makes right anyway.
    ``keep``: where the current file is kept first (its previous
    generation: a hard link, or a rename without hard links).
    """
    tmp = "%s.tmp%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    if keep and os.path.exists(path):
        # A hard link keeps the previous generation without a moment in
        # which ``path`` is missing (a crash there would lose the current one).
        try:
            os.unlink(keep)
        except FileNotFoundError:
            pass
        try:
            os.link(path, keep)
        except OSError:  # no hard links here: rename, as before
            os.replace(path, keep)
    os.replace(tmp, path)
    if sync:
        _fsync_dir(os.path.dirname(path) or ".")


class StateError(Exception):
    """The state directory cannot be used (the message says why)."""


class StateLocked(StateError):
    """Another agent holds the state directory."""


def _prepare(path):
    """Create ``path`` 0700, or tighten an existing one; StateError if impossible."""
    if not path:
        raise StateError("state directory: no path configured ([state] dir)")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.stat(path)
    except OSError as e:
        raise StateError("state directory %s: %s" % (path, e.strerror or e)) from None
    mode = st.st_mode & 0o777
    if mode & 0o077:
        try:
            os.chmod(path, 0o700)
        except OSError as e:
            raise StateError("state directory %s is mode %04o (open to group/others) and cannot be "
                             "made 0700: %s" % (path, mode, e.strerror)) from None
        log.warning("state: %s was mode %04o; tightened to 0700", path, mode)
    if not os.access(path, os.W_OK | os.X_OK):
        raise StateError("state directory %s is not writable by this user" % path)


class StateDir:
    """Named JSON documents in one directory."""

    def __init__(self, path):
        self.path = path
        _prepare(path)
        self._last = {}  # name -> bytes last written or read
        self.writes = 0  # fsynced writes done, for benchmarks and tests
        self._lock_fd = None

    def file(self, name):
        return os.path.join(self.path, name + ".json")

    def lock(self):
        """Take the state directory for this process (StateLocked if another
        agent has it), then remove temp files that interrupted writes left."""
        import fcntl
        fd = os.open(os.path.join(self.path, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StateLocked("state directory %s is in use by another agent" % self.path) from None
        self._lock_fd = fd
        self.clean_temp()

    def clean_temp(self):
        """Remove ``*.tmpNNN`` files (interrupted writes) here and one level down."""
        removed = 0
        dirs = [self.path]
        for d in dirs:
            try:
                names = os.listdir(d)
            except OSError:
                continue
            for n in names:
                p = os.path.join(d, n)
                base, dot, pid = n.rpartition(".tmp")
                if dot and base and pid.isdigit():
                    try:
                        os.unlink(p)
                        removed += 1
                    except OSError:
                        pass
                elif d == self.path and os.path.isdir(p) and not os.path.islink(p):
                    dirs.append(p)
        if removed:
            log.info("state: removed %d temp file(s) of interrupted writes", removed)
        return removed

    def _read(self, p, spec):
        """(value, None) or (None, reason); reason "" when the file is absent."""
        try:
            with open(p, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return None, ""
        except OSError as e:
            return None, "unreadable (%s)" % (e.strerror or e)
        try:
            value = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):
            return None, "corrupt"
        if not shape(value, spec):
            return None, "of the wrong shape"
        return (value, raw), None

    def load(self, name, default, spec=()):
        """The document ``name``, checked against ``spec`` (default: the
        type of ``default``); see the module docstring for damaged files."""
        if spec == ():
            spec = type(default) if default is not None else None
        p = self.file(name)
        got, why = self._read(p, spec)
        if got is not None:
            self._last[name] = got[1]
            return got[0]
        old, why1 = self._read(p + ".1", spec)
        what = WHAT.get(name, name)
        if why:
            try:
                stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.stat(p).st_mtime))
                os.replace(p, p + ".corrupt")
            except OSError:
                stamp = "?"
        if old is not None:
            # keep the recovered generation as the current one's previous
            self._last[name] = None
            if why:
                log.error("state: %s is %s (moved aside to %s.corrupt): %s recovered from %s.1; "
                          "lost: the change saved at %s", p, why, p, what, p, stamp)
            else:
                log.warning("state: %s is missing (interrupted write): %s recovered from %s.1",
                            p, what, p)
            return old[0]
        if why:
            log.error("state: %s is %s (moved aside to %s.corrupt) and %s; lost: %s; "
                      "starting from defaults", p, why, p,
                      "%s.1 is %s" % (p, why1) if why1 else "no previous generation exists", what)
        elif why1:
            log.error("state: %s is missing and %s.1 is %s; lost: %s; starting from defaults",
                      p, p, why1, what)
        return default

    def save(self, name, value, sync=True):
        """Write ``value`` if it differs from what the file holds. True if written."""
        raw = json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")
        if self._last.get(name) == raw:
            return False
        p = self.file(name)
        atomic_write(p, raw, sync=sync, keep=p + ".1")
        self._last[name] = raw
        self.writes += 1
        return True

    def remove(self, name):
        p = self.file(name)
        for f in (p, p + ".1"):
            try:
                os.unlink(f)
            except FileNotFoundError:
                pass
        self._last.pop(name, None)
