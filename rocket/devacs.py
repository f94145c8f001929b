"""A small ACS for development, tests and demos (not part of the zipapp).

Pure standard library, loopback by default. It speaks enough CWMP to drive
an agent through every path the tests need: Basic/Digest authentication
(nonce bound to the TCP connection, like GenieACS), session cookies,
redirects, HoldRequests, fault 8005, UseCWMPVersion, and a queue of RPCs
to send in the next session.

Commands:

    python3 -m rocket.devacs demo [--pyz dist/rocket.pyz]
        start an ACS, run the agent once against it, print the transcript
    python3 -m rocket.devacs serve [--port 7557] [--auth digest:USER:PASS] [--cr USER:PASS]
        run an ACS in the foreground, printing every message
    python3 -m rocket.devacs rpc [--acs http://127.0.0.1:7557] METHOD ARGS...
        queue one RPC on a running `serve`, poke the agent with a connection
        request, and print the agent's answer (exit status 1 on a CWMP fault,
        at once when the connection request fails). METHOD ARGS is one of:
          GetParameterValues NAME...          GetParameterNames PATH [0|1]
          SetParameterValues NAME=VALUE[:TYPE]...   GetParameterAttributes NAME...
          SetParameterAttributes NAME=NOTIFICATION...   AddObject OBJ.   DeleteObject OBJ.N.
          Reboot [KEY]   FactoryReset   ScheduleInform SECONDS [KEY]   GetRPCMethods
          Download URL [FILETYPE] [KEY]   Upload URL [FILETYPE] [KEY]   raw '<cwmp:X>...</cwmp:X>'
"""

import argparse
import http.server
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_RE = re.compile(r'"(urn:dslforum-org:cwmp-1-\d)"')


def envelope(ns, msg_id, inner, extra_header=""):
    hdr = ""
    if msg_id is not None:
        hdr = '<cwmp:ID soap-env:mustUnderstand="1">%s</cwmp:ID>' % escape(msg_id)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<soap-env:Envelope '
            'xmlns:soap-enc="http://schemas.xmlsoap.org/soap/encoding/" '
            'xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cwmp="%s">'
            '<soap-env:Header>%s%s</soap-env:Header><soap-env:Body>%s</soap-env:Body>'
            '</soap-env:Envelope>' % (ns, hdr, extra_header, inner)).encode()


def fault(code, string):
    return ('<soap-env:Fault><faultcode>Server</faultcode><faultstring>CWMP fault</faultstring>'
            '<detail><cwmp:Fault><FaultCode>%d</FaultCode><FaultString>%s</FaultString></cwmp:Fault>'
            '</detail></soap-env:Fault>' % (code, escape(string)))


