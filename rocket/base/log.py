"""Log lines for operators, without the weight of the ``logging`` package.

``logging`` costs about 1 MB of RAM and several milliseconds at every start
(it imports threading, traceback, string, weakref...), for features the agent
never uses. This module gives the same calling convention
(``log.info("session: %s", x)``, ``log.exception(...)``) with two sinks:
stderr (one timestamped line per event, for procd/systemd/sysvinit to keep)
and syslog over ``/dev/log`` (facility daemon), chosen by ``[log] target``.

Every line goes through ``redact``, the last line of defence (code does not
log secrets in the first place). It masks whole values in the places secrets
live, never substrings of other words (a one-letter password must not turn
``/tmp`` into ``/***`` and reveal itself): the userinfo of URLs, the values
of Authorization/Cookie headers, the value after ``NAME=`` or ``NAME:`` when
NAME looks like a secret (password, passphrase, secret, token, psk...), and
a configured secret (``secrets``) appearing as a whole quoted value.

Before ``configure`` is called (the agent embedded in another program, or in
the test suite), records go to the standard ``logging`` logger "rocket" if
that package is loaded, so the host program's logging configuration (and
pytest's caplog) sees them; otherwise to stderr at level INFO.
"""

import os
import sys
import time

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
NAMES = {DEBUG: "DEBUG", INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR"}
_SYSLOG_SEVERITY = {DEBUG: 7, INFO: 6, WARNING: 4, ERROR: 3}
_LOG_DAEMON = 3
# (pattern, replacement) pairs of redact(), compiled at first use
_REDACT = [None, [
    # URL userinfo: scheme://user:password@host -> scheme://***@host
    (r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@?#]*@", r"\1***@"),
    # header values that carry credentials
    (r"(?i)\b((?:proxy-)?authorization|(?:set-)?cookie)(\s*:\s*)[^\r\n]+", r"\1\2***"),
    # NAME=value / NAME: value where NAME names a secret (a quoted value whole)
    (r"(?i)\b([\w.-]*(?:password|passphrase|passwd|secret|token|credential|psk)[\w-]*)"
     r"(\s*[=:]\s*)(?:\"[^\"]*\"|'[^']*'|[^\s,;&'\"]+)", r"\1\2***"),
]]


def level_from_name(name):
    """'info' -> INFO; ValueError for anything else."""
    for lvl, n in NAMES.items():
        if n == name.strip().upper():
            return lvl
    raise ValueError("unknown log level %r" % name)


class Logger:
    DEBUG, INFO, WARNING, ERROR = DEBUG, INFO, WARNING, ERROR

    def __init__(self):
        self.level = INFO
        self.target = None  # None (not configured), "stderr" or "syslog"
        self.secrets = set()
        self.syslog_path = "/dev/log"
        self._sock = None

    # ------------------------------------------------------------ setup
    def configure(self, target="stderr", level="info"):
        lvl = level_from_name(level)
        self.close()
        self.level = lvl
        self.target = "syslog" if target == "syslog" else "stderr"

    def silence(self):
        """No log lines at all (the ctl client: its own messages say enough)."""
        self.configure("stderr", "error")
        self.level = ERROR + 100

    def close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None

    def redact(self, text):
        import re
        if _REDACT[0] is None:
            _REDACT[0] = [(re.compile(p), r) for p, r in _REDACT[1]]
        for rx, rep in _REDACT[0]:
            text = rx.sub(rep, text)
        for s in self.secrets:
            if s and s in text:
                for q in ("'", '"'):
                    text = text.replace(q + s + q, q + "***" + q)
        return text

    # ---------------------------------------------------------- logging
    def isEnabledFor(self, level):
        if self.target is None:
            std = sys.modules.get("logging")
            if std is not None:
                return std.getLogger("rocket").isEnabledFor(level)
        return level >= self.level

    def log(self, level, msg, *args, exc_info=False):
        if self.target is None:
            std = sys.modules.get("logging")
            if std is not None:
                std.getLogger("rocket").log(level, msg, *args, exc_info=exc_info)
                return
        if level < self.level:
            return
        try:
            text = msg % args if args else str(msg)
        except (TypeError, ValueError):
            text = "%s %r" % (msg, args)
        if exc_info:
            import traceback
            text += "\n" + traceback.format_exc().rstrip()
        self._write(level, self.redact(text))

    def debug(self, msg, *args, **kw):
        self.log(DEBUG, msg, *args, **kw)

    def info(self, msg, *args, **kw):
        self.log(INFO, msg, *args, **kw)

    def warning(self, msg, *args, **kw):
        self.log(WARNING, msg, *args, **kw)

    def error(self, msg, *args, **kw):
        self.log(ERROR, msg, *args, **kw)

    def exception(self, msg, *args):
        self.log(ERROR, msg, *args, exc_info=True)

    # ----------------------------------------------------------- sinks
    def _write(self, level, text):
        if self.target == "syslog" and self._syslog(level, text):
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        line = "%s rocket %s %s\n" % (stamp, NAMES.get(level, "INFO"), text)
        try:
            sys.stderr.write(line)
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # no stderr (closed by the init system): nothing better to do

    def _syslog(self, level, text):
        import socket
        prio = _LOG_DAEMON * 8 + _SYSLOG_SEVERITY.get(level, 6)
        data = ("<%d>rocket[%d]: %s" % (prio, os.getpid(), text)).encode("utf-8", "replace")
        for _ in (1, 2):
            try:
                if self._sock is None:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    s.connect(self.syslog_path)
                    self._sock = s
                self._sock.send(data[:8192])
                return True
            except OSError:
                self.close()
        return False


def clean_url(url):
    """``url`` without userinfo, fragment and query values (names are kept)."""
    from urllib.parse import urlsplit, urlunsplit
    if not isinstance(url, str) or not url:
        return url
    try:
        p = urlsplit(url)
        host = p.hostname or ""
        port = p.port
    except ValueError:
        return "(invalid URL)"
    if ":" in host:
        host = "[%s]" % host
    if port:
        host += ":%d" % port
    query = "&".join(q.split("=", 1)[0] + ("=***" if "=" in q else "")
                     for q in p.query.split("&") if q)
    return urlunsplit((p.scheme, host, p.path, query, ""))


log = Logger()
