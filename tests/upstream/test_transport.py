"""LeanTransport over real loopback sockets: the simulator under uvicorn, and raw asyncio servers for the odd cases."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gzip
import json
import socket
import ssl
import sys
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from confluence_mcp.errors import UpstreamResponseTooLarge
from confluence_mcp.simulator import SEED, Simulator, create_simulator
from confluence_mcp.upstream import http11
from confluence_mcp.upstream.transport import LeanTransport
from tests.support.raw_server import (
    DEADLINE,
    RawConnection,
    RawRequest,
    eventually,
    held,
    keep_answering,
    raw_server,
    response,
    silent,
)
from tests.support.servers import free_port, serve_asgi

pytestmark = pytest.mark.anyio

PAGE = f"/wiki/api/v2/pages/{SEED.release_checklist_id}"


@pytest.fixture
async def transport() -> AsyncIterator[LeanTransport]:
    """A LeanTransport with short timeouts, closed after the test."""
    lean = LeanTransport(connect_timeout=2, read_timeout=5)
    yield lean
    await lean.aclose()


@pytest.fixture
async def http(transport: LeanTransport) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx.AsyncClient over the ``transport`` fixture."""
    async with httpx.AsyncClient(transport=transport) as client:
        yield client


@pytest.fixture
def sim() -> Simulator:
    """A freshly seeded simulator."""
    return create_simulator()


@pytest.fixture
async def sim_url(sim: Simulator) -> AsyncIterator[str]:
    """The simulator served by uvicorn on a free loopback port."""
    async with serve_asgi(sim.app, lifespan="off") as url:
        yield url


# Against the simulator


async def test_get_from_the_simulator_returns_status_headers_and_json(
    sim: Simulator, sim_url: str, http: httpx.AsyncClient
) -> None:
    """A GET through the simulator returns its status, JSON body, raw headers and the HTTP version."""
    answer = await http.get(sim_url + PAGE, auth=sim.auth)
    assert answer.status_code == 200
    assert answer.json()["id"] == SEED.release_checklist_id
    assert answer.headers["content-type"].startswith("application/json")
    assert "atl-request-id" in answer.headers
    assert answer.http_version == "HTTP/1.1"
    assert answer.reason_phrase == "OK"


async def test_the_authorization_header_reaches_the_simulator(
    sim: Simulator, sim_url: str, http: httpx.AsyncClient
) -> None:
    """The Authorization header the client sets arrives unchanged."""
    await http.get(sim_url + PAGE, headers={"Authorization": "Bearer sim-token"})
    assert sim.requests[-1].headers["authorization"] == "Bearer sim-token"
    assert sim.requests[-1].headers["host"] == sim_url.removeprefix("http://")