def build_rpc(method, args):
    """RPC inner XML from a method name and command-line style arguments."""
    e = escape
    if method == "raw":
        return args[0]
    if method == "GetParameterValues" or method == "GetParameterAttributes":
        items = "".join("<string>%s</string>" % e(a) for a in args)
        return ('<cwmp:%s><ParameterNames soap-enc:arrayType="xsd:string[%d]">%s</ParameterNames>'
                '</cwmp:%s>' % (method, len(args), items, method))
    if method == "GetParameterNames":
        nl = args[1] if len(args) > 1 else "1"
        return ('<cwmp:GetParameterNames><ParameterPath>%s</ParameterPath><NextLevel>%s</NextLevel>'
                '</cwmp:GetParameterNames>' % (e(args[0] if args else ""), nl))
    if method == "SetParameterValues":
        structs = []
        for a in args:
            name, _, rest = a.partition("=")
            value, typ = rest, "string"
            m = re.match(r"^(.*):(string|int|unsignedInt|boolean|dateTime|long|unsignedLong|base64|"
                         r"hexBinary|decimal)$", rest)
            if m:
                value, typ = m.group(1), m.group(2)
            structs.append('<ParameterValueStruct><Name>%s</Name><Value xsi:type="xsd:%s">%s</Value>'
                           '</ParameterValueStruct>' % (e(name), typ, e(value)))
        return ('<cwmp:SetParameterValues><ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct'
                '[%d]">%s</ParameterList><ParameterKey>devacs</ParameterKey></cwmp:SetParameterValues>'
                % (len(structs), "".join(structs)))
    if method == "SetParameterAttributes":
        structs = []
        for a in args:
            name, _, n = a.partition("=")
            structs.append('<SetParameterAttributesStruct><Name>%s</Name><NotificationChange>1'
                           '</NotificationChange><Notification>%s</Notification><AccessListChange>0'
                           '</AccessListChange><AccessList soap-enc:arrayType="xsd:string[0]"/>'
                           '</SetParameterAttributesStruct>' % (e(name), e(n or "0")))
        return ('<cwmp:SetParameterAttributes><ParameterList soap-enc:arrayType="cwmp:'
                'SetParameterAttributesStruct[%d]">%s</ParameterList></cwmp:SetParameterAttributes>'
                % (len(structs), "".join(structs)))
    if method in ("AddObject", "DeleteObject"):
        return ('<cwmp:%s><ObjectName>%s</ObjectName><ParameterKey></ParameterKey></cwmp:%s>'
                % (method, e(args[0]), method))
    if method == "Reboot":
        return "<cwmp:Reboot><CommandKey>%s</CommandKey></cwmp:Reboot>" % e(args[0] if args else "")
    if method == "FactoryReset":
        return "<cwmp:FactoryReset></cwmp:FactoryReset>"
    if method == "GetRPCMethods":
        return "<cwmp:GetRPCMethods></cwmp:GetRPCMethods>"
    if method == "ScheduleInform":
        return ("<cwmp:ScheduleInform><DelaySeconds>%s</DelaySeconds><CommandKey>%s</CommandKey>"
                "</cwmp:ScheduleInform>" % (e(args[0]), e(args[1] if len(args) > 1 else "")))
    if method == "Download":
        ft = args[1] if len(args) > 1 else "1 Firmware Upgrade Image"
        key = args[2] if len(args) > 2 else "dl"
        return ("<cwmp:Download><CommandKey>%s</CommandKey><FileType>%s</FileType><URL>%s</URL>"
                "<Username></Username><Password></Password><FileSize>0</FileSize>"
                "<TargetFileName></TargetFileName><DelaySeconds>0</DelaySeconds>"
                "<SuccessURL></SuccessURL><FailureURL></FailureURL></cwmp:Download>"
                % (e(key), e(ft), e(args[0])))
    if method == "Upload":
        ft = args[1] if len(args) > 1 else "1 Vendor Configuration File"
        key = args[2] if len(args) > 2 else "ul"
        return ("<cwmp:Upload><CommandKey>%s</CommandKey><FileType>%s</FileType><URL>%s</URL>"
                "<Username></Username><Password></Password><DelaySeconds>0</DelaySeconds>"
                "</cwmp:Upload>" % (e(key), e(ft), e(args[0])))
    return "<cwmp:%s></cwmp:%s>" % (method, method)


def rpc_name(xml):
    if isinstance(xml, bytes):
        xml = xml.decode("utf-8", "replace")
    m = re.search(r"<(?:[\w-]+:)?([A-Za-z_]+)[\s/>]", xml.split("<soap-env:Body>")[-1])
    return m.group(1) if m else "?"


class Exchange:
    """One HTTP message pair, kept for tests and transcripts."""

    def __init__(self, request, status, response, headers):
        self.request = request  # bytes the CPE posted
        self.status = status
        self.response = response  # bytes the ACS answered
        self.headers = headers  # request headers (dict, lower-case keys)


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # the agent hung up (as tests make it do): not worth a traceback
        super().handle_error(request, client_address)


class RawRequest:
    """One POST as it arrived, before any processing (auth, redirects...)."""

    def __init__(self, handler, headers, body):
        self.handler = handler
        self.conn = id(handler.connection)  # same value = same TCP connection
        self.port = handler.client_address[1]
        self.path = handler.path
        self.headers = headers
        self.body = body
        self.status = None  # the status the ACS answered with


class CwmpSession:
    def __init__(self, sid):
        self.id = sid
        self.exchanges = []
        self.inform = None
        self.ns = "urn:dslforum-org:cwmp-1-0"
        self.queue = []
        self.answers = []  # (rpc xml sent, CPE reply bytes)
        self.pending = None
        self.ended = False
        self.cpe_requests = []
        self.started = time.monotonic()  # when the Inform arrived
        self.finished = None  # when the session ended (monotonic)
        self.started_at = time.monotonic()  # when the Inform arrived


