"""The state directory: small JSON files written atomically, only on change.

Every file is written as temp file -> fsync -> rename -> fsync(dir), so a
power cut leaves either the old or the new version, never a torn one. A file
is rewritten only when its serialized content changed (flash wear). A file
that cannot be read (corrupted by something outside our control) is moved
aside as ``NAME.corrupt`` with a log line, and the default is used.

The directory itself is mode 0700 (it holds credentials and the owner's
history): an existing one that is open to group or others is tightened at
start with a warning, or refused (``StateError``) when that is impossible.
"""

import json
import os

from rocket.log import log


def atomic_write(path, data, mode=0o600, sync=True):
    """Replace ``path`` with ``data`` (bytes) atomically and durably.

    ``sync=False`` skips both fsyncs (still atomic, not durable across a
    power cut): for data whose loss a power cut makes right anyway.
    """
    d = os.path.dirname(path) or "."
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
    os.replace(tmp, path)
    if not sync:
        return
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


class StateError(Exception):
    """The state directory cannot be used (the message says why)."""


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

    def file(self, name):
        return os.path.join(self.path, name + ".json")

    def load(self, name, default):
        p = self.file(name)
        try:
            with open(p, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return default
        except OSError as e:
            log.error("state: cannot read %s: %s", p, e)
            return default
        try:
            value = json.loads(raw.decode("utf-8"))
        except ValueError:
            log.error("state: %s is corrupt, moved aside to %s.corrupt; starting from defaults", p, p)
            try:
                os.replace(p, p + ".corrupt")
            except OSError:
                pass
            return default
        self._last[name] = raw
        return value

    def save(self, name, value, sync=True):
        """Write ``value`` if it differs from what the file holds. True if written."""
        raw = json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")
        if self._last.get(name) == raw:
            return False
        atomic_write(self.file(name), raw, sync=sync)
        self._last[name] = raw
        self.writes += 1
        return True

    def remove(self, name):
        try:
            os.unlink(self.file(name))
        except FileNotFoundError:
            pass
        self._last.pop(name, None)
