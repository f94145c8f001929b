"""The diagnostics as the ACS sees them: the parameters, the
DiagnosticsState machine (TR-069 / TR-181), the queue of tests, the
results, the "8 DIAGNOSTICS COMPLETE" event.

Life of a test:

1. A SetParameterValues writes DiagnosticsState = Requested (with the
   test's inputs). Inputs are checked in that SPV (type, range, host name
   or address syntax, http:// URL, Interface, the owner's policy): 9007.
   The request is persisted and staged.
2. When the session has ended cleanly, staged tests join the queue; tests
   run one at a time (a bandwidth test would disturb a ping) inside the
   loop (rocket.diag.run).
3. The results are written, DiagnosticsState becomes Complete (TR-098
   transfer tests: Completed) or the error state, the test and its outcome
   go to the log and the audit trail, the values are persisted, and "8
   DIAGNOSTICS COMPLETE" is queued with a session request (only for tests
   the ACS asked for; a local ``ctl set`` runs at once, without event).

Writing any other input of a test (without Requested in the same SPV)
stops it and sets DiagnosticsState to None; Requested again restarts it
with the current inputs; Canceled (Device:2 only) stops it (None, no
event). Results stay until the next run of that test; a restart of the
agent keeps them, a boot (--boot) clears them (DiagnosticsState None),
and a test that was requested or running when the agent stopped runs
again at its next start (not after a boot).
"""

import re

from rocket.cwmp import events as ev
from rocket.cwmp import values
from rocket.diag import spec, standby
from rocket.base.log import log
from rocket.datamodel.store import Param

_HOST = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$")
_TARGET = {"Host": 1, "HostName": 1, "DNSServer": 1, "DownloadURL": 2, "UploadURL": 2, "HostList": 3}
_TESTS = {"IPPing": ("probe", "IPPing"), "UDPEchoDiagnostics": ("probe", "UDPEcho"),
          "ServerSelectionDiagnostics": ("probe", "ServerSelection"), "TraceRoute": ("trace", "TraceRoute"),
          "DownloadDiagnostics": ("http", "Download"), "UploadDiagnostics": ("http", "Upload"),
          "NSLookupDiagnostics": ("dns", "NSLookup")}


def _host_ok(h):
    from rocket.diag.netif import literal
    return bool(literal(h)) or bool(_HOST.match(h))