class Acs:
    """The ACS. Tests set the attributes below, then read ``sessions``."""

    def __init__(self, host="127.0.0.1", port=0, verbose=False, tls_context=None):
        self.auth = None  # None, ("basic", user, pw) or ("digest", user, pw[, algorithm])
        self.queue = []  # RPC inner XML strings for the next session
        self.hold_requests = False  # HoldRequests=true on the InformResponse
        self.use_version = None  # UseCWMPVersion header value
        self.inform_fault = None  # fault code to answer the Inform with
        self.fault_8005 = 0  # answer this many CPE requests with 8005 first
        self.redirect = None  # (url, count): redirect the first `count` Informs
        self.close_after_response = False  # Connection: close on every answer
        self.silent_close = False  # close the connection after every answer, without saying so
        self.status_override = None  # (status, body) for every POST
        self.delay = 0.0  # seconds before answering
        self.redirect_status = 302  # status used for ``redirect``
        self.auth_cookie = None  # "name=value" sent with every 401 challenge
        self.end_status = 204  # how the session ends: 204, or 200 with an empty body
        self.inform_response = None  # bytes: the whole InformResponse envelope to send
        self.gzip = False  # answer with Content-Encoding: gzip (whatever the CPE accepts)
        self.hook = None  # callable(acs, handler, body) -> True when it answered itself
        self.requests = []  # every POST: RawRequest (connection, headers, body, status)
        self.gate = None  # a threading.Event: every answer waits until it is set (max 30 s)
        self.sessions = []
        self.verbose = verbose
        self.cr_url = None
        self.cr_auth = None
        self.lock = threading.Condition()
        self._nonce_conn = {}
        acs = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                acs._post(self)

            def do_PUT(self):
                acs._put(self)

        self.server = _Server((host, port), Handler)
        self.server.daemon_threads = True
        if tls_context is not None:
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
        self.thread = None
        self.uploads = {}

    @property
    def url(self):
        h, p = self.server.server_address[:2]
        scheme = "https" if hasattr(self.server.socket, "getpeercert") else "http"
        return "%s://%s:%d/acs" % (scheme, h, p)

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def say(self, line):
        if self.verbose:
            print(line, flush=True)

    # ---------------------------------------------------------- plumbing
    def _reply(self, h, status, body=b"", headers=(), close=False):
        time.sleep(self.delay)
        if self.requests and self.requests[-1].handler is h and self.requests[-1].status is None:
            self.requests[-1].status = status
        gate = self.gate
        if gate is not None:
            gate.wait(30)
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        if body and self.gzip:
            import gzip
            body = gzip.compress(body)
            h.send_header("Content-Encoding", "gzip")
        if body:
            h.send_header("Content-Type", 'text/xml; charset="utf-8"')
        h.send_header("Content-Length", str(len(body)))
        if close or self.close_after_response:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        if body:
            h.wfile.write(body)
        if self.silent_close:
            h.close_connection = True

    def _check_auth(self, h):
        if self.auth is None:
            return True
        got = h.headers.get("Authorization", "")
        kind, user, pw = self.auth[:3]
        if kind == "basic":
            import base64
            if got == "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode():
                return True
            self._reply(h, 401, b"", [("WWW-Authenticate", 'Basic realm="devacs"')]
                        + self._auth_cookie())
            return False
        alg = self.auth[3] if len(self.auth) > 3 else "MD5"
        conn = id(h.connection)
        if got.startswith("Digest "):
            from rocket.net.digest import digest_response, parse_params
            p = parse_params(got[7:])
            nonce = p.get("nonce", "")
            if self._nonce_conn.get(nonce) == conn and p.get("username") == user:
                want = digest_response(alg, user, "devacs", pw, "POST", p.get("uri", ""), nonce,
                                       p.get("nc", ""), p.get("cnonce", ""), p.get("qop", ""))
                if want == p.get("response"):
                    return True
        nonce = os.urandom(16).hex()
        self._nonce_conn[nonce] = conn
        self._reply(h, 401, b"", [("WWW-Authenticate", 'Digest realm="devacs", qop="auth,auth-int", '
                                   'nonce="%s", opaque="5ccc", algorithm=%s' % (nonce, alg))]
                    + self._auth_cookie())
        return False

    def _auth_cookie(self):
        return [("Set-Cookie", self.auth_cookie)] if self.auth_cookie else []

    def _session_for(self, h, reopen=False):
        cookie = h.headers.get("Cookie", "")
        m = re.search(r"session=([0-9a-f]+)", cookie)
        if m:
            for s in reversed(self.sessions):
                if s.id == m.group(1) and (not s.ended or reopen):
                    s.ended = False
                    return s
        conn = id(h.connection)
        for s in reversed(self.sessions):
            if getattr(s, "conn", None) == conn and not s.ended:
                return s
        return None

    def _post(self, h):
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else b""
        hdrs = {k.lower(): v for k, v in h.headers.items()}
        if hdrs.get("content-encoding", "").lower() == "gzip":
            import gzip
            body = gzip.decompress(body)  # RawRequest.body: the message as the CPE wrote it
        with self.lock:
            self.requests.append(RawRequest(h, hdrs, body))
        if self.hook is not None and self.hook(self, h, body):
            return
        if self.status_override:
            st, b = self.status_override
            self._reply(h, st, b)
            return
        if not self._check_auth(h):
            return
        text = body.decode("utf-8", "replace")
        is_inform = bool(re.search(r"<(\w+:)?Inform[\s>]", text))
        if is_inform and self.redirect and self.redirect[1] > 0:
            self.redirect = (self.redirect[0], self.redirect[1] - 1)
            self._reply(h, self.redirect_status, b"", [("Location", self.redirect[0])])
            return
        sess = None if is_inform else self._session_for(h, reopen=bool(body))
        if is_inform:
            sess = CwmpSession(os.urandom(8).hex())
            sess.conn = id(h.connection)
            sess.inform = text
            m = NS_RE.search(text)
            sess.ns = m.group(1) if m else sess.ns
            sess.queue = list(self.queue)
            self.queue = []
            with self.lock:
                self.sessions.append(sess)
                self.lock.notify_all()
            events = re.findall(r"<EventCode>([^<]*)</EventCode>", text)
            self.say("CPE -> ACS  Inform  events: %s" % ", ".join(events))
            crurl = re.search(r"ConnectionRequestURL</Name><Value[^>]*>([^<]*)<", text)
            if crurl and crurl.group(1):
                self.cr_url = crurl.group(1)
            if self.inform_response is not None:
                out = self.inform_response
            elif self.inform_fault:
                out = envelope(sess.ns, _id(text), fault(self.inform_fault, "refused"))
            else:
                hdr = ""
                if self.hold_requests:
                    hdr += '<cwmp:HoldRequests soap-env:mustUnderstand="1">1</cwmp:HoldRequests>'
                if self.use_version:
                    hdr += ('<cwmp:UseCWMPVersion soap-env:mustUnderstand="1">%s</cwmp:UseCWMPVersion>'
                            % self.use_version)
                out = envelope(sess.ns, _id(text), "<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes>"
                               "</cwmp:InformResponse>", hdr)
            sess.exchanges.append(Exchange(body, 200, out, hdrs))
            self.say("ACS -> CPE  InformResponse")
            self._reply(h, 200, out, [("Set-Cookie", "session=%s" % sess.id)])
            return
        if sess is None:
            self._reply(h, 400, b"Invalid session", close=True)
            return
        if sess.pending is not None:
            sess.answers.append((sess.pending, body))
            sess.pending = None
            with self.lock:
                self.lock.notify_all()
            if body:
                self.say("CPE -> ACS  %s" % rpc_name(text))
        elif body:
            name = rpc_name(text)
            sess.cpe_requests.append(text)
            self.say("CPE -> ACS  %s" % name)
            if self.fault_8005 > 0:
                self.fault_8005 -= 1
                out = envelope(sess.ns, _id(text), fault(8005, "Retry request"))
            elif name in ("TransferComplete", "AutonomousTransferComplete", "GetRPCMethods",
                          "RequestDownload", "Kicked", "DUStateChangeComplete",
                          "AutonomousDUStateChangeComplete"):
                inner = "<cwmp:%sResponse></cwmp:%sResponse>" % (name, name)
                if name == "GetRPCMethods":
                    inner = ('<cwmp:GetRPCMethodsResponse><MethodList soap-enc:arrayType="xsd:string[3]">'
                             '<string>Inform</string><string>GetRPCMethods</string><string>'
                             'TransferComplete</string></MethodList></cwmp:GetRPCMethodsResponse>')
                out = envelope(sess.ns, _id(text), inner)
            else:
                out = envelope(sess.ns, _id(text), fault(8000, "Method not supported"))
            sess.exchanges.append(Exchange(body, 200, out, hdrs))
            self._reply(h, 200, out)
            return
        else:
            self.say("CPE -> ACS  (empty POST)")
        if sess.queue:
            inner = sess.queue.pop(0)
            sess.pending = inner
            mid = "acs-%d" % (len(sess.answers) + 1)
            # bytes: a whole envelope, sent exactly as given (captures, hostile input)
            out = inner if isinstance(inner, bytes) else envelope(sess.ns, mid, inner)
            sess.exchanges.append(Exchange(body, 200, out, hdrs))
            self.say("ACS -> CPE  %s" % rpc_name(inner))
            self._reply(h, 200, out)
            return
        sess.exchanges.append(Exchange(body, self.end_status, b"", hdrs))
        sess.ended = True
        sess.finished = time.monotonic()
        self.say("ACS -> CPE  %d (session over)" % self.end_status)
        with self.lock:
            self.lock.notify_all()
        self._reply(h, self.end_status, b"", close=True)

    def _put(self, h):
        n = int(h.headers.get("Content-Length") or 0)
        self.uploads[h.path] = h.rfile.read(n)
        self._reply(h, 200)

    # ------------------------------------------------------------ helpers
    def wait_sessions(self, n, timeout=20):
        deadline = time.time() + timeout
        with self.lock:
            while sum(1 for s in self.sessions if s.ended) < n:
                left = deadline - time.time()
                if left <= 0:
                    return False
                self.lock.wait(left)
        return True


