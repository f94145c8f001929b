"""A small sans-I/O HTTP/1.x request reader, for the agent's listeners.

``RequestParser`` takes the bytes a client sent, in as many pieces as they
arrive, and returns a ``Request`` once the header block is complete. It does
no I/O: the caller reads the socket and decides what to answer. It accepts
one request with no body (the connection-request listener serves
``GET`` only and closes the connection after one answer), so everything
after the header block is ignored, and a request that announces a body is
refused.

Anything malformed raises ``HttpError`` with the status to answer (400, 431,
505, 501); nothing else escapes ``feed``. Limits: the header block (request
line included) is at most ``max_header`` bytes and ``max_lines`` lines.

``response(status, headers)`` formats a complete answer with an empty body.
"""

_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789"
                   b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


class HttpError(Exception):
    """A request that cannot be served; ``status`` is the code to answer."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Request:
    """One parsed request: method, target and version as sent, and the
    headers as a dict with lower-case names (repeated headers joined with
    ", ", as RFC 9110 §5.3 allows)."""

    __slots__ = ("method", "target", "version", "headers")

    def __init__(self, method, target, version, headers):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers

    def path(self):
        """The path of the target ('' for the asterisk form).

        The origin form ``/a/b?q`` gives ``/a/b?q`` unchanged; the absolute
        form ``http://host:port/a/b?q`` gives ``/a/b?q``.
        """
        t = self.target
        if t.startswith("/"):
            return t
        low = t.lower()
        for scheme in ("http://", "https://"):
            if low.startswith(scheme):
                rest = t[len(scheme):]
                i = rest.find("/")
                j = rest.find("?")
                if i < 0 or (0 <= j < i):
                    return "/" + rest[j:] if j >= 0 else "/"
                return rest[i:]
        return ""

    def __repr__(self):
        return "<Request %s %s %s>" % (self.method, self.target, self.version)


class RequestParser:
    """Feed bytes, get a Request (or None while the header block is incomplete)."""

    def __init__(self, max_header=8192, max_lines=64):
        self.max_header = max_header
        self.max_lines = max_lines
        self._buf = bytearray()
        self._scanned = 0
        self.request = None

    def feed(self, data):
        if self.request is not None:
            return self.request  # one request per connection: the rest is ignored
        self._buf += data
        # RFC 9112 §2.2: ignore empty lines before the request line.
        while True:
            if self._buf[:2] == b"\r\n":
                del self._buf[:2]
            elif self._buf[:1] == b"\n":
                del self._buf[:1]
            else:
                break
            self._scanned = 0
        # Only the new bytes (and the 3 before them) can complete the blank
        # line: a client sending one byte at a time costs O(n), not O(n^2).
        end = _header_end(self._buf, max(0, self._scanned - 3))
        self._scanned = len(self._buf)
        if end < 0:
            if len(self._buf) > self.max_header:
                raise HttpError(431, "header block larger than %d bytes" % self.max_header)
            return None
        if end > self.max_header:
            raise HttpError(431, "header block larger than %d bytes" % self.max_header)
        block = bytes(self._buf[:end])
        self._buf = bytearray()
        self.request = _parse(block, self.max_lines)
        return self.request


def _header_end(buf, start=0):
    """Index just past the blank line that ends the header block, or -1."""
    a = buf.find(b"\r\n\r\n", start)
    b = buf.find(b"\n\n", start)
    ends = [i + 4 for i in (a,) if i >= 0] + [i + 2 for i in (b,) if i >= 0]
    return min(ends) if ends else -1


def _parse(block, max_lines):
    lines = block.split(b"\n")
    lines = [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]
    while lines and lines[-1] == b"":
        lines.pop()
    if len(lines) > max_lines:
        raise HttpError(431, "more than %d header lines" % max_lines)
    method, target, version = _request_line(lines[0])
    headers = {}
    for ln in lines[1:]:
        if ln[:1] in (b" ", b"\t"):
            raise HttpError(400, "obsolete line folding")
        name, sep, value = ln.partition(b":")
        if not sep or not name or any(c not in _TOKEN for c in name):
            raise HttpError(400, "malformed header line")
        if any(c < 32 and c != 9 or c == 127 for c in value):
            raise HttpError(400, "control character in a header value")
        key = name.decode("ascii").lower()
        val = value.strip(b" \t").decode("latin-1")
        if key in headers:
            if key in ("authorization", "host", "content-length"):
                raise HttpError(400, "repeated %s header" % key)
            headers[key] = headers[key] + ", " + val
        else:
            headers[key] = val
    if "transfer-encoding" in headers:
        raise HttpError(501, "request bodies are not accepted")
    cl = headers.get("content-length")
    if cl is not None:
        if not (cl.isascii() and cl.isdigit()):
            raise HttpError(400, "bad Content-Length")
        if cl.strip("0"):
            raise HttpError(413, "request bodies are not accepted")
    return Request(method, target, version, headers)


def _request_line(line):
    parts = line.split(b" ")
    if len(parts) != 3 or not all(parts):
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    if any(c not in _TOKEN for c in method):
        raise HttpError(400, "malformed method")
    if any(c <= 32 or c >= 127 for c in target):
        raise HttpError(400, "malformed request target")
    if not (version.startswith(b"HTTP/") and len(version) == 8 and version[5:6].isdigit()
            and version[6:7] == b"." and version[7:8].isdigit()):
        raise HttpError(400, "malformed HTTP version")
    if version[5:6] != b"1":
        raise HttpError(505, "only HTTP/1.x is served")
    return method.decode("ascii"), target.decode("ascii"), version.decode("ascii")


def response(status, headers=()):
    """The bytes of a complete response with an empty body."""
    lines = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Unknown"))]
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
    lines.append("Content-Length: 0")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
