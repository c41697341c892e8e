"""uvicorn's httptools protocol, with the writes of one event-loop turn sent as one and every request bounded.

uvicorn writes a response's head and body with two ``transport.write`` calls. On small VMs each write
that wakes a reader on another CPU is expensive (we measured a few hundred microseconds), so
gathering the writes made in one turn of the loop into a single write saves one wake-up per response.

The bounds (``server.*`` settings, carried to the protocol by ``BoundedConfig``): a head over
``max_header_bytes`` or ``max_header_count`` gets 431; a head not complete ``header_timeout_seconds`` after its
first byte, or a body not complete ``body_timeout_seconds`` after the head, gets 408; a connection idle for
``keep_alive_timeout_seconds`` (before its first request too) is closed, one whose client reads no response for
``send_timeout_seconds`` is dropped; a connection beyond ``max_connections`` gets 503 at once. Each refusal
closes the connection. The common request, whose head and body arrive in one read, arms no timer: a deadline
is armed only when a read ends inside a head or a body, or when the client stops reading.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from asyncio import TimerHandle
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from confluence_mcp.settings import ServerSettings

# Where a connection is in its current request: between requests, reading a head, reading a body.
_IDLE, _HEAD, _BODY = 0, 1, 2
_DEFAULT_LIMITS = ServerSettings()


def _refusal(status: int, reason: str) -> bytes:
    body = reason.encode("ascii")
    head = f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
    return head.encode("ascii") + b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)


_TIMEOUT = _refusal(408, "Request Timeout")
_HEAD_TOO_LARGE = _refusal(431, "Request Header Fields Too Large")
_OVER_CAPACITY = _refusal(503, "Service Unavailable")
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)
"""SO_LINGER on, for 0 s: closing the socket sends a reset and discards what the kernel still holds."""


class BoundedConfig(uvicorn.Config):
    """uvicorn's Config plus the ``server.*`` settings whose limits CoalescingHttpToolsProtocol enforces."""

    def __init__(self, app: Any, server: ServerSettings, **options: Any) -> None:
        super().__init__(app, **options)
        self.server_settings = server


