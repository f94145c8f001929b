"""The diagnostics' parameters before any test is asked for.

What it is for: with ``[diagnostics] enable`` on (the default) every test's
parameters are in the tree from the start, but the code that checks,
queues, runs and reports tests (rocket.diag.service) is imported only when
it has work: the first write to a diagnostics object (SetParameterValues,
``ctl set``; its value check is the service's own), or, at start, results
or pending tests kept in the state directory (``diag.json``). From then on
the stand-in hands every hook to the service. Not for: anything a test does.
"""

import os

from rocket.datamodel.store import Param
from rocket.diag import spec

COUNTERS = ("PacketsReceived", "PacketsResponded", "BytesReceived", "BytesResponded",
            "TimeFirstPacketReceived", "TimeLastPacketReceived")


def counter(responder, name):
    """A UDPEchoConfig counter; the never-enabled responder's values without one."""
    if responder is None:
        return "0001-01-01T00:00:00Z" if name.startswith("Time") else "0"
    return responder.counters()[name]


def build(agent, igd, conns):
    """Add every test's parameters to the store: {kind: (base path, {table: columns})}."""
    r, store, kinds = agent.root, agent.model.store, {}
    fill = {"conns": conns, "results": 100}
    for kind, (obj, text, tables) in (spec.IGD if igd else spec.DEVICE).items():
        base = r + obj
        store.add_object(base)
        for name, ptype, w, limit, default in spec.rows(text % fill):
            store.add(base + name, Param(default, ptype, w, None, 0, limit))
        cols = {}
        for t, ctext in tables.items():
            store.add_object(base + t + ".", table=True)
            cols[t] = spec.rows(ctext)
        kinds[kind] = (base, cols)
    if igd:
        caps = r + spec.IGD_CAPS[0]
        for n in ("DownloadTransports", "UploadTransports"):
            store.add(caps + n, Param("HTTP", "string"))
    else:
        caps = r + spec.DEVICE_CAPS[0]
        for n in spec.DEVICE_CAPS[1].split():
            store.add(caps + n, Param("true", "boolean"))
    return kinds


class DiagStandby:
    """A service: the tree and the hooks, ``service`` once loaded."""

    def __init__(self, agent):
        self.agent = agent
        self.igd = agent.root != "Device."
        self.max_conns = agent.cfg.int("diagnostics", "max_connections", 1)
        self.kinds = build(agent, self.igd, self.max_conns)
        self.bases = tuple(b for b, _ in self.kinds.values())
        self.service = None
        self.started = False
        base = self.kinds["UDPEchoConfig"][0]
        for n in COUNTERS:
            agent.model.getters[base + n] = lambda n=n: counter(None, n)

    def load(self):
        """The service (rocket.diag.service), imported and installed at the first call."""
        if self.service is None:
            from rocket.diag.service import Diagnostics
            self.service = Diagnostics(self.agent, self)
            self.service.install()
            if self.started:
                self.service.start(self.agent)
        return self.service

    def _check(self, path, value):
        if path.startswith(self.bases):
            return self.load()._check(path, value)

    def _on_set(self, path, value):
        if path.startswith(self.bases):
            self.load()._on_set(path, value)

    def start(self, agent):
        self.started = True

    def stop(self):
        pass


def install(agent):
    s = DiagStandby(agent)
    agent.model.on_set.append(s._on_set)
    agent.model.value_checks.append(s._check)
    agent.services.append(s)
    if os.path.exists(agent.state.file("diag")):
        s.load()  # results to restore, maybe tests to run again
