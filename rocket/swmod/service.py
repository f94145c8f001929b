"""ChangeDUState carried out: the journal, the runner, DUStateChangeComplete
and AutonomousDUStateChangeComplete.

Life of a ChangeDUState (every step is in the journal, ``STATE_DIR/duops.json``,
written atomically with fsync by rocket.ops.journal, before anything depends on
it):

1. The request is parsed (rocket.swmod.ops; 9003 on the RPC if malformed,
   9004 if 16 requests already wait), journalled as ``queued`` + ``staged``,
   and only then answered (an empty ChangeDUStateResponse).
2. After a session that ended cleanly, operations run one at a time, in
   order, from the loop's top level, never inside a session. Install and
   Update download the package with rocket.net.fileclient (the same streaming, TLS,
   credential and redirect rules as Download; the owner policy is asked for
   every URL), then ask the execution environment's backend to ``inspect``
   and ``install`` it; Uninstall asks it to ``remove``. Before a backend
   changes the system the operation is marked ``installing`` with the package
   name and version, durably.
3. Each operation's result is journalled as soon as it is known. When all
   are, the request is ``done``: "11 DU STATE CHANGE COMPLETE" + "M
   ChangeDUState" are added and a session is asked for. Every session
   carries a DUStateChangeComplete for every ``done`` request until the ACS
   acknowledges it; the events go when none is left.

After a restart or power cut: an operation that was downloading starts
again (at most three times, then 9017); one whose backend was running is
judged from the package database (the package is there in the expected
version: success; otherwise a failure, 9001 "interrupted"), so a result is
never lost and never invented.

Autonomous changes: after each scan of the package systems (start,
``[software] poll_interval``, each session that reads the subtree, after our
own operations) the installed set is compared with the last one known;
packages that appeared, changed version or went away without an ACS request
become AutonomousDUStateChangeComplete results, as
``ManagementServer.DUStateChangeComplPolicy`` filters, with "12 AUTONOMOUS
DU STATE CHANGE COMPLETE". The first scan ever only takes the baseline.
"""

import os
import time

from rocket.cwmp import events as ev
from rocket.cwmp import soap
from rocket.base.journal import Journal
from rocket.base.log import log
from rocket.cwmp.session import CpeRequest
from rocket.cwmp.soap import CwmpFault
from rocket.swmod import ops as O
from rocket.swmod.model import Units

MAX_QUEUE = 16
MAX_RESTARTS = 3
MAX_AUTO = 64  # results in one AutonomousDUStateChangeComplete
_EXIT_FAULTS = {3: 9003, 18: 9018, 19: 9018, 25: 9025, 26: 9026, 27: 9027, 28: 9028, 29: 9029,
                30: 9030, 31: 9031, 32: 9032}
_EVENTS = (ev.DU_STATE_CHANGE_COMPLETE, ev.M_CHANGE_DU_STATE)
_POLICY = "DUStateChangeComplPolicy."


def _iso(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if t is None else t))


class DuJournal(Journal):
    """``duops.json``: {"seq": N, "ops": [request or autonomous report...]}."""

    NAME = "duops"
    KEY = "ops"

    @staticmethod
    def empty():
        return {"seq": 0, "ops": []}

    @staticmethod
    def valid(doc):
        return (isinstance(doc, dict) and isinstance(doc.get("seq"), int) and isinstance(doc.get("ops"), list)
                and all(isinstance(r, dict) and "id" in r and "state" in r for r in doc["ops"]))


class Failed(Exception):
    def __init__(self, code, reason=""):
        Exception.__init__(self, reason)
        self.code = code
        self.reason = reason