class CoalescingTransport:
    """Delegates to a transport; writes made in the same loop turn go out together in the next turn."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data``; the first write of a turn schedules the flush."""
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def flush(self) -> None:
        """Send everything queued as one write."""
        if not self._pending:
            return
        data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending = []
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        """Flush, then close: a response written just before closing is never lost."""
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol over a CoalescingTransport, refusing requests and connections beyond the limits."""

    # Slots keep the instance dict at uvicorn's own attributes: past 30 keys CPython stops sharing the dict's
    # keys and every attribute access on the protocol, uvicorn's own included, gets slower.
    __slots__ = (
        "_body_timeout",
        "_deadline",
        "_head_reads",
        "_header_count",
        "_header_timeout",
        "_max_connections",
        "_max_head_bytes",
        "_max_headers",
        "_read",
        "_send_deadline",
        "_send_timeout",
        "_stage",
        "_unfinished_head_bytes",
    )

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = config.server_settings if isinstance(config, BoundedConfig) else _DEFAULT_LIMITS
        self._max_head_bytes = limits.max_header_bytes
        self._max_headers = limits.max_header_count
        self._header_timeout = limits.header_timeout_seconds
        self._body_timeout = limits.body_timeout_seconds
        self._send_timeout = limits.send_timeout_seconds
        self._max_connections = limits.max_connections
        self._stage = _IDLE
        self._read = 0
        """The size of the read being parsed."""
        self._head_reads = 0
        """The size of the reads the current head came in: at least the head's own size."""
        self._header_count = 0
        self._unfinished_head_bytes = 0
        """The size of the reads that continued the current head without ending it: all head bytes."""
        self._deadline: TimerHandle | None = None
        """The head's or the body's timer; None while neither is armed."""
        self._send_deadline: TimerHandle | None = None
        """Armed while writing is paused because the client is not reading."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Wrap the transport before uvicorn sees it; beyond the connection cap answer 503 and close."""
        wrapped: Any = CoalescingTransport(transport, self.loop)
        if len(self.connections) >= self._max_connections:
            # Refused before uvicorn counts it: connection_lost only needs the transport.
            self.transport = wrapped
            self.logger.warning("Refused a connection: server.max_connections (%d) are open.", self._max_connections)
            wrapped.write(_OVER_CAPACITY)
            wrapped.close()
            return
        super().connection_made(wrapped)
        # uvicorn arms the idle timer only after a response; a connection that never sends a byte is idle too.
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def connection_lost(self, exc: Exception | None) -> None:
        """Cancel the deadlines, then let uvicorn clean up."""
        self._cancel_deadline()
        if self._send_deadline is not None:
            self._send_deadline.cancel()
            self._send_deadline = None
        self._unset_keepalive_if_required()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser as uvicorn does, then arm the deadline of a head or body this read left unfinished.

        Unlike uvicorn, a read does not reset the idle timer (a request's first byte does): bytes that start
        no request, such as a stream of blank lines, do not keep a connection open.
        """
        self._read = len(data)
        if self._stage == _HEAD:
            head_deadline = self._deadline
            self._head_reads += self._read
        else:
            head_deadline = None
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport.is_closing():  # a callback refused the request and answered it
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        if self._stage == _IDLE:
            return
        if self._deadline is None:
            if self._stage == _HEAD:
                self._unfinished_head_bytes = 0
                self._deadline = self.loop.call_later(self._header_timeout, self._deadline_passed)
            else:
                self._deadline = self.loop.call_later(self._body_timeout, self._deadline_passed)
        elif self._deadline is head_deadline:
            # This read continued a head and did not end it, so all of it is head: a head too large to finish
            # (an endless header line, which httptools buffers without a callback) is refused while it arrives.
            self._unfinished_head_bytes += self._read
            if self._unfinished_head_bytes > self._max_head_bytes:
                self._refuse_head()

    def on_message_begin(self) -> None:
        """Start counting a new head; a request is no longer idle."""
        self._unset_keepalive_if_required()
        self._stage = _HEAD
        self._head_reads = self._read
        self._header_count = 0
        HttpToolsProtocol.on_message_begin(self)

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count header lines (one too many: answer 431 and stop parsing), then keep the header as uvicorn does."""
        self._header_count += 1
        if self._header_count > self._max_headers:
            self._stop_parsing()
        # uvicorn's on_header, inline: a call per header costs more than the count does.
        # tests/server/test_http_limits.py checks that both keep the same headers.
        name = name.lower()
        value = value.rstrip(b" \t")
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        """Refuse a head over max_header_bytes, else end its deadline and hand the request to uvicorn.

        The head's size is at most the size of the reads it came in plus one byte a header line (a line's syntax
        is at least ':' and CRLF, 3 bytes, where 4 are counted); only when that bound is over the limit are the
        bytes counted, so the common request, read whole and smaller than the limit, pays nothing per header.
        """
        if self._head_reads + self._header_count > self._max_head_bytes and self._head_bytes() > self._max_head_bytes:
            self._stop_parsing()
        self._stage = _BODY
        if self._deadline is not None:
            self._cancel_deadline()
        HttpToolsProtocol.on_headers_complete(self)

    def on_message_complete(self) -> None:
        """End the body's deadline, then tell the request's cycle its body is complete (as uvicorn does)."""
        self._stage = _IDLE
        if self._deadline is not None:
            self._cancel_deadline()
        if (self.parser.should_upgrade() and self._should_upgrade()) or self.cycle.response_complete:
            return
        self.cycle.more_body = False
        self.cycle.message_event.set()

    def pause_writing(self) -> None:
        """The write buffer is full, the client not reading: a response waits, for send_timeout_seconds at most."""
        HttpToolsProtocol.pause_writing(self)
        if self._send_deadline is None:
            self._send_deadline = self.loop.call_later(self._send_timeout, self._send_deadline_passed)

    def resume_writing(self) -> None:
        """The client read enough: the response goes on, with no deadline."""
        if self._send_deadline is not None:
            self._send_deadline.cancel()
            self._send_deadline = None
        HttpToolsProtocol.resume_writing(self)

    def _head_bytes(self) -> int:
        """The head's size as max_header_bytes counts it: the target, and each header's name, value and 4 bytes."""
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _refuse_head(self) -> None:
        self.logger.warning(
            "Refused a request head over server.max_header_bytes (%d) or server.max_header_count (%d).",
            self._max_head_bytes,
            self._max_headers,
        )
        self._refuse(_HEAD_TOO_LARGE)

    def _stop_parsing(self) -> None:
        """Refuse the head from inside a parser callback: raising is how httptools is told to stop."""
        self._refuse_head()
        raise RuntimeError("request head over the limits (answered 431)")  # data_received sees the closed transport

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        stage, timeout = ("headers", self._header_timeout) if self._stage == _HEAD else ("body", self._body_timeout)
        self.logger.warning("Closed a connection whose request %s took over %g s.", stage, timeout)
        self._refuse(_TIMEOUT)

    def _send_deadline_passed(self) -> None:
        self._send_deadline = None
        self.logger.warning("Dropped a connection whose client read no response for %g s.", self._send_timeout)
        # close() would wait for the unread buffer to drain, and even abort() leaves the kernel sending what it holds
        # as an orphan socket: a zero linger makes the close a reset, which frees both at once.
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
        self.transport.abort()

    def _refuse(self, response: bytes) -> None:
        """Answer ``response`` unless another response is under way (it would cut into it), then close."""
        cycle = self.cycle
        if self._stage == _HEAD:  # the cycle, if any, is the previous request's
            quiet = cycle is None or cycle.response_complete
        else:  # the cycle is this request's, unless it waits behind a pipelined one
            quiet = not cycle.response_started and not self.pipeline
        if quiet:
            self.transport.write(response)
        self.transport.close()
