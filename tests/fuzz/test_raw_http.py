"""Generated HTTP/1.1 framing, byte for byte over a raw socket, against our listener (uvicorn and its front door).

Request lines, header blocks and bodies right and wrong: odd methods and versions, long or bare targets,
repeated or conflicting Content-Length, broken chunked bodies, Expect, pipelined requests. The server answers
each with well-formed responses (never a 500) or closes the connection, within its timeouts, and keeps serving.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.support.fuzzing import assert_alive, budget
from tests.support.stack import Stack
from tests.support.threaded import NO_CAPS, stack_in_thread

TIMEOUT = 0.5
"""The server's header, body and idle timeouts here: a request left incomplete is cut off this fast."""
READ_DEADLINE = 10
"""Seconds a socket read may wait: far past the timeouts, so a server that hangs fails the test."""
STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")


@pytest.fixture(scope="module")
def raw_stack() -> Iterator[Stack]:
    """A stack whose listener cuts off slow or idle connections after TIMEOUT."""
    timeouts = {"header_timeout_seconds": TIMEOUT, "body_timeout_seconds": TIMEOUT}
    with stack_in_thread(limits=NO_CAPS, server={**timeouts, "keep_alive_timeout_seconds": TIMEOUT}) as stack:
        yield stack


tokens = st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "CONNECT", "TRACE", "BREW"])
versions = st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/0.9", b"http/1.1", b"HTTP/1.1 extra", b""])
header_names = st.sampled_from(
    [b"Content-Length", b"Transfer-Encoding", b"Content-Type", b"Accept", b"Expect", b"Connection", b"Host", b"X-A"]
) | st.binary(min_size=1, max_size=12).filter(lambda name: b"\r" not in name and b"\n" not in name)
header_values = st.sampled_from(
    [
        *(b"0", b"5", b"-1", b"99999999999999", b"chunked", b"gzip, chunked", b"100-continue", b"close"),
        *(b"keep-alive", b"application/json", b"application/json, text/event-stream", b"", b" 5", b"5 5", b"\x00"),
    ]
) | st.binary(max_size=20).filter(lambda value: b"\r" not in value and b"\n" not in value)
bodies = st.sampled_from(
    [
        b'{"jsonrpc":"2.0","id":1,"method":"ping"}',
        b"5\r\nhello\r\n0\r\n\r\n",
        b"zz\r\n",
        b"ffffffffffffffff\r\n",
        b"5\r\nhel",
        b"",
    ]
) | st.binary(max_size=80)


@st.composite
def requests(draw: st.DrawFn, stack: Stack) -> bytes:
    """One or two pipelined requests, each part well-formed or not."""
    host = urlsplit(stack.base_url).netloc.encode()
    targets = st.sampled_from(
        [f"/mcp/{stack.tokens['all']}".encode(), b"/healthz", b"/admin/openapi.json", b"*", b"http://x/y", b"/"]
    ) | st.binary(max_size=30).filter(lambda raw: b" " not in raw and b"\r" not in raw and b"\n" not in raw)
    pieces: list[bytes] = []
    for _ in range(draw(st.integers(1, 2))):
        line = draw(tokens).encode() + b" " + draw(targets) + b" " + draw(versions)
        headers = [b"Host: " + host] if draw(st.integers(0, 4)) else []
        headers += [draw(header_names) + b": " + draw(header_values) for _ in range(draw(st.integers(0, 5)))]
        pieces.append(line + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + draw(bodies))
    return b"".join(pieces)


def _exchange(base_url: str, raw: bytes, *, half_close: bool = True) -> bytes:
    """Send ``raw``, half-close, and read until the server closes (or the read deadline passes, failing).

    On a half-closed connection uvicorn answers the request it is reading and then closes, so a pipelined
    second request only gets its answer with ``half_close=False`` (and ``Connection: close`` on it).
    """
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=READ_DEADLINE) as sock:
        try:
            sock.sendall(raw)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            return b""  # the server closed already: a refusal without words
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return received
            except TimeoutError:
                raise AssertionError(f"no answer and no close within {READ_DEADLINE} s: {raw[:200]!r}") from None
            if not chunk:
                return received
            received += chunk


@given(data=st.data())
@budget(80)
@example(data=None)
def test_any_request_framing_is_answered_or_closed_and_the_server_keeps_serving(
    raw_stack: Stack, data: st.DataObject | None
) -> None:
    """Whatever bytes arrive, every status line is well-formed and not 5xx (bar 503 at capacity); health stays up."""
    if data is None:  # the classic smuggling pair: both Content-Length and chunked
        token = raw_stack.tokens["all"].encode()
        raw = (
            b"POST /mcp/"
            + token
            + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
    else:
        raw = data.draw(requests(raw_stack))
    received = _exchange(raw_stack.base_url, raw)
    statuses = [int(status) for status in STATUS_LINE.findall(received)]
    assert not received or statuses, received[:300]
    assert all(status < 500 or status == 503 for status in statuses), received[:600]
    assert b"Traceback" not in received
    with httpx.Client(base_url=raw_stack.base_url, timeout=30) as client:
        assert_alive(client)


def test_two_pipelined_well_formed_requests_get_two_answers(raw_stack: Stack) -> None:
    """The baseline the fuzzing departs from: pipelined pings over one raw connection are both answered 200."""
    host = urlsplit(raw_stack.base_url).netloc.encode()
    body = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
    one = (
        b"POST /mcp/" + raw_stack.tokens["all"].encode() + b" HTTP/1.1\r\nHost: " + host + b"\r\n"
        b"Content-Type: application/json\r\nAccept: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    last = one.replace(b"Accept:", b"Connection: close\r\nAccept:")
    received = _exchange(raw_stack.base_url, one + last, half_close=False)
    assert [int(status) for status in STATUS_LINE.findall(received)] == [200, 200], received[:600]
