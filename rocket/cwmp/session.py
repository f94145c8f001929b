"""The CWMP session as a small explicit state machine (no I/O here).

Rules (TR-069 Amendment 6, §3.7.1, §3.4 and Annex A), in the order they bite:

1. Every session starts with exactly one Inform, in the initial POST. No other
   CPE request goes out before the InformResponse has arrived.
2. A SOAP Fault (any code) in answer to the Inform fails the session. 8006 and
   SOAP VersionMismatch/MustUnderstand faults also say "try an older CWMP
   version next time" (``Finished.downgrade``).
3. After the InformResponse the CPE sends its own requests (TransferComplete,
   AutonomousTransferComplete, GetRPCMethods...) one at a time, each waiting
   for its response, unless the ACS has set HoldRequests=true. HoldRequests
   holds until an ACS message arrives without it (an empty response counts).
4. A fault 8005 (Retry request) to a CPE request means: send it again, with a
   new cwmp:ID, later in this session. At most ``MAX_RETRY_8005`` times. Any
   other fault: that request failed this session; it stays pending outside.
5. When the CPE has no (sendable) request left it POSTs an empty body. Every
   non-empty HTTP response is then an ACS request, which the CPE answers, in
   order, in its next POST. An ACS request is never answered with a request.
6. The session ends well when the ACS sends an empty response (204, or 200
   with no body) while the CPE has nothing left to send. It ends badly on a
   transport failure, a malformed message, or a protocol violation (an ACS
   request where the response to our own request was due).
7. The CPE answers in the namespace of the message it answers, and uses the
   version the ACS chose (UseCWMPVersion, else the InformResponse namespace)
   for everything it sends after the InformResponse.

Theory of operation. The driver (``rocket.agent``) owns the sockets. It asks
``next_event()`` what to do; the answer is one of:

- ``Send(body)``: POST these bytes (``b""`` is the empty POST) and hand the
  HTTP result to ``receive(status, body)`` or, on failure, to ``fail(reason)``;
- ``AcsRequest(message)``: the ACS asked for something; the driver works out
  the answer and gives the envelope to ``respond(body)``;
- ``InformAcked()`` / ``RequestAcked(tag, name)``: a delivery to record
  (clear delivered events, drop an acknowledged TransferComplete);
- ``Finished(ok, reason)``: the session is over.

Events come out in the order they happened; ``next_event()`` returns None
only when the machine waits for the driver (a Send or AcsRequest outstanding).
"""

import re

from rocket.cwmp import soap

_ID_RE = re.compile(rb"<(?:[\w.-]+:)?ID\b[^>]*>([^<]{0,256})</")

MAX_RETRY_8005 = 3
MAX_ACS_REQUESTS = 10000  # a session that never ends is an ACS bug: stop it


class Send:
    __slots__ = ("body", "what")

    def __init__(self, body, what):
        self.body = body
        self.what = what  # for logs: "Inform", "empty", "GetParameterValuesResponse"...

    def __repr__(self):
        return "<Send %s %d bytes>" % (self.what, len(self.body))


class AcsRequest:
    __slots__ = ("message",)

    def __init__(self, message):
        self.message = message


class InformAcked:
    __slots__ = ("version",)

    def __init__(self, version):
        self.version = version


class RequestAcked:
    __slots__ = ("tag", "name")

    def __init__(self, tag, name):
        self.tag = tag
        self.name = name


class Finished:
    __slots__ = ("ok", "reason", "downgrade")

    def __init__(self, ok, reason="", downgrade=False):
        self.ok = ok
        self.reason = reason
        self.downgrade = downgrade

    def __repr__(self):
        return "<Finished ok=%s %s>" % (self.ok, self.reason)


class CpeRequest:
    """A request the CPE sends to the ACS after the Inform.

    ``inner`` is the XML inside ``<cwmp:name>``; ``tag`` is the driver's handle
    (e.g. a transfer's journal key); ``min_version`` the CWMP version the RPC
    needs (AutonomousTransferComplete needs 1.1).
    """

    __slots__ = ("name", "inner", "tag", "min_version", "tries")

    def __init__(self, name, inner, tag=None, min_version="1.0"):
        self.name = name
        self.inner = inner
        self.tag = tag
        self.min_version = min_version
        self.tries = 0


class Inform:
    """What goes into the Inform: built by the driver, written here."""

    __slots__ = ("device_id", "events", "params", "retry_count", "current_time")

    def __init__(self, device_id, events, params, retry_count, current_time):
        self.device_id = device_id  # (Manufacturer, OUI, ProductClass, SerialNumber)
        self.events = events  # [(code, command_key)]
        self.params = params  # [(name, xsd_type, value)]
        self.retry_count = retry_count
        self.current_time = current_time


