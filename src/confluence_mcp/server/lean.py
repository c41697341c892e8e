"""The lean path: well-formed stateless JSON requests answered without the SDK, by serializing ``Answers``.

The SDK's stateless transport builds a task group, memory streams and a dispatcher per request, which
costs about a millisecond here. For well-formed requests of the methods we serve we only parse the
envelope, ask ``Answers`` and write the bytes; anything unusual (a malformed or mismatched envelope,
notifications, methods we do not serve) returns False and goes to the SDK, so spec behaviour stays the SDK's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from confluence_mcp import asgi
from confluence_mcp.asgi import Scope, Send
from confluence_mcp.errors import ProtocolError, RequestRefused
from confluence_mcp.pipeline.resolver import Resolved
from confluence_mcp.rpc import wire
from confluence_mcp.rpc.answers import Answers
from confluence_mcp.rpc.versions import HANDSHAKE_VERSIONS, META_CAPABILITIES, META_VERSION, MODERN_VERSIONS

_JSON_HEADERS = [(b"content-type", b"application/json")]


class LeanPath:
    """Answers the common stateless requests directly; returns False to hand a request to the SDK."""

    def __init__(self, answers: Answers) -> None:
        self._answers = answers

    async def try_handle(
        self, scope: Scope, message: dict[str, Any], token: str, resolved: Resolved, send: Send
    ) -> bool:
        """Answer the (well-formed, JSON) request if it is one we serve directly; else return False, sending nothing."""
        accept = asgi.header(scope, b"accept")
        if accept is not None and "application/json" not in accept and "*/*" not in accept:
            return False
        version = asgi.header(scope, b"mcp-protocol-version")
        modern = version in MODERN_VERSIONS
        if version is not None and not modern and version not in HANDSHAKE_VERSIONS:
            return False
        request_id = message.get("id")
        if isinstance(request_id, bool) or not isinstance(request_id, int | str):
            return False
        method = message.get("method")
        params = message.get("params") or {}
        if modern and not _modern_envelope_ok(scope, method, params, version):
            return False
        try:
            if method == "tools/call":
                outcome = await self._answers.call_tool(token, resolved, params)
                await _send(
                    send, 200, wire.result_body(request_id, wire.call_tool_result(outcome, modern)), outcome.headers
                )
            elif method == "tools/list":
                await _send(send, 200, wire.result_body(request_id, self._list(resolved, params, modern)), {})
            elif method == "ping" and not modern:
                await _send(send, 200, wire.result_body(request_id, wire.dumps(self._answers.ping())), {})
            elif method == "initialize" and not modern and _initialize_params_ok(params):
                result = wire.dumps(self._answers.initialize(params))
                await _send(send, 200, wire.result_body(request_id, result), {})
            elif method == "server/discover" and modern:
                result = wire.dumps(wire.with_era(self._answers.discover(), modern, listing=True))
                await _send(send, 200, wire.result_body(request_id, result), {})
            else:
                return False
        except (ProtocolError, RequestRefused) as exc:
            status, error, headers = wire.error_answer(exc, request_id, modern)
            await _send(send, status, error, headers)
        return True

    def _list(self, resolved: Resolved, params: Mapping[str, Any], modern: bool) -> bytes:
        page = self._answers.tools_page(resolved.listing, params.get("cursor"))
        key = ("lean", page.cursor, modern)
        result = page.rendered.get(key)
        if not isinstance(result, bytes):
            result = wire.tools_page_result(page, modern)
            page.rendered[key] = result
        return result


def _modern_envelope_ok(scope: Scope, method: Any, params: dict[str, Any], version: str | None) -> bool:
    # The 2026-07-28 routing headers must mirror the body exactly; any doubt goes to the SDK's checks.
    if asgi.header(scope, b"mcp-method") != method:
        return False
    if method == "tools/call" and asgi.header(scope, b"mcp-name") != params.get("name"):
        return False
    meta = params.get("_meta")
    return (
        isinstance(meta, dict) and meta.get(META_VERSION) == version and isinstance(meta.get(META_CAPABILITIES), dict)
    )


def _initialize_params_ok(params: Mapping[str, Any]) -> bool:
    # Anything the SDK's InitializeRequestParams would reject goes to the SDK, which words the error.
    info = params.get("clientInfo")
    return (
        isinstance(params.get("protocolVersion"), str)
        and isinstance(params.get("capabilities"), dict)
        and isinstance(info, dict)
        and isinstance(info.get("name"), str)
        and isinstance(info.get("version"), str)
    )


async def _send(send: Send, status: int, body: bytes, extra: Mapping[str, str]) -> None:
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items())
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
