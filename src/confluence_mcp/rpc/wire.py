"""Answers -> JSON-RPC bytes for the lean path, with what each protocol era adds to a result.

The SDK path gets the same results and errors and lets the SDK add its era's fields; the parity test
compares both paths' bodies over every method, both eras and every error class.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from confluence_mcp.error_answers import rpc_answer_for
from confluence_mcp.errors import ConfluenceMcpError, RequestRefused
from confluence_mcp.rpc.answers import ToolsPage, call_result
from confluence_mcp.rpc.versions import META_SERVER_INFO, SERVER_INFO
from confluence_mcp.upstream.results import ToolOutcome

_MODERN_LIST_FIELDS: dict[str, Any] = {"resultType": "complete", "cacheScope": "private", "ttlMs": 0}


def dumps(value: Any) -> bytes:
    """Return compact UTF-8 JSON."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def result_body(request_id: int | str, result: bytes) -> bytes:
    """Return a JSON-RPC response around an already serialized result."""
    return b'{"jsonrpc":"2.0","id":' + dumps(request_id) + b',"result":' + result + b"}"


def error_body(request_id: int | str | None, code: int, message: str) -> bytes:
    """Return a JSON-RPC error response (``id: null`` when the request's id is unknown)."""
    return dumps({"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}})


def error_answer(
    exc: ConfluenceMcpError, request_id: int | str | None, modern: bool
) -> tuple[int, bytes, Mapping[str, str]]:
    """Return (HTTP status, body, extra headers) for one of our refusals, from the one error table."""
    answer = rpc_answer_for(exc)
    headers = exc.headers if isinstance(exc, RequestRefused) else {}
    status = answer.modern_status if modern else answer.status
    return status, error_body(request_id, answer.code, str(exc)), headers


def with_era(result: dict[str, Any], modern: bool, *, listing: bool = False) -> dict[str, Any]:
    """Return ``result`` with what 2026-07-28 adds (resultType, server info; ttl and cache scope on listings)."""
    if not modern:
        return result
    meta = {**result.get("_meta", {}), META_SERVER_INFO: SERVER_INFO}
    return {**result, **(_MODERN_LIST_FIELDS if listing else {"resultType": "complete"}), "_meta": meta}


def tools_page_result(page: ToolsPage, modern: bool) -> bytes:
    """Serialize a tools/list page."""
    payload: dict[str, Any] = {"tools": list(page.tools)}
    if page.next_cursor is not None:
        payload["nextCursor"] = page.next_cursor
    return dumps(with_era(payload, modern, listing=True))


def call_tool_result(outcome: ToolOutcome, modern: bool) -> bytes:
    """Serialize a tools/call result."""
    return dumps(with_era(call_result(outcome), modern))
