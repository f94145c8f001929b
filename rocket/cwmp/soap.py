"""SOAP envelopes: reading what the ACS sends, writing what the CPE answers.

Reading goes through ``defusedxml`` (no DTDs, no entities, no external
references) after a size check, and produces a small ``Message``: the CWMP
namespace, the header fields TR-069 defines, and the body's RPC element.
Argument elements are looked up by local name, so any namespace prefix and
qualified or unqualified arguments are accepted, as real ACSs send both.

Writing never builds a tree: envelopes are produced as a list (or generator)
of strings, so a 10,000-parameter answer costs a few megabytes, not twenty.
``esc`` makes any Python string safe for XML 1.0 text, dropping characters
XML cannot carry at all (a control character in a device value must not kill
the session).
"""

import re

from rocket.base.booleans import xsd_bool

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
CWMP_NS = ("urn:dslforum-org:cwmp-1-0", "urn:dslforum-org:cwmp-1-1", "urn:dslforum-org:cwmp-1-2")

# Largest envelope we accept from the ACS. TR-069 asks for at least 32 KiB;
# a big SetParameterValues can be a few hundred KiB.
MAX_BODY = 4 * 1024 * 1024

# What one envelope may hold, whatever its size: a tree of 4 MB of "<a/>"
# would cost ~100 MB of RAM; 100,000 nodes cost ~10 MB. CWMP messages are
# less than 10 levels deep, and a SetParameterValues costs 4 nodes per
# parameter (25,000 parameters fit).
MAX_DEPTH = 32
MAX_NODES = 100000  # elements + attributes

# Version string -> namespace. CWMP 1.3 and 1.4 reuse cwmp-1-2.
VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4")


def ns_for_version(version):
    """The namespace a CPE speaking ``version`` uses."""
    minor = int(version.split(".")[1])
    return CWMP_NS[min(minor, 2)]


def version_for_ns(ns):
    """The version a namespace implies when the ACS sent no UseCWMPVersion."""
    return "1.%d" % CWMP_NS.index(ns)


class SoapError(Exception):
    """The ACS sent something that is not a usable CWMP envelope."""


class Message:
    """One parsed envelope.

    ``name`` is the local name of the body element (``GetParameterValues``,
    ``InformResponse``, ``Fault``...), ``body`` the element itself, ``empty``
    is true for an HTTP message with no envelope at all.
    """

    __slots__ = ("ns", "id", "hold_requests", "use_version", "name", "body",
                 "fault_code", "fault_string", "soap_faultcode", "empty")

    def __init__(self):
        self.ns = None
        self.id = None
        self.hold_requests = False
        self.use_version = None
        self.name = None
        self.body = None
        self.fault_code = None
        self.fault_string = ""
        self.soap_faultcode = ""
        self.empty = False

    @property
    def is_fault(self):
        return self.name == "Fault"

    def __repr__(self):
        return "<Message %s id=%r>" % (self.name, self.id)


def local(tag):
    """Local part of an ElementTree tag (``{ns}name`` or ``name``)."""
    return tag.rsplit("}", 1)[-1]


def child(elem, name):
    """First child of ``elem`` whose local name is ``name``, or None."""
    for c in elem:
        if local(c.tag) == name:
            return c
    return None


def text(elem, name, default=None):
    """Text of the child ``name`` ('' when present but empty), or default."""
    c = child(elem, name)
    if c is None:
        return default
    return c.text or ""


def items(elem, name):
    """The members of the array argument ``name`` (a list of elements)."""
    c = child(elem, name)
    return [] if c is None else list(c)


def operations(body):
    """The operation elements of a ChangeDUState body, in both forms seen in
    the field: repeated ``<Operations xsi:type="cwmp:InstallOpStruct">``
    (cwmp-1-2.xsd) or one SOAP array ``<Operations>`` of ``<InstallOpStruct>``."""
    out = []
    for c in body:
        if local(c.tag) == "Operations":
            if c.get("{%s}type" % XSI) or not len(c) or any(local(g.tag) == "URL" or local(g.tag) == "UUID"
                                                             for g in c):
                out.append(c)
            else:
                out.extend(list(c))
    return out


parse_bool = xsd_bool  # xsd:boolean, leniently (rocket.base.booleans)


# GenieACS 1.2.16 writes its fault element as <soap-env:Body:Fault>, which no
# namespace-aware parser accepts. Rewrite exactly that mistake before parsing.
_BODY_FAULT = re.compile(rb"<(/?)([A-Za-z_][\w.\-]*):Body:Fault\b")
_HEADER_KNOWN = ("ID", "HoldRequests", "NoMoreRequests", "UseCWMPVersion",
                 "SessionTimeout", "SupportedCWMPVersions")


