"""The transfer runner: drives queued transfers through the loop, one at a
time, and runs their hooks.

Theory of operation. Work starts only from the loop's top level, never
inside a session (``_run_next`` is a plain timer, which the loop holds back
while a session runs). The next QUEUED transfer that is due
(``Transfer.due``) begins: a download streams into ``download_dir`` through
rocket.net.fileclient.FileGet, an upload is produced by ``upload_hook`` and
streamed out by FilePut; both read and write from loop callbacks, so the
body keeps moving while a later session runs, and their end is taken up
from the top of the loop again (never installing from inside a session).
Every step is a transition of the Transfer record made durable by the
journal (``Journal.apply``) before anything depends on it; the final one
(DONE) is announced through ``on_done(t)`` (TransferComplete, the events).

Downloaded files: with no hook for the FileType the file is kept in
``download_dir`` under its TargetFileName (basename only); else the hook
installs it (INSTALLING is durable first), and a firmware hook that
succeeds is followed by the reboot hook.

At start (``recover``): a RUNNING transfer starts again (its partial file
removed), an INSTALLING/INSTALLED one is settled against SoftwareVersion.

Not here: accepting the RPCs and reporting (rocket.ops.transfer_rpcs), the
record's rules (rocket.cwmp.transfer), the hooks' environment and exit
codes (rocket.ops.hooks).
"""

import os

from rocket.base.log import log
from rocket.cwmp.transfer import INSTALLED, INSTALLING, QUEUED, RUNNING, UPLOAD_TYPES, type_number
from rocket.ops.autonomous import unlink
from rocket.ops.hooks import download_hook


