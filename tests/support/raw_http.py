"""A raw HTTP/1.1 client over asyncio streams, for sending what no well-behaved client would send."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlsplit

import anyio

__all__ = ["RawClient", "RawClients", "raw_clients", "request_bytes", "rpc_body"]


def rpc_body(method: str = "tools/list", params: dict[str, Any] | None = None) -> bytes:
    """Return a JSON-RPC request body."""
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}).encode()


def request_bytes(
    base_url: str, target: str, body: bytes = b"", headers: list[tuple[str, str]] | None = None, method: str = "POST"
) -> bytes:
    """Return a whole request: head (Host, JSON content types, Content-Length, then ``headers``) and body."""
    host = urlsplit(base_url).netloc
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Content-Type: application/json"]
    lines += ["Accept: application/json, text/event-stream", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class RawClient(asyncio.Protocol):
    """One client connection: everything it receives, and whether the server has closed it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.received = bytearray()
        self.closed = asyncio.Event()
        self._arrived = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        """Keep what arrived."""
        self.received.extend(data)
        self._arrived.set()

    def connection_lost(self, exc: Exception | None) -> None:
        """Note the close (a FIN or a reset)."""
        self.closed.set()
        self._arrived.set()

    def send(self, data: bytes) -> bool:
        """Write ``data`` unless the connection is closing; return whether it was written."""
        if self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(data)
        return True

    def close(self) -> None:
        """Close from our side."""
        if self.transport is not None:
            self.transport.close()

    async def dribble(self, pieces: Iterable[bytes], interval: float) -> int:
        """Send ``pieces`` one every ``interval`` seconds until they run out or the server closes; return how many."""
        sent = 0
        for piece in pieces:
            if not self.send(piece):
                break
            sent += 1
            with anyio.move_on_after(interval):
                await self.closed.wait()
        return sent

    @property
    def status(self) -> int | None:
        """The status code of the first response received, or None."""
        line, _, _ = bytes(self.received).partition(b"\r\n")
        parts = line.split(b" ")
        return int(parts[1]) if len(parts) > 1 and parts[0].startswith(b"HTTP/1.") else None

    async def closed_by_server(self, deadline: float) -> None:
        """Wait until the server closes the connection, at most ``deadline`` seconds."""
        with anyio.fail_after(deadline):
            await self.closed.wait()

    async def response(self, deadline: float = 10) -> tuple[int, bytes]:
        """Wait for the next whole response (Content-Length framed); return its status and body, consumed."""
        with anyio.fail_after(deadline):
            while True:
                head, found, rest = bytes(self.received).partition(b"\r\n\r\n")
                if found:
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    if len(rest) >= length:
                        status = int(head.split(b" ")[1])
                        del self.received[: len(head) + 4 + length]
                        return status, rest[:length]
                if self.closed.is_set():
                    raise ConnectionError(f"closed before a whole response; received {bytes(self.received)[:200]!r}")
                self._arrived.clear()
                await self._arrived.wait()


class RawClients:
    """Opens raw connections to one server; ``raw_clients`` closes them all at the end, even after a failure."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opened: list[RawClient] = []

    async def connect(self, *, receive_buffer: int | None = None) -> RawClient:
        """Open a raw connection to the server, with a kernel receive buffer of ``receive_buffer`` bytes if given."""
        parts = urlsplit(self.base_url)
        assert parts.hostname is not None
        assert parts.port is not None
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:  # set before connecting, so the window offered is small from the start
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await loop.sock_connect(sock, (parts.hostname, parts.port))
        _, client = await loop.create_connection(RawClient, sock=sock)
        self.opened.append(client)
        return client


@contextlib.asynccontextmanager
async def raw_clients(base_url: str) -> AsyncIterator[RawClients]:
    """Yield a RawClients for ``base_url``; close every connection it opened on the way out.

    A connection left open would keep uvicorn's shutdown waiting, so a failed test would hang instead of failing.
    """
    clients = RawClients(base_url)
    try:
        yield clients
    finally:
        for client in clients.opened:
            client.close()