def udp_cr_message(host, port, username, password, ts=None, msg_id=None, cnonce=None):
    """A TR-069 Annex G UDP connection request datagram, signed like an ACS does."""
    import hashlib
    import hmac
    import random
    ts = str(int(time.time()) if ts is None else ts)
    msg_id = str(random.randrange(1, 1 << 31) if msg_id is None else msg_id)
    cnonce = cnonce or "%016X" % random.getrandbits(64)
    sig = hmac.new(password.encode(), (ts + msg_id + username + cnonce).encode(),
                   hashlib.sha1).hexdigest().upper()
    from urllib.parse import quote
    line = "GET http://%s:%d?ts=%s&id=%s&un=%s&cn=%s&sig=%s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (
        host, port, ts, quote(msg_id), quote(username), quote(cnonce), sig, host, port)
    return line.encode()


def send_udp_cr(host, port, username, password, **kw):
    """Send one UDP connection request datagram to ``host``:``port``."""
    import socket
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.sendto(udp_cr_message(host, port, username, password, **kw), (host, port))
    finally:
        s.close()


def _id(text):
    m = re.search(r"<(?:\w+:)?ID[^>]*>([^<]*)<", text)
    return m.group(1) if m else None


def parse_values(xml_bytes):
    """{name: value} from a GetParameterValuesResponse (for tests)."""
    root = ET.fromstring(xml_bytes)
    out = {}
    for pvs in root.iter("ParameterValueStruct"):
        out[pvs.findtext("Name")] = pvs.findtext("Value") or ""
    return out


