"""A lean path for the stateless JSON hot path: tools/call, tools/list and ping answered without the SDK.

The SDK's stateless transport builds a task group, memory streams and a dispatcher per request, which
costs about a millisecond here. For the few well-formed requests that dominate traffic we answer
directly with the same bytes-on-the-wire semantics; anything else (initialize, server/discover,
notifications, malformed or unusual requests, every error path) is handed to the SDK, so spec
behaviour stays the SDK's. A parity test compares both paths response by response.
"""

from __future__ import annotations

import json
from typing import Any

from confluence_mcp import __version__
from confluence_mcp.server import guards
from confluence_mcp.server.calls import ToolCaller
from confluence_mcp.server.catalog import ToolView
from confluence_mcp.server.resolver import Resolved
from confluence_mcp.server.types import Scope, Send
from confluence_mcp.upstream.results import ToolOutcome

# Importing mcp_types costs half a second, so the versions are spelled out; a test keeps them equal to the SDK's.
HANDSHAKE_VERSIONS = frozenset({"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"})
MODERN_VERSIONS = frozenset({"2026-07-28"})
_META_VERSION = "io.modelcontextprotocol/protocolVersion"
_META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
_SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo"
_SERVER_INFO = {"name": "confluence-mcp", "version": __version__}
_JSON_HEADERS = [(b"content-type", b"application/json")]


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


class FastPath:
    """Answers the common stateless requests directly; returns False to hand a request to the SDK."""

    def __init__(self, caller: ToolCaller) -> None:
        self._caller = caller
        self._list_pages: dict[tuple[int, str, int], bytes] = {}

    async def try_handle(self, scope: Scope, body: bytes, resolved: Resolved, send: Send) -> bool:
        """Answer the request if it is one we serve directly; otherwise return False untouched."""
        content_type = guards.header(scope, b"content-type")
        if content_type is None or not content_type.startswith("application/json"):
            return False
        accept = guards.header(scope, b"accept")
        if accept is not None and "application/json" not in accept and "*/*" not in accept:
            return False
        version = guards.header(scope, b"mcp-protocol-version")
        modern = version in MODERN_VERSIONS
        if version is not None and not modern and version not in HANDSHAKE_VERSIONS:
            return False
        try:
            message = json.loads(body)
        except ValueError:
            return False
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return False
        request_id = message.get("id")
        if isinstance(request_id, bool) or not isinstance(request_id, int | str):
            return False
        method = message.get("method")
        params = message.get("params", {})
        if not isinstance(params, dict):
            return False
        if modern and not _modern_envelope_ok(scope, method, params, version):
            return False
        if method == "tools/call":
            return await self._call(request_id, params, resolved, modern, send)
        if method == "tools/list":
            return await self._list(request_id, params, resolved.view, modern, send)
        if method == "ping" and not modern:
            await _send(send, request_id, b"{}", {})
            return True
        return False

    async def _call(
        self, request_id: int | str, params: dict[str, Any], resolved: Resolved, modern: bool, send: Send
    ) -> bool:
        name = params.get("name")
        arguments = params.get("arguments")
        # The SDK would only say "Invalid request parameters"; naming the field helps the agent fix it.
        if not isinstance(name, str):
            problem = f"'params.name' must be a string naming a tool, got {_json_type(name)}"
            await _invalid_params(send, request_id, problem, modern)
            return True
        if arguments is not None and not isinstance(arguments, dict):
            problem = f"'params.arguments' of {name} must be an object of named arguments, got {_json_type(arguments)}"
            await _invalid_params(send, request_id, problem, modern)
            return True
        tool = resolved.view.by_name.get(name)
        if tool is None:
            return False  # the SDK words the unknown-tool error for each era
        outcome = await self._caller.call(resolved, tool, arguments)
        await _send(send, request_id, _call_result(outcome, modern), outcome.headers)
        return True

    async def _list(
        self, request_id: int | str, params: dict[str, Any], view: ToolView, modern: bool, send: Send
    ) -> bool:
        cursor = params.get("cursor")
        if cursor is not None and not isinstance(cursor, str):
            return False
        try:
            page, next_cursor = view.page(cursor)
        except ValueError:
            return False
        key = (id(view), cursor or "", int(modern))
        result = self._list_pages.get(key)
        if result is None:
            payload: dict[str, Any] = {"tools": list(page)}
            if next_cursor is not None:
                payload["nextCursor"] = next_cursor
            if modern:
                payload.update(
                    resultType="complete", cacheScope="private", ttlMs=0, _meta={_SERVER_INFO_KEY: _SERVER_INFO}
                )
            result = _dumps(payload)
            if len(self._list_pages) < 4096:  # views are few; the bound only guards against misuse
                self._list_pages[key] = result
        await _send(send, request_id, result, {})
        return True


def _modern_envelope_ok(scope: Scope, method: Any, params: dict[str, Any], version: str | None) -> bool:
    # The 2026-07-28 routing headers must mirror the body exactly; any doubt goes to the SDK's checks.
    if guards.header(scope, b"mcp-method") != method:
        return False
    if method == "tools/call" and guards.header(scope, b"mcp-name") != params.get("name"):
        return False
    meta = params.get("_meta")
    return (
        isinstance(meta, dict) and meta.get(_META_VERSION) == version and isinstance(meta.get(_META_CAPABILITIES), dict)
    )


def _call_result(outcome: ToolOutcome, modern: bool) -> bytes:
    result: dict[str, Any] = {
        "content": [{"type": "text", "text": outcome.text}],
        "isError": outcome.is_error,
    }
    if outcome.structured is not None:
        result["structuredContent"] = outcome.structured
    meta = dict(outcome.meta)
    if modern:
        result["resultType"] = "complete"
        meta[_SERVER_INFO_KEY] = _SERVER_INFO
    if meta:
        result["_meta"] = meta
    return _dumps(result)


async def _invalid_params(send: Send, request_id: int | str, problem: str, modern: bool) -> None:
    # Status by era, as the SDK answers: invalid params is HTTP 200 on the handshake era, 400 on 2026-07-28.
    await guards.send_jsonrpc_error(
        send, 400 if modern else 200, -32602, f"Invalid params: {problem}", request_id=request_id
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}.get(
        type(value), "an object"
    )


async def _send(send: Send, request_id: int | str, result: bytes, extra: dict[str, str]) -> None:
    body = b'{"jsonrpc":"2.0","id":' + _dumps(request_id) + b',"result":' + result + b"}"
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items())
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