async def test_a_json_post_body_reaches_the_simulator_intact(
    sim: Simulator, sim_url: str, http: httpx.AsyncClient
) -> None:
    """A JSON body with non-ASCII text arrives byte for byte and the created page comes back."""
    payload = {
        "spaceId": SEED.ops_space_id,
        "title": "Q4 — Launch Plan ✓",
        "body": {"representation": "storage", "value": "<p>Milestones &amp; owners</p>"},
    }
    raw = json.dumps(payload, ensure_ascii=False).encode()
    answer = await http.post(
        sim_url + "/wiki/api/v2/pages", content=raw, headers={"Content-Type": "application/json"}, auth=sim.auth
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["title"] == payload["title"]
    assert sim.requests[-1].body == raw
    assert sim.requests[-1].json == payload


async def test_query_pairs_reach_the_simulator_in_order(sim: Simulator, sim_url: str, http: httpx.AsyncClient) -> None:
    """Repeated and encoded query parameters arrive in order, as the client's list of pairs gave them."""
    query = [("cql", 'space = "OPS" AND title ~ "a&b"'), ("expand", "x"), ("expand", "y"), ("empty", "")]
    await http.get(sim_url + "/wiki/rest/api/search", params=tuple(query), auth=sim.auth)
    assert sim.requests[-1].query == query


async def test_simulator_faults_arrive_as_statuses_or_httpx_errors(sim: Simulator, sim_url: str) -> None:
    """A 503, a 429 and bad JSON come back as answers; a drop and a stall raise httpx's own errors."""
    async with httpx.AsyncClient(transport=LeanTransport(read_timeout=0.2), base_url=sim_url, auth=sim.auth) as client:
        sim.faults.fail(503, path="/pages/")
        assert (await client.get(PAGE)).status_code == 503
        sim.faults.rate_limit("burst", path="/pages/", retry_after=5)
        limited = await client.get(PAGE)
        assert (limited.status_code, limited.headers["retry-after"]) == (429, "5")
        sim.faults.malformed_json(path="/pages/")
        truncated = await client.get(PAGE)
        assert truncated.status_code == 200
        with pytest.raises(ValueError, match=r"Expecting|Unterminated"):
            truncated.json()
        sim.faults.drop(path="/pages/")
        with pytest.raises(httpx.RemoteProtocolError, match="mid-response"):
            await client.get(PAGE)
        sim.faults.latency(500, path="/pages/", count=1)
        with pytest.raises(httpx.ReadTimeout):
            await client.get(PAGE)
        assert (await client.get(PAGE)).status_code == 200


# Connection reuse, limits and expiry


async def test_sequential_requests_share_one_connection(transport: LeanTransport, http: httpx.AsyncClient) -> None:
    """Five requests in a row travel over a single keep-alive connection."""
    async with raw_server(keep_answering(lambda request: response(request.target))) as server:
        for index in range(5):
            assert (await http.get(f"{server.url}/n/{index}")).content == f"/n/{index}".encode()
        assert server.accepted == 1
        assert (transport.connections, transport.idle_connections) == (1, 1)


async def test_concurrent_requests_never_open_more_than_max_connections() -> None:
    """Five concurrent requests under max_connections=2 use exactly two connections."""
    lean = LeanTransport(max_connections=2, connect_timeout=5)
    async with raw_server(held()) as server, httpx.AsyncClient(transport=lean) as client:
        statuses: list[int] = []

        async def fetch() -> None:
            statuses.append((await client.get(server.url)).status_code)

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(fetch)
            await server.until(lambda: len(server.requests) == 2)
            assert lean.connections == 2
            server.release.set()
        assert statuses == [200] * 5
        assert server.accepted == 2


async def test_a_request_waiting_longer_than_the_connect_timeout_for_a_slot_raises_pool_timeout() -> None:
    """With the only connection busy, a second request gives up with PoolTimeout after connect_timeout."""
    lean = LeanTransport(max_connections=1, connect_timeout=0.2)
    async with raw_server(held()) as server, httpx.AsyncClient(transport=lean) as client:
        async with anyio.create_task_group() as group:
            group.start_soon(client.get, server.url)
            await server.until(lambda: len(server.requests) == 1)
            with pytest.raises(httpx.PoolTimeout):
                await client.get(server.url)
            server.release.set()
        assert (await client.get(server.url)).status_code == 200
        assert server.accepted == 1


async def test_a_cancelled_wait_for_a_slot_leaves_the_pool_usable() -> None:
    """Cancelling a request queued for a slot neither leaks the slot nor strands later requests."""
    lean = LeanTransport(max_connections=1, connect_timeout=5)
    async with raw_server(held()) as server, httpx.AsyncClient(transport=lean) as client:
        async with anyio.create_task_group() as group:
            group.start_soon(client.get, server.url)
            await server.until(lambda: len(server.requests) == 1)
            with anyio.move_on_after(0.05):
                await client.get(server.url)
            server.release.set()
        with anyio.fail_after(DEADLINE):
            assert (await client.get(server.url)).status_code == 200
        assert lean.connections == 1


async def test_idle_connections_beyond_max_keepalive_are_closed() -> None:
    """After three concurrent requests with max_keepalive_connections=1, one connection stays open."""
    lean = LeanTransport(max_keepalive_connections=1)
    async with raw_server(held()) as server, httpx.AsyncClient(transport=lean) as client:
        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(client.get, server.url)
            await server.until(lambda: len(server.requests) == 3)
            server.release.set()
        assert (lean.connections, lean.idle_connections) == (1, 1)
        await server.until(lambda: server.finished == 2)


async def test_connections_idle_past_the_keepalive_expiry_are_not_reused() -> None:
    """With keepalive_expiry=0 every request opens a fresh connection."""
    lean = LeanTransport(keepalive_expiry=0)
    async with raw_server(keep_answering(lambda request: response())) as server:
        async with httpx.AsyncClient(transport=lean) as client:
            for _ in range(3):
                assert (await client.get(server.url)).status_code == 200
        assert server.accepted == 3


async def test_a_connection_close_response_is_not_reused(http: httpx.AsyncClient) -> None:
    """A response carrying Connection: close makes the next request open a new connection."""
    async with raw_server(keep_answering(lambda request: response(b"bye", b"Connection: close"))) as server:
        assert (await http.get(server.url)).content == b"bye"
        assert (await http.get(server.url)).content == b"bye"
        assert server.accepted == 2


@pytest.mark.parametrize("version", [b"HTTP/1.0", b"HTTP/1.1"])
async def test_a_body_without_length_is_read_until_the_server_closes(version: bytes, http: httpx.AsyncClient) -> None:
    """A response with neither Content-Length nor chunking ends when the server closes; nothing is reused."""

    async def close_delimited(connection: RawConnection) -> None:
        if await connection.read_request() is not None:
            await connection.send(version + b" 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst part, ")
            await connection.send(b"second part")

    async with raw_server(close_delimited) as server:
        for _ in range(2):
            answer = await http.get(server.url)
            assert answer.content == b"first part, second part"
            assert answer.http_version == version.decode()
        assert server.accepted == 2


async def test_an_http10_response_with_a_length_still_closes_the_connection(http: httpx.AsyncClient) -> None:
    """An HTTP/1.0 answer is never followed by another request on its connection."""
    answer = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"
    async with raw_server(keep_answering(lambda request: answer)) as server:
        await http.get(server.url)
        await http.get(server.url)
        assert server.accepted == 2


# Stale keep-alive connections


async def _answer_once_then_hang_up(connection: RawConnection) -> None:
    # Answer the first request; close on the second without a byte, as a server timing out an idle connection does.
    if await connection.read_request() is not None:
        await connection.send(response(b"first"))
        await connection.read_request()


async def test_a_get_on_a_connection_the_server_dropped_is_retried_once_on_a_new_one(http: httpx.AsyncClient) -> None:
    """When a reused connection closes before any answer byte, a GET goes again on a fresh connection."""
    async with raw_server(_answer_once_then_hang_up) as server:
        assert (await http.get(server.url)).content == b"first"
        assert (await http.get(server.url)).content == b"first"
        assert (server.accepted, len(server.requests)) == (2, 3)


async def test_a_post_on_a_connection_the_server_dropped_is_not_retried(http: httpx.AsyncClient) -> None:
    """A POST that met a dropped reused connection raises rather than risk a double write."""
    async with raw_server(_answer_once_then_hang_up) as server:
        assert (await http.post(server.url, json={"n": 1})).content == b"first"
        with pytest.raises(httpx.RemoteProtocolError, match="without answering"):
            await http.post(server.url, json={"n": 2})
        assert (server.accepted, len(server.requests)) == (1, 2)


async def test_a_connection_closed_by_the_server_while_idle_is_replaced_quietly(
    transport: LeanTransport, http: httpx.AsyncClient
) -> None:
    """Once the client has seen an idle connection close, even a POST goes out on a new one."""

    async def answer_then_close(connection: RawConnection) -> None:
        if await connection.read_request() is not None:
            await connection.send(response())

    async with raw_server(answer_then_close) as server:
        assert (await http.post(server.url, content=b"1")).status_code == 200
        await server.until(lambda: server.finished == 1)
        await eventually(lambda: transport.connections == 0)
        assert (await http.post(server.url, content=b"2")).status_code == 200
        assert server.accepted == 2


# What goes out on the wire


async def test_the_path_and_query_reach_the_server_byte_for_byte(http: httpx.AsyncClient) -> None:
    """An already percent-encoded path and query are sent exactly as the URL holds them, never re-encoded."""
    target = "/wiki/a%2Fb%20c/%E2%9C%93?cql=space%3DOPS%20AND%20title~%22a%26b%22&k=1&k=2&empty="
    async with raw_server(keep_answering(lambda request: response())) as server:
        await http.get(server.url + target)
        await http.get(server.url + "/wiki/rest/api/search", params=[("cql", 'title ~ "a&b"'), ("k", "✓")])
        assert server.requests[0].target == target.encode()
        assert server.requests[1].target == b"/wiki/rest/api/search?cql=title+~+%22a%26b%22&k=%E2%9C%93"


async def test_request_headers_and_body_are_sent_as_given(http: httpx.AsyncClient) -> None:
    """Headers keep their case and order, Host is present, and the body goes with its Content-Length."""
    async with raw_server(keep_answering(lambda request: response())) as server:
        await http.put(
            server.url + "/x",
            content=b'{"a":1}',
            headers={"Authorization": "Basic dXNlcjpwYXNz", "X-Trace": "1"},
        )
        sent = server.requests[0]
        assert sent.method == b"PUT"
        assert sent.header(b"authorization") == b"Basic dXNlcjpwYXNz"
        assert sent.header(b"host") == server.url.removeprefix("http://").encode()
        assert sent.header(b"content-length") == b"7"
        assert sent.body == b'{"a":1}'
        assert b"\r\nAuthorization: Basic" in sent.head


async def test_no_accept_encoding_is_sent_unless_the_request_has_one(transport: LeanTransport) -> None:
    """The transport adds no Accept-Encoding of its own."""
    async with raw_server(keep_answering(lambda request: response())) as server:
        request = httpx.Request("GET", server.url, headers={"Accept": "application/json"})
        answer = await transport.handle_async_request(request)
        await answer.aread()
        assert server.requests[0].header(b"accept-encoding") is None
        assert server.requests[0].header(b"host") is not None


async def test_a_streamed_request_body_is_sent_chunked(http: httpx.AsyncClient) -> None:
    """A body from an async iterator goes out with the chunked coding its Transfer-Encoding header promises."""

    async def echo_chunked(connection: RawConnection) -> None:
        head = await connection.reader.readuntil(b"\r\n\r\n")
        body = await connection.reader.readuntil(b"0\r\n\r\n")
        connection.server.requests.append(RawRequest(head, body))
        await connection.send(response())

    async def parts() -> AsyncIterator[bytes]:
        yield b"hello, "
        yield b"world"

    async with raw_server(echo_chunked) as server:
        assert (await http.post(server.url, content=parts())).status_code == 200
        assert server.requests[0].header(b"transfer-encoding") == b"chunked"
        assert server.requests[0].body == b"c\r\nhello, world\r\n0\r\n\r\n"


async def test_a_header_value_with_a_line_break_is_refused(http: httpx.AsyncClient) -> None:
    """A CR or LF inside a header value raises LocalProtocolError instead of smuggling a header."""
    async with raw_server(keep_answering(lambda request: response())) as server:
        with pytest.raises(httpx.LocalProtocolError):
            await http.get(server.url, headers={"X-Note": "a\r\nX-Injected: 1"})
        assert server.requests == []


# How responses are read


CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
    b"7;note=first\r\nhello, \r\n"
    b"5\r\nworld\r\n"
    b"0\r\nX-Checksum: 1234\r\nX-Other: yes\r\n\r\n"
)


