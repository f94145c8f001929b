"""The control socket's client: ``rocket.pyz ctl [--socket PATH | -c CONFIG]
[--timeout S] COMMAND ARGS...`` sends one request (rocket.owner.ctl says
which) and prints the answer's lines; exit 0 on "ok", 1 on "error", 2 when
it cannot reach the agent or the usage is wrong. Not for: the server side
(rocket.owner.ctl), which the agent runs.
"""

import socket
import sys

from rocket.base.log import log
from rocket.datamodel.records import escape
from rocket.owner.ctl import socket_path

_USAGE = """usage: rocket ctl [--socket PATH | -c CONFIG] [--timeout SECONDS] COMMAND [ARGS...]

commands:
  status                 last/next session, retry count, pending events, ACS URL
  inform [EVENT]         start a session now ("2 PERIODIC" or "X OUI NAME")
  notify PREFIX...       re-check notifying parameters under PREFIX
  get PATH...            print PATH=VALUE lines
  set PATH=VALUE...      write values locally (all or nothing)
  audit [--since TIME] [--path PREFIX] [--json]
                         what the ACS did (reads the audit files: needs no running agent;
                         a running one is first asked to write out what it holds in RAM)
  transfers              list the journalled transfers and device operations
  autonomous FIELD=VALUE...
                         report a transfer the device did on its own
                         (AutonomousTransferComplete); fields: file_type (required),
                         is_download, transfer_url, announce_url, file_size, target,
                         fault_code, fault_string, start, complete
  request-download FILETYPE [NAME=VALUE...]
                         ask the ACS for a file (RequestDownload, "9 REQUEST DOWNLOAD")
  dhcp-acs FIELD=VALUE...
                         what DHCP said about the ACS (the dhcp-* hooks): url, provcode,
                         retry_min, retry_mult, source
"""


def request_line(cmd, args):
    """The request line for a command and its arguments (client side)."""
    if cmd == "set":
        if not args:
            raise ValueError("set needs PATH=VALUE")
        for a in args:
            if "=" not in a:
                raise ValueError("expected PATH=VALUE, got %r" % a)
        return "set " + "\t".join(escape(a) for a in args)
    if cmd == "inform":
        return ("inform " + " ".join(args)).rstrip()
    if cmd in ("get", "notify"):
        if not args:
            raise ValueError("%s needs at least one path" % cmd)
        for a in args:
            if not a or any(c.isspace() for c in a):
                raise ValueError("a path has no spaces: %r" % a)
        return cmd + " " + " ".join(args)
    if cmd in ("status", "transfers"):
        if args:
            raise ValueError("%s takes no arguments" % cmd)
        return cmd
    if cmd == "request-download":
        return cmd + " " + "\t".join(escape(a) for a in args)
    if cmd in ("autonomous", "dhcp-acs"):
        for a in args:
            if "=" not in a:
                raise ValueError("expected FIELD=VALUE, got %r" % a)
        return cmd + " " + "\t".join(escape(a) for a in args)
    raise ValueError("unknown command %r" % cmd)


def call(path, line, timeout=30.0):
    """Send one request line to the socket at ``path``; returns the answer (str)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(line.encode("utf-8", "surrogateescape") + b"\n")
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    finally:
        s.close()
    return b"".join(chunks).decode("utf-8", "replace")


def main(argv):
    """``rocket.pyz ctl ...``; a reader that stops early (``| head``) ends it quietly."""
    try:
        rc = _main(argv)
        sys.stdout.flush()
        return rc
    except BrokenPipeError:
        import os
        # nothing more can be written; keep the interpreter's final flush quiet too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _main(argv):
    args = list(argv)
    sock = conf = None
    timeout = 30.0
    while args and args[0].startswith("-"):
        opt = args.pop(0)
        if opt in ("-h", "--help"):
            sys.stdout.write(_USAGE)
            return 0
        if opt == "--":
            break
        if not args:
            sys.stderr.write("rocket ctl: %s needs a value\n%s" % (opt, _USAGE))
            return 2
        val = args.pop(0)
        if opt == "--socket":
            sock = val
        elif opt in ("-c", "--config"):
            conf = val
        elif opt == "--timeout":
            try:
                timeout = float(val)
            except ValueError:
                sys.stderr.write("rocket ctl: --timeout needs a number\n")
                return 2
        else:
            sys.stderr.write("rocket ctl: unknown option %s\n%s" % (opt, _USAGE))
            return 2
    if not args:
        sys.stderr.write(_USAGE)
        return 2
    if args[0] == "audit":
        # The files are read directly; a running agent is first asked (briefly,
        # if it is there at all) to write out what it still holds in RAM.
        try:
            if sock is None:
                from rocket.base.config import Config
                log.silence()
                sock = socket_path(Config.load(conf))
            call(sock, "audit-flush", min(timeout, 2.0))
        except Exception:  # no agent, no socket, a bad configuration: read what is on disk
            pass
        from rocket.owner import audit
        return audit.ctl_main((["-c", conf] if conf else []) + args[1:])
    try:
        line = request_line(args[0], args[1:])
    except ValueError as e:
        sys.stderr.write("rocket ctl: %s\n" % e)
        return 2
    if sock is None:
        from rocket.base.config import Config, ConfigError
        log.silence()
        try:
            sock = socket_path(Config.load(conf))
        except ConfigError as e:
            sys.stderr.write("rocket ctl: %s\n" % e)
            return 2
    try:
        answer = call(sock, line, timeout)
    except OSError as e:
        sys.stderr.write("rocket ctl: cannot talk to the agent at %s: %s\n" % (sock, e.strerror or e))
        return 2
    head, _, body = answer.partition("\n")
    if head == "ok":
        sys.stdout.write(body)
        return 0
    if head.startswith("error: "):
        sys.stderr.write("rocket ctl: %s\n" % head[7:])
        if body:
            sys.stderr.write(body)
        return 1
    sys.stderr.write("rocket ctl: unexpected answer from the agent: %r\n" % answer[:200])
    return 1
