"""The coalescing transport under uvicorn: one write per loop turn, nothing lost on close."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from confluence_mcp.server.coalescing import CoalescingTransport

pytestmark = pytest.mark.anyio


class _Sink(asyncio.Protocol):
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        self.data.extend(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()


async def _pair() -> tuple[Any, _Sink, asyncio.AbstractServer]:
    loop = asyncio.get_running_loop()
    sink = _Sink()
    server = await loop.create_server(lambda: sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    return transport, sink, server


async def test_writes_in_one_turn_become_one_write_and_arrive_in_order() -> None:
    """Head and body written in the same turn reach the socket as a single write, in order."""
    transport, sink, server = await _pair()
    writes: list[bytes] = []
    real_write = transport.write

    def counting_write(data: bytes) -> None:
        writes.append(bytes(data))
        real_write(data)

    transport.write = counting_write
    wrapped = CoalescingTransport(transport, asyncio.get_running_loop())
    wrapped.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    wrapped.write(b"{}")
    assert writes == []
    await asyncio.sleep(0)  # one loop turn: the scheduled flush runs
    assert writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    wrapped.close()
    await asyncio.wait_for(sink.closed.wait(), 5)
    assert bytes(sink.data) == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
    server.close()


async def test_close_flushes_pending_writes() -> None:
    """Closing right after a write still delivers the bytes, and other attributes pass through."""
    transport, sink, server = await _pair()
    wrapped = CoalescingTransport(transport, asyncio.get_running_loop())
    assert wrapped.get_extra_info("peername") == transport.get_extra_info("peername")
    wrapped.write(b"last words")
    wrapped.close()
    await asyncio.wait_for(sink.closed.wait(), 5)
    assert bytes(sink.data) == b"last words"
    server.close()
