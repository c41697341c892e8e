"""Bounded upstream exchanges on both senders, over loopback sockets: body size as received and once decoded,
and the time one exchange may take."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from functools import cache
from typing import Any, Literal

import anyio
import httpx
import pytest

from confluence_mcp.errors import UpstreamResponseTooLarge, UpstreamTimeout
from confluence_mcp.settings import UpstreamSettings
from confluence_mcp.upstream.client import open_sender
from confluence_mcp.upstream.decoding import decoded_body
from confluence_mcp.upstream.httpx_sender import HttpxSender
from confluence_mcp.upstream.pooled import PooledSender
from confluence_mcp.upstream.request import UpstreamRequest
from confluence_mcp.upstream.sender import Sender, UpstreamResponse, translated_error
from confluence_mcp.upstream.target import Target
from tests.support.raw_server import DEADLINE, Handler, RawConnection, RawServer, raw_server, response

pytestmark = pytest.mark.anyio

LIMIT = 10_000
Kind = Literal["lean", "httpx"]
Answer = Callable[[RawConnection], Awaitable[bool]]
"""Writes one answer; returns whether the connection may carry another request."""


@pytest.fixture(params=["lean", "httpx"])
def kind(request: pytest.FixtureRequest) -> Kind:
    """Each test runs over our pool and over httpx's own transport."""
    chosen: Kind = request.param
    return chosen


@cache
def _bomb() -> bytes:
    """50 MB of zeros, gzipped to about 50 KB."""
    return gzip.compress(bytes(50_000_000), compresslevel=9)


def _head(*headers: bytes) -> bytes:
    return b"\r\n".join([b"HTTP/1.1 200 OK", *headers]) + b"\r\n\r\n"


