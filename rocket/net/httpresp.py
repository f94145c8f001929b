"""A sans-I/O HTTP/1.x response reader: bytes in, head and body pieces out.

What it is for: reading the answers of the ACS and of file servers, whatever
the peer sends. It never touches a socket; the caller feeds the bytes it read
(``feed``), says when the peer closed (``eof``) and asks for the next event
(``next_event``): ``None`` (feed me more), a ``Head``, a piece of body
(``bytes``, never empty), or ``END`` (the message is complete). What it is
not: a request parser (httpserver.py) or a client (redirects, auth: see the
callers).

Rules (each one a reason an attacker cannot hang or bloat the agent):

- Every state consumes input or stops: an event is returned, ``None`` asks
  for more, or ``HttpError`` ends the message. Nothing loops on its own.
- The head (status line, headers, trailers) is at most ``max_head`` bytes.
- ``max_body`` (0: none; may be set once the head is out) holds for every
  framing: a Content-Length above it is refused before any body byte; a chunk size is checked before its data; a
  close-delimited body is counted as it comes (``TooLarge``).
- A chunk size is 1 to 16 hex digits (optionally ``;extensions``): no sign,
  no ``0x``, no ``_``, nothing a lenient ``int(x, 16)`` would take.
- A body that ends (``eof``) before its Content-Length or its last chunk is
  an error, never a complete message.
- 1xx answers other than 101 are skipped (at most 20); 101 is an error
  (nothing here asks for an upgrade). 204, 304 and answers to HEAD have
  no body.
- Transfer codings other than ``chunked`` are refused (we ask for identity);
  several differing Content-Length values are refused.
- A gzip content coding is undone by ``Gunzip`` (for the callers that
  accept it), piece by piece: never more than its limit is produced, so a
  small body inflating to gigabytes (a zip bomb) stops at the limit.
"""

END = "end-of-message"


class HttpError(Exception):
    """The peer's answer is malformed or incomplete."""


class TooLarge(HttpError):
    """The body exceeds ``max_body``."""


class Head:
    __slots__ = ("version", "status", "reason", "headers", "will_close")

    def __init__(self, version, status, reason, headers):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # [(lower-case name, value)], in order
        self.will_close = False

    def get(self, name, default=""):
        """All values of header ``name`` joined with ", ", or ``default``."""
        vals = self.getall(name)
        return ", ".join(vals) if vals else default

    def getall(self, name):
        return [v for k, v in self.headers if k == name]


_HEX = frozenset(b"0123456789abcdefABCDEF")
_HEAD, _LEN, _SIZE, _DATA, _CRLF, _TRAILER, _CLOSE, _DONE = range(8)


