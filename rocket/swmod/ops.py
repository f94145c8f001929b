"""ChangeDUState in CWMP terms: reading the request, Deployment Unit UUIDs,
and writing DUStateChangeComplete / AutonomousDUStateChangeComplete.

Pure: no sockets, processes or files. What it is not: the runner that
carries operations out (rocket.swmod.service) or the data model
(rocket.swmod.model).

Rules implemented here:

- ``Operations`` is read in both forms seen in the field: repeated
  ``<Operations xsi:type="cwmp:InstallOpStruct">`` elements (cwmp-1-2.xsd)
  and one SOAP array ``<Operations soap-enc:arrayType=...>`` holding
  ``<InstallOpStruct>``... members. 1 to 16 operations; anything else, an
  unknown operation type, a missing URL (Install) or UUID (Uninstall), or an
  argument over its schema length is fault 9003 on the RPC itself.
- Faults about one operation (9022 bad UUID, 9023/9024 execution
  environment, 9026 duplicate, 9028 unknown DU, 9030-9032 versions, download
  and install failures) go in that operation's result, never on the RPC: the
  other operations of the request still run.
- UUIDs are RFC 4122 version 5 (name-based, SHA-1) as TR-181 Annex C asks:
  namespace the DNS namespace ID, name the DU's Name followed by its Vendor.
  The same package gives the same UUID on every device and after every
  reinstall; an ACS-supplied UUID is kept for that DU instead.
- Results carry the codes cwmp-1-2.xsd allows in a DU result (9001, 9003,
  9012, 9013, 9015-9018, 9022-9032); anything else is reported as 9001.
"""

import hashlib
import re

from rocket.cwmp.soap import XSI, CwmpFault, esc, local, operations, text

MAX_OPS = 16
UNKNOWN = "0001-01-01T00:00:00Z"
NIL_UUID = "00000000-0000-0000-0000-000000000000"
_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
_NS_DNS = bytes.fromhex("6ba7b8109dad11d180b400c04fd430c8")
DU_FAULTS = frozenset((9001, 9003, 9012, 9013, 9015, 9016, 9017, 9018) + tuple(range(9022, 9033)))
_OPS = {"InstallOpStruct": "Install", "UpdateOpStruct": "Update", "UninstallOpStruct": "Uninstall"}
_LIMITS = {"URL": 1024, "Username": 256, "Password": 256, "Version": 32, "ExecutionEnvRef": 256,
           "UUID": 64}


def du_uuid(name, vendor=""):
    """The version 5 UUID of a DU (TR-181 Annex C): SHA-1 of the namespace
    and ``name + vendor``, with the version and variant bits set."""
    h = bytearray(hashlib.sha1(_NS_DNS + (name + vendor).encode("utf-8")).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return "%s-%s-%s-%s-%s" % (x[:8], x[8:12], x[12:16], x[16:20], x[20:])


def valid_uuid(u):
    return bool(_UUID.match(u))


def _op_type(elem):
    t = elem.get("{%s}type" % XSI) or ""
    return _OPS.get(t.rsplit(":", 1)[-1]) or _OPS.get(local(elem.tag))


def parse(body):
    """(CommandKey, [operation dict]) of a ChangeDUState body; CwmpFault 9003."""
    key = text(body, "CommandKey") or ""
    elems = operations(body)
    if len(key) > 32:
        raise CwmpFault(9003, "CommandKey longer than 32 characters")
    if not 1 <= len(elems) <= MAX_OPS:
        raise CwmpFault(9003, "ChangeDUState needs 1 to %d operations" % MAX_OPS)
    ops = []
    for e in elems:
        kind = _op_type(e)
        if kind is None:
            raise CwmpFault(9003, "unknown operation %s" % local(e.tag)[:64])
        op = {"op": kind}
        for c in e:
            n = local(c.tag)
            if n in _LIMITS:
                v = (c.text or "").strip() if n != "Password" else (c.text or "")
                if len(v) > _LIMITS[n]:
                    raise CwmpFault(9003, "%s longer than %d characters" % (n, _LIMITS[n]))
                op[n.lower()] = v
        if kind == "Install" and not op.get("url"):
            raise CwmpFault(9003, "Install without a URL")
        if kind == "Uninstall" and not op.get("uuid"):
            raise CwmpFault(9003, "Uninstall without a UUID")
        ops.append(op)
    return key, ops


def du_fault(code):
    return code if code == 0 or code in DU_FAULTS else 9001


def result_xml(r, autonomous=False):
    """One OpResultStruct / AutonOpResultStruct from a result dict."""
    code, reason = r.get("fault") or (0, "")
    out = ("<UUID>%s</UUID><DeploymentUnitRef>%s</DeploymentUnitRef><Version>%s</Version>"
           "<CurrentState>%s</CurrentState><Resolved>%s</Resolved>"
           "<ExecutionUnitRefList>%s</ExecutionUnitRefList><StartTime>%s</StartTime>"
           "<CompleteTime>%s</CompleteTime><Fault><FaultCode>%d</FaultCode>"
           "<FaultString>%s</FaultString></Fault>"
           % (r.get("uuid") if valid_uuid(r.get("uuid") or "") else NIL_UUID,
              esc(r.get("ref", "")), esc((r.get("version") or "")[:32]), r.get("state", "Failed"),
              "true" if r.get("resolved") else "false", esc(",".join(r.get("eus") or ())),
              r.get("start") or UNKNOWN, r.get("complete") or UNKNOWN, du_fault(code),
              esc((reason or "")[:256])))
    if autonomous:
        out += "<OperationPerformed>%s</OperationPerformed>" % r.get("op", "Install")
    return "<Results>%s</Results>" % out


def complete_xml(results, key):
    """The inside of DUStateChangeComplete."""
    return "".join(result_xml(r) for r in results) + "<CommandKey>%s</CommandKey>" % esc(key)


def autonomous_xml(results):
    return "".join(result_xml(r, True) for r in results)


def policy_allows(policy, r):
    """DUStateChangeComplPolicy: is autonomous result ``r`` to be reported?

    ``policy``: dict with enable (bool), ops (list), results
    (Success|Failure|Both) and faults (list of codes as strings).
    """
    if not policy.get("enable"):
        return False
    if r.get("op") not in policy.get("ops", ()):
        return False
    code = (r.get("fault") or (0, ""))[0]
    want = policy.get("results", "Both")
    if want == "Success" and code:
        return False
    if want == "Failure" and not code:
        return False
    faults = policy.get("faults") or ()
    if code and faults and str(du_fault(code)) not in faults:
        return False
    return True
