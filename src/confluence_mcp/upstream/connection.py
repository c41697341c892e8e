"""One upstream HTTP/1.1 connection as an ``asyncio.Protocol``: write a request, read its response.

Bytes land in a buffer and wake at most one future; one timer bounds the whole exchange. The pool
(``transport.py``) decides which connection carries which request; ``http11.py`` parses what arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

import httpx

from confluence_mcp.errors import UpstreamResponseTooLarge
from confluence_mcp.upstream.http11 import MAX_HEAD_BYTES, ChunkedBody, ResponseHead, parse_head

__all__ = ["Connection", "Origin"]

Origin = tuple[bytes, str, int]
"""Scheme, host and port: connections are pooled per origin."""


class Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: a receive buffer, one waiter, and the state the pool needs."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        origin: Origin,
        *,
        on_close: Callable[[Connection], None],
        on_reusable: Callable[[Connection], None],
    ) -> None:
        self.loop = loop
        self.origin = origin
        self.on_close = on_close
        """Called (perhaps more than once) when either side closes the connection: the pool forgets it."""
        self.on_reusable = on_reusable
        """Called when a complete response leaves the connection fit for another request."""
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[None] | None = None
        self.eof = False
        self.lost = False
        self.lost_error: BaseException | None = None
        self.lost_waiter: asyncio.Future[None] | None = None
        self.timed_out = False
        self.deadline_passed = False  # the caller's deadline for the whole exchange, rather than read_timeout
        self.idle = False
        self.idle_since = 0.0
        self.served = 0
        self.received = 0  # bytes received for the current request
        self.write_pending = False
        self.holds_slot = True
        self.shut_down = False  # the pool is closing: a lost connection is the pool's doing, not the server's

    # asyncio.Protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have asyncio.Transport's methods without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self.received += len(data)
        self.write_pending = False  # the server answers: it has read the request
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close our side too: HTTP/1.1 has no use for a half-open connection

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = self.lost = True
        self.lost_error = exc
        self._wake()
        self.on_close(self)
        if self.lost_waiter is not None and not self.lost_waiter.done():
            self.lost_waiter.set_result(None)

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # exchange

    def reusable_idle(self, expired_at: float) -> bool:
        """Whether this idle connection may carry a request: still open, silent, and idle since after ``expired_at``."""
        # Strictly after: uvloop's clock ticks in milliseconds, and keepalive_expiry=0 must mean no reuse at all.
        return not self.eof and not self.buffer and self.idle_since > expired_at

    def close(self, *, abort: bool = False) -> None:
        """Close the socket (abruptly when ``abort``) and give back the pool slot."""
        if self.transport is not None:
            if abort:
                self.transport.abort()
            else:
                self.transport.close()
        self.on_close(self)

    async def roundtrip(
        self,
        data: bytes,
        head_request: bool,
        read_timeout: float,
        request: httpx.Request | None,
        *,
        max_body: int,
        deadline: float | None = None,
    ) -> tuple[ResponseHead, bytes]:
        """Send ``data`` and return the response head and body, all within ``read_timeout`` seconds.

        A body of more than ``max_body`` bytes raises ``UpstreamResponseTooLarge``: a declared length before any
        of it is read, other framings as soon as the bytes received (or the chunk sizes declared) pass it. When
        ``deadline`` (event-loop time) comes first, ``TimeoutError`` is raised, as ``asyncio.timeout_at`` would.
        """
        transport = self.transport
        assert transport is not None
        self.received = 0
        if self.eof or transport.is_closing():
            raise httpx.WriteError("the upstream connection closed before the request was sent", request=request)
        transport.write(data)
        self.write_pending = transport.get_write_buffer_size() > 0
        # One timer either way: whichever of the two limits comes first.
        expires = self.loop.time() + read_timeout
        if deadline is not None and deadline < expires:
            timer = self.loop.call_at(deadline, self._pass_deadline)
        else:
            timer = self.loop.call_at(expires, self._time_out)
        try:
            head, body = await self._read_response(head_request, request, max_body)
        finally:
            timer.cancel()
        self.served += 1
        if not head.keep_alive or self.buffer or self.eof:
            self.close()
        else:
            self.on_reusable(self)
        return head, body

    def _time_out(self) -> None:
        self.timed_out = True
        self._wake()

    def _pass_deadline(self) -> None:
        self.deadline_passed = True
        self._time_out()

    async def _more(self, request: httpx.Request | None) -> bool:
        """Wait for more bytes; return ``False`` when the stream ended without any, raise on timeout or failure."""
        before = self.received
        if not self.eof:
            waiter = self.loop.create_future()
            self.waiter = waiter
            try:
                await waiter
            finally:
                self.waiter = None
        if self.timed_out:
            if self.deadline_passed:
                raise TimeoutError("the exchange passed its deadline")
            if self.write_pending:
                raise httpx.WriteTimeout("timed out sending the request to the upstream server", request=request)
            raise httpx.ReadTimeout("timed out waiting for the upstream server's response", request=request)
        if self.received > before or not self.eof:
            return True
        if self.shut_down:
            raise httpx.ReadError("LeanTransport was closed while the request was in flight", request=request)
        error = self.lost_error
        if error is not None:
            if self.write_pending:
                raise httpx.WriteError(f"sending the request failed: {error}", request=request) from error
            raise httpx.ReadError(f"the upstream connection failed: {error}", request=request) from error
        return False

    async def _read_response(
        self, head_request: bool, request: httpx.Request | None, max_body: int
    ) -> tuple[ResponseHead, bytes]:
        buffer = self.buffer
        start = 0
        while True:
            end = buffer.find(b"\r\n\r\n", start)
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise httpx.RemoteProtocolError("the upstream server sent an oversized response head")
                start = max(len(buffer) - 3, 0)
                if not await self._more(request):
                    raise self._disconnected(request)
                continue
            head = parse_head(bytes(buffer[:end]), head_request=head_request)
            del buffer[: end + 4]
            start = 0
            if head.status < 200 and head.status != 101:
                continue  # an interim answer (100 Continue, 103 Early Hints): the real one follows
            break
        if head.framing == "none":
            return head, b""
        if head.framing == "length":
            length = head.length
            if length > max_body:
                raise UpstreamResponseTooLarge(max_body)
            while len(buffer) < length:
                if not await self._more(request):
                    raise self._disconnected(request, f"after {len(buffer)} of {length} body bytes")
            body = bytes(buffer[:length])
            del buffer[:length]
            return head, body
        if head.framing == "chunked":
            chunked = ChunkedBody(max_body)
            while not chunked.feed(buffer):
                if not await self._more(request):
                    raise self._disconnected(request, "in a chunked body")
            return head, chunked.body()
        while await self._more(request):  # close-delimited: the body ends when the server closes
            if len(buffer) > max_body:
                raise UpstreamResponseTooLarge(max_body)
        body = bytes(buffer)
        buffer.clear()
        return head, body

    def _disconnected(self, request: httpx.Request | None, where: str = "") -> httpx.RemoteProtocolError:
        if not self.received:
            return httpx.RemoteProtocolError("the upstream server closed the connection without answering")
        return httpx.RemoteProtocolError(f"the upstream server closed the connection mid-response {where}".rstrip())