async def test_a_chunked_response_with_trailers_is_decoded_and_the_connection_reused(http: httpx.AsyncClient) -> None:
    """Chunks with extensions and a trailer section decode to the body, and the next request reuses the socket."""
    async with raw_server(keep_answering(lambda request: CHUNKED)) as server:
        for _ in range(2):
            answer = await http.get(server.url)
            assert answer.content == b"hello, world"
            assert answer.headers["transfer-encoding"] == "chunked"
            assert "content-length" not in answer.headers
            assert "x-checksum" not in answer.headers
        assert server.accepted == 1


async def test_a_response_dribbled_byte_by_byte_is_reassembled(http: httpx.AsyncClient) -> None:
    """Heads, lengths, chunks and trailers split across one-byte writes still parse."""

    async def dribble(connection: RawConnection) -> None:
        for answer in (CHUNKED, response(b"x" * 50, b"X-Split: yes")):
            if await connection.read_request() is None:
                return
            for index in range(len(answer)):
                await connection.send(answer[index : index + 1])
                await asyncio.sleep(0)

    async with raw_server(dribble) as server:
        assert (await http.get(server.url)).content == b"hello, world"
        second = await http.get(server.url)
        assert (second.content, second.headers["x-split"]) == (b"x" * 50, "yes")
        assert server.accepted == 1


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_an_encoded_body_is_decoded_exactly_as_the_default_transport_does(
    coding: str, http: httpx.AsyncClient
) -> None:
    """A gzip or deflate body arrives decoded, with the same headers httpx's own transport reports."""
    plain = json.dumps({"results": [{"id": str(index)} for index in range(200)]}).encode()
    packed = gzip.compress(plain) if coding == "gzip" else zlib.compress(plain)
    answer = response(packed, b"Content-Type: application/json", b"Content-Encoding: " + coding.encode())
    async with raw_server(keep_answering(lambda request: answer)) as server:
        ours = await http.get(server.url, headers={"Accept-Encoding": coding})
        async with httpx.AsyncClient() as default:
            theirs = await default.get(server.url, headers={"Accept-Encoding": coding})
    assert ours.content == theirs.content == plain
    assert ours.headers.multi_items() == theirs.headers.multi_items()
    assert ours.json() == json.loads(plain)


