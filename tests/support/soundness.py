"""What every answer to hostile input must look like: no 5xx, no leak of internals, a well-formed error shape."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import httpx

import confluence_mcp

__all__ = ["assert_admin_answer", "assert_no_leak", "assert_rpc_answer", "rpc_messages"]

_LEAKS = re.compile(
    "|".join(
        [
            r"Traceback \(most recent call last\)",
            r"File \"[^\"]+\", line \d+",
            r"site-packages",
            re.escape(str(Path(confluence_mcp.__file__).resolve().parents[1])),  # our source tree
            re.escape(sys.prefix),  # the virtualenv: the SDK, pydantic, httpx
            re.escape(str(Path(json.__file__).resolve().parents[1])),  # the standard library
        ]
    )
)
"""What a stack trace or a server-side file path looks like inside a response (generated input may echo any
other text back, so only the server's own paths count)."""
_REFUSALS = frozenset({400, 401, 403, 404, 405, 406, 413, 415, 421, 422, 429})
"""Statuses with which the server may refuse a request it will not serve."""


def assert_no_leak(response: httpx.Response) -> None:
    """Assert the body shows no traceback and no server-side file path."""
    found = _LEAKS.search(response.text)
    assert found is None, f"{response.status_code} leaks {found.group(0)!r}: {response.text[:600]}"


def rpc_messages(response: httpx.Response) -> list[Any]:
    """Return the JSON-RPC messages of a JSON or an SSE response body."""
    kind = response.headers.get("content-type", "")
    if kind.startswith("text/event-stream"):
        lines = response.text.splitlines()
        return [json.loads(line[5:]) for line in lines if line.startswith("data:") and line[5:].strip()]
    return [response.json()]


def assert_rpc_answer(response: httpx.Response, *, busy_ok: bool = False) -> list[dict[str, Any]]:
    """Assert a /mcp/ response is 2xx or a refusal, leaks nothing, and carries JSON-RPC 2.0 messages; return them.

    ``busy_ok`` also accepts 503 with ``Retry-After`` (a store outage, the SDK still loading). A -32603 error
    (an exception nothing expected) fails: hostile input must meet a precise error.
    """
    assert_no_leak(response)
    status = response.status_code
    allowed = status < 300 or status in _REFUSALS or (busy_ok and status == 503 and "retry-after" in response.headers)
    assert allowed, f"unexpected {status}: {response.text[:600]}"
    if status == 202 or not response.content:
        assert status in (202, 204) or status >= 400, f"{status} with an empty body"
        return []
    assert response.headers.get("content-type", "").split(";")[0] in ("application/json", "text/event-stream"), (
        response.headers
    )
    messages = rpc_messages(response)
    for message in messages:
        assert isinstance(message, dict), message
        assert message.get("jsonrpc") == "2.0", message
        if "error" in message:
            error = message["error"]
            assert "result" not in message, message
            assert isinstance(error, dict), message
            assert isinstance(error.get("code"), int), message
            assert isinstance(error.get("message"), str), message
            assert error["code"] != -32603, f"an unexpected failure inside the server: {message}"
        elif "result" in message:
            assert isinstance(message["result"], dict), message
        else:
            assert "method" in message, message  # a server notification
    return [message for message in messages if isinstance(message, dict)]


def assert_admin_answer(response: httpx.Response) -> None:
    """Assert an admin API response is a success or the admin error shape, never a 5xx, leaking nothing."""
    assert_no_leak(response)
    status = response.status_code
    assert status < 500, f"unexpected {status}: {response.text[:600]}"
    if status >= 400:
        assert response.headers.get("content-type", "").startswith("application/json"), response.headers
        body = response.json()
        assert set(body) == {"error", "message", "details"}, body
        assert isinstance(body["error"], str), body
        assert isinstance(body["message"], str), body