# ----------------------------------------------------------------- demo
DEMO_CONF = """[acs]
url = {url}
username = demo-cpe
password = demo-secret
periodic_inform_interval = 3600

[cpe]
manufacturer = Rocket Demo
oui = 0A1B2C
product_class = DemoRouter
serial_number = DEMO-0001
software_version = 0.1-demo

[connection_request]
port = 0
username = cr
password = cr-secret

[backends]
dir = {backends}

[state]
dir = {state}
"""


def demo(argv):
    ap = argparse.ArgumentParser(prog="devacs demo")
    ap.add_argument("--pyz", default=os.path.join("dist", "rocket.pyz"))
    a = ap.parse_args(argv)
    if not os.path.exists(a.pyz):
        print("devacs: %s not found; run `python3 build_zipapp.py` first" % a.pyz)
        return 2
    acs = Acs(verbose=True).start()
    acs.auth = ("digest", "demo-cpe", "demo-secret")
    acs.queue = [build_rpc("GetParameterValues", ["Device.DeviceInfo.", "Device.ManagementServer.URL"]),
                 build_rpc("SetParameterValues", ["Device.ManagementServer.PeriodicInformInterval=600:"
                                                  "unsignedInt"]),
                 build_rpc("GetParameterValues", ["Device.ManagementServer.PeriodicInformInterval"])]
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "rocket.conf")
        with open(conf, "w") as f:
            f.write(DEMO_CONF.format(url=acs.url, backends=os.path.join(d, "backends"),
                                     state=os.path.join(d, "state")))
        print("devacs: ACS listening on %s (digest auth); running the agent once:" % acs.url)
        print("  %s -I -S %s -c %s --once --boot\n" % (sys.executable, a.pyz, conf), flush=True)
        rc = subprocess.call([sys.executable, "-I", "-S", a.pyz, "-c", conf, "--once", "--boot"],
                             timeout=60)
    acs.stop()
    print()
    print("The session, as the ACS saw it: Inform, then each request and the agent's answer.")
    for s in acs.sessions:
        events = re.findall(r"<EventCode>([^<]*)</EventCode>", s.inform or "")
        print("== Inform (events: %s)" % (", ".join(events) or "none"))
        for sent, reply in s.answers:
            print("== ACS: %s" % rpc_name(sent))
            for name, typ, value in re.findall(r"<Name>([^<]*)</Name><Value xsi:type=\"xsd:(\w+)\">"
                                               r"([^<]*)</Value>", sent):
                print("   set %s = %s (%s)" % (name, value, typ))
            for name in re.findall(r"<string>([^<]*)</string>", sent):
                print("   ask %s" % name)
            lines, _ = describe(reply)
            print("   CPE: " + lines[0])
            for line in lines[1:]:
                print("   " + line)
    print("\nagent exit code: %d (%s)" % (rc, "session complete" if rc == 0 else "session failed"))
    return rc