async def test_head_204_and_304_answers_carry_no_body(http: httpx.AsyncClient) -> None:
    """No body is read for HEAD, 204 or 304 even when a length is advertised, and the connection stays in use."""

    def answer(request: RawRequest) -> bytes:
        if request.method == b"HEAD":
            return b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
        if request.target == b"/none":
            return b"HTTP/1.1 204 No Content\r\n\r\n"
        if request.target == b"/same":
            return b'HTTP/1.1 304 Not Modified\r\nETag: "1"\r\nContent-Length: 100\r\n\r\n'
        return response(b"body")

    async with raw_server(keep_answering(answer)) as server:
        head = await http.head(server.url)
        assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "100")
        assert (await http.get(server.url + "/none")).status_code == 204
        assert (await http.get(server.url + "/same")).content == b""
        assert (await http.get(server.url)).content == b"body"
        assert server.accepted == 1


async def test_interim_1xx_answers_are_skipped(http: httpx.AsyncClient) -> None:
    """A 103 Early Hints before the real answer is passed over."""
    answer = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" + response(b"real")
    async with raw_server(keep_answering(lambda request: answer)) as server:
        final = await http.get(server.url)
        assert (final.status_code, final.content) == (200, b"real")
        assert "link" not in final.headers


async def test_redirects_are_returned_not_followed(http: httpx.AsyncClient) -> None:
    """A 302 comes back as it is, Location untouched."""
    redirect = response(b"", b"Location: https://elsewhere.example/", status=b"302 Found")
    async with raw_server(keep_answering(lambda request: redirect)) as server:
        answer = await http.get(server.url)
        assert (answer.status_code, answer.headers["location"]) == (302, "https://elsewhere.example/")
        assert len(server.requests) == 1