def parse(data, breathe=None):
    """Parse one HTTP body from the ACS into a Message.

    An empty (or whitespace-only) body yields ``Message.empty``. Anything that
    is not a SOAP 1.1 envelope carrying a CWMP element raises SoapError.
    ``breathe`` (a callable) is called between 64 KiB slices of a big body.
    """
    msg = Message()
    if not data or not data.strip():
        msg.empty = True
        return msg
    if len(data) > MAX_BODY:
        raise SoapError("envelope larger than %d bytes" % MAX_BODY)
    if b":Body:Fault" in data:
        data = _BODY_FAULT.sub(rb"<\1\2:Fault", data)
    from defusedxml import ElementTree as DET
    try:
        parser = DET.XMLParser(target=_BoundedBuilder(), forbid_dtd=True)
        if breathe is None:
            parser.feed(data)
        else:
            view = memoryview(data)
            for i in range(0, len(view), 65536):
                parser.feed(bytes(view[i:i + 65536]))
                breathe()
        root = parser.close()
    except SoapError:
        raise
    except Exception as e:  # ParseError, DefusedXmlException, ValueError
        raise SoapError("bad XML: %s" % (e,)) from None
    if root.tag != "{%s}Envelope" % SOAP_ENV:
        raise SoapError("not a SOAP 1.1 envelope: %s" % root.tag[:100])
    header = body = None
    for c in root:
        if c.tag == "{%s}Header" % SOAP_ENV:
            header = c
        elif c.tag == "{%s}Body" % SOAP_ENV:
            body = c
    if body is None or len(body) == 0:
        raise SoapError("envelope without a body element")
    if len(body) > 1:
        raise SoapError("more than one element in the SOAP body")
    rpc = body[0]
    if header is not None:
        _read_header(msg, header)
    msg.body = rpc
    msg.name = local(rpc.tag)
    if rpc.tag.startswith("{"):
        ns = rpc.tag[1:].split("}", 1)[0]
        if ns in CWMP_NS:
            msg.ns = ns
        elif ns != SOAP_ENV:
            raise SoapError("unknown namespace for %s: %s" % (msg.name, ns[:100]))
    elif msg.name != "Fault":
        raise SoapError("unqualified RPC element %s" % msg.name[:64])
    if msg.name == "Fault":
        _read_fault(msg, rpc)
    return msg


class _BoundedBuilder:
    """An ElementTree builder that stops at MAX_DEPTH / MAX_NODES."""

    def __init__(self):
        from xml.etree.ElementTree import TreeBuilder
        self._tb = TreeBuilder()
        self._depth = 0
        self._nodes = 0

    def start(self, tag, attrs):
        self._depth += 1
        self._nodes += 1 + len(attrs)
        if self._depth > MAX_DEPTH:
            raise SoapError("XML nested deeper than %d levels" % MAX_DEPTH)
        if self._nodes > MAX_NODES:
            raise SoapError("more than %d XML elements and attributes" % MAX_NODES)
        return self._tb.start(tag, attrs)

    def end(self, tag):
        self._depth -= 1
        return self._tb.end(tag)

    def data(self, text):
        self._tb.data(text)

    def close(self):
        return self._tb.close()


def _read_header(msg, header):
    for h in header:
        name = local(h.tag)
        ns = h.tag[1:].split("}", 1)[0] if h.tag.startswith("{") else ""
        if name in _HEADER_KNOWN and ns in CWMP_NS:
            if msg.ns is None:
                msg.ns = ns
            val = (h.text or "").strip()
            if name == "ID":
                msg.id = h.text or ""
            elif name == "HoldRequests":
                try:
                    msg.hold_requests = parse_bool(val)
                except ValueError:
                    raise SoapError("bad HoldRequests value %r" % val[:20]) from None
            elif name == "UseCWMPVersion":
                if val not in VERSIONS:
                    raise SoapError("unknown UseCWMPVersion %r" % val[:20])
                msg.use_version = val
            continue
        mu = h.get("{%s}mustUnderstand" % SOAP_ENV, "0").strip()
        if mu in ("1", "true"):
            raise SoapError("header %s must be understood" % name[:64])


def _read_fault(msg, fault):
    msg.soap_faultcode = (text(fault, "faultcode", "") or "").strip()
    detail = child(fault, "detail")
    cf = child(detail, "Fault") if detail is not None else None
    if cf is not None:
        code = text(cf, "FaultCode", "")
        try:
            msg.fault_code = int(code.strip())
        except ValueError:
            msg.fault_code = None
        msg.fault_string = text(cf, "FaultString", "") or ""
    else:
        msg.fault_string = text(fault, "faultstring", "") or ""


# ---------------------------------------------------------------- writing

