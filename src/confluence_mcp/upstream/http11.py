"""HTTP/1.1 wire format for ``LeanTransport``: request bytes out, response heads and bodies in; no I/O.

Everything here works on bytes and raises ``httpx.LocalProtocolError`` for a request we must not send,
``httpx.RemoteProtocolError`` for a response we cannot trust (RFC 9112 framing, with h11's strictness) and
``UpstreamResponseTooLarge`` for a chunked body that declares more than the caller's limit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, Literal, NamedTuple

import httpx

from confluence_mcp.errors import UpstreamResponseTooLarge

__all__ = [
    "MAX_HEAD_BYTES",
    "ChunkedBody",
    "Framing",
    "ResponseHead",
    "encode_request",
    "parse_head",
]

MAX_HEAD_BYTES: Final = 64 * 1024
"""The largest status line plus header section (or chunked trailer section) we accept."""

Framing = Literal["none", "length", "chunked", "close"]
"""How the body ends: no body, ``Content-Length`` bytes, chunked coding, or when the server closes."""

Headers = list[tuple[bytes, bytes]]

_STATUS_LINE: Final = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?")
_TOKEN: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# One whole line: a token, a colon, the value (trailing blanks included); never NUL, CR or LF inside.
_FIELD_LINE: Final = re.compile(rb"^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\x00\r\n]*)\r$", re.MULTILINE)
_CHUNK_SIZE: Final = re.compile(rb"([0-9A-Fa-f]{1,15})[ \t]*(?:;[^\r\n]*)?")
_OWS: Final = b" \t"


def _malformed(problem: str) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(f"malformed HTTP response from the upstream server: {problem}")


def encode_request(
    method: bytes, target: bytes, headers: Sequence[tuple[bytes, bytes]], body: bytes, host: bytes
) -> bytes:
    """Return the request line, headers and body, adding ``Host`` and ``Content-Length`` when missing."""
    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    has_host = has_length = chunked = False
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"host":
            has_host = True
        elif lowered == b"content-length":
            has_length = True
        elif lowered == b"transfer-encoding":
            chunked = True
        parts += (name, b": ", value, b"\r\n")
    lines = len(headers) + 2
    if not has_host:
        parts[4:4] = (b"Host: ", host, b"\r\n")
        lines += 1
    if chunked and not has_length:
        # A streamed body was read into memory up front; send it as one chunk, as the header promises.
        body = (b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body)) if body else b"0\r\n\r\n"
    elif body and not has_length:
        parts += (b"Content-Length: ", b"%d" % len(body), b"\r\n")
        lines += 1
    parts.append(b"\r\n")
    head = b"".join(parts)
    # Every CR and LF must be one of ours: a header value carrying one would smuggle a header or a request.
    if head.count(b"\n") != lines or head.count(b"\r") != lines or b"\x00" in head:
        raise httpx.LocalProtocolError("refusing to send a request line or header containing CR, LF or NUL")
    return head + body if body else head


class ResponseHead(NamedTuple):
    """A parsed status line and header section, with the body framing they imply."""

    http_version: bytes
    """``b"HTTP/1.1"`` or ``b"HTTP/1.0"``."""
    status: int
    reason: bytes
    headers: Headers
    """Raw ``(name, value)`` pairs in wire order, names as sent, repeated names kept."""
    framing: Framing
    length: int
    """The body length for ``framing == "length"``, else 0."""
    keep_alive: bool
    """Whether the connection may carry another request after this response's body."""