async def test_repeated_response_headers_are_all_kept(http: httpx.AsyncClient) -> None:
    """Several Set-Cookie lines and surrounding blanks come through as separate, trimmed values."""
    answer = response(b"", b"Set-Cookie: a=1", b"Set-Cookie: b=2", b"X-Padded:   spaced value  \t")
    async with raw_server(keep_answering(lambda request: answer)) as server:
        headers = (await http.get(server.url)).headers
        assert headers.get_list("set-cookie") == ["a=1", "b=2"]
        assert headers["x-padded"] == "spaced value"


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n", id="no-status-code"),
        pytest.param(b"ICY 200 OK\r\nContent-Length: 0\r\n\r\n", id="not-http"),
        pytest.param(b"HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n", id="wrong-version"),
        pytest.param(b"HTTP/1.1 200 OK\r\nno colon\r\nContent-Length: 0\r\n\r\n", id="no-colon"),
        pytest.param(b"HTTP/1.1 200 OK\r\nName : v\r\nContent-Length: 0\r\n\r\n", id="space-before-colon"),
        pytest.param(b"HTTP/1.1 200 OK\r\n folded\r\nContent-Length: 0\r\n\r\n", id="obs-fold"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n", id="bare-cr"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX: a\nY: b\r\nContent-Length: 0\r\n\r\n", id="bare-lf"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX: a\x00\r\nContent-Length: 0\r\n\r\n", id="nul"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", id="bad-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", id="negative-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", id="two-lengths"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", id="unknown-coding"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", id="bad-chunk-size"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", id="chunk-without-crlf"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n", id="bad-trailer"
        ),
    ],
)
async def test_a_malformed_response_raises_remote_protocol_error(
    answer: bytes, transport: LeanTransport, http: httpx.AsyncClient
) -> None:
    """Each broken status line, header or framing raises RemoteProtocolError and the connection is closed."""
    async with raw_server(keep_answering(lambda request: answer)) as server:
        with pytest.raises(httpx.RemoteProtocolError, match=r"malformed|unsupported"):
            await http.get(server.url)
        await server.until(lambda: server.finished == 1)
        assert transport.connections == 0


