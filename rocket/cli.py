"""Command line: ``rocket.pyz [options]`` runs the agent, ``rocket.pyz ctl ...``
talks to a running one over its control socket.

Exit codes: 0 success; 1 the ``--once`` session failed; 2 bad usage or
configuration.
"""

import argparse
import logging
import signal
import sys

from rocket import __version__

log = logging.getLogger("rocket")


class _Redact(logging.Filter):
    """Last line of defence: never let a configured secret reach a log."""

    def __init__(self):
        super().__init__()
        self.secrets = set()

    def filter(self, record):
        if self.secrets:
            msg = record.getMessage()
            hit = False
            for s in self.secrets:
                if s and s in msg:
                    msg = msg.replace(s, "***")
                    hit = True
            if hit:
                record.msg, record.args = msg, ()
        return True


redactor = _Redact()


def setup_logging(target="stderr", level="info"):
    lvl = getattr(logging, level.upper(), None)
    if not isinstance(lvl, int):
        raise ValueError("unknown log level %r" % level)
    root = logging.getLogger("rocket")
    root.handlers[:] = []
    if target == "syslog":
        from logging import handlers
        try:
            h = handlers.SysLogHandler(address="/dev/log", facility=handlers.SysLogHandler.LOG_DAEMON)
            h.setFormatter(logging.Formatter("rocket[%(process)d]: %(message)s"))
        except OSError:
            h = logging.StreamHandler(sys.stderr)
            h.setFormatter(logging.Formatter("rocket: %(levelname)s %(message)s"))
    else:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(asctime)s rocket %(levelname)s %(message)s",
                                         "%Y-%m-%d %H:%M:%S"))
    h.addFilter(redactor)
    root.addHandler(h)
    root.setLevel(lvl)
    root.propagate = False


def _parser():
    p = argparse.ArgumentParser(prog="rocket", description="TR-069 / CWMP agent")
    p.add_argument("-c", "--config", help="INI configuration file (default /etc/rocket/rocket.conf)")
    p.add_argument("--state-dir", help="persistent state directory (overrides [state] dir)")
    p.add_argument("--once", action="store_true", help="run one session, exit 0 on success")
    p.add_argument("--boot", action="store_true", help="this start follows a device boot (1 BOOT)")
    p.add_argument("--log-level", help="debug, info, warning or error")
    p.add_argument("--version", action="version", version="rocket %s" % __version__)
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "ctl":
        from rocket import ctl
        return ctl.main(argv[1:])
    args = _parser().parse_args(argv)
    from rocket.config import Config, ConfigError
    try:
        setup_logging("stderr", args.log_level or "info")
        cfg = Config.load(args.config)
        if args.state_dir:
            cfg.set("state", "dir", args.state_dir)
        setup_logging(cfg.get("log", "target"), args.log_level or cfg.get("log", "level"))
    except (ConfigError, ValueError) as e:
        sys.stderr.write("rocket: %s\n" % e)
        return 2
    for sec, key in (("acs", "password"), ("connection_request", "password")):
        redactor.secrets.add(cfg.get(sec, key))
    from rocket.agent import Agent
    try:
        agent = Agent(cfg, boot=args.boot, once=args.once)
    except ConfigError as e:
        sys.stderr.write("rocket: %s\n" % e)
        return 2
    from rocket import plugins
    plugins.install(agent)
    agent.loop.add_signal(signal.SIGTERM, agent.stop)
    agent.loop.add_signal(signal.SIGINT, agent.stop)
    agent.loop.add_signal(signal.SIGHUP, agent.reload)
    log.info("rocket %s starting (%s, state in %s)%s", __version__, cfg.path or "built-in defaults",
             agent.state.path, ", after boot" if args.boot else "")
    return agent.run()