def parse_head(data: bytes, *, head_request: bool) -> ResponseHead:
    """Parse a status line and headers (``data`` ends before the blank line) into a ``ResponseHead``."""
    end = data.find(b"\r\n")
    if end < 0:
        end = len(data)
    match = _STATUS_LINE.fullmatch(data, 0, end)
    if match is None:
        raise _malformed(f"bad status line {data[: min(end, 80)]!r}")
    minor, status_digits, reason = match.groups()
    status = int(status_digits)
    if status < 100:
        raise _malformed(f"status code {status} is below 100")
    block = data[end + 2 :] + b"\r\n" if end < len(data) else b""
    # Matches are anchored at line starts, so any line not matched whole (a bare CR or LF, a NUL, a space
    # before the colon, no colon) leaves the count short.
    headers: Headers = _FIELD_LINE.findall(block)
    if len(headers) != block.count(b"\n"):
        raise _malformed("a header line is not 'name: value' or holds a NUL, CR or LF")
    length: int | None = None
    transfer_encoding: list[bytes] = []
    close = minor == b"0"  # HTTP/1.0 servers get one request per connection, whatever they advertise
    trailing_blanks = False
    for name, value in headers:
        if value and value[-1] in _OWS:
            trailing_blanks = True
            value = value.rstrip(_OWS)
        lowered = name.lower()
        if lowered == b"content-length":
            if not value.isdigit() or len(value) > 18 or (length is not None and int(value) != length):
                raise _malformed(f"bad Content-Length {value[:40]!r}")
            length = int(value)
        elif lowered == b"transfer-encoding":
            transfer_encoding += (coding.strip(_OWS).lower() for coding in value.split(b","))
        elif lowered == b"connection" and b"close" in (token.strip(_OWS).lower() for token in value.split(b",")):
            close = True
    if trailing_blanks:
        headers = [(name, value.rstrip(_OWS)) for name, value in headers]
    if status == 101:
        close = True  # the server switched protocols, which we never ask for: the connection is no longer HTTP
    framing: Framing
    if head_request or status < 200 or status in (204, 304):
        framing = "none"
    elif transfer_encoding:
        if transfer_encoding != [b"chunked"]:
            raise _malformed(f"unsupported Transfer-Encoding {b', '.join(transfer_encoding)!r}")
        framing = "chunked"
        close = close or length is not None  # both headers: RFC 9112 6.3 says do not reuse the connection
    elif length is not None:
        framing = "length"
    else:
        framing, close = "close", True
    return ResponseHead(
        http_version=b"HTTP/1.1" if minor == b"1" else b"HTTP/1.0",
        status=status,
        reason=reason or b"",
        headers=headers,
        framing=framing,
        length=length if framing == "length" and length is not None else 0,
        keep_alive=not close,
    )


class ChunkedBody:
    """Decodes a chunked body incrementally from the front of a receive buffer, trailers included.

    Work stays linear in the bytes received however they are split: data is appended to one bytearray (a list
    of one-byte parts would cost some 40 bytes each), and a size line or trailer section that arrives a byte at a
    time is searched only from where the previous search stopped.
    """

    __slots__ = ("_body", "_done", "_limit", "_remaining", "_scanned", "_size", "_state")

    def __init__(self, limit: int) -> None:
        """Decode a body of at most ``limit`` data bytes; a chunk size that passes it raises before its data is read."""
        self._limit = limit
        self._body = bytearray()
        self._size = 0
        self._remaining = 0  # data bytes left in the current chunk
        self._scanned = 0  # bytes at the front of the buffer already searched for the end of a line or section
        self._state: Literal["size", "data", "data-end", "trailer"] = "size"
        self._done = False

    def feed(self, buffer: bytearray) -> bool:
        """Consume what ``buffer`` holds of the body (deleting it from the front); return whether it is complete."""
        while not self._done:
            if self._state == "size":
                end = buffer.find(b"\r\n", self._scanned)
                if end < 0:
                    if len(buffer) > 1024:
                        raise _malformed("chunk size line too long")
                    self._scanned = max(len(buffer) - 1, 0)
                    return False
                self._scanned = 0
                match = _CHUNK_SIZE.fullmatch(buffer, 0, end)
                if match is None:
                    raise _malformed(f"bad chunk size line {bytes(buffer[: min(end, 40)])!r}")
                self._remaining = int(match.group(1), 16)
                del buffer[: end + 2]
                self._size += self._remaining
                if self._size > self._limit:
                    raise UpstreamResponseTooLarge(self._limit)
                self._state = "data" if self._remaining else "trailer"
            elif self._state == "data":
                if not buffer:
                    return False
                take = min(self._remaining, len(buffer))
                # One copy, straight from the buffer; the temporary view is gone before the buffer is resized.
                self._body += memoryview(buffer)[:take]
                del buffer[:take]
                self._remaining -= take
                if self._remaining == 0:
                    self._state = "data-end"
            elif self._state == "data-end":
                if len(buffer) < 2:
                    return False
                if buffer[:2] != b"\r\n":
                    raise _malformed("chunk data not followed by CRLF")
                del buffer[:2]
                self._state = "size"
            elif not self._skip_trailers(buffer):
                return False
            else:
                self._done = True
        return True

    def _skip_trailers(self, buffer: bytearray) -> bool:
        # Trailer fields are read and dropped, as httpx's default transport does.
        if buffer[:2] == b"\r\n":
            del buffer[:2]
            return True
        end = buffer.find(b"\r\n\r\n", self._scanned)
        if end < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                raise _malformed("trailer section too long")
            self._scanned = max(len(buffer) - 3, 0)
            return False
        for line in bytes(buffer[:end]).split(b"\r\n"):
            name, colon, _ = line.partition(b":")
            if not colon or _TOKEN.fullmatch(name) is None:
                raise _malformed(f"bad trailer line {line[:80]!r}")
        del buffer[: end + 4]
        return True

    def body(self) -> bytes:
        """Return the decoded body (valid once ``feed`` returned ``True``)."""
        return bytes(self._body)