@pytest.mark.parametrize(
    "partial",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Le", id="in-the-head"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", id="in-a-length-body"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", id="in-a-chunk"),
    ],
)
async def test_a_server_closing_mid_response_raises_remote_protocol_error(
    partial: bytes, http: httpx.AsyncClient
) -> None:
    """A response cut short by the server closing raises RemoteProtocolError, not a short body."""

    async def cut_short(connection: RawConnection) -> None:
        if await connection.read_request() is not None:
            await connection.send(partial)

    async with raw_server(cut_short) as server:
        with pytest.raises(httpx.RemoteProtocolError, match="mid-response"):
            await http.get(server.url)


async def test_a_body_over_max_response_bytes_is_refused_and_its_connection_closed() -> None:
    """A declared length, chunked sizes or a close-delimited body past the limit raise, and nothing is pooled."""
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n"

    async def endless(connection: RawConnection) -> None:
        if await connection.read_request() is not None:
            await connection.send(b"HTTP/1.1 200 OK\r\n\r\n")
            while not connection.writer.is_closing():
                await connection.send(b"0123456789")
                await asyncio.sleep(0)

    lean = LeanTransport(max_response_bytes=8)
    async with httpx.AsyncClient(transport=lean) as client:
        for handler in (keep_answering(lambda request: response(b"123456789")), keep_answering(lambda _: chunked)):
            async with raw_server(handler) as server:
                with pytest.raises(UpstreamResponseTooLarge, match=r"max_response_bytes \(8 bytes\)"):
                    await client.get(server.url)
                await server.until(lambda: server.finished == 1)
                assert lean.connections == 0
        async with raw_server(endless) as server:
            with pytest.raises(UpstreamResponseTooLarge):
                await client.get(server.url)
            assert lean.connections == 0
        async with raw_server(keep_answering(lambda request: response(b"12345678"))) as server:
            assert (await client.get(server.url)).content == b"12345678"  # exactly the limit passes


# Timeouts, failures, cancellation and closing


async def test_a_server_that_never_answers_raises_read_timeout_and_loses_the_connection() -> None:
    """With no answer within read_timeout, ReadTimeout is raised and that connection is closed."""
    lean = LeanTransport(read_timeout=0.2)
    async with raw_server(silent) as server, httpx.AsyncClient(transport=lean) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(server.url)
        await server.until(lambda: server.finished == 1)
        assert lean.connections == 0


async def test_read_timeout_bounds_the_whole_response_not_each_read() -> None:
    """A server trickling a body slower than read_timeout in total is cut off even though bytes keep coming."""
    lean = LeanTransport(read_timeout=0.3)

    async def trickle(connection: RawConnection) -> None:
        if await connection.read_request() is not None:
            await connection.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            while True:
                await connection.send(b"x")
                with anyio.move_on_after(0.05) as pause:
                    await connection.wait_for_close()
                if not pause.cancelled_caught:
                    return

    async with raw_server(trickle) as server, httpx.AsyncClient(transport=lean) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(server.url)


async def test_a_port_without_listener_raises_connect_error(http: httpx.AsyncClient) -> None:
    """Connecting to a closed loopback port raises ConnectError."""
    with pytest.raises(httpx.ConnectError):
        await http.get(f"http://127.0.0.1:{free_port()}/")


