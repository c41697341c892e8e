"""Upstream misbehaviour through the whole stack: each fault is one clear tool error, and the next call succeeds.

The account points at a raw loopback server that answers each request as the test's script says: a reset
(before or during the answer), silence, a body trickled a byte at a time, bytes that are not HTTP, cut-off JSON,
a gateway's HTML 502, a 429. Both upstream transports; no restart between the fault and the good call.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections import deque
from collections.abc import AsyncIterator

import pytest

from confluence_mcp.policy.json_text import parse_json
from tests.support.raw_server import RawConnection, RawServer, keep_answering, raw_server, response
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.anyio

GOOD = b'{"results":[{"id":"1","key":"ENG","name":"Engineering"}],"_links":{}}'
JSON = b"Content-Type: application/json"
TIMEOUTS = {"connect_timeout": 2.0, "read_timeout": 1.0, "total_timeout": 2.0, "max_response_bytes": 1_000_000}
"""Short upstream timeouts so that silence and trickles end within a couple of seconds; a 1 MB body cap."""


_BAD_FRAMING = {
    "negative length": b"Content-Length: -5\r\n\r\n",
    "two lengths": b"Content-Length: 3\r\nContent-Length: 70\r\n\r\n",
    "huge length": b"Content-Length: 99999999999999999999999\r\n\r\n",
    "bad chunk size": b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
}
"""Answers whose framing no client may trust."""


def _reset(connection: RawConnection) -> None:
    """Close with a TCP RST: linger on, zero seconds."""
    sock: socket.socket = connection.writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.writer.transport.abort()


async def _trickle(connection: RawConnection) -> None:
    """Promise a body, then send it a byte every 50 ms, far slower than any timeout allows."""
    await connection.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n")
    for _ in range(5000):
        await connection.send(b" ")
        await asyncio.sleep(0.05)  # the fault itself: a byte at a time, not a wait for a condition


async def _answer(connection: RawConnection, fault: str) -> None:
    """Answer one request as ``fault`` says; ``ok`` is a good Confluence answer."""
    if fault == "ok":
        await connection.send(response(GOOD, JSON))
    elif fault == "reset before answering":
        _reset(connection)
    elif fault == "reset mid-body":
        await connection.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n{")
        _reset(connection)
    elif fault == "silence":
        await connection.wait_for_close()
    elif fault == "trickled body":
        await _trickle(connection)
    elif fault == "not HTTP":
        await connection.send(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        connection.writer.close()
    elif fault == "malformed JSON":
        await connection.send(response(GOOD[: len(GOOD) // 2], JSON))
    elif fault == "gateway HTML 502":
        await connection.send(
            response(
                b"<html><body>502 Bad Gateway</body></html>", b"Content-Type: text/html", status=b"502 Bad Gateway"
            )
        )
    elif fault == "endless headers":
        await connection.send(b"HTTP/1.1 200 OK\r\n")
        while True:
            await connection.send(b"X-Filler: " + b"a" * 1000 + b"\r\n")
    elif fault == "endless 100 Continue":
        while True:
            await connection.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            await asyncio.sleep(0.001)  # the fault: an interim answer every millisecond, forever
    elif fault == "endless chunks":
        await connection.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        while True:
            await connection.send(b"10000\r\n" + b" " * 0x10000 + b"\r\n")
    elif fault in _BAD_FRAMING:
        await connection.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + _BAD_FRAMING[fault] + GOOD)
        connection.writer.close()
    elif fault == "429":
        await connection.send(response(b"{}", JSON, b"Retry-After: 7", status=b"429 Too Many Requests"))
    else:
        raise AssertionError(fault)


@pytest.fixture
def script() -> deque[str]:
    """What the raw upstream does with each next request; ``ok`` when the script has run out."""
    return deque()


@pytest.fixture
async def upstream(script: deque[str]) -> AsyncIterator[RawServer]:
    """A raw upstream that follows the script, one request at a time, on keep-alive connections."""

    async def handler(connection: RawConnection) -> None:
        while await connection.read_request() is not None:
            fault = script.popleft() if script else "ok"
            await _answer(connection, fault)
            if fault != "ok" and fault != "malformed JSON" and fault != "429" and fault != "gateway HTML 502":
                return

    async with raw_server(handler) as server:
        yield server


FAULTS = [
    ("reset before answering", "connection failed or was dropped. Reading is safe to retry"),
    ("reset mid-body", "connection failed or was dropped. Reading is safe to retry"),
    ("silence", "did not answer in time"),
    ("trickled body", "did not answer in time"),
    ("not HTTP", "connection failed or was dropped. Reading is safe to retry"),
    ("endless headers", "connection failed or was dropped. Reading is safe to retry"),
    ("endless 100 Continue", "did not answer in time"),
    ("endless chunks", "larger than upstream.max_response_bytes (1000000 bytes)"),
    ("negative length", "connection failed or was dropped. Reading is safe to retry"),
    ("two lengths", "connection failed or was dropped. Reading is safe to retry"),
    ("huge length", "connection failed or was dropped. Reading is safe to retry"),
    ("bad chunk size", "connection failed or was dropped. Reading is safe to retry"),
    ("malformed JSON", "malformed JSON"),
    ("gateway HTML 502", "Confluence failed (HTTP 502)"),
    ("429", "Retry after 7 seconds"),
]


async def _spaces(stack: Stack) -> dict[str, object]:
    return await stack.call("list_all_confluence_spaces", {})


@pytest.mark.parametrize("transport", ["lean", "httpx"])
@pytest.mark.parametrize(("fault", "fragment"), FAULTS, ids=[fault for fault, _ in FAULTS])
async def test_an_upstream_fault_is_one_clear_tool_error_and_the_next_call_succeeds(
    upstream: RawServer, script: deque[str], transport: str, fault: str, fragment: str
) -> None:
    """Good call, faulty call (a tool error naming what happened, with advice), good call again: no restart."""
    async with running_stack(instance_url=upstream.url, upstream={"transport": transport, **TIMEOUTS}) as stack:
        assert (await _spaces(stack))["isError"] is False
        script.append(fault)
        sent = len(upstream.requests)
        outcome = await _spaces(stack)
        if transport == "lean" and fault == "reset before answering":
            # A reused connection reset before any answer byte looks like one the server closed while idle: the
            # lean pool sends a GET once more on a fresh connection (never a write), and that one is answered.
            assert outcome["isError"] is False, outcome
            assert len(upstream.requests) == sent + 2
        else:
            assert outcome["isError"] is True, outcome
            text = outcome["content"][0]["text"]  # type: ignore[index]
            assert fragment in text, text
            assert len(upstream.requests) == sent + 1  # nothing was retried
        for _ in range(3):  # the pool dropped the broken connection: every next call is good
            assert (await _spaces(stack))["isError"] is False
        assert not script


@pytest.mark.parametrize("transport", ["lean", "httpx"])
async def test_a_lone_surrogate_from_confluence_becomes_a_replacement_character_not_a_failure(
    transport: str,
) -> None:
    """A page title holding half a surrogate pair (a -32603 before: no UTF-8 carries it) reaches the agent as U+FFFD."""
    body = b'{"results":[{"id":"1","key":"ENG","name":"Eng \\ud800 team"}],"_links":{}}'
    answer = keep_answering(lambda request: response(body, JSON))
    async with (
        raw_server(answer) as upstream,
        running_stack(instance_url=upstream.url, upstream={"transport": transport}) as stack,
    ):
        result = await _spaces(stack)
    assert result["isError"] is False, result
    assert result["structuredContent"]["results"][0]["name"] == "Eng \ufffd team"  # type: ignore[index]


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
async def test_nan_and_infinities_from_confluence_are_malformed_json_not_invalid_output(literal: bytes) -> None:
    """Python reads NaN, Infinity and 1e999; passed on, they made our answer invalid JSON. Now a clear tool error."""
    body = b'{"results":[{"id":"1","n":' + literal + b'}],"_links":{}}'
    answer = keep_answering(lambda request: response(body, JSON))
    async with raw_server(answer) as upstream, running_stack(instance_url=upstream.url) as stack:
        raw = await stack.rpc("tools/call", {"name": "list_all_confluence_spaces", "arguments": {}})
    result = parse_json(raw.content, lone_surrogates="refuse")["result"]  # our answer is strict JSON
    assert result["isError"] is True, result
    assert "malformed JSON" in result["content"][0]["text"]
    assert "structuredContent" not in result


async def test_bytes_after_a_complete_answer_do_not_spoil_the_next_call_on_the_lean_pool() -> None:
    """An upstream that writes junk after a good answer: the lean pool drops that connection, the next call is good.

    (httpx's own transport reuses the connection and fails the next call once; the lean pool is the default.)
    """
    answered = 0

    async def handler(connection: RawConnection) -> None:
        nonlocal answered
        while await connection.read_request() is not None:
            answered += 1
            await connection.send(response(GOOD, JSON) + (b"JUNK\r\n" if answered == 1 else b""))

    async with raw_server(handler) as upstream, running_stack(instance_url=upstream.url, upstream=TIMEOUTS) as stack:
        for _ in range(3):
            assert (await _spaces(stack))["isError"] is False
        assert upstream.accepted == 2  # the junk-tainted connection was not reused