class ResponseReader:
    def __init__(self, max_body=0, no_body=False, max_head=65536):
        self.max_body = max_body
        self.no_body = no_body
        self.max_head = max_head
        self.received = 0  # body bytes handed out
        self.head = None
        self._buf = bytearray()
        self._eof = False
        self._state = _HEAD
        self._used = 0  # head/trailer bytes consumed
        self._lines = []
        self._left = 0
        self._informational = 0

    def feed(self, data):
        self._buf += data

    def eof(self):
        self._eof = True

    @property
    def started(self):
        """True once the peer sent any byte of the answer."""
        return bool(self._buf) or self._used > 0 or self._state != _HEAD

    def _line(self, limit):
        buf = self._buf
        i = buf.find(b"\n", 0, limit + 1)
        if i < 0:
            if len(buf) > limit:
                raise HttpError("header too large" if self._state != _SIZE else "chunk size line too long")
            if self._eof:
                raise HttpError("connection closed in the middle of the %s"
                                % ("header" if self._state == _HEAD else "body"))
            return None
        line = bytes(buf[:i])
        del buf[:i + 1]
        return line[:-1] if line.endswith(b"\r") else line

    def _data(self):
        buf = self._buf
        if not buf:
            if self._eof:
                raise HttpError("connection closed after %d body bytes%s" % (
                    self.received, ", expected %d" % (self.received + self._left)
                    if self._state == _LEN else " (no last chunk)"))
            return None
        n = min(self._left, len(buf))
        out = bytes(buf[:n])
        del buf[:n]
        self._left -= n
        self.received += n
        return out

    def next_event(self):
        while True:
            st = self._state
            if st == _HEAD:
                line = self._line(self.max_head - self._used)
                if line is None:
                    return None
                self._used += len(line) + 2
                if line or not self._lines:
                    if line:
                        self._lines.append(line)
                    continue
                head = self._parse_head()
                if head is not None:
                    return head
            elif st == _LEN or st == _DATA:
                if st == _LEN and self.max_body and self.received + self._left > self.max_body:
                    raise TooLarge("body of %d bytes larger than %d bytes"
                                   % (self.received + self._left, self.max_body))
                if self._left == 0:
                    if st == _LEN:
                        self._state = _DONE
                    else:
                        self._state = _CRLF
                    continue
                return self._data()
            elif st == _CRLF:
                buf = self._buf
                if buf[:2] == b"\r\n" or buf[:1] == b"\n":
                    del buf[:2 if buf[:1] == b"\r" else 1]
                    self._state = _SIZE
                    continue
                if len(buf) < 2 and buf in (b"", b"\r") and not self._eof:
                    return None
                raise HttpError("missing CRLF after a chunk")
            elif st == _SIZE:
                line = self._line(1024)
                if line is None:
                    return None
                size = line.split(b";", 1)[0].strip(b" \t")
                if not 0 < len(size) <= 16 or not _HEX.issuperset(size):
                    raise HttpError("bad chunk size %r" % size[:20].decode("latin-1"))
                n = int(size, 16)
                if self.max_body and self.received + n > self.max_body:
                    raise TooLarge("body larger than %d bytes" % self.max_body)
                if n == 0:
                    self._state = _TRAILER
                else:
                    self._left = n
                    self._state = _DATA
            elif st == _TRAILER:
                line = self._line(self.max_head - self._used)
                if line is None:
                    return None
                self._used += len(line) + 2
                if not line:
                    self._state = _DONE
            elif st == _CLOSE:
                if self._buf:
                    self._left = len(self._buf)
                    if self.max_body and self.received + self._left > self.max_body:
                        raise TooLarge("body larger than %d bytes" % self.max_body)
                    return self._data()
                if self._eof:
                    self._state = _DONE
                    continue
                return None
            else:
                return END

    def _parse_head(self):
        lines, self._lines = self._lines, []
        parts = lines[0].split(None, 2)
        if (len(parts) < 2 or parts[0] not in (b"HTTP/1.0", b"HTTP/1.1") or len(parts[1]) != 3
                or not parts[1].isdigit() or not b"100" <= parts[1] <= b"599"):
            raise HttpError("bad status line %r" % lines[0][:40].decode("latin-1"))
        status = int(parts[1])
        headers = []
        for raw in lines[1:]:
            line = raw.decode("latin-1")
            if line[:1] in (" ", "\t") and headers:  # obsolete line folding
                headers[-1] = (headers[-1][0], headers[-1][1] + " " + line.strip())
                continue
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise HttpError("bad header line %r" % line[:40])
            headers.append((name.lower(), value.strip(" \t")))
        if 100 <= status < 200:
            if status == 101:
                raise HttpError("unexpected 101 Switching Protocols")
            self._informational += 1
            if self._informational > 20:
                raise HttpError("too many 1xx answers")
            return None  # skipped: the real answer follows
        head = Head(parts[0].decode(), status, parts[2].decode("latin-1") if len(parts) > 2 else "",
                    headers)
        conn = [t.strip().lower() for t in head.get("connection").split(",")]
        head.will_close = "close" in conn or (head.version == "HTTP/1.0" and "keep-alive" not in conn)
        codings = [t.strip().lower() for t in head.get("transfer-encoding").split(",")]
        codings = [t for t in codings if t and t != "identity"]
        lengths = {t.strip() for t in head.get("content-length").split(",") if t.strip()}
        if self.no_body or status in (204, 304):
            self._state = _DONE
        elif codings:
            if codings != ["chunked"]:
                raise HttpError("unsupported transfer coding %r" % ",".join(codings)[:40])
            self._state = _SIZE
        elif lengths:
            n = lengths.pop()
            if lengths or not (n.isascii() and n.isdigit()) or len(n) > 18:
                raise HttpError("bad Content-Length")
            self._left = int(n)
            self._state = _LEN
        else:
            self._state = _CLOSE
            head.will_close = True
        self.head = head
        return head


class Gunzip:
    """Undoes ``Content-Encoding: gzip``: compressed pieces in, at most
    ``limit`` bytes out (``TooLarge`` past it). zlib loads only here."""

    def __init__(self, limit):
        import zlib
        self._z = zlib.decompressobj(31)  # gzip framing, CRC and length checked at the end
        self._error = zlib.error
        self.limit = limit
        self.out = self.fed = 0

    def feed(self, data):
        z = self._z
        self.fed += len(data)
        pieces = []
        while data:
            if z.eof:
                raise HttpError("data after the end of the gzip body")
            try:  # max_length bounds what one call may produce (and zlib's buffer)
                piece = z.decompress(data, min(self.limit - self.out + 1, 65536))
            except self._error as e:
                raise HttpError("bad gzip body: %s" % e) from None
            self.out += len(piece)
            if self.out > self.limit:
                raise TooLarge("body larger than %d bytes once decompressed" % self.limit)
            if not piece and z.unconsumed_tail:
                raise HttpError("gzip body makes no progress")
            pieces.append(piece)
            data = z.unconsumed_tail
        if z.unused_data:
            raise HttpError("data after the end of the gzip body")
        return b"".join(pieces)

    def end(self):
        """The body ended: the gzip stream must have ended too (an empty body is fine)."""
        if self.fed and not self._z.eof:
            raise HttpError("gzip body cut short")


def redirect_target(base, location):
    """The absolute http(s) URL a ``Location`` points to, or None when it is
    malformed (bad port, broken IPv6 literal, no host, control characters,
    characters outside ASCII (a URL sends them percent-encoded), another
    scheme)."""
    from urllib.parse import urljoin, urlsplit
    if not location or any(c <= " " or c >= "\x7f" for c in location):
        return None
    try:
        url = urljoin(base, location)
        p = urlsplit(url)
        p.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return None
    if p.scheme not in ("http", "https") or not p.hostname:
        return None
    return url
