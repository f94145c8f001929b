"""The XMPP connection's parameters, for the service and for its stand-in.

``XmppParams`` builds Device.XMPP.Connection.1.* from the ``[xmpp]`` section
(read-only mirrors for the ACS; not built when a backend owns that subtree),
sets its Status, SupportedConnReqMethods, ConnReqXMPPConnection and
ConnReqJabberID (reported when it changes, also across restarts). The
client itself (``rocket.connreq.xmpp``) is imported only while XMPP is
enabled; while it is off, ``rocket.connreq.standby`` uses this module alone.
"""

from rocket.connreq.standby import Standby, set_method
from rocket.cwmp.events import VALUE_CHANGE


def split_jid(jid):
    """'user@domain/res' -> ('user', 'domain', 'res'); parts may be ''."""
    bare, _, res = jid.partition("/")
    local, at, domain = bare.rpartition("@")
    if not at:
        local, domain = "", bare
    return local, domain, res


class XmppParams:
    """The parameters' side of the XMPP connection (``agent`` set by start)."""

    agent = None
    _mirror = False  # Device.XMPP.Connection.1.* built and kept up to date here

    # ------------------------------------------------------------ config
    def _cfg(self, key):
        return self.agent.cfg.get("xmpp", key)

    def _int(self, key, lo=0):
        return self.agent.cfg.int("xmpp", key, lo)

    def _account(self):
        local, domain, res = split_jid(self._cfg("jid"))
        return local, domain, res

    # ------------------------------------------------------------ params
    def _conn(self, name):
        return self.agent.root + "XMPP.Connection.1." + name

    def _build_params(self):
        """Device.XMPP.Connection.1.* from [xmpp] (read-only mirrors);
        on a reload the existing parameters are updated in place."""
        from rocket.datamodel.store import HIDDEN, Param
        model = self.agent.model
        s = model.store
        enabled = self.agent.cfg.bool("xmpp", "enable")

        def put(path, value, ptype="string", flags=0):
            if isinstance(s.get(path), Param):
                model.set_internal(path, value)
            else:
                s.add(path, Param(value, ptype, False, flags=flags))
        # Ours unless a backend (a static tree, a device script) owns the
        # subtree: then the device's own values stand and are not touched.
        self._mirror = self.agent.root == "Device." and model.owner(self._conn("")) is None
        if self._mirror:
            local, domain, res = self._account()
            s.add_object("Device.XMPP.")
            put("Device.XMPP.ConnectionNumberOfEntries", "1", "unsignedInt")
            s.add_object("Device.XMPP.Connection.", table=True)
            s.add_object(self._conn(""))
            for name, value, ptype, flags in (
                    ("Enable", "true" if enabled else "false", "boolean", 0),
                    ("Username", local, "string", 0), ("Password", "", "string", HIDDEN),
                    ("Domain", domain, "string", 0), ("Resource", res, "string", 0),
                    ("JabberID", "", "string", 0), ("Status", "Disabled", "string", 0),
                    ("UseTLS", "true", "boolean", 0), ("TLSEstablished", "false", "boolean", 0),
                    ("KeepAliveInterval", self._cfg("keepalive_interval"), "long", 0),
                    ("ServerNumberOfEntries", "1", "unsignedInt", 0)):
                put(self._conn(name), value, ptype, flags)
            s.add_object(self._conn("Server."), table=True)
            s.add_object(self._conn("Server.1."))
            put(self._conn("Server.1.Enable"), "true", "boolean")
            put(self._conn("Server.1.ServerAddress"), self._cfg("server") or domain)
            put(self._conn("Server.1.Port"), self._cfg("port"), "unsignedInt")
        model.set_internal(model.ms("ConnReqXMPPConnection"),
                           self._conn("")[:-1] if enabled and self.agent.root == "Device." else "")

    def _status(self, status):
        if self._mirror:
            self.agent.model.set_internal(self._conn("Status"), status)

    def _methods(self, on):
        set_method(self.agent.model, "XMPP", on)

    def _publish_jid(self, jid):
        model = self.agent.model
        path = model.ms("ConnReqJabberID")
        if self._mirror:
            model.set_internal(self._conn("JabberID"), jid)
        if model.value(path) == jid:
            return
        model.set_internal(path, jid)
        saved = self.agent.state.load("xmpp", {})
        if not isinstance(saved, dict) or saved.get("jid") != jid:
            self.agent.state.save("xmpp", {"jid": jid})
            self.agent.events.note_changed(path)
            self.agent.add_event(VALUE_CHANGE)


class XmppStandby(Standby, XmppParams):
    """XMPP while ``[xmpp] enable`` is false (rocket.connreq.standby)."""

    label = "xmpp"

    def wanted(self):
        return self.agent.cfg.bool("xmpp", "enable")

    def off(self):
        self._build_params()
        self._status("Disabled")
        self._methods(False)

    def service(self, gate):
        from rocket.connreq.xmpp import XmppService
        return XmppService(gate)