def _chunked(body: bytes, size: int = 1000) -> bytes:
    pieces = [b"%x\r\n%b\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size)]
    return b"".join(pieces) + b"0\r\n\r\n"


def _sends(data: bytes, *, then_close: bool = False) -> Answer:
    async def answer(connection: RawConnection) -> bool:
        await connection.send(data)
        if then_close:  # the end of a body without length or chunking
            connection.writer.close()
        return not then_close

    return answer


async def _declared_too_big(connection: RawConnection) -> bool:
    """A head promising one byte more than the limit, and no body ever: reading it would hang."""
    await connection.send(_head(b"Content-Length: %d" % (LIMIT + 1)))
    return False


async def _chunks_forever(connection: RawConnection) -> bool:
    """1000-byte chunks and never the last one, until the client hangs up (or far past the limit)."""
    await connection.send(_head(b"Transfer-Encoding: chunked"))
    for _ in range(100 * LIMIT // 1000):
        if connection.writer.is_closing():
            break
        await connection.send(b"3e8\r\n" + b"c" * 1000 + b"\r\n")
        await asyncio.sleep(0)  # a yield, so that the client reads as the server writes
    return False


async def _until_close(connection: RawConnection) -> bool:
    """A body without length or chunking, 1000 bytes at a time, until the client hangs up."""
    await connection.send(_head())
    for _ in range(100 * LIMIT // 1000):
        if connection.writer.is_closing():
            break
        await connection.send(b"z" * 1000)
        await asyncio.sleep(0)
    return False


async def _trickle(connection: RawConnection) -> bool:
    """A body without length, one byte per turn of the event loop, until the client hangs up.

    Every read gets a byte at once, so no per-read timeout fires; 20 MB (the default limit) at this pace would
    take minutes, so only the total timeout ends it.
    """
    await connection.send(_head())
    for _ in range(20_000_000):
        if connection.writer.is_closing():
            break
        await connection.send(b"t")
        await asyncio.sleep(0)
    return False


async def _hold(connection: RawConnection) -> bool:
    """Answer only once the test sets ``server.release``."""
    await connection.server.release.wait()
    await connection.send(response(b"held"))
    return True


async def _silent(connection: RawConnection) -> bool:
    """Never answer."""
    return False


ANSWERS: Mapping[bytes, Answer] = {
    b"/ok": _sends(response(b"fine")),
    b"/declared": _declared_too_big,
    b"/chunked": _chunks_forever,
    b"/close-delimited": _until_close,
    b"/exact-length": _sends(response(b"L" * LIMIT)),
    b"/exact-chunked": _sends(_head(b"Transfer-Encoding: chunked") + _chunked(b"C" * LIMIT)),
    b"/exact-close": _sends(_head() + b"E" * LIMIT, then_close=True),
    b"/exact-gzip": _sends(response(gzip.compress(b"G" * LIMIT), b"Content-Encoding: gzip")),
    b"/over-gzip": _sends(response(gzip.compress(b"G" * (LIMIT + 1)), b"Content-Encoding: gzip")),
    b"/exact-deflate": _sends(response(zlib.compress(b"D" * LIMIT), b"Content-Encoding: deflate")),
    b"/over-deflate": _sends(response(zlib.compress(b"D" * (LIMIT + 1)), b"Content-Encoding: deflate")),
    b"/trickle": _trickle,
    b"/hold": _hold,
    b"/silent": _silent,
}


def _serving(answers: Mapping[bytes, Answer]) -> Handler:
    """Answer each request by its path; after an answer that ends the connection, wait for the client to close."""

    async def handler(connection: RawConnection) -> None:
        while (request := await connection.read_request()) is not None:
            if not await answers[request.target.split(b"?")[0]](connection):
                await connection.wait_for_close()
                return

    return handler


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    """The raw server, answering every path of ``ANSWERS``."""
    async with raw_server(_serving(ANSWERS)) as running:
        yield running


@pytest.fixture
async def sender(kind: Kind) -> AsyncIterator[Sender]:
    """The configured sender of ``kind`` with ``max_response_bytes=LIMIT``, closed after the test."""
    opened = open_sender(UpstreamSettings(transport=kind, max_response_bytes=LIMIT, allowed_hosts=("127.0.0.1",)))
    yield opened
    await opened.aclose()


async def _get(sender: Sender, server: RawServer, path: str) -> UpstreamResponse:
    target = Target.basic(server.url, "me@example.com", "api-token")
    with anyio.fail_after(DEADLINE):
        return await sender.send(target, UpstreamRequest("GET", path, [], {}, None, False))


async def _refused(sender: Sender, server: RawServer, path: str) -> UpstreamResponseTooLarge:
    with pytest.raises(UpstreamResponseTooLarge) as raised:
        await _get(sender, server, path)
    return raised.value


async def _only_fresh_connections_remain(sender: Sender, server: RawServer) -> None:
    """The refused answer's connection was closed, and the sender still works (on a new connection)."""
    await server.until(lambda: server.finished == 1)
    if isinstance(sender, PooledSender):
        assert sender.transport.connections == 0
    assert (await _get(sender, server, "/ok")).content == b"fine"
    assert server.accepted == 2


async def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body(
    sender: Sender, server: RawServer
) -> None:
    """A Content-Length of limit + 1 is refused as soon as the head arrives (the body never comes)."""
    refused = await _refused(sender, server, "/declared")
    assert str(refused) == (
        "Confluence's answer to GET /declared is larger than upstream.max_response_bytes (10000 bytes) and was cut off"
    )
    await _only_fresh_connections_remain(sender, server)


@pytest.mark.parametrize("path", ["/chunked", "/close-delimited"])
async def test_a_body_without_a_declared_length_is_cut_off_once_it_passes_the_limit(
    sender: Sender, server: RawServer, path: str
) -> None:
    """Chunks, or bytes until the server closes, are counted as they arrive and cut off past the limit."""
    refused = await _refused(sender, server, path)
    assert (refused.limit, refused.decompressed) == (LIMIT, False)
    await _only_fresh_connections_remain(sender, server)


@pytest.mark.parametrize(
    ("path", "byte"),
    [
        ("/exact-length", b"L"),
        ("/exact-chunked", b"C"),
        ("/exact-close", b"E"),
        ("/exact-gzip", b"G"),
        ("/exact-deflate", b"D"),
    ],
)
async def test_a_body_of_exactly_the_limit_passes(sender: Sender, server: RawServer, path: str, byte: bytes) -> None:
    """Exactly max_response_bytes, received or decoded, in every framing, is answered in full."""
    assert (await _get(sender, server, path)).content == byte * LIMIT


@pytest.mark.parametrize("path", ["/over-gzip", "/over-deflate"])
async def test_a_small_encoded_body_that_decodes_past_the_limit_is_refused(
    sender: Sender, server: RawServer, path: str
) -> None:
    """A few dozen bytes of gzip or deflate that inflate to limit + 1 are refused, saying so."""
    refused = await _refused(sender, server, path)
    assert refused.decompressed
    assert "is larger once decompressed than upstream.max_response_bytes (10000 bytes)" in str(refused)
    assert (await _get(sender, server, "/ok")).content == b"fine"


async def test_a_gzip_bomb_is_refused_with_memory_bounded_by_the_limit(kind: Kind) -> None:
    """50 MB of zeros in ~50 KB of gzip, limit 1 MB: refused, and the whole exchange allocates under 4 MB at peak."""
    bomb = _bomb()
    assert len(bomb) < 100_000
    answers = {b"/bomb": _sends(response(bomb, b"Content-Encoding: gzip")), b"/ok": ANSWERS[b"/ok"]}
    sender = open_sender(UpstreamSettings(transport=kind, max_response_bytes=1_000_000, allowed_hosts=("127.0.0.1",)))
    async with raw_server(_serving(answers)) as server:
        try:
            tracemalloc.start()
            try:
                refused = await _refused(sender, server, "/bomb")
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert (refused.limit, refused.decompressed) == (1_000_000, True)
            assert peak < 4_000_000  # inflating it whole would take 50 MB
            assert (await _get(sender, server, "/ok")).content == b"fine"
        finally:
            await sender.aclose()


def test_decoding_never_asks_zlib_for_more_than_the_limit_plus_one_byte() -> None:
    """decoded_body inflates a bomb to at most limit + 1 bytes: peak memory is about that, not 50 MB."""
    bomb = _bomb()
    tracemalloc.start()
    try:
        with pytest.raises(UpstreamResponseTooLarge):
            decoded_body(bomb, "gzip", 1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_500_000  # the output (limit + 1 bytes) and the copy zlib returns; inflated whole: 131 MB


@pytest.mark.parametrize(
    ("body", "encoding", "expected"),
    [
        (zlib.compress(b"plain"), "deflate", b"plain"),
        (zlib.compress(b"plain")[2:-4], "Deflate ", b"plain"),  # raw deflate, as some servers send it
        (gzip.compress(b"plain") + b"trailing bytes", "gzip", b"plain"),  # ignored, as zlib.decompress does
        (b"as sent", "identity", b"as sent"),
        (b"", "br", b""),
    ],
)
def test_decoded_body_undoes_what_we_ask_for_as_zlib_decompress_did(
    body: bytes, encoding: str, expected: bytes
) -> None:
    """gzip, zlib-wrapped or raw deflate and identity decode as before the limit; an empty body needs no coding."""
    assert decoded_body(body, encoding, LIMIT) == expected


@pytest.mark.parametrize(
    ("body", "encoding", "problem"),
    [
        (gzip.compress(b"plain" * 100)[:-12], "gzip", "incomplete or truncated"),
        (b"not gzip", "gzip", "incorrect header check"),
        (b"packed", "br", "unsupported Content-Encoding 'br'"),
    ],
)
def test_a_body_that_cannot_be_decoded_raises_decoding_error(body: bytes, encoding: str, problem: str) -> None:
    """A cut-short stream, a bad header or a coding we never ask for raise httpx.DecodingError, as before."""
    with pytest.raises(httpx.DecodingError, match=problem):
        decoded_body(body, encoding, LIMIT)


@contextlib.asynccontextmanager
async def _opened(kind: Kind, **settings: Any) -> AsyncIterator[Sender]:
    sender = open_sender(UpstreamSettings(transport=kind, allowed_hosts=("127.0.0.1",), **settings))
    try:
        yield sender
    finally:
        await sender.aclose()


@pytest.mark.parametrize(
    ("settings", "path", "which"),
    [
        pytest.param(
            {"total_timeout": 0.3},
            "/trickle",
            "total timeout: upstream.total_timeout is 0.3s for the whole exchange",
            id="trickling-total",
        ),
        pytest.param({"read_timeout": 0.2}, "/silent", "read timeout: upstream.read_timeout is 0.2s", id="silent-read"),
    ],
)
async def test_a_slow_server_is_cut_off_by_the_first_timeout_due(
    kind: Kind, server: RawServer, settings: dict[str, float], path: str, which: str
) -> None:
    """A byte per loop turn beats every per-read timeout, not total_timeout=0.3 s; a silent server meets
    read_timeout=0.2 s first. The error names the timeout and its setting, and the sender works afterwards."""
    async with _opened(kind, **settings) as sender:
        with pytest.raises(UpstreamTimeout) as raised:
            await _get(sender, server, path)
        assert str(raised.value) == f"Confluence did not answer in time for GET {path} ({which})"
        await _only_fresh_connections_remain(sender, server)


async def _get_without_deadline(sender: Sender, url: str) -> bytes:
    """GET through the sender's own pool but around the sender, so that no total timeout applies."""
    if isinstance(sender, PooledSender):
        answer = await sender.transport.handle_async_request(httpx.Request("GET", url))
        return await answer.aread()
    assert isinstance(sender, HttpxSender)
    return (await sender.client.get(url)).content


async def test_the_total_timeout_also_bounds_the_wait_for_a_free_connection(kind: Kind, server: RawServer) -> None:
    """With the one connection held, a call gives up waiting for it at total_timeout, long before connect_timeout."""
    async with _opened(kind, total_timeout=0.3, connect_timeout=30, max_connections=1) as sender:
        async with anyio.create_task_group() as group:
            held: list[bytes] = []

            async def hold() -> None:
                held.append(await _get_without_deadline(sender, server.url + "/hold"))

            group.start_soon(hold)
            await server.until(lambda: len(server.requests) == 1)
            with pytest.raises(UpstreamTimeout, match=r"total timeout: upstream\.total_timeout is 0\.3s"):
                await _get(sender, server, "/ok")
            assert len(server.requests) == 1
            server.release.set()
        assert held == [b"held"]
        assert (await _get(sender, server, "/ok")).content == b"fine"
        assert server.accepted == 1


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (
            httpx.ConnectTimeout("slow handshake"),
            "Confluence did not answer in time for GET /p (connect timeout: upstream.connect_timeout is 5s)",
        ),
        (
            httpx.PoolTimeout("busy"),
            "no free connection to Confluence in time for GET /p (pool exhausted: all upstream.max_connections (100) "
            "stayed busy for upstream.connect_timeout, 5s)",
        ),
        (
            httpx.WriteTimeout("slow reader"),
            "Confluence did not answer in time for GET /p (read timeout: upstream.read_timeout is 30s)",
        ),
        (
            TimeoutError(),
            "Confluence did not answer in time for GET /p (total timeout: upstream.total_timeout is 60s for the whole "
            "exchange)",
        ),
    ],
)
def test_every_timeout_names_its_setting_and_value(exc: Exception, message: str) -> None:
    """Each kind of timeout becomes an UpstreamTimeout that says which timeout fired and the setting behind it."""
    translated = translated_error(exc, UpstreamRequest("GET", "/p", [], {}, None, False), UpstreamSettings())
    assert isinstance(translated, UpstreamTimeout)
    assert str(translated) == message
