"""ACS requests -> CPE responses: argument parsing and answer writing.

``Dispatcher.handle(message)`` returns the response envelope (bytes) for one
ACS request, whatever happens: an unknown method gets 9000, missing or
malformed arguments 9003, a model error its own fault, and an unexpected
exception 9002 with a log line (never a crash, never a hang).

Handlers are registered by name; other modules (transfers, device
operations) add theirs with ``Dispatcher.register``. GetRPCMethods answers
with exactly the registered names.
"""


from rocket.cwmp import soap
from rocket.cwmp import values
from rocket.base.log import log
from rocket.cwmp.soap import CwmpFault, child, items, parse_bool, text


def _arg(elem, name, required=True, default=""):
    v = text(elem, name)
    if v is None:
        if required:
            raise CwmpFault(9003, "missing argument %s" % name)
        return default
    return v


def _uint(elem, name, required=True, default=0):
    v = _arg(elem, name, required, None)
    if v is None:
        return default
    try:
        n = values.small_int(v, 10)
    except ValueError:
        raise CwmpFault(9003, "%s is not an unsignedInt" % name) from None
    if n < 0 or n > 0xFFFFFFFF:
        raise CwmpFault(9003, "%s out of range" % name)
    return n


def _bool(elem, name):
    try:
        return parse_bool(_arg(elem, name))
    except ValueError:
        raise CwmpFault(9003, "%s is not a boolean" % name) from None


def _strings(elem, name):
    c = child(elem, name)
    if c is None:
        raise CwmpFault(9003, "missing argument %s" % name)
    return [(m.text or "") for m in c]


XSI_TYPE = "{%s}type" % soap.XSI


