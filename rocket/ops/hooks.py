"""The device's hooks for transfers and device operations: the commands of
``[transfer] firmware_hook``, ``config_hook``, ``file_hook``,
``upload_hook``, ``reboot_hook`` and ``factory_reset_hook``.

What it is for: finding a hook, checking it when the RPC arrives (a device
operation is never acknowledged and then not done), running it through the
loop (``Loop.run_process``: a deadline, its output capped) and mapping its
exit status onto a CWMP fault. What it is not: deciding when a hook runs
(rocket.ops.transfer_runner, rocket.ops.deviceops).

Exit codes: 0 success, 18 file corrupted (9018), 19 file authentication or
signature failure (9019), 17 9017, anything else 9010. Hooks get their data
in the environment (ROCKET_FILE, ROCKET_FILE_TYPE, ROCKET_FILE_SIZE,
ROCKET_TARGET_NAME, ROCKET_COMMAND_KEY, ROCKET_OUTPUT, ROCKET_INSTANCE,
ROCKET_REASON, ROCKET_STATE_DIR), never on the command line.
"""

import os

from rocket.base.log import log
from rocket.cwmp.soap import CwmpFault

_FAULTS = {17: 9017, 18: 9018, 19: 9019}


def download_hook(num):
    """The hook that installs a download of FileType number ``num``."""
    return {"1": "firmware_hook", "3": "config_hook"}.get(num, "file_hook")


class Hooks:
    def __init__(self, agent):
        self.agent = agent

    def argv(self, name):
        """The command of hook ``name`` (a list), or None when not configured."""
        cmd = self.agent.cfg.get("transfer", name)  # the configuration is replaced on SIGHUP
        if not cmd:
            return None
        import shlex
        return shlex.split(cmd)

    def ready(self, name, code=9001):
        """The argv of hook ``name``, checked now. Not configured: ``code``
        (9001 for Reboot and FactoryReset); configured but missing or not
        executable: 9002, with the reason."""
        argv = self.argv(name)
        if argv is None:
            raise CwmpFault(code, "no %s configured" % name)
        from rocket.datamodel.backend import missing_tools
        if missing_tools(argv[:1]):
            why = "does not exist or is not executable" if "/" in argv[0] else "is not found on PATH"
            log.error("transfer: [transfer] %s %s %s", name, argv[0], why)
            raise CwmpFault(9002, "%s %s %s" % (name, argv[0][:200], why))
        return argv

    def run(self, name, extra_env):
        """Run hook ``name``: None when not configured, else 0 or a fault code."""
        argv = self.argv(name)
        if argv is None:
            return None
        a = self.agent
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
               "ROCKET_STATE_DIR": a.state.path}
        env.update(extra_env)
        r = a.loop.run_process(argv, timeout=a.cfg.int("transfer", "hook_timeout"), env=env)
        if r.timed_out:
            log.error("transfer: %s timed out", name)
            return 9010
        if r.returncode != 0:
            tail = r.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            log.error("transfer: %s exited with status %d %s", name, r.returncode, tail[0][:200])
            return _FAULTS.get(r.returncode, 9010)
        return 0
