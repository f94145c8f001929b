"""``rocket.pyz sim``: the command line of the fleet simulator.

What it is for: reading the options, building the shared trees, running a
``fleet.Fleet`` until ``--duration`` is over, every device was served
(``--until-served``) or SIGINT/SIGTERM, and printing the summary. The ACS,
its credentials and the connection-request settings come from the usual
configuration file (``-c``).
"""

import signal
import sys


def _parser():
    import argparse
    p = argparse.ArgumentParser(prog="rocket sim", description="a fleet of simulated CPEs in one process")
    a = p.add_argument
    a("-c", "--config", help="INI configuration file: [acs] url and credentials, [cpe], [connection_request]")
    a("--count", type=int, default=1, help="number of devices (default 1)")
    a("--model", action="append", default=[], metavar="FILE.csv",
      help="device dump to simulate (repeat: devices take the models in turn); default: a small built-in tree")
    a("--serial-prefix", default="SIM", help="serial numbers are PREFIX + a 6-digit number (default SIM)")
    a("--serial-start", type=int, default=1, help="number of the first device (default 1)")
    a("--boot-within", type=float, default=0.0, metavar="SECONDS",
      help="devices power on at random within this time (power restore; default 0: all at once)")
    a("--time-scale", type=float, default=1.0, metavar="X", help="device clocks run X times faster (default 1)")
    a("--periodic-interval", type=int, metavar="SECONDS", help="PeriodicInformInterval of every device")
    a("--reboot-time", type=float, default=30.0, metavar="SECONDS",
      help="how long a Reboot or FactoryReset takes (default 30)")
    a("--max-sessions", type=int, default=200, help="sessions in flight at most (default 200)")
    a("--wrong-password", type=float, default=0.0, metavar="SHARE",
      help="share (0-1) of devices using a wrong ACS password")
    a("--slow", type=float, default=0.0, metavar="SHARE", help="share of devices answering ACS requests slowly")
    a("--slow-delay", type=float, default=5.0, metavar="SECONDS", help="how slowly (default 5)")
    a("--drop", type=float, default=0.0, metavar="SHARE",
      help="share of sessions whose connection the device drops after the InformResponse")
    a("--duration", type=float, metavar="SECONDS", help="stop after this many seconds")
    a("--until-served", action="store_true", help="stop once every device had a good session")
    a("--stats-interval", type=float, default=5.0, metavar="SECONDS", help="live figures on stderr (0: none)")
    a("--report", metavar="FILE", help="write the figures as JSON lines to FILE")
    a("--seed", type=int, help="random seed (boot times, phases, retry waits)")
    return p


def main(argv):
    args = _parser().parse_args(argv)
    from rocket.base.config import Config, ConfigError
    from rocket.base.log import log
    log.configure("stderr", "warning")
    try:
        cfg = Config.load(args.config)
        cfg.validate()
        if args.periodic_interval:
            cfg.set("acs", "periodic_inform_interval", str(args.periodic_interval))
        from rocket.sim.tree import Template
        templates = [Template(cfg, m) for m in args.model] or [Template(cfg)]
    except (ConfigError, OSError, ValueError) as e:
        sys.stderr.write("rocket sim: %s\n" % e)
        return 2
    _raise_fd_limit()
    import random
    from rocket.sim.fleet import Fleet
    from rocket.sim.report import Stats
    from rocket.net.loop import Loop
    loop = Loop()
    report = open(args.report, "w", encoding="utf-8") if args.report else None
    stats = Stats(loop, args.stats_interval, sys.stderr, report)
    try:
        fleet = Fleet(cfg, templates, args.count, loop, args.serial_prefix, args.serial_start, args.time_scale,
                      args.boot_within, args.reboot_time, args.max_sessions,
                      cfg.get("connection_request", "address") or "127.0.0.1",
                      cfg.int("connection_request", "port"), args.wrong_password, args.slow, args.slow_delay,
                      args.drop, random.Random(args.seed), stats)
        fleet.start()
    except (OSError, ValueError) as e:
        sys.stderr.write("rocket sim: %s\n" % e)
        return 2
    sys.stderr.write("rocket sim: %d devices, connection requests on %s\n" % (args.count, fleet.cr.url("SERIAL")))
    for s in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal(s, loop.stop)
    if args.duration:
        loop.call_later(args.duration, loop.stop)
    loop.run(until=(lambda: stats.all_served is not None) if args.until_served else None)
    fleet.stop()
    if report is not None:
        report.close()
    return 0


def _raise_fd_limit():
    """One socket per session in flight: take all the descriptors allowed."""
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, OSError, ValueError):
        pass