class Dispatcher:
    def __init__(self, model):
        self.model = model
        self.methods = {}
        self.before = []  # callbacks(message) -> may raise CwmpFault (policy)
        self.after = []  # callbacks(message, fault or None) (audit)
        self.breathe = None  # called between items of a big answer (the agent's loop)
        for name in ("GetRPCMethods", "GetParameterValues", "SetParameterValues",
                     "GetParameterNames", "GetParameterAttributes", "SetParameterAttributes",
                     "AddObject", "DeleteObject"):
            self.methods[name] = getattr(self, "do_" + name)

    def register(self, name, handler):
        """``handler(message) -> list of strings`` (the inner XML of the answer)."""
        self.methods[name] = handler

    def handle(self, msg, ns):
        """Return (envelope bytes, label for the log)."""
        handler = self.methods.get(msg.name)
        fault = None
        try:
            if handler is None:
                raise CwmpFault(9000, "Method not supported: %s" % msg.name[:64])
            for cb in self.before:
                cb(msg)
            parts = handler(msg)
            body = soap.envelope(ns, msg.id, parts)
            label = msg.name + "Response"
        except CwmpFault as e:
            fault = e
        except Exception:  # a bug or a broken backend must not end the agent
            log.exception("rpc: %s failed", msg.name)
            fault = CwmpFault(9002, "Internal error")
        if fault is not None:
            body = soap.envelope(ns, msg.id, [soap.fault_body(fault)])
            label = "Fault %d: %s" % (fault.code, fault.string)  # the reason, for the operator
            if fault.param_faults:
                n, c, _ = fault.param_faults[0]
                more = len(fault.param_faults) - 1
                label += " (%s %d%s)" % (n[:200], c, " and %d more" % more if more else "")
        for cb in self.after:
            try:
                cb(msg, fault)
            except Exception:
                log.exception("rpc: after-hook failed")
        return body, label

    # --------------------------------------------------------------- RPCs
    def do_GetRPCMethods(self, msg):
        names = sorted(self.methods)
        members = ["<string>%s</string>" % soap.esc(n) for n in names]
        return [soap.rpc("GetRPCMethodsResponse",
                         soap.array("MethodList", "xsd:string", members, len(members)))]

    def do_GetParameterValues(self, msg):
        names = _strings(msg.body, "ParameterNames")
        result = self.model.get_values(names)
        return _stream_values("GetParameterValuesResponse", result, self.breathe)

    def do_SetParameterValues(self, msg):
        body = msg.body
        c = child(body, "ParameterList")
        if c is None:
            raise CwmpFault(9003, "missing argument ParameterList")
        its = []
        for pvs in c:
            name = text(pvs, "Name")
            v = child(pvs, "Value")
            if name is None or v is None:
                raise CwmpFault(9003, "ParameterValueStruct without Name or Value")
            its.append((name.strip(), v.text or "", v.get(XSI_TYPE)))
        if not its:
            raise CwmpFault(9003, "empty ParameterList")
        key = _arg(body, "ParameterKey", required=False)
        if len(key) > 32:
            raise CwmpFault(9003, "ParameterKey longer than 32 characters")
        status = self.model.set_values(its, key)
        return [soap.rpc("SetParameterValuesResponse", "<Status>%d</Status>" % status)]

    def do_GetParameterNames(self, msg):
        path = _arg(msg.body, "ParameterPath", required=False)
        next_level = _bool(msg.body, "NextLevel")
        result = self.model.get_names(path, next_level)
        parts = ["<cwmp:GetParameterNamesResponse><ParameterList soap-enc:arrayType="
                 "\"cwmp:ParameterInfoStruct[%d]\">" % len(result)]
        esc = soap.esc
        parts.extend("<ParameterInfoStruct><Name>%s</Name><Writable>%s</Writable></ParameterInfoStruct>"
                     % (esc(n), "true" if w else "false") for n, w in result)
        parts.append("</ParameterList></cwmp:GetParameterNamesResponse>")
        return parts

    def do_GetParameterAttributes(self, msg):
        names = _strings(msg.body, "ParameterNames")
        result = self.model.get_attributes(names)
        esc = soap.esc
        parts = ["<cwmp:GetParameterAttributesResponse><ParameterList soap-enc:arrayType="
                 "\"cwmp:ParameterAttributeStruct[%d]\">" % len(result)]
        for n, notif, access in result:
            if self.breathe is not None:
                self.breathe()
            acc = "".join("<string>%s</string>" % esc(a) for a in access)
            parts.append("<ParameterAttributeStruct><Name>%s</Name><Notification>%d</Notification>"
                         "<AccessList soap-enc:arrayType=\"xsd:string[%d]\">%s</AccessList>"
                         "</ParameterAttributeStruct>" % (esc(n), notif, len(access), acc))
        parts.append("</ParameterList></cwmp:GetParameterAttributesResponse>")
        return parts

    def do_SetParameterAttributes(self, msg):
        c = child(msg.body, "ParameterList")
        if c is None or len(c) == 0:
            raise CwmpFault(9003, "missing argument ParameterList")
        its = []
        for s in c:
            name = _arg(s, "Name").strip()
            notif = access = None
            if _bool(s, "NotificationChange"):
                try:
                    notif = values.small_int(_arg(s, "Notification"), 2)
                except ValueError:
                    raise CwmpFault(9003, "Notification is not an int") from None
            if _bool(s, "AccessListChange"):
                access = [(m.text or "").strip() for m in items(s, "AccessList")]
            its.append((name, notif, access))
        self.model.set_attributes(its)
        return [soap.rpc("SetParameterAttributesResponse")]

    def do_AddObject(self, msg):
        name = _arg(msg.body, "ObjectName").strip()
        key = _arg(msg.body, "ParameterKey", required=False)
        number, status = self.model.add_object(name, key)
        return [soap.rpc("AddObjectResponse", "<InstanceNumber>%d</InstanceNumber><Status>%d</Status>"
                         % (number, status))]

    def do_DeleteObject(self, msg):
        name = _arg(msg.body, "ObjectName").strip()
        key = _arg(msg.body, "ParameterKey", required=False)
        status = self.model.delete_object(name, key)
        return [soap.rpc("DeleteObjectResponse", "<Status>%d</Status>" % status)]


def _stream_values(element, result, breathe=None):
    """A ParameterValueStruct array as a generator of strings."""
    yield ("<cwmp:%s><ParameterList soap-enc:arrayType=\"cwmp:ParameterValueStruct[%d]\">"
           % (element, len(result)))
    vs = soap.value_struct
    for name, ptype, value in result:
        if breathe is not None:
            breathe()
        yield vs(name, ptype, value)
    yield "</ParameterList></cwmp:%s>" % element


# helpers shared with other RPC modules
arg = _arg
uint = _uint


def command_key(elem):
    """The CommandKey argument (optional; at most 32 characters, else 9003)."""
    key = _arg(elem, "CommandKey", required=False)
    if len(key) > 32:
        raise CwmpFault(9003, "CommandKey longer than 32 characters")
    return key


boolean = _bool
