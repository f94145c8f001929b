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
    p = argparse.ArgumentParser(prog="rocket sim", description="simulated CPEs (README.md: Fleet simulator)")
    for opt, kind, default in (("-c", str, None), ("--count", int, 1), ("--model", "append", []),
                               ("--serial-prefix", str, "SIM"), ("--serial-start", int, 1),
                               ("--boot-within", float, 0.0), ("--time-scale", float, 1.0),
                               ("--periodic-interval", int, None), ("--reboot-time", float, 30.0),
                               ("--max-sessions", int, 200), ("--wrong-password", float, 0.0),
                               ("--slow", float, 0.0), ("--slow-delay", float, 5.0), ("--drop", float, 0.0),
                               ("--duration", float, None), ("--until-served", "store_true", False),
                               ("--stats-interval", float, 5.0), ("--report", str, None), ("--seed", int, None),
                               ("--state-dir", str, None)):
        if isinstance(kind, str):
            p.add_argument(opt, action=kind, default=default)
        else:
            p.add_argument(opt, type=kind, default=default)
    return p


def main(argv):
    args = _parser().parse_args(argv)
    from rocket.base.config import Config, ConfigError
    from rocket.base.log import log
    log.configure("stderr", "warning")
    try:
        cfg = Config.load(args.c)
        cfg.validate()
        if args.periodic_interval:
            cfg.set("acs", "periodic_inform_interval", str(args.periodic_interval))
        from rocket.sim.tree import Template
        templates = [Template(cfg, m) for m in args.model] or [Template(cfg)]
    except (ConfigError, OSError, ValueError) as e:
        sys.stderr.write("rocket sim: %s\n" % e)
        return 2
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
                      args.drop, random.Random(args.seed), stats, args.state_dir)
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