class SoftwareModules:
    """The service: RPC handler, journal, runner, reports."""

    def __init__(self, agent):
        self.agent = agent
        self.loop = agent.loop
        self.journal = DuJournal(agent.state)
        self.units = Units(agent, self._c)
        self.units.agent_hook = self._after_scan
        self.active = None
        self._timer = None
        self._poll = None

    def _c(self, key):
        return self.agent.cfg.get("software", key)

    # ------------------------------------------------------------ wiring
    def install(self):
        a = self.agent
        a.rpc.register("ChangeDUState", self.do_ChangeDUState)
        a.cpe_requests.append(self._requests)
        a.acked["DUStateChangeComplete"] = self._acked
        a.acked["AutonomousDUStateChangeComplete"] = self._acked
        a.after_session.append(self._after_session)
        a.services.append(self)
        a.model.add_backend(self.units)
        self._policy_params()

    def _policy_params(self):
        from rocket.datamodel.store import Param
        m = self.agent.model
        saved = self.units.doc.get("policy") or {}
        base = m.ms(_POLICY)
        m.store.add_object(base)
        for name, ptype, default, limit in (
                ("Enable", "boolean", "false", None),
                ("OperationTypeFilter", "string", "Install,Update,Uninstall", None),
                ("ResultTypeFilter", "string", "Both", ("Success", "Failure", "Both")),
                ("FaultCodeFilter", "string", "", None)):
            m.store.add(base + name, Param(str(saved.get(name, default)), ptype, True, None, 0, limit))
        m.on_change.append(self._policy_changed)

    def _policy_changed(self, change):
        base = self.agent.model.ms(_POLICY)
        if change.kind == "set" and change.path.startswith(base):
            self.units.doc.setdefault("policy", {})[change.path[len(base):]] = change.new
            self.units.save()

    def _complpolicy(self):
        v = self.agent.model.value
        base = self.agent.model.ms(_POLICY)

        def lst(n):
            return [x.strip() for x in (v(base + n) or "").split(",") if x.strip()]
        return {"enable": v(base + "Enable") == "true", "ops": lst("OperationTypeFilter"),
                "results": v(base + "ResultTypeFilter") or "Both", "faults": lst("FaultCodeFilter")}

    # ------------------------------------------------------------- start
    def start(self, agent):
        self.units.discover()
        j = self.journal
        for r in j.doc["ops"]:
            if r["state"] == "done":
                continue
            for op in r["ops"]:
                if op.get("result") is None and op.get("phase"):
                    self._recover(op)
        j.save()
        self._check_done()
        self._reconcile_events()
        self._scan_quietly()
        interval = self.agent.cfg.int("software", "poll_interval")
        if interval > 0:
            self._poll = self.loop.call_later(interval, self._poll_due, "software-poll")
        self._kick()

    def stop(self):
        for t in (self._timer, self._poll):
            if t is not None:
                t.cancel()
        if self.active is not None:
            self.active.cancel(9017, "agent stopping")

    def _recover(self, op):
        phase = op.pop("phase")
        if phase == "downloading":
            op["restarts"] = op.get("restarts", 0) + 1
            _unlink(op.pop("file", None))
            if op["restarts"] > MAX_RESTARTS:
                self._result(op, Failed(9017, "interrupted %d times" % MAX_RESTARTS))
            else:
                log.info("software: %s of %s interrupted, will start again", op["op"], op.get("url", ""))
            return
        # the backend was changing the system: judge from the package database
        try:
            self.units.scan()
        except CwmpFault:
            pass
        key = op.get("key")
        p = self.units.pkgs.get(key) if key else None
        if op["op"] == "Uninstall":
            ok = p is None
        else:
            ok = p is not None and p["version"] == op.get("new_version")
        if ok:
            self._success(op, key)
        else:
            self._result(op, Failed(9001, "interrupted (agent restarted while the package system ran)"), key)

    def _reconcile_events(self):
        want = []
        for r in self.journal.doc["ops"]:
            if r["state"] != "done":
                continue
            if r["kind"] == "auto":
                want.append((ev.AUTONOMOUS_DU_STATE_CHANGE_COMPLETE, ""))
            else:
                want += [(ev.DU_STATE_CHANGE_COMPLETE, ""), (ev.M_CHANGE_DU_STATE, r["key"])]
        self.agent.events.sync(_EVENTS + (ev.AUTONOMOUS_DU_STATE_CHANGE_COMPLETE,), want)

    # -------------------------------------------------------------- RPC
    def do_ChangeDUState(self, msg):
        key, ops = O.parse(msg.body)
        j = self.journal
        waiting = [r for r in j.doc["ops"] if r["kind"] == "cdus" and r["state"] != "done"]
        for r in waiting:
            if r["key"] == key and [_public(o) for o in r["ops"]] == [_public(o) for o in ops]:
                log.info("software: ChangeDUState %d repeated with key %r, already queued", r["id"], key)
                return [soap.rpc("ChangeDUStateResponse")]
        if len(waiting) >= MAX_QUEUE:
            raise CwmpFault(9004, "%d ChangeDUState requests are waiting" % MAX_QUEUE)
        rid = j.next_id()
        for i, op in enumerate(ops):
            op["result"] = None
            op["tag"] = "%d-%d" % (rid, i)
        r = {"id": rid, "kind": "cdus", "key": key, "state": "queued", "staged": True, "ops": ops}
        j.doc["ops"].append(r)
        j.save()  # durable before the answer
        log.info("software: ChangeDUState %d accepted (key %r): %s", r["id"], key,
                 ", ".join(o["op"] for o in ops))
        return [soap.rpc("ChangeDUStateResponse")]

    # ---------------------------------------------------- session hooks
    def _requests(self):
        out = []
        for r in self.journal.doc["ops"]:
            if r["state"] != "done":
                continue
            if r["kind"] == "auto":
                out.append(CpeRequest("AutonomousDUStateChangeComplete", O.autonomous_xml(r["results"]),
                                      r["id"], "1.2"))
            else:
                out.append(CpeRequest("DUStateChangeComplete",
                                      O.complete_xml([o["result"] for o in r["ops"]], r["key"]), r["id"], "1.2"))
        return out

    def _acked(self, tag):
        j = self.journal
        r = j.get(tag)
        if r is None or r["state"] != "done":
            return
        j.remove(tag)
        j.save()
        auto = r["kind"] == "auto"
        log.info("software: %s %d acknowledged", "AutonomousDUStateChangeComplete" if auto
                 else "DUStateChangeComplete", tag)
        left = [x for x in j.doc["ops"] if x["state"] == "done" and (x["kind"] == "auto") == auto]
        if not left:
            self.agent.events.deliver((ev.AUTONOMOUS_DU_STATE_CHANGE_COMPLETE,) if auto else _EVENTS)

    def _after_session(self, ok):
        if not ok:
            return
        j = self.journal
        if any(r.pop("staged", None) for r in j.doc["ops"]):
            j.save()
        self._kick()

    # ----------------------------------------------------------- runner
    def _kick(self, delay=0.0):
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(delay, self._run_next, "software")

    def _run_next(self):
        self._timer = None
        if self.active is not None or self.agent.in_session or self.loop.stopping:
            return
        for r in self.journal.doc["ops"]:
            if r["state"] == "done" or r.get("staged"):
                continue
            for op in r["ops"]:
                if op.get("result") is None:
                    r["state"] = "running"
                    self._start(op)
                    return
        return

    def _start(self, op):
        op.setdefault("start", _iso())
        try:
            if op["op"] == "Uninstall":
                self._uninstall(op)
            else:
                self._fetch(op)
        except Failed as e:
            self._result(op, e, op.get("key"))
            self._next()
        except Exception as e:  # never let a bug end the agent
            log.exception("software: internal error")
            self._result(op, Failed(9001, "internal error: %s" % e), op.get("key"))
            self._next()

    def _next(self):
        self._check_done()
        self._kick()

    def _env_for(self, op, key=None):
        """The execution environment an operation names (9023/9024), or None."""
        ref = op.get("executionenvref") or ""
        if not ref:
            return None
        e = self.units.ee_by_ref(ref)
        if e is None:
            raise Failed(9023, "no execution environment %s" % ref[:256])
        if not self.units.enabled(e["name"]):
            raise Failed(9024, "execution environment %s is disabled" % e["name"])
        return e

    def _target(self, op):
        """The installed DU an Update/Uninstall names (9022/9025/9028/9031)."""
        u = self.units
        uuid = op.get("uuid") or ""
        e = self._env_for(op)
        u.scan()
        if not uuid:
            url = op.get("url") or ""
            if not url:
                raise Failed(9001, "updating every deployment unit at once is not supported")
            keys = [k for k, d in u.doc["du"].items() if d.get("url") == url and k in u.pkgs]
            if not keys:
                raise Failed(9028, "no deployment unit was installed from that URL")
        else:
            if not O.valid_uuid(uuid):
                raise Failed(9022, "not a UUID")
            keys = u.find(uuid, None, op.get("version"))
            if not keys:
                raise Failed(9028, "no deployment unit %s%s" % (uuid, " version %s" % op["version"]
                                                                if op.get("version") else ""))
        if e is not None:
            mine = [k for k in keys if u.pkgs[k]["ee"] == e["name"]]
            if not mine:
                raise Failed(9025, "deployment unit is not in execution environment %s" % e["name"])
            keys = mine
        if len(keys) > 1:
            raise Failed(9031, "the deployment unit is installed more than once; say which Version")
        key = op["key"] = keys[0]
        ee = u.pkgs[key]["ee"]
        if not u.enabled(ee):
            raise Failed(9024, "execution environment %s is disabled" % ee)
        if op["op"] == "Update" and u.pkgs[key].get("half"):
            raise Failed(9029, "%s is half installed or half configured; remove it first" % u.pkgs[key]["name"])
        return key

    def _name_allowed(self, name):
        pol = self.agent.policy
        check = getattr(pol, "software_name_allowed", None)
        if check is not None and not check(name):
            raise Failed(9001, "package %s refused by the owner's policy ([software] names)" % name[:64])

    def _uninstall(self, op):
        key = self._target(op)
        p = self.units.pkgs[key]
        self._name_allowed(p["name"])
        op.update(phase="installing", name=p["name"], new_version=p["version"], du_uuid=self.units.uuid(key))
        self.journal.save()
        e = self.units.env(p["ee"])
        rc, _, why = self.units.run(e["script"], "remove", [[p["name"]]], timeout=self._timeout())
        if rc != 0:
            raise Failed(_EXIT_FAULTS.get(rc, 9001), why or "%s remove failed" % p["ee"])
        self._success(op, key)
        self._next()

    def _timeout(self):
        return self.agent.cfg.int("software", "timeout")

    # -- Install / Update: download first
    def _fetch(self, op):
        if op["op"] == "Update":
            key = self._target(op)
            if not op.get("url"):
                op["url"] = self.units.doc["du"][key].get("url", "")
                if not op["url"]:
                    raise Failed(9003, "no URL given and none known for this deployment unit")
        else:
            uuid = op.get("uuid") or ""
            if uuid and not O.valid_uuid(uuid):
                raise Failed(9022, "not a UUID")
            self._env_for(op)
        url = op["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise Failed(9013, "unsupported URL scheme")
        from rocket.net.fileclient import FetchError, safe_url
        d = self.agent.cfg.get("transfer", "download_dir") or os.path.join(self.agent.state.path, "downloads")
        try:
            os.makedirs(d, mode=0o700, exist_ok=True)
        except OSError as e:
            raise Failed(9027, "cannot create %s: %s" % (d, e.strerror))
        path = os.path.join(d, "du-%s.part" % op["tag"])
        op["file"] = path
        op["phase"] = "downloading"
        self.journal.save()
        log.info("software: %s: downloading %s", op["op"], safe_url(url))
        try:
            self._download(url, path, op, lambda code, reason: self._downloaded(op, code, reason))
        except FetchError as e:
            self._downloaded(op, e.code, e.reason)

    def _download(self, url, path, op, done):
        """Stream ``url`` into ``path`` through rocket.net.fileclient; ``done(code, reason)``."""
        from rocket.net.fileclient import FileGet
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        cfg = self.agent.cfg
        limit = cfg.int("transfer", "max_size")
        try:
            st = os.statvfs(os.path.dirname(path))
            free = st.f_bavail * st.f_frsize
            limit = min(limit, free) if limit else free
        except OSError:
            pass

        def finished(code, reason):
            os.close(fd)
            # ``active`` stays set until ``done`` has run: nothing may start
            # the same operation again in between
            self.loop.call_later(0, lambda: self._release(done, code, reason), "software-downloaded")

        g = FileGet(self.loop, url, fd, finished, op.get("username", ""), op.get("password", ""),
                    self._tls_context, cfg.int("transfer", "timeout"), cfg.bool("transfer", "allow_basic_over_http"),
                    limit, allowed=self._url_allowed)
        self.active = g
        try:
            g.start()
        except BaseException:
            self.active = None
            os.close(fd)
            raise

    def _release(self, done, code, reason):
        self.active = None
        done(code, reason)

    def _url_allowed(self, url):
        pol = self.agent.policy
        if pol is None:
            return True
        ok = getattr(pol, "software_url_allowed", None)
        return pol.download_allowed(url) and (ok is None or ok(url))

    def _tls_context(self):
        from rocket.net.fileclient import config_tls
        return config_tls(self.agent.cfg)

    def _downloaded(self, op, code, reason):
        path = op.get("file")
        try:
            if code:
                raise Failed(code, reason)
            self._install(op, path)
        except Failed as e:
            self._result(op, e, op.get("key"))
        except Exception as e:
            log.exception("software: internal error")
            self._result(op, Failed(9001, "internal error: %s" % e), op.get("key"))
        finally:
            _unlink(path)
            _unlink((path or "") + ".sig")
            op.pop("file", None)
        self._next()

    def _pick_env(self, op, path):
        e = self._env_for(op)
        if e is not None:
            return e
        if op["op"] == "Update":
            return self.units.env(self.units.pkgs[op["key"]]["ee"])
        envs = [x for x in self.units.envs if self.units.enabled(x["name"])]
        if not envs:
            raise Failed(9023 if not self.units.envs else 9024, "no usable execution environment")
        with open(path, "rb") as f:
            head = f.read(8)
        want = "opkg" if head.startswith(b"\x1f\x8b") else "dpkg"
        for x in envs:
            if x["name"] == want:
                return x
        return envs[0]

    def _install(self, op, path):
        u = self.units
        e = self._pick_env(op, path)
        if e.get("sig") == "1":
            self._fetch_sig(op, path)
        rc, out, why = u.run(e["script"], "inspect", [[path]])
        info = {r[0]: r[1] for r in out if len(r) >= 2}
        if rc != 0 or not info.get("name"):
            raise Failed(9018, why or "not a %s package" % e["name"])
        name, version = info["name"], info.get("version", "")
        self._name_allowed(name)
        key = e["name"] + "/" + name
        update = op["op"] == "Update"
        if update and key != op["key"]:
            raise Failed(9003, "the file holds package %s, not %s" % (name[:64], op["key"].split("/", 1)[1]))
        old = u.pkgs[key]["version"] if update else ""
        op.update(phase="installing", key=key, name=name, new_version=version)
        self.journal.save()  # durable BEFORE the package system runs
        rc, out, why = u.run(e["script"], "install",
                             [[path], ["update" if update else "install"], [name], [old],
                              ["1" if self.agent.cfg.bool("software", "allow_downgrade") else "0"]],
                             timeout=self._timeout())
        if rc != 0:
            raise Failed(_EXIT_FAULTS.get(rc, 9001), why or "%s install failed" % e["name"])
        u.note(key, url=op["url"], **({"uuid": op["uuid"].lower()} if op.get("uuid") else {}))
        self._success(op, key)

    def _fetch_sig(self, op, path):
        """The detached signature (URL.sig) an execution environment wants."""
        from rocket.net.fileclient import FetchError, FileGet
        cfg = self.agent.cfg
        fd = os.open(path + ".sig", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        res = []
        g = FileGet(self.loop, op["url"] + ".sig", fd, lambda c, r: res.append((c, r)), op.get("username", ""),
                    op.get("password", ""), self._tls_context, cfg.int("transfer", "timeout"),
                    cfg.bool("transfer", "allow_basic_over_http"), 65536, allowed=self._url_allowed)
        self.active = g  # nothing else starts meanwhile
        try:
            g.start()
            while not res and not self.loop.stopping:
                self.loop.run_once(max_wait=0.2)
        except FetchError as e:
            res.append((e.code, e.reason))
        finally:
            self.active = None
            os.close(fd)
        if not res or res[0][0]:
            raise Failed(9018, "no signature for the package (%s)" % (res[0][1] if res else "stopped"))

    # ---------------------------------------------------------- results
    def _success(self, op, key):
        u = self.units
        try:
            u.scan()
        except CwmpFault:
            pass
        p = u.pkgs.get(key)
        if op["op"] == "Uninstall":
            r = {"uuid": op.get("du_uuid") or op.get("uuid") or "", "ref": "",
                 "version": op.get("new_version") or op.get("version") or "",
                 "state": "Uninstalled", "resolved": False, "eus": []}
            self._known(key, None)
        else:
            r = self._describe(key)
            r["state"] = "Installed"
            self._known(key, p["version"] if p else None)
        r["fault"] = [0, ""]
        self._finish(op, r)

    def _describe(self, key):
        u = self.units
        p = u.pkgs.get(key)
        if p is None:
            return {"uuid": "", "ref": "", "version": "", "resolved": False, "eus": []}
        return {"uuid": u.uuid(key), "ref": u.du_ref(key), "version": p["version"], "resolved": p["resolved"],
                "eus": u.eu_refs(key)}

    def _result(self, op, failure, key=None):
        u = self.units
        code = O.du_fault(failure.code)
        if key and key in u.pkgs:
            r = self._describe(key)
            r["state"] = "Installed"  # a failed update or removal leaves it installed
        else:
            r = {"uuid": op.get("uuid") or "", "ref": "", "version": op.get("new_version") or op.get("version") or "",
                 "state": "Failed", "resolved": False, "eus": []}
            if op["op"] == "Uninstall" and key and op.get("phase") == "installing":
                r["state"] = "Uninstalled"
        if key:
            p = u.pkgs.get(key)
            self._known(key, p["version"] if p else None)
        r["fault"] = [code, failure.reason[:256]]
        self._finish(op, r)

    def _finish(self, op, r):
        op.pop("phase", None)
        if not O.valid_uuid(r.get("uuid") or ""):
            r["uuid"] = (op.get("uuid") if O.valid_uuid(op.get("uuid") or "") else "") or ""
        r["start"] = op.get("start") or _iso()
        r["complete"] = _iso()
        op["result"] = r
        for k in ("password", "username", "restarts"):
            op.pop(k, None)
        self.journal.save()
        code, reason = r["fault"]
        name = op.get("name") or (op.get("key") or "").split("/", 1)[-1]
        if code:
            log.warning("software: %s %s: fault %d %s", op["op"], name or op.get("url", ""), code, reason)
        else:
            log.info("software: %s %s %s: done", op["op"], name, r.get("version", ""))
        self.agent.audit.record("software", op=op["op"], url=op.get("url"), name=name or None,
                                version=r.get("version") or None, result="ok" if not code else "fault",
                                fault=code or None, reason=reason or None)

    def _check_done(self):
        j = self.journal
        done = False
        for r in j.doc["ops"]:
            if r["kind"] == "cdus" and r["state"] != "done" and all(o.get("result") for o in r["ops"]):
                r["state"] = "done"
                done = True
                log.info("software: ChangeDUState %d complete", r["id"])
                self.agent.events.add(ev.DU_STATE_CHANGE_COMPLETE, save=False)
                self.agent.events.add(ev.M_CHANGE_DU_STATE, r["key"], save=False)
        if done:
            j.save()
            self.agent.events.save()
            self.agent.request_session()

    # ------------------------------------------------------- autonomous
    def _known(self, key, version):
        known = self.units.doc.get("known")
        if known is None:
            return
        if version is None:
            known.pop(key, None)
        else:
            known[key] = [version, self.units.uuid(key)]
        self.units.save()

    def _poll_due(self):
        self._scan_quietly()
        self._poll = self.loop.call_later(self.agent.cfg.int("software", "poll_interval"), self._poll_due,
                                          "software-poll")

    def _scan_quietly(self):
        if self.agent.in_session:
            return
        try:
            self.units.scan()
        except CwmpFault:
            return
        self._after_scan()

    def _busy_keys(self):
        out = set()
        for r in self.journal.doc["ops"]:
            if r["kind"] == "cdus" and r["state"] != "done":
                for o in r["ops"]:
                    if o.get("result") is None:
                        out.add(o.get("key"))
        return out

    def _after_scan(self):
        """Compare the installed set with the last known one."""
        u = self.units
        now = {k: p["version"] for k, p in u.pkgs.items()}
        known = u.doc.get("known")
        if known is None:
            u.doc["known"] = {k: [v, u.uuid(k)] for k, v in now.items()}
            u.save()
            return
        busy = self._busy_keys()
        results = []
        t = _iso()
        for k in sorted(set(known) | set(now)):
            if k in busy or (known[k][0] if k in known else None) == now.get(k):
                continue
            if k not in now:
                r = {"op": "Uninstall", "uuid": known[k][1], "ref": "", "version": known[k][0],
                     "state": "Uninstalled", "resolved": False, "eus": []}
                del known[k]
            else:
                r = self._describe(k)
                r.update(op="Update" if k in known else "Install", state="Installed")
                known[k] = [now[k], r["uuid"]]
            r.update(fault=[0, ""], start=O.UNKNOWN, complete=t)
            log.info("software: %s of %s %s done locally", r["op"], k, r["version"])
            self.agent.audit.record("software", op=r["op"], name=k.split("/", 1)[1], version=r["version"],
                                    result="ok", autonomous=True)
            results.append(r)
        if not results:
            return
        u.save()
        pol = self._complpolicy()
        results = [r for r in results if O.policy_allows(pol, r)]
        if not results:
            return
        j = self.journal
        for i in range(0, len(results), MAX_AUTO):
            j.doc["ops"].append({"id": j.next_id(), "kind": "auto", "state": "done",
                                 "results": results[i:i + MAX_AUTO]})
        j.save()
        self.agent.add_event(ev.AUTONOMOUS_DU_STATE_CHANGE_COMPLETE)


def _public(op):
    return {k: v for k, v in op.items() if k in ("op", "url", "uuid", "version", "executionenvref", "username")}


def _unlink(path):
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass


def install(agent):
    if not agent.root.startswith("Device"):
        log.warning("software: [software] enable needs the Device data model; off")
        return None
    s = SoftwareModules(agent)
    s.install()
    return s
