"""Validate CWMP RPC elements against the BBF schemas in ../shared/bbf.

The Broadband Forum's XSDs are not kept in this repository: a test that
validates skips (naming the missing file) where ../shared is not beside the
clone, and runs in CI, where it is.

The SOAP envelope and encoding schemas are not shipped there; the CWMP
schemas only use a few of their definitions, which tests/fixtures carries
(soap-envelope.xsd, soap-encoding.xsd), so everything loads offline.
"""

import os
import xml.etree.ElementTree as ET

from conftest import SHARED, need_shared

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
BBF = "http://www.broadband-forum.org/cwmp/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
_FILES = {"urn:dslforum-org:cwmp-1-0": "cwmp-1-0.xsd", "urn:dslforum-org:cwmp-1-1": "cwmp-1-1.xsd",
          "urn:dslforum-org:cwmp-1-2": "cwmp-1-2.xsd"}
_cache = {}


def schema(ns, filename=None):
    """The schema for namespace ``ns`` (or the file ``filename``, e.g. cwmp-1-4.xsd)."""
    import xmlschema
    key = filename or ns
    if key not in _cache:
        need_shared("bbf", filename or _FILES[ns])
        local = {SOAP_ENV: os.path.join(FIXTURES, "soap-envelope.xsd"),
                 SOAP_ENC: os.path.join(FIXTURES, "soap-encoding.xsd")}
        # cwmp-1-3.xsd includes cwmp-1-2.xsd by its URL
        local[BBF + "cwmp-1-2.xsd"] = os.path.join(SHARED, "bbf", "cwmp-1-2.xsd")

        def mapper(uri):
            return local.get(uri, uri)
        _cache[key] = xmlschema.XMLSchema(os.path.join(SHARED, "bbf", filename or _FILES[ns]),
                                          uri_mapper=mapper)
    return _cache[key]


def split(envelope):
    """(root, header element or None, the body's single child element)."""
    root = ET.fromstring(envelope)
    assert root.tag == "{%s}Envelope" % SOAP_ENV, root.tag
    header = root.find("{%s}Header" % SOAP_ENV)
    body = root.find("{%s}Body" % SOAP_ENV)
    assert body is not None and len(body) == 1, "one element in the body"
    return root, header, body[0]


def _ns_of(tag):
    return tag[1:].split("}", 1)[0]


def validate_header(envelope, name, filename):
    """Validate one header element against ``filename`` (e.g. cwmp-1-3.xsd)."""
    root, header, rpc = split(envelope)
    (h,) = [e for e in header if e.tag.rsplit("}", 1)[-1] == name]
    schema(_ns_of(h.tag), filename).validate(h, namespaces={"soap-env": SOAP_ENV})
    return h


def validate(envelope, expect=None, filename=None):
    """Validate the RPC (or the Fault's cwmp:Fault detail) of one envelope.

    Returns (namespace, rpc element). A SOAP fault is validated through its
    ``detail/cwmp:Fault`` element, which is what the CWMP schema defines.
    """
    root, header, rpc = split(envelope)
    if rpc.tag == "{%s}Fault" % SOAP_ENV:
        assert rpc.find("faultcode").text in ("Client", "Server")
        assert rpc.find("faultstring") is not None
        detail = rpc.find("detail")
        assert detail is not None and len(detail) == 1
        rpc = detail[0]
    ns = _ns_of(rpc.tag)
    assert ns in _FILES, ns
    if expect is not None:
        assert rpc.tag == "{%s}%s" % (ns, expect), rpc.tag
    if header is not None:
        for h in header:
            local = h.tag.rsplit("}", 1)[-1]
            if local in schema(ns, filename).elements:
                schema(ns, filename).validate(h, namespaces={"soap-env": SOAP_ENV})
    schema(ns, filename).validate(rpc, namespaces={"xsd": XSD, "xsi": XSI, "cwmp": ns, "soap-enc": SOAP_ENC,
                                         "soap-env": SOAP_ENV})
    check_arrays(rpc)
    return ns, rpc


def check_arrays(elem):
    """Every soap-enc:arrayType count matches the members; every Value has
    xsi:type (but an ArgStruct's, a plain string in the schema)."""
    plain = {id(v) for a in elem.iter("ArgStruct") for v in a.iter("Value")}
    for e in elem.iter():
        at = e.get("{%s}arrayType" % SOAP_ENC)
        if at is not None:
            n = int(at.rsplit("[", 1)[1].rstrip("]"))
            assert n == len(e), "%s says %d members, has %d" % (e.tag, n, len(e))
        if e.tag == "Value" and id(e) not in plain:
            t = e.get("{%s}type" % XSI)
            assert t and t.startswith("xsd:"), "Value without xsi:type"