class Diagnostics:
    def __init__(self, agent, tree):
        self.agent = agent
        self.loop = agent.loop
        self.model = agent.model
        self.store = agent.model.store
        self.igd = tree.igd
        self.max_conns = tree.max_conns
        self.kinds = tree.kinds  # kind -> (base path, {table: columns}), in the store (rocket.diag.standby)
        self.running = None  # (kind, Test)
        self.queue = []
        self.staged = []
        self.acs = set()  # kinds whose end is reported with 8 DIAGNOSTICS COMPLETE
        self.serial = 0  # ACS requests seen (an SPV's Requested and its inputs share one)
        self.requested_in = {}
        self.responder = None
        self._kick_timer = None

    # ------------------------------------------------------------ model
    def _kind(self, path):
        for kind, (base, _) in self.kinds.items():
            if path.startswith(base):
                return kind, path[len(base):]
        return None, None

    def _v(self, kind, short):
        return self.model.value(self.kinds[kind][0] + short) or ""

    def _set(self, kind, short, value):
        path = self.kinds[kind][0] + short
        if isinstance(self.store.get(path), Param):
            self.model.set_internal(path, value)

    # ------------------------------------------------------- persistence
    def _save(self):
        doc = {"values": {}, "tables": {}, "pending": self.staged + self.queue
               + ([self.running[0]] if self.running else []), "acs": sorted(self.acs)}
        for kind, (base, cols) in self.kinds.items():
            for path, p in self.store.params_under(base):
                if path not in self.model.getters and path[len(base):].find(".") < 0:
                    doc["values"][path] = p.value
            for t in cols:
                doc["tables"][base + t + "."] = self._rows(base + t + ".")
        self.agent.state.save("diag", doc)

    def _rows(self, tpath):
        out = []
        for n in sorted(self.store.instances(tpath)):
            inst = "%s%d." % (tpath, n)
            out.append({k[len(inst):]: p.value for k, p in self.store.params_under(inst)})
        return out

    def _restore(self):
        doc = self.agent.state.load("diag", {})
        if not isinstance(doc, dict):
            return
        boot = self.agent.boot
        for path, value in (doc.get("values") or {}).items():
            p = self.store.get(path)
            if isinstance(p, Param) and isinstance(value, str) and (not boot or p.writable):
                p.value = value
        kinds_by_base = {b: k for k, (b, _) in self.kinds.items()}
        if not boot:
            for tpath, rows in (doc.get("tables") or {}).items():
                base, _, t = tpath[:-1].rpartition(".")
                kind = kinds_by_base.get(base + ".")
                if kind and t in self.kinds[kind][1] and isinstance(rows, list):
                    self._fill(kind, t, [r for r in rows if isinstance(r, dict)], renamed=True)
            self.queue = [k for k in doc.get("pending") or [] if k in _TESTS and k in self.kinds]
            self.acs = set(k for k in doc.get("acs") or [] if k in self.queue)
        for kind in self.kinds:
            if kind in _TESTS:
                st = self._v(kind, "DiagnosticsState")
                if boot or st == "Requested" and kind not in self.queue:
                    self._set(kind, "DiagnosticsState", "None")
                elif kind in self.queue:
                    self._set(kind, "DiagnosticsState", "Requested")

    # ------------------------------------------------------------ hooks
    def _before(self, msg):
        self.serial += 1

    def _check(self, path, value):
        """DataModel.value_checks: 9007 for an input a test could not use."""
        kind, short = self._kind(path)
        if kind is None:
            return
        # the owner's own writes (control socket) are not the policy's business
        pol = self.agent.policy if self.agent.in_session else None
        what = _TARGET.get(short)
        if what and value:
            hosts = [value]
            if what == 2:
                from urllib.parse import urlsplit
                try:
                    u = urlsplit(value)
                    hosts = [u.hostname or ""]
                    u.port
                except ValueError:
                    raise values.BadValue("not a URL") from None
                if u.scheme != "http":
                    raise values.BadValue("only http:// URLs are supported")
            elif what == 3:
                hosts = [h.strip() for h in value.split(",")]
                if len(hosts) > 10:
                    raise values.BadValue("at most 10 hosts")
            for h in hosts:
                if not _host_ok(h):
                    raise values.BadValue("not a host name or IP address: %r" % h[:64])
                rule = pol.diagnostic_allowed(h) if pol is not None else None
                if rule:
                    log.warning("policy: diagnostics towards %s refused (%s)", h[:64], rule)
                    self.agent.audit.record("denied", action="diagnostics", test=kind, target=h[:256], rule=rule)
                    raise values.BadValue("target not allowed by the device owner's policy")
        elif short == "Interface" and value and not self._device(value):
            raise values.BadValue("no such interface: %s" % value[:256])
        elif short == "NumberOfConnections" and int(value) > self.max_conns:
            raise values.BadValue("at most %d connections" % self.max_conns)
        elif short == "SourceIPAddress" and value:
            from rocket.diag.netif import literal
            if not literal(value):
                raise values.BadValue("not an IP address")

    def _device(self, ref):
        """Interface value -> Linux interface name ('' when unknown)."""
        import os
        ref = ref.rstrip(".")
        if ref.startswith(self.agent.root):
            try:
                self.model.touch(ref + ".")
            except Exception:
                return ""
            name = self.model.value(ref + ".Name") or ""
            return name if name and os.path.isdir("/sys/class/net/" + name) else ""
        return ref if re_ifname(ref) and os.path.isdir("/sys/class/net/" + ref) else ""

    def _on_set(self, path, value):
        kind, short = self._kind(path)
        if kind is None:
            return
        if kind == "UDPEchoConfig":
            self._echo_config()
            self._save()
            return
        if short == "DiagnosticsState":
            if value == "Requested":
                self._stop(kind)
                self.requested_in[kind] = self.serial
                if self.agent.in_session:
                    self.staged.append(kind)
                    self.acs.add(kind)
                else:
                    self.queue.append(kind)  # a local request (control socket): now
                    self._kick()
            else:  # Canceled
                self._stop(kind)
                self._set(kind, "DiagnosticsState", "None")
        elif self.requested_in.get(kind) != self.serial:
            self._stop(kind)
            self._set(kind, "DiagnosticsState", "None")
        self._save()

    def _stop(self, kind):
        if self.running and self.running[0] == kind:
            log.info("diagnostics: %s stopped (its parameters were written)", kind)
            self.running[1].cancel()
            self.running = None
            self._kick()
        for lst in (self.queue, self.staged):
            while kind in lst:
                lst.remove(kind)
        self.acs.discard(kind)

    def _after_session(self, ok):
        if ok and self.staged:
            self.queue.extend(k for k in self.staged if k not in self.queue)
            self.staged = []
            self._kick()

    # -------------------------------------------------------------- run
    def _kick(self):
        if self._kick_timer is None or self._kick_timer.cancelled:
            self._kick_timer = self.loop.call_later(0, self._next, "diagnostics")

    def _next(self):
        if self.running or not self.queue:
            return
        kind = self.queue.pop(0)
        self.serial += 1  # later writes of its inputs stop it
        base = self.kinds[kind][0]
        params = {}
        for path, p in self.store.params_under(base):
            short = path[len(base):]
            if p.writable and "." not in short:
                params[short] = p.value
        target = params.get("Host") or params.get("HostName") or params.get("DownloadURL") \
            or params.get("UploadURL") or params.get("HostList") or ""
        pol = self.agent.policy if kind in self.acs else None
        rule = pol.diagnostic_allowed(_host_of(target)) if pol is not None else None
        mod, cls = _TESTS[kind]
        import importlib
        test_cls = getattr(importlib.import_module("rocket.diag." + mod), cls)
        device = self._device(params.get("Interface", "")) if params.get("Interface") else ""
        test = test_cls(self.loop, params, lambda st, v, t: self._done(kind, target, st, v, t), device)
        self.running = (kind, test)
        log.info("diagnostics: %s started (%s)", kind, target[:256] or "no target")
        if rule:
            log.warning("policy: diagnostics %s towards %s refused (%s)", kind, target[:64], rule)
            return test.finish("Error_Other", {"_why": rule})
        if pol is not None and pol.policy.diagnostics_targets:
            test.resolve_check = lambda host, addr: pol.diagnostic_allowed(host, addr)
        test.guard(test.start)()

    def _done(self, kind, target, state, vals, tables):
        if self.running is None or self.running[0] != kind:
            return
        self.running = None
        if state == "Complete" and self.igd:
            state = spec.IGD_COMPLETE.get(kind, state)
        state = spec.final_state(self.igd, kind, state)
        why = vals.pop("_why", "")
        for k, v in vals.items():
            self._set(kind, k, v)
        for t in self.kinds[kind][1]:
            self._fill(kind, t, tables.get(t, []))
        self._set(kind, "DiagnosticsState", state)
        summary = ""
        if "SuccessCount" in vals:
            summary = " (%s answered, %s failed)" % (vals["SuccessCount"], vals.get("FailureCount", "-"))
        log.info("diagnostics: %s to %s: %s%s%s", kind, target[:256] or "-", state, summary,
                 (": " + why) if why else "")
        rec = {"test": kind, "target": target[:256], "state": state}
        if why:
            rec["reason"] = why[:256]
        self.agent.audit.record("diagnostics", **rec)
        acs = kind in self.acs
        self.acs.discard(kind)
        self._save()
        if acs:
            self.agent.add_event(ev.DIAGNOSTICS_COMPLETE)
        self._kick()

    def _fill(self, kind, t, rows, renamed=False):
        base, cols = self.kinds[kind]
        tpath = base + t + "."
        for n in self.store.instances(tpath):
            self.store.delete("%s%d." % (tpath, n))
        for i, row in enumerate(rows[:1000], 1):
            inst = "%s%d." % (tpath, i)
            self.store.add_object(inst)
            for name, ptype, _, limit, default in cols[t]:
                key = name if renamed else _unrename(name)
                v = row.get(key, default)
                if isinstance(limit, int) and len(v) > limit:
                    v = v[:limit].rsplit(",", 1)[0] if "," in v else v[:limit]
                self.store.add(inst + name, Param(v if isinstance(v, str) else default, ptype, False))
        count = base + ("RouteHops" if t == "RouteHops" else t) + "NumberOfEntries"
        if isinstance(self.store.get(count), Param):
            self.model.set_internal(count, str(min(len(rows), 1000)))

    # ------------------------------------------------------ UDP echo
    def _echo_config(self):
        k = "UDPEchoConfig"
        enable = self._v(k, "Enable") == "true"
        if self.responder is None:
            if not enable:
                return
            from rocket.diag.echo import Responder
            self.responder = Responder(self.loop)
        dev = self._device(self._v(k, "Interface")) if self._v(k, "Interface") else ""
        self.responder.configure(enable and int(self._v(k, "UDPPort") or 0) > 0, int(self._v(k, "UDPPort") or 0),
                                 dev, self._v(k, "SourceIPAddress"), self._v(k, "EchoPlusEnabled") == "true")

    # service
    def start(self, agent):
        self._echo_config()
        if self.queue:
            self._kick()  # interrupted by a restart: they run again now

    def stop(self):
        if self.running:
            self.running[1].cancel()
            self._save()  # still pending: it runs again after the next session
        if self.responder is not None:
            self.responder.stop()

    def install(self):
        """Behind rocket.diag.standby, which hands it the tree's writes."""
        a = self.agent
        base = self.kinds["UDPEchoConfig"][0]
        for n in standby.COUNTERS:
            self.model.getters[base + n] = lambda n=n: standby.counter(self.responder, n)
        self._restore()
        a.rpc.before.append(self._before)
        a.after_session.append(self._after_session)
        a.services.append(self)


def _unrename(name):
    for k, v in spec.IGD_RENAME.items():
        if v == name:
            return k
    return name


def _host_of(target):
    if "://" in target:
        from urllib.parse import urlsplit
        try:
            return urlsplit(target).hostname or ""
        except ValueError:
            return ""
    return target.split(",")[0].strip()


def re_ifname(s):
    return 0 < len(s) < 16 and "/" not in s and s not in (".", "..")