class Runner:
    def __init__(self, agent, journal, hooks, on_done, reboot):
        self.agent = agent
        self.loop = agent.loop
        self.journal = journal
        self.hooks = hooks
        self.on_done = on_done  # on_done(t): t is DONE and journalled
        self.reboot = reboot  # reboot(reason), after a firmware install
        self.held = lambda: False  # True while a reset or reboot is under way
        self.active = None  # the FileGet / FilePut of the RUNNING transfer
        self._timer = None

    def _cfg(self, key):
        return self.agent.cfg.get("transfer", key)  # the configuration is replaced on SIGHUP

    def _iso(self):
        from rocket.base.timefmt import iso_now
        return iso_now(self.agent.wallclock())

    @property
    def download_dir(self):
        return self._cfg("download_dir") or os.path.join(self.agent.state.path, "downloads")

    def free_space(self):
        d = self.download_dir
        try:
            os.makedirs(d, mode=0o700, exist_ok=True)
            s = os.statvfs(d)
        except OSError:
            return None
        return s.f_bavail * s.f_frsize

    def _tls_context(self):
        from rocket.net.fileclient import config_tls
        return config_tls(self.agent.cfg)

    def _sw_version(self):
        return self.agent.model.value(self.agent.root + "DeviceInfo.SoftwareVersion") or ""

    # ---------------------------------------------------------- lifecycle
    def recover(self, boot):
        """After a restart: rules 4 and 5 of rocket.cwmp.transfer."""
        j = self.journal
        for t in list(j.transfers):
            if t.state == RUNNING:
                unlink(t.file)
                if j.apply(t.interrupted, self._iso()):
                    log.info("transfer %d: interrupted, will start again", t.id)
                else:
                    self._finished(t, announce=False)
            elif t.state in (INSTALLING, INSTALLED):
                j.apply(t.settle, self._sw_version(), boot, self._iso())
                self._finished(t, announce=False)

    def stop(self):
        if self.active is not None:
            self.active.cancel(9017, "agent stopping")
        if self._timer is not None:
            self._timer.cancel()

    def reset(self):
        """Factory reset: stop the running transfer, remove its files."""
        if self.active is not None:
            self.active.cancel(9017, "factory reset")
        for t in self.journal.transfers:
            unlink(t.file)

    # ------------------------------------------------------------ running
    def kick(self, delay=0.0):
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(delay, self._run_next, "transfer")

    def _run_next(self):
        self._timer = None
        if self.active is not None or self.agent.in_session or self.loop.stopping or self.held():
            return
        now = self.agent.wallclock()
        wake = None
        for t in list(self.journal.transfers):
            if t.state != QUEUED:
                continue
            what, when = t.due(now)
            if what == "expired":
                self.journal.apply(t.finish, 9020, t.last_error or "no time window was usable", self._iso())
                self._finished(t)
            elif what == "wait":
                wake = when if wake is None else min(wake, when)
            else:
                self._begin(t)
                return
        if wake is not None:
            self.kick(wake - now)

    def _begin(self, t):
        if t.kind == "upload":
            self.journal.apply(t.begin, self._iso(), None)
            self._upload(t)
        else:
            self._download(t)

    def _stream(self, t, job):
        """Start ``job`` (a FileGet or FilePut whose on_done is ``self._ended``)."""
        from rocket.net.fileclient import FetchError
        self.active = job
        try:
            job.start()
        except FetchError as e:
            job.on_done(e.code, e.reason)
        except Exception as e:  # never let a bug end the agent
            log.exception("transfer %d: internal error", t.id)
            job.on_done(9010, "internal error: %s" % e)

    def _ended(self, t, then):
        def done(code, reason):
            if self.active is None:
                return
            self.active = None
            # never install from inside a session: continue from the top of the loop
            self.loop.call_later(0, lambda: self._after(t, then, code, reason), "transfer-done")
        return done

    def _after(self, t, then, code, reason):
        if self.journal.get(t.id) is t:  # else cancelled or wiped meanwhile
            then(t, code, reason)

    def _download(self, t):
        from rocket.net.fileclient import FileGet, safe_url
        d = self.download_dir
        path = os.path.join(d, "transfer-%d.part" % t.id)
        try:
            os.makedirs(d, mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as e:
            self.journal.apply(t.begin, self._iso(), None)
            self._failed(t, 9010, "cannot create the download file: %s" % (e.strerror or e))
            return
        self.journal.apply(t.begin, self._iso(), path)  # the file is removed after a restart
        log.info("transfer %d: downloading %s", t.id, safe_url(t.url))
        free = self.free_space()
        limit = self.agent.cfg.int("transfer", "max_size")
        if free is not None:
            limit = min(limit, free) if limit else free
        ended = self._ended(t, self._downloaded)

        def done(code, reason):
            os.close(fd)
            ended(code, reason)
        c = self.agent.cfg
        self._stream(t, FileGet(self.loop, t.url, fd, done, t.username, t.password, self._tls_context,
                                c.int("transfer", "timeout"), c.bool("transfer", "allow_basic_over_http"),
                                limit, allowed=self._policy(False)))

    def _policy(self, upload):
        """The owner policy's URL check (rocket.owner.policy), or None without one."""
        p = self.agent.policy
        return None if p is None else (p.upload_allowed if upload else p.download_allowed)

    def _downloaded(self, t, code, reason):
        path = t.file
        if code:
            unlink(path)
            self._failed(t, code, reason)
            return
        size = t.bytes = os.path.getsize(path)
        log.info("transfer %d: downloaded %d bytes", t.id, size)
        num = t.file_type.split(" ", 1)[0]
        hook = download_hook(num)
        if self.hooks.argv(hook) is None:
            # stored for others to use: TargetFileName (basename only) in download_dir
            name = os.path.basename(t.target or "")
            if not name or name.startswith(".") or name.endswith(".part"):
                name = "transfer-%d" % t.id
            try:
                os.replace(path, os.path.join(self.download_dir, name))
            except OSError as e:
                self._failed(t, 9010, "cannot store the file: %s" % (e.strerror or e))
                return
            self.journal.apply(t.finish, 0, "", self._iso())
            self._finished(t)
            return
        # the TransferComplete record, durable BEFORE the hook runs
        self.journal.apply(t.install, self._iso(), self._sw_version() if num == "1" else None)
        log.info("transfer %d: running %s", t.id, hook)
        rc = self.hooks.run(hook, {"ROCKET_FILE": path, "ROCKET_FILE_TYPE": t.file_type,
                                   "ROCKET_FILE_SIZE": str(size), "ROCKET_TARGET_NAME": t.target,
                                   "ROCKET_COMMAND_KEY": t.key})
        unlink(path)
        if self.journal.get(t.id) is not t:
            return
        if rc:
            self.journal.apply(t.finish, rc, "%s failed" % hook.replace("_", " "))
            self._finished(t)
        elif num != "1":
            self.journal.apply(t.finish, 0, "")
            self._finished(t)
        else:
            self.journal.apply(t.installed)
            if self.hooks.argv("reboot_hook") is not None:
                self.reboot("firmware upgrade (transfer %d)" % t.id)
            else:
                log.warning("transfer %d: no reboot_hook; the firmware hook must reboot the device", t.id)

    def _upload(self, t):
        from rocket.net.fileclient import FilePut, safe_url
        d = self.download_dir
        path = os.path.join(d, "upload-%d" % t.id)
        try:
            os.makedirs(d, mode=0o700, exist_ok=True)
        except OSError:
            pass
        unlink(path)
        num, inst = type_number(t.file_type, UPLOAD_TYPES)
        env = {"ROCKET_OUTPUT": path, "ROCKET_FILE_TYPE": t.file_type, "ROCKET_INSTANCE": inst,
               "ROCKET_COMMAND_KEY": t.key}
        env.update(t.vendor or {})  # the VendorConfigFile/VendorLogFile row (rocket.ops.vendorfiles)
        rc = self.hooks.run("upload_hook", env)
        if rc or not os.path.exists(path):
            unlink(path)
            self._failed(t, 9011, "upload hook produced no file")
            return
        method = self._cfg("upload_method").upper()
        t.bytes = os.path.getsize(path)
        log.info("transfer %d: uploading %d bytes with %s to %s", t.id, t.bytes, method, safe_url(t.url))
        ended = self._ended(t, self._uploaded)

        def done(code, reason):
            unlink(path)
            ended(code, reason)
        c = self.agent.cfg
        self._stream(t, FilePut(self.loop, t.url, path, method, done, t.username, t.password,
                                self._tls_context, c.int("transfer", "timeout"),
                                c.bool("transfer", "allow_basic_over_http"),
                                allowed=self._policy(True)))

    def _uploaded(self, t, code, reason):
        if code:
            self._failed(t, code, reason)
        else:
            self.journal.apply(t.finish, 0, "", self._iso())
            self._finished(t)

    def _failed(self, t, code, reason):
        log.warning("transfer %d: failed: %d %s", t.id, code, reason)
        if self.journal.apply(t.failed, code, reason, self._iso()):
            self._finished(t)
        else:
            self.kick(float(self._cfg("retry_delay") or 0))

    def _finished(self, t, announce=True):
        code, reason = t.fault
        if code == 0:
            log.info("transfer %d: complete", t.id)
        else:
            log.warning("transfer %d: complete with fault %d %s", t.id, code, reason)
        self.agent.audit.record("transfer", direction="download" if t.download else "upload",
                                command_key=t.key, file_type=t.file_type, url=t.url,
                                size=t.bytes, result="ok" if code == 0 else "fault",
                                fault=code or None, reason=reason or None)
        if announce:
            self.on_done(t)
            self.kick()
