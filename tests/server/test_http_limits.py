"""The HTTP limits of ``server.*``, one attack at a time against the server as ``serve`` runs it: raw sockets."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from tests.support.raw_http import RawClient, RawClients, raw_clients, request_bytes, rpc_body
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.anyio

FAST = 0.5
"""The timeouts under test: short, so each case waits for the server's cut-off, never sleeps through it."""
DEADLINE = FAST + 10
"""How long a test waits for the server to act on a FAST timeout: generous, a deadline and not a measurement."""


@pytest.fixture
async def raw(stack: Stack) -> AsyncIterator[RawClients]:
    """Raw connections to the default stack, closed after the test."""
    async with raw_clients(stack.base_url) as clients:
        yield clients


@pytest.fixture
async def fast_stack() -> AsyncIterator[Stack]:
    """The stack with short header, body and idle timeouts."""
    timeouts = {"header_timeout_seconds": FAST, "body_timeout_seconds": FAST, "keep_alive_timeout_seconds": FAST}
    async with running_stack(server=timeouts) as running:
        yield running


@pytest.fixture
async def fast_raw(fast_stack: Stack) -> AsyncIterator[RawClients]:
    """Raw connections to the fast stack, closed after the test."""
    async with raw_clients(fast_stack.base_url) as clients:
        yield clients


def _head_bytes(target: str, headers: list[tuple[str, str]]) -> int:
    """The head size as the server counts it: the target, plus each header line's name, value and 4 bytes."""
    return len(target) + sum(len(name) + len(value) + 4 for name, value in headers)


def _base_headers(stack: Stack, body: bytes) -> list[tuple[str, str]]:
    host = stack.base_url.removeprefix("http://")
    return [
        ("Host", host),
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("Content-Length", str(len(body))),
    ]


async def _exchange(raw: RawClients, data: bytes) -> RawClient:
    """Send ``data`` on a new connection and wait until the server closes it."""
    client = await raw.connect()
    client.send(data)
    await client.closed_by_server(DEADLINE)
    return client


def _tools_listed(body: bytes) -> bool:
    payload: dict[str, Any] = json.loads(body)
    return bool(payload["result"]["tools"])


async def test_a_head_exactly_at_both_limits_is_served(stack: Stack, raw: RawClients) -> None:
    """100 header lines making a 16 KiB head, counted as the server counts, are answered normally."""
    body = rpc_body()
    target = f"/mcp/{stack.tokens['all']}"
    headers = _base_headers(stack, body)
    headers += [(f"X-Filler-{i}", "f") for i in range(100 - len(headers) - 1)]
    headers.append(("X-Last", "v" * (16 * 1024 - _head_bytes(target, [*headers, ("X-Last", "")]))))
    assert (len(headers), _head_bytes(target, headers)) == (100, 16 * 1024)
    client = await raw.connect()
    client.send(request_bytes(stack.base_url, target, body, headers[4:]))
    status, answer = await client.response()
    assert status == 200
    assert _tools_listed(answer)


@pytest.mark.parametrize(
    ("extra_lines", "extra_bytes"),
    [(1, 0), (0, 1)],
    ids=["one-header-line-too-many", "one-byte-too-many"],
)
async def test_a_head_one_over_a_limit_answers_431_and_closes(
    stack: Stack, raw: RawClients, extra_lines: int, extra_bytes: int
) -> None:
    """A 101st header line, or a 16 KiB + 1 head, gets 431 before the request reaches the app."""
    body = rpc_body()
    target = f"/mcp/{stack.tokens['all']}"
    headers = _base_headers(stack, body)
    headers += [(f"X-Filler-{i}", "f") for i in range(100 - len(headers) - 1 + extra_lines)]
    last = 16 * 1024 + extra_bytes - _head_bytes(target, [*headers, ("X-Last", "")])
    headers.append(("X-Last", "v" * last))
    client = await _exchange(raw, request_bytes(stack.base_url, target, body, headers[4:]))
    assert client.status == 431
    assert stack.sim.requests == []