# ---------------------------------------------------------- serve / rpc
def serve(argv):
    ap = argparse.ArgumentParser(prog="devacs serve")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=7557)
    ap.add_argument("--auth", help="basic:USER:PASS or digest:USER:PASS")
    ap.add_argument("--cr", help="USER:PASS for connection requests to the agent")
    a = ap.parse_args(argv)
    try:
        acs = Acs(a.host, a.port, verbose=True)
    except OSError as e:
        print("devacs: cannot listen on %s port %d: %s" % (a.host, a.port, e.strerror or e), file=sys.stderr)
        return 1
    if a.auth:
        kind, user, pw = a.auth.split(":", 2)
        acs.auth = (kind, user, pw)
    if a.cr:
        acs.cr_auth = tuple(a.cr.split(":", 1))
    orig = acs._post

    def post(h):
        if h.path == "/_rpc":
            n = int(h.headers.get("Content-Length") or 0)
            inner = h.rfile.read(n).decode()
            before = sum(len(s.answers) for s in acs.sessions)
            acs.queue.append(inner)
            why = _connection_request(acs)
            if why:  # no session will come to take it: say so now
                with acs.lock:
                    if inner in acs.queue:
                        acs.queue.remove(inner)
                acs._reply(h, 502, (why + " (the RPC was not queued)").encode())
                return
            deadline = time.time() + 60
            with acs.lock:
                while sum(len(s.answers) for s in acs.sessions) <= before and time.time() < deadline:
                    acs.lock.wait(1)
            reply = b""
            for s in acs.sessions:
                for sent, r in s.answers:
                    if sent == inner:
                        reply = r
            acs._reply(h, 200 if reply else 504, reply)
            return
        orig(h)

    acs._post = post
    acs.start()
    print("devacs: ACS on %s (Ctrl-C to stop)" % acs.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        acs.stop()
    return 0


def _connection_request(acs):
    """Ask the agent for a session now. None if it said yes, else why not."""
    if not acs.cr_url:
        why = "no ConnectionRequestURL known yet: the agent has not informed this ACS"
        acs.say("devacs: " + why)
        return why
    req = urllib.request.Request(acs.cr_url)
    if acs.cr_auth:
        mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        mgr.add_password(None, acs.cr_url, acs.cr_auth[0], acs.cr_auth[1])
        opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(mgr))
    else:
        opener = urllib.request.build_opener()
    try:
        opener.open(req, timeout=10).read()
        acs.say("devacs: connection request sent to %s" % acs.cr_url)
        return None
    except Exception as e:  # an integrator's tool: report, don't die
        reason = getattr(e, "reason", None)
        if isinstance(e, urllib.error.HTTPError):
            what = "%d %s" % (e.code, e.reason)
            if e.code in (401, 403):
                what += " (check --cr USER:PASS against the agent's connection_request credentials)"
        else:
            what = str(reason or e)
        why = "connection request to %s failed: %s" % (acs.cr_url, what)
        acs.say("devacs: " + why)
        return why


