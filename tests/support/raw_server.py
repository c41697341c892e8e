"""A raw asyncio HTTP server on loopback: each test hands it a coroutine that speaks for one connection.

For the cases a real HTTP server will not produce: odd framing, trickled bytes, stalls, hang-ups, huge bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import anyio

__all__ = [
    "DEADLINE",
    "Handler",
    "RawConnection",
    "RawRequest",
    "RawServer",
    "eventually",
    "held",
    "keep_answering",
    "raw_server",
    "response",
    "silent",
]

DEADLINE = 10
"""Seconds any awaited condition may take before the test fails."""


@dataclass(frozen=True)
class RawRequest:
    """One request as the raw server read it off the socket."""

    head: bytes
    body: bytes

    @property
    def target(self) -> bytes:
        """The request target (path and query) exactly as sent."""
        return self.head.split(b" ", 2)[1]

    @property
    def method(self) -> bytes:
        """The request method."""
        return self.head.split(b" ", 1)[0]

    def header(self, name: bytes) -> bytes | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


class RawConnection:
    """The server side of one accepted connection."""

    def __init__(self, server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer

    async def read_request(self) -> RawRequest | None:
        """Read one request (head and Content-Length body); ``None`` when the client closed the connection."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        request = RawRequest(head, b"")
        length = request.header(b"content-length")
        if length:
            request = RawRequest(head, await self.reader.readexactly(int(length)))
        self.server.requests.append(request)
        self.server.touch()
        return request

    async def send(self, data: bytes) -> None:
        """Write ``data`` and let the event loop carry it out."""
        self.writer.write(data)
        await self.writer.drain()

    async def wait_for_close(self) -> None:
        """Return once the client has closed its end."""
        with contextlib.suppress(ConnectionError):
            while await self.reader.read(65536):
                pass


Handler = Callable[[RawConnection], Awaitable[None]]


class RawServer:
    """Counts accepted and finished connections and records every request it reads."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.url = ""
        self.accepted = 0
        self.finished = 0
        self.requests: list[RawRequest] = []
        self.release = asyncio.Event()
        """Handlers that hold their answer wait for this."""
        self.tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    def touch(self) -> None:
        """Wake everything waiting in ``until``."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Wait, under a deadline, until ``predicate()`` holds."""
        with anyio.fail_after(DEADLINE):
            while True:
                changed = self._changed
                if predicate():
                    return
                await changed.wait()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Run the handler for one accepted connection, then close it."""
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.accepted += 1
        self.touch()
        try:
            await self.handler(RawConnection(self, reader, writer))
        except ConnectionError:
            pass
        finally:
            writer.close()
            self.finished += 1
            self.touch()
            self.tasks.discard(task)


@contextlib.asynccontextmanager
async def raw_server(handler: Handler, *, tls: ssl.SSLContext | None = None) -> AsyncIterator[RawServer]:
    """Serve ``handler`` on a free loopback port; yield the server with its ``url`` set."""
    server = RawServer(handler)
    listener = await asyncio.start_server(server.serve, "127.0.0.1", 0, ssl=tls)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        yield server
    finally:
        server.release.set()
        listener.close()
        for task in list(server.tasks):
            task.cancel()
        await asyncio.gather(*server.tasks, return_exceptions=True)


def response(body: bytes = b"ok", *headers: bytes, status: bytes = b"200 OK") -> bytes:
    """An HTTP/1.1 response with a Content-Length body."""
    lines = [b"HTTP/1.1 " + status, *headers, b"Content-Length: %d" % len(body)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def keep_answering(answer: Callable[[RawRequest], bytes]) -> Handler:
    """A handler answering every request on the connection with ``answer(request)``."""

    async def handler(connection: RawConnection) -> None:
        while (request := await connection.read_request()) is not None:
            await connection.send(answer(request))

    return handler


def held() -> Handler:
    """A keep-alive handler that answers each request only once ``server.release`` is set."""

    async def handler(connection: RawConnection) -> None:
        while await connection.read_request() is not None:
            await connection.server.release.wait()
            await connection.send(response())

    return handler


async def silent(connection: RawConnection) -> None:
    """Read one request, never answer, and return when the client hangs up."""
    if await connection.read_request() is not None:
        await connection.wait_for_close()


async def eventually(predicate: Callable[[], bool]) -> None:
    """Yield to the event loop, under a deadline, until ``predicate()`` holds (for client-side state)."""
    with anyio.fail_after(DEADLINE):
        while not predicate():  # noqa: ASYNC110 - the transport's state has no event to await
            await anyio.sleep(0.001)
