"""The upstream client on our pool: site path prefixes, query encoding, header folding, body decoding."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from confluence_mcp.errors import UpstreamError
from confluence_mcp.pipeline.resolver import target_for_account
from confluence_mcp.settings import RetrySettings, UpstreamSettings
from confluence_mcp.store.base import Account
from confluence_mcp.upstream.client import UpstreamClient
from confluence_mcp.upstream.pooled import PooledSender, lean_transport
from confluence_mcp.upstream.request import UpstreamRequest

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """Run on asyncio, as uvicorn does."""
    return "asyncio"


class _OneShot:
    """A raw HTTP server that records each request head and answers with prepared bytes."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.heads: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            self.heads.append(head)
            writer.write(self.answer)
            await writer.drain()
        writer.close()


@pytest.fixture
async def client() -> AsyncIterator[UpstreamClient]:
    """An UpstreamClient over our lean pool, as the app builds it."""
    settings = UpstreamSettings(allowed_hosts=("127.0.0.1",))
    client = UpstreamClient(PooledSender(lean_transport(settings), settings), RetrySettings())
    try:
        yield client
    finally:
        await client.aclose()


async def _serve(answer: bytes) -> tuple[_OneShot, asyncio.AbstractServer, int]:
    server = _OneShot(answer)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    return server, listener, listener.sockets[0].getsockname()[1]


def _account(url: str) -> Account:
    now = datetime.now(UTC)
    return Account("a", "a", url, "basic", "me@example.com", "tok", None, now, now)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "identity"])
async def test_bodies_are_decoded_and_headers_folded(client: UpstreamClient, encoding: str) -> None:
    """A gzip or deflate body comes back decoded; repeated headers are joined with commas."""
    body = b'{"id":"1"}'
    packed = {"gzip": gzip.compress(body), "deflate": zlib.compress(body), "identity": body}[encoding]
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: %b\r\n"
        b"X-Thing: a\r\nX-Thing: b\r\nContent-Length: %d\r\n\r\n%b" % (encoding.encode(), len(packed), packed)
    )
    server, listener, port = await _serve(answer)
    async with listener:
        target = target_for_account(_account(f"http://127.0.0.1:{port}"))
        response = await client.send(target, UpstreamRequest("GET", "/wiki/api/v2/pages/1", [], {}, None, False))
    assert response.content == body
    assert response.headers["x-thing"] == "a, b"
    assert server.heads[0].startswith(b"GET /wiki/api/v2/pages/1 HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Basic " in server.heads[0]


async def test_site_path_prefix_and_query_are_sent_encoded(client: UpstreamClient) -> None:
    """A site root with a path (api.atlassian.com/ex/confluence/ID) prefixes every path; queries are encoded."""
    server, listener, port = await _serve(b"HTTP/1.1 204 No Content\r\n\r\n")
    async with listener:
        target = target_for_account(_account(f"http://127.0.0.1:{port}/ex/confluence/cloud-1/"))
        query = [("cql", 'space = "OPS" AND title ~ "a&b"'), ("limit", "2")]
        response = await client.send(target, UpstreamRequest("GET", "/wiki/rest/api/search", query, {}, None, False))
    assert response.status == 204
    request_line = server.heads[0].split(b"\r\n", 1)[0].decode()
    sent = httpx.URL("http://x" + request_line.split(" ")[1])
    assert sent.path == "/ex/confluence/cloud-1/wiki/rest/api/search"
    assert sent.params.get_list("cql") == ['space = "OPS" AND title ~ "a&b"']
    assert sent.params["limit"] == "2"
    assert f"\r\nHost: 127.0.0.1:{port}\r\n".encode() in server.heads[0]


async def test_undecodable_body_is_an_upstream_error(client: UpstreamClient) -> None:
    """A body that claims gzip but is not becomes an UpstreamError, not a crash."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc"
    _, listener, port = await _serve(answer)
    async with listener:
        target = target_for_account(_account(f"http://127.0.0.1:{port}"))
        with pytest.raises(UpstreamError, match="DecodingError"):
            await client.send(target, UpstreamRequest("GET", "/x", [], {}, None, False))