def rpc_cmd(argv):
    ap = argparse.ArgumentParser(prog="devacs rpc")
    ap.add_argument("--acs", default="http://127.0.0.1:7557")
    ap.add_argument("method")
    ap.add_argument("args", nargs="*")
    a = ap.parse_args(argv)
    inner = build_rpc(a.method, a.args)
    req = urllib.request.Request(a.acs.rstrip("/").rsplit("/acs", 1)[0] + "/_rpc", data=inner.encode(),
                                 method="POST")
    try:
        reply = urllib.request.urlopen(req, timeout=90).read()
    except urllib.error.HTTPError as e:
        body = e.read().decode("utf-8", "replace").strip()
        print("devacs: %s" % (body or "%d %s" % (e.code, e.reason)
                              if e.code != 504 else "the agent did not answer within 60 s"), file=sys.stderr)
        return 1
    except Exception as e:
        print("devacs: cannot reach the ACS at %s: %s" % (a.acs, getattr(e, "reason", None) or e),
              file=sys.stderr)
        return 1
    lines, fault = describe(reply)
    print("\n".join(lines))
    return 1 if fault else 0


def describe(reply):
    """An agent's answer, readably: ([lines], fault code or None)."""
    try:
        root = ET.fromstring(reply)
    except ET.ParseError:
        return [reply.decode("utf-8", "replace")], None

    def local(el):
        return el.tag.rsplit("}", 1)[-1]
    body = next((el for el in root if local(el) == "Body"), None)
    answer = next(iter(body), None) if body is not None else None
    if answer is None:
        return ["(empty answer)"], None
    name = local(answer)
    if name == "Fault":
        f = next((el for el in answer.iter() if local(el) == "Fault" and el is not answer), answer)
        code = f.findtext("FaultCode") or "?"
        lines = ["Fault %s: %s" % (code, f.findtext("FaultString") or "")]
        for pf in f.iter("SetParameterValuesFault"):
            lines.append("  %s: %s %s" % (pf.findtext("ParameterName"), pf.findtext("FaultCode"),
                                          pf.findtext("FaultString") or ""))
        return lines, int(code) if code.isdigit() else -1
    lines = [name]
    for el in answer.iter():
        tag = local(el)
        if tag == "ParameterValueStruct":
            lines.append("  %s = %s" % (el.findtext("Name"), el.findtext("Value") or ""))
        elif tag == "ParameterInfoStruct":
            lines.append("  %s%s" % (el.findtext("Name"),
                                     "  (writable)" if el.findtext("Writable") in ("1", "true") else ""))
        elif tag == "ParameterAttributeStruct":
            access = [s.text or "" for s in el.iter("string")]
            lines.append("  %s notification=%s access=%s" % (el.findtext("Name"), el.findtext("Notification"),
                                                            ",".join(access) or "-"))
        elif tag == "MethodList":
            lines.extend("  " + (s.text or "") for s in el)
        elif tag == "Status":
            lines.append("  Status %s (%s)" % (el.text, "applied" if el.text == "0" else
                                               "accepted; applied later (commit, reboot or transfer)"))
        elif len(el) == 0 and el is not answer and tag not in ("Name", "Value", "Writable", "Notification",
                                                               "string"):
            lines.append("  %s: %s" % (tag, el.text or ""))
    return lines, None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    cmds = {"demo": demo, "serve": serve, "rpc": rpc_cmd}
    if not argv or argv[0] not in cmds:
        print(__doc__)
        return 2
    return cmds[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())