# Characters outside XML 1.0's Char production (DEL, U+007F, is allowed).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NEEDS_ESC = re.compile("[&<>\"'\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def esc(s):
    """Escape a value for XML text or an attribute; drop XML-illegal chars.

    CR is written as a character reference, so a parser's line-end
    normalisation cannot turn a value's CR LF into LF.
    """
    if not _NEEDS_ESC.search(s):
        return s
    s = _INVALID_XML.sub("", s)
    # A raw CR would reach the ACS as LF (XML end-of-line handling): send &#13;.
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&apos;").replace("\r", "&#13;"))


def envelope_head(ns, msg_id, extra_headers=""):
    """Everything up to and including ``<soap-env:Body>``."""
    hdr = ""
    if msg_id is not None:
        hdr = '<cwmp:ID soap-env:mustUnderstand="1">%s</cwmp:ID>' % esc(msg_id)
    hdr += extra_headers
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<soap-env:Envelope xmlns:soap-env="%s" xmlns:soap-enc="%s" xmlns:xsd="%s" '
            'xmlns:xsi="%s" xmlns:cwmp="%s"><soap-env:Header>%s</soap-env:Header>'
            '<soap-env:Body>' % (SOAP_ENV, SOAP_ENC, XSD, XSI, ns, hdr))


ENVELOPE_TAIL = "</soap-env:Body></soap-env:Envelope>"


def envelope(ns, msg_id, parts, extra_headers=""):
    """A whole envelope as one bytes-like object (a bytearray) from an
    iterable of strings.

    The parts are encoded one by one into a single buffer, so a big answer
    (10,000 ParameterValueStructs) never exists at once as a list of
    strings, one joined string and its bytes: a third of the peak memory.
    """
    out = bytearray(envelope_head(ns, msg_id, extra_headers).encode("utf-8"))
    for p in parts:
        out += p.encode("utf-8")
    out += ENVELOPE_TAIL.encode("utf-8")
    return out


def rpc(name, inner=""):
    """``<cwmp:Name>inner</cwmp:Name>``."""
    return "<cwmp:%s>%s</cwmp:%s>" % (name, inner, name)


def array(name, member_type, members, count):
    """A SOAP-encoded array argument with an exact arrayType count."""
    return ('<%s soap-enc:arrayType="%s[%d]">%s</%s>'
            % (name, member_type, count, "".join(members), name))


def value_struct(name, xsd_type, value):
    return ('<ParameterValueStruct><Name>%s</Name><Value xsi:type="xsd:%s">%s</Value>'
            '</ParameterValueStruct>' % (esc(name), xsd_type, esc(value)))


FAULT_STRINGS = {
    9000: "Method not supported",
    9001: "Request denied",
    9002: "Internal error",
    9003: "Invalid arguments",
    9004: "Resources exceeded",
    9005: "Invalid parameter name",
    9006: "Invalid parameter type",
    9007: "Invalid parameter value",
    9008: "Attempt to set a non-writable parameter",
    9009: "Notification request rejected",
    9010: "File transfer failure",
    9011: "Upload failure",
    9012: "File transfer server authentication failure",
    9013: "Unsupported protocol for file transfer",
    9014: "File transfer failure: unable to join multicast group",
    9015: "File transfer failure: unable to contact file server",
    9016: "File transfer failure: unable to access file",
    9017: "File transfer failure: unable to complete download",
    9018: "File transfer failure: file corrupted",
    9019: "File transfer failure: file authentication failure",
    9020: "File transfer failure: unable to complete download within specified time windows",
    9021: "Cancelation of file transfer not permitted in current transfer state",
}

# Faults caused by the request (Client) rather than by the CPE (Server).
_CLIENT_FAULTS = frozenset((9003, 9005, 9006, 9007, 9008, 9021))


class CwmpFault(Exception):
    """A CWMP fault to send back to the ACS in place of a response.

    ``param_faults`` is a list of (ParameterName, FaultCode, FaultString)
    for SetParameterValuesFault entries.
    """

    def __init__(self, code, string=None, param_faults=()):
        self.code = code
        self.string = string or FAULT_STRINGS.get(code, "Fault")
        self.param_faults = list(param_faults)
        super().__init__("%d %s" % (code, self.string))


def fault_body(fault):
    """The ``<soap-env:Fault>`` element for a CwmpFault."""
    kind = "Client" if fault.code in _CLIENT_FAULTS else "Server"
    pf = "".join(
        "<SetParameterValuesFault><ParameterName>%s</ParameterName><FaultCode>%d</FaultCode>"
        "<FaultString>%s</FaultString></SetParameterValuesFault>"
        % (esc(n), c, esc(s or FAULT_STRINGS.get(c, ""))) for n, c, s in fault.param_faults)
    return ("<soap-env:Fault><faultcode>%s</faultcode><faultstring>CWMP fault</faultstring>"
            "<detail><cwmp:Fault><FaultCode>%d</FaultCode><FaultString>%s</FaultString>%s"
            "</cwmp:Fault></detail></soap-env:Fault>" % (kind, fault.code, esc(fault.string), pf))