@pytest.mark.skipif(sys.platform != "linux", reason="relies on Linux dropping SYNs to a full accept queue")
async def test_a_listener_that_never_accepts_raises_connect_timeout() -> None:
    """When the handshake never completes within connect_timeout, ConnectTimeout is raised."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(4)]
    try:
        for filler in fillers:  # fill the accept queue so that further SYNs are dropped
            filler.setblocking(False)
            filler.connect_ex(address)
        lean = LeanTransport(connect_timeout=0.2)
        async with httpx.AsyncClient(transport=lean) as client:
            with pytest.raises(httpx.ConnectTimeout):
                await client.get(f"http://127.0.0.1:{address[1]}/")
            assert lean.connections == 0
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_a_cancelled_request_closes_its_connection(transport: LeanTransport, http: httpx.AsyncClient) -> None:
    """Cancelling the awaiting task mid-request closes the connection rather than pooling it."""
    async with raw_server(silent) as server:
        async with anyio.create_task_group() as group:
            group.start_soon(http.get, server.url)
            await server.until(lambda: len(server.requests) == 1)
            group.cancel_scope.cancel()
        await server.until(lambda: server.finished == 1)
        assert transport.connections == 0


async def test_aclose_closes_idle_and_busy_connections() -> None:
    """Closing the client closes the transport's idle and in-flight connections; the transport refuses more work."""

    async def answer_until_hang(connection: RawConnection) -> None:
        while (request := await connection.read_request()) is not None:
            if request.target == b"/hang":
                await connection.wait_for_close()
                return
            await connection.send(response())

    lean = LeanTransport()
    async with raw_server(answer_until_hang) as server:
        async with httpx.AsyncClient(transport=lean, base_url=server.url) as client:
            await client.get("/")
            async with anyio.create_task_group() as group:

                async def doomed() -> None:
                    with pytest.raises(httpx.ReadError, match="closed"):
                        await client.get("/hang")

                group.start_soon(doomed)
                group.start_soon(doomed)
                await server.until(lambda: len(server.requests) == 3)
                await lean.aclose()
        await server.until(lambda: server.finished == server.accepted == 2)
        assert lean.connections == 0
        with pytest.raises(RuntimeError, match="closed"):
            await lean.handle_async_request(httpx.Request("GET", server.url))


# TLS


def _certificate(tmp_path: Path, host: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@contextlib.contextmanager
def _tls_contexts(tmp_path: Path) -> Iterator[tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]]]:
    cert_path, key_path = _certificate(tmp_path, "localhost")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    names: list[str | None] = []

    def remember(_: ssl.SSLObject, server_name: str | None, __: ssl.SSLContext) -> None:
        names.append(server_name)

    server_context.sni_callback = remember
    yield server_context, ssl.create_default_context(cafile=cert_path), names


async def test_https_sends_sni_and_verifies_the_certificate(tmp_path: Path) -> None:
    """Over TLS the host name goes out as SNI and a certificate for that name is accepted."""
    with _tls_contexts(tmp_path) as (server_context, client_context, names):
        async with raw_server(keep_answering(lambda request: response(b"secure")), tls=server_context) as server:
            url = server.url.replace("127.0.0.1", "localhost")
            async with httpx.AsyncClient(transport=LeanTransport(ssl_context=client_context)) as client:
                assert (await client.get(url)).content == b"secure"
                assert (await client.get(url)).content == b"secure"
            assert names == ["localhost"]
            assert server.accepted == 1


async def test_https_refuses_an_untrusted_or_mismatched_certificate(tmp_path: Path) -> None:
    """An unknown issuer (default context) or a certificate for another name fails as ConnectError."""
    with _tls_contexts(tmp_path) as (server_context, client_context, _):
        async with raw_server(keep_answering(lambda request: response()), tls=server_context) as server:
            async with httpx.AsyncClient(transport=LeanTransport()) as client:
                with pytest.raises(httpx.ConnectError, match="certificate"):
                    await client.get(server.url.replace("127.0.0.1", "localhost"))
            async with httpx.AsyncClient(transport=LeanTransport(ssl_context=client_context)) as client:
                with pytest.raises(httpx.ConnectError, match=r"certificate|match"):
                    await client.get(server.url)  # the certificate names localhost, not 127.0.0.1


# The wire format on its own


def test_encode_request_adds_host_and_content_length_only_when_missing() -> None:
    """A request without Host or Content-Length gets both; one that has them is left as it is."""
    bare = http11.encode_request(b"POST", b"/p?q=1", [(b"X-A", b"1")], b"{}", b"h.example:8443")
    assert bare == b"POST /p?q=1 HTTP/1.1\r\nHost: h.example:8443\r\nX-A: 1\r\nContent-Length: 2\r\n\r\n{}"
    given = [(b"host", b"h"), (b"content-length", b"2")]
    assert http11.encode_request(b"PUT", b"/", given, b"{}", b"x") == (
        b"PUT / HTTP/1.1\r\nhost: h\r\ncontent-length: 2\r\n\r\n{}"
    )
