"""The coalescing transport (one write per loop turn, nothing lost on close) and our protocol's parsing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from confluence_mcp.server.coalescing import CoalescingHttpToolsProtocol, CoalescingTransport
from confluence_mcp.server.listener import uvicorn_config
from confluence_mcp.settings import ServerSettings

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


class _Transport(asyncio.Transport):
    """Enough of a transport for a protocol to parse requests into: it drops what is written."""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: Any) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


async def _parsed(protocol_class: type[HttpToolsProtocol], config: uvicorn.Config, data: bytes) -> HttpToolsProtocol:
    """Return a protocol of ``protocol_class`` that has parsed ``data`` (the app is never started)."""
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    protocol.connection_made(_Transport())
    protocol._start_asgi_task = lambda cycle, app: None  # type: ignore[method-assign]  # parse only
    protocol.data_received(data)
    protocol.connection_lost(None)
    return protocol


async def test_our_protocol_keeps_headers_exactly_as_uvicorn_does() -> None:
    """Our inline copy of uvicorn's on_header lowercases names, strips trailing blanks and sees Expect alike."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        pass

    data = (
        b"POST /mcp/t?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nX-Mixed-CASE: Value \t\r\n"
        b"Expect: 100-Continue\r\nDup: 1\r\nDup: 2\r\nContent-Length: 2\r\n\r\n{}"
    )
    theirs_config = uvicorn.Config(app, http=HttpToolsProtocol, lifespan="off")
    ours_config = uvicorn_config(app, ServerSettings(), lifespan="off")
    theirs_config.load()
    ours_config.load()
    theirs = await _parsed(HttpToolsProtocol, theirs_config, data)
    ours = await _parsed(CoalescingHttpToolsProtocol, ours_config, data)
    assert ours.scope["headers"] == theirs.scope["headers"]
    assert (b"x-mixed-case", b"Value") in ours.scope["headers"]
    assert ours.expect_100_continue is theirs.expect_100_continue is True
    assert (ours.scope["method"], ours.scope["path"], ours.scope["query_string"]) == ("POST", "/mcp/t", b"x=1")
    assert (theirs.scope["method"], theirs.scope["path"], theirs.scope["query_string"]) == ("POST", "/mcp/t", b"x=1")