# States
SEND_INFORM = "send-inform"
WAIT_INFORM = "wait-inform-response"
IDLE = "cpe-turn"  # we decide what to POST next
WAIT_CPE_RESPONSE = "wait-response-to-cpe-request"
WAIT_ACS = "wait-acs"  # after an empty POST or a response: ACS request or end
HANDLING = "handling-acs-request"
DONE = "done"


def _vtuple(v):
    return tuple(int(x) for x in v.split("."))


class Session:
    def __init__(self, inform, max_version="1.4", session_timeout=30, cpe_requests=()):
        self.inform = inform
        self.max_version = max_version
        self.version = max_version
        self.ns = soap.ns_for_version(max_version)
        self.session_timeout = session_timeout
        self.requests = list(cpe_requests)
        self.state = SEND_INFORM
        self.hold = False
        self.events = []
        self.outstanding = None  # CpeRequest awaiting its response
        self.acs_message = None  # ACS request being handled
        self.acs_requests = 0
        self._next_id = 0
        self.rpc_log = []  # names of ACS RPCs handled, for the session log line
        self.breathe = None  # called between slices of parsing a big message (the loop)

    # ---------------------------------------------------------------- ids
    def _new_id(self):
        self._next_id += 1
        return "cpe-%d" % self._next_id

    # ---------------------------------------------------------- the driver
    def next_event(self):
        if self.events:
            return self.events.pop(0)
        if self.state == SEND_INFORM:
            self.state = WAIT_INFORM
            return Send(self._inform_body(), "Inform")
        if self.state == IDLE:
            req = self._next_request()
            if req is not None:
                self.outstanding = req
                req.tries += 1
                self.state = WAIT_CPE_RESPONSE
                body = soap.envelope(self.ns, self._new_id(), [soap.rpc(req.name, req.inner)])
                return Send(body, req.name)
            self.state = WAIT_ACS
            return Send(b"", "empty")
        return None

    def _next_request(self):
        if self.hold:
            return None
        v = _vtuple(self.version)
        while self.requests:
            req = self.requests[0]
            if _vtuple(req.min_version) <= v:
                return req
            self.requests.pop(0)  # not for this ACS version; stays pending outside
        return None

    def receive(self, status, body):
        """Feed the HTTP result of the last Send (after auth and redirects)."""
        if self.state not in (WAIT_INFORM, WAIT_CPE_RESPONSE, WAIT_ACS):
            raise RuntimeError("receive() in state %s" % self.state)
        if status not in (200, 204):
            return self._finish(False, "HTTP status %d" % status)
        try:
            msg = soap.parse(body if status == 200 else b"", self.breathe)
        except soap.SoapError as e:
            if self.state == WAIT_ACS:
                return self._malformed_request(body, e)
            return self._finish(False, "malformed ACS message: %s" % e)
        # Any ACS message without HoldRequests=true lifts the hold, an empty
        # one included (rule 3).
        self.hold = msg.hold_requests
        if self.state == WAIT_INFORM:
            return self._on_inform_response(msg)
        if self.state == WAIT_CPE_RESPONSE:
            return self._on_cpe_response(msg)
        return self._on_acs_turn(msg)

    def fail(self, reason):
        """The transport failed (connect, TLS, timeout, auth)."""
        return self._finish(False, reason)

    def respond(self, body, what="response"):
        """The driver's answer (an envelope) to the current ACS request."""
        if self.state != HANDLING:
            raise RuntimeError("respond() in state %s" % self.state)
        self.acs_message = None
        self.state = WAIT_ACS
        self.events.append(Send(body, what))

    # ---------------------------------------------------------- transitions
    def _on_inform_response(self, msg):
        if msg.empty:
            return self._finish(False, "empty answer to Inform")
        if msg.is_fault:
            down = msg.fault_code == 8006 or msg.soap_faultcode.split(":")[-1] in (
                "VersionMismatch", "MustUnderstand")
            return self._finish(False, "ACS fault %s %s to Inform" % (
                msg.fault_code if msg.fault_code is not None else msg.soap_faultcode,
                msg.fault_string), downgrade=down)
        if msg.name != "InformResponse":
            return self._finish(False, "expected InformResponse, got %s" % msg.name)
        if msg.ns:
            self.ns = msg.ns
        version = msg.use_version or soap.version_for_ns(self.ns)
        if _vtuple(version) > _vtuple(self.max_version):
            return self._finish(False, "ACS chose CWMP %s, above our %s" % (version, self.max_version),
                                downgrade=False)
        if msg.use_version and soap.ns_for_version(version) != self.ns:
            # UseCWMPVersion wins; the namespace follows it.
            self.ns = soap.ns_for_version(version)
        self.version = version
        self.events.append(InformAcked(version))
        self.state = IDLE
        return None

    def _on_cpe_response(self, msg):
        req = self.outstanding
        if msg.empty:
            return self._finish(False, "empty answer to %s" % req.name)
        if msg.is_fault:
            self.outstanding = None
            if msg.fault_code == 8005 and req.tries <= MAX_RETRY_8005:
                pass  # stays first in line: sent again with a new ID
            else:
                self.requests.pop(0)
            self.state = IDLE
            return None
        if msg.name != req.name + "Response":
            return self._finish(False, "expected %sResponse, got %s" % (req.name, msg.name))
        self.requests.pop(0)
        self.outstanding = None
        self.events.append(RequestAcked(req.tag, req.name))
        self.state = IDLE
        return None

    def _on_acs_turn(self, msg):
        if msg.empty:
            if self._next_request() is not None:
                self.state = IDLE  # hold lifted: our requests go now
                return None
            return self._finish(True, "")
        if msg.is_fault or msg.name.endswith("Response"):
            return self._finish(False, "unexpected %s from ACS" % msg.name)
        self.acs_requests += 1
        if self.acs_requests > MAX_ACS_REQUESTS:
            return self._finish(False, "more than %d ACS requests in one session" % MAX_ACS_REQUESTS)
        self.rpc_log.append(msg.name)
        self.acs_message = msg
        self.state = HANDLING
        self.events.append(AcsRequest(msg))
        return None

    def _malformed_request(self, body, err):
        """Rule 5 for garbage: an unreadable ACS request gets fault 9003."""
        self.acs_requests += 1
        if self.acs_requests > MAX_ACS_REQUESTS:
            return self._finish(False, "more than %d ACS requests in one session" % MAX_ACS_REQUESTS)
        m = _ID_RE.search(body[:65536])
        msg_id = m.group(1).decode("utf-8", "replace") if m else None
        self.rpc_log.append("malformed")
        fault = soap.CwmpFault(9003, "Invalid arguments: %s" % str(err)[:200])
        self.events.append(Send(soap.envelope(self.ns, msg_id, [soap.fault_body(fault)]), "Fault 9003"))
        return None

    def _finish(self, ok, reason, downgrade=False):
        self.state = DONE
        self.events.append(Finished(ok, reason, downgrade))
        return None

    # ---------------------------------------------------------- the Inform
    def _inform_body(self):
        inf = self.inform
        manu, oui, pclass, serial = inf.device_id
        ev = [
            "<EventStruct><EventCode>%s</EventCode><CommandKey>%s</CommandKey></EventStruct>"
            % (soap.esc(code), soap.esc(key)) for code, key in inf.events]
        params = [soap.value_struct(n, t, v) for n, t, v in inf.params]
        inner = (
            "<DeviceId><Manufacturer>%s</Manufacturer><OUI>%s</OUI><ProductClass>%s</ProductClass>"
            "<SerialNumber>%s</SerialNumber></DeviceId>%s<MaxEnvelopes>1</MaxEnvelopes>"
            "<CurrentTime>%s</CurrentTime><RetryCount>%d</RetryCount>%s"
            % (soap.esc(manu), soap.esc(oui), soap.esc(pclass), soap.esc(serial),
               soap.array("Event", "cwmp:EventStruct", ev, len(ev)),
               inf.current_time, inf.retry_count,
               soap.array("ParameterList", "cwmp:ParameterValueStruct", params, len(params))))
        headers = ""
        v = _vtuple(self.max_version)
        if v >= (1, 3):
            headers += ('<cwmp:SessionTimeout soap-env:mustUnderstand="0">%d</cwmp:SessionTimeout>'
                        % self.session_timeout)
        if v >= (1, 4):
            supported = ",".join(x for x in soap.VERSIONS if _vtuple(x) <= v)
            headers += ('<cwmp:SupportedCWMPVersions soap-env:mustUnderstand="0">%s'
                        '</cwmp:SupportedCWMPVersions>' % supported)
        return soap.envelope(self.ns, self._new_id(), [soap.rpc("Inform", inner)], headers)
