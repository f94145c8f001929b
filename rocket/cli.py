"""Command line: ``rocket.pyz [options]`` runs the agent, ``rocket.pyz ctl ...``
talks to a running one over its control socket, ``rocket.pyz sim ...`` runs
a fleet of simulated CPEs (rocket.sim).

Exit codes: 0 success; 1 the ``--once`` session failed; 2 bad usage or
configuration.
"""

import sys

from rocket import __version__
from rocket.base.log import log


def setup_logging(target="stderr", level="info"):
    """Log lines to stderr or syslog from now on (rocket.base.log)."""
    log.configure(target, level)


BOOT_ID = "/proc/sys/kernel/random/boot_id"


def boot_flag(mode, state, boot_id_file=BOOT_ID):
    """Is this start the first one since the device booted?

    ``mode`` is the --boot option: None (no), "yes" (the caller knows it
    is), or "auto": compare the kernel's boot id (a random UUID drawn at
    every boot) with the one recorded in the state directory at the last
    start. Either way the current boot id is recorded (the file is written
    once per boot), so a later ``--boot auto`` after a respawn, a restart
    or ``--boot`` does not count the same boot twice.
    """
    try:
        with open(boot_id_file) as f:
            current = f.read().strip()
    except OSError:
        current = ""
    if mode == "auto" and not current:
        log.warning("--boot auto: cannot read %s; assuming this is not a boot", boot_id_file)
    saved = state.load("boot", {}, {"boot_id": str}).get("boot_id", "")
    if current:
        # no fsync: only a power cut can lose this write, and the start
        # after a power cut is a boot, which is what a lost id then says
        state.save("boot", {"boot_id": current}, sync=False)
    if mode == "auto":
        return bool(current) and current != saved
    return mode is not None


def _parser():
    import argparse
    p = argparse.ArgumentParser(prog="rocket", description="TR-069 / CWMP agent")
    p.add_argument("-c", "--config", help="INI configuration file (default /etc/rocket/rocket.conf)")
    p.add_argument("--state-dir", help="persistent state directory (overrides [state] dir)")
    p.add_argument("--once", action="store_true", help="run one session, exit 0 on success")
    p.add_argument("--boot", nargs="?", const="yes", choices=("yes", "auto"),
                   help="this start follows a device boot (1 BOOT); --boot auto: decide from the "
                        "kernel's boot id, for init scripts and respawns")
    p.add_argument("--log-level", help="debug, info, warning or error")
    p.add_argument("--version", action="version", version="rocket %s" % __version__)
    return p


class _Args:
    config = state_dir = boot = log_level = None
    once = False


def _fast_parse(argv):
    """The usual command lines, without importing argparse (which pulls in
    gettext, locale and shutil: several ms of every start on a router).
    Returns None for anything else (--help, --version, errors), which
    argparse then handles with its usual messages."""
    a = _Args()
    takes = {"-c": "config", "--config": "config", "--state-dir": "state_dir",
             "--log-level": "log_level"}
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in takes:
            if not eq:
                if i + 1 >= len(argv) or argv[i + 1].startswith("-"):
                    return None
                i += 1
                value = argv[i]
            setattr(a, takes[name], value)
        elif arg == "--once":
            a.once = True
        elif arg == "--boot":
            if i + 1 < len(argv) and argv[i + 1] in ("yes", "auto"):
                i += 1
                a.boot = argv[i]
            else:
                a.boot = "yes"
        elif arg in ("--boot=yes", "--boot=auto"):
            a.boot = arg[7:]
        else:
            return None
        i += 1
    return a


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "ctl":
        from rocket.owner import ctlclient
        return ctlclient.main(argv[1:])
    if argv and argv[0] == "sim":
        from rocket.sim import main as sim
        return sim.main(argv[1:])
    args = _fast_parse(argv) or _parser().parse_args(argv)
    from rocket.base.config import Config, ConfigError
    try:
        setup_logging("stderr", args.log_level or "info")
        cfg = Config.load(args.config)
        if args.state_dir:
            cfg.set("state", "dir", args.state_dir)
        setup_logging(cfg.get("log", "target"), args.log_level or cfg.get("log", "level"))
    except (ConfigError, ValueError) as e:
        sys.stderr.write("rocket: %s\n" % e)
        return 2
    for sec, key in (("acs", "password"), ("connection_request", "password"), ("stun", "password"),
                     ("xmpp", "password")):
        log.secrets.add(cfg.get(sec, key))
    from rocket.agent import Agent
    from rocket.base.statedir import StateDir, StateError
    try:
        held = StateDir(cfg.get("state", "dir"))  # noqa: F841 (the lock lives as long as main)
        held.lock()  # one agent per state directory
        agent = Agent(cfg, boot=args.boot, once=args.once)
        agent.boot = boot_flag(args.boot, agent.state)
        from rocket import plugins
        plugins.install(agent)
    except (ConfigError, StateError) as e:
        sys.stderr.write("rocket: %s\n" % e)
        return 2
    if not agent.model.value(agent.root + "DeviceInfo.SerialNumber"):
        log.warning("config: [cpe] serial_number is empty: the Inform's DeviceId carries an empty "
                    "SerialNumber (the ACS cannot tell this device from others); set it")
    def stop(name):
        def handler():
            log.info("%s: stopping (state saved, pending events kept)", name)
            agent.stop()
        return handler
    from rocket.net.loop import signal  # the C module (rocket.net.loop says why)
    agent.loop.add_signal(signal.SIGTERM, stop("SIGTERM"))
    agent.loop.add_signal(signal.SIGINT, stop("SIGINT"))
    agent.loop.add_signal(signal.SIGHUP, agent.reload)
    log.info("rocket %s starting (%s, state in %s)%s", __version__, cfg.path or "built-in defaults",
             agent.state.path, ", after boot" if agent.boot else "")
    # What exists now (modules, configuration, services, the model) lives as
    # long as the process: keep it out of the cyclic collector's full passes,
    # which otherwise rescan it all in one go (tens of ms in the middle of a
    # big request) while the listeners wait.
    import gc
    gc.collect()
    gc.freeze()
    _release_sources(agent)
    return agent.run()


def _release_sources(agent):
    """The default build's importer (build_zipapp.BOOT) keeps a child process
    with the modules' sources, which compiles them for this one; end it once
    the start is over (when a session is due at start, which imports more,
    after it)
    and after every session, so an idle agent holds none (a later import
    starts a new one)."""
    for finder in sys.meta_path:
        release = getattr(finder, "release", None)
        if release is not None:
            agent.after_session.append(lambda ok, release=release: release())
            agent.loop.call_later(0, lambda release=release: agent.session_timer or release(), "release")