async def test_a_long_target_answers_431(stack: Stack, raw: RawClients) -> None:
    """A request target over the head limit is refused while it arrives."""
    client = await _exchange(raw, request_bytes(stack.base_url, "/mcp/" + "a" * 20_000, rpc_body()))
    assert client.status == 431


async def test_an_endless_header_line_is_refused_before_it_ends(stack: Stack, raw: RawClients) -> None:
    """A header value that keeps coming in small writes is cut off at the limit, not buffered to its end."""
    client = await raw.connect()
    client.send(f"POST /mcp/{stack.tokens['all']} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ".encode())
    with anyio.fail_after(DEADLINE):
        sent = await client.dribble([b"a" * 1024] * 1024, 0.001)
    await client.closed_by_server(DEADLINE)
    # 431, not the header timeout's 408: the unfinished line was counted while it arrived.
    assert (client.status, sent < 1024) == (431, True)


async def test_a_head_sent_a_header_line_at_a_time_is_refused_at_the_byte_limit() -> None:
    """Header lines of 1 KiB, one per write, are refused by size once past the limit, long before any count limit."""
    async with (
        running_stack(server={"max_header_count": 10_000}) as stack,
        raw_clients(stack.base_url) as raw,
    ):
        client = await raw.connect()
        client.send(f"POST /mcp/{stack.tokens['all']} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
        lines = [f"X-Line-{i}: {'v' * 1000}\r\n".encode() for i in range(1000)]
        with anyio.fail_after(DEADLINE):
            sent = await client.dribble(lines, 0.001)
        await client.closed_by_server(DEADLINE)
        assert (client.status, sent < 1000) == (431, True)


async def test_a_head_and_body_arriving_in_many_pieces_is_served(stack: Stack, raw: RawClients) -> None:
    """A head dribbled byte by byte, then its end with a large body in one write, is no false 431."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": {"pad": "p" * 40_000}}})
    data = request_bytes(stack.base_url, f"/mcp/{stack.tokens['all']}", body.encode())
    head_end = data.index(b"\r\n\r\n")
    client = await raw.connect()
    with anyio.fail_after(DEADLINE):
        await client.dribble([data[i : i + 1] for i in range(head_end - 10)], 0.0005)
    client.send(data[head_end - 10 :])
    status, answer = await client.response()
    assert status == 200
    assert _tools_listed(answer)


async def test_pipelined_requests_in_one_write_are_all_answered(stack: Stack, raw: RawClients) -> None:
    """Two requests sent back to back in one write get two answers, in order, on the same connection."""
    one = request_bytes(stack.base_url, f"/mcp/{stack.tokens['all']}", rpc_body("ping"))
    client = await raw.connect()
    client.send(one + one)
    for _ in range(2):
        status, answer = await client.response()
        assert (status, json.loads(answer)["result"]) == (200, {})


async def test_slow_headers_are_cut_off_with_408(fast_stack: Stack, fast_raw: RawClients) -> None:
    """A client sending its head a byte at a time is answered 408 and closed, however long it would go on."""
    client = await fast_raw.connect()
    client.send(f"POST /mcp/{fast_stack.tokens['all']} HTTP/1.1\r\n".encode())
    with anyio.fail_after(DEADLINE):
        sent = await client.dribble([b"s"] * 10_000, 0.02)
    await client.closed_by_server(DEADLINE)
    assert (client.status, sent < 10_000) == (408, True)


async def test_a_slow_body_is_cut_off_with_408(fast_stack: Stack, fast_raw: RawClients) -> None:
    """A body sent a byte at a time to a valid MCP URL is answered 408 and closed; nothing goes upstream."""
    client = await fast_raw.connect()
    head = request_bytes(fast_stack.base_url, f"/mcp/{fast_stack.tokens['all']}", b"")
    client.send(head.replace(b"Content-Length: 0", b"Content-Length: 10000"))
    with anyio.fail_after(DEADLINE):
        sent = await client.dribble([b" "] * 10_000, 0.02)
    await client.closed_by_server(DEADLINE)
    assert (client.status, sent < 10_000) == (408, True)
    assert fast_stack.sim.requests == []


async def test_a_connection_that_never_sends_a_byte_is_closed(fast_raw: RawClients) -> None:
    """A connection opened and left silent is closed after the idle timeout."""
    client = await fast_raw.connect()
    await client.closed_by_server(DEADLINE)
    assert client.received == b""


async def test_an_idle_keep_alive_connection_is_closed_after_its_request(
    fast_stack: Stack, fast_raw: RawClients
) -> None:
    """After a request is answered, a connection left idle is closed after the idle timeout."""
    client = await fast_raw.connect()
    client.send(request_bytes(fast_stack.base_url, f"/mcp/{fast_stack.tokens['all']}", rpc_body("ping")))
    status, _ = await client.response()
    assert status == 200
    await client.closed_by_server(DEADLINE)


async def test_blank_lines_do_not_keep_a_connection_open(fast_raw: RawClients) -> None:
    """CRLFs, which start no request, do not reset the idle timer."""
    client = await fast_raw.connect()
    with anyio.fail_after(DEADLINE):
        sent = await client.dribble([b"\r\n"] * 10_000, 0.02)
    await client.closed_by_server(DEADLINE)
    assert sent < 10_000


async def test_connections_over_the_cap_are_refused_while_open_ones_keep_working() -> None:
    """Beyond server.max_connections a new connection gets 503 (or is closed); the open ones are still served."""
    async with (
        running_stack(server={"max_connections": 3, "keep_alive_timeout_seconds": 60}) as stack,
        raw_clients(stack.base_url) as raw,
    ):
        ping = request_bytes(stack.base_url, f"/mcp/{stack.tokens['all']}", rpc_body("ping"))
        held = [await raw.connect() for _ in range(3)]
        for client in held:  # each answered request proves the server has accepted the connection
            client.send(ping)
            assert (await client.response())[0] == 200

        refused = await raw.connect()
        refused.send(ping)
        await refused.closed_by_server(DEADLINE)
        assert refused.status in (503, None)

        for client in held:
            client.send(ping)
            assert (await client.response())[0] == 200

        held.pop().close()
        with anyio.fail_after(DEADLINE):  # the server notices the close soon; then a new connection is served
            while True:
                again = await raw.connect()
                again.send(ping)
                try:
                    status, _ = await again.response()
                except ConnectionError:  # refused without a 503: the server had not counted the close yet
                    continue
                if status == 200:
                    break


class _Watch(logging.Handler):
    """Sets ``seen`` when a record whose message contains ``text`` is logged."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.seen = anyio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


async def test_a_client_that_reads_no_response_is_dropped() -> None:
    """Pipelined requests whose answers the client never reads fill the write buffer; the server drops it."""
    async with (
        running_stack(server={"send_timeout_seconds": FAST}) as stack,
        raw_clients(stack.base_url) as raw,
    ):
        watch = _Watch("read no response")
        uvicorn_log = logging.getLogger("uvicorn.error")
        uvicorn_log.addHandler(watch)  # once the server has configured logging, which resets its handlers
        try:
            client = await raw.connect(receive_buffer=4096)
            assert client.transport is not None
            client.transport.pause_reading()
            one = request_bytes(stack.base_url, f"/mcp/{stack.tokens['all']}", rpc_body())
            client.send(one * 200)  # 200 tools/list answers of ~31 KB: more than the kernel's and uvicorn's buffers
            with anyio.fail_after(DEADLINE):
                await watch.seen.wait()
        finally:
            uvicorn_log.removeHandler(watch)
        client.transport.resume_reading()
        await client.closed_by_server(DEADLINE)
        assert client.received.count(b"HTTP/1.1 200") < 200
