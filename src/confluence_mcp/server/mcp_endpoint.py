"""/mcp/{token}: guards and token checks in front of the MCP SDK's stateless Streamable HTTP transport."""

from __future__ import annotations

import json
from typing import Any

import mcp.types as mt
from mcp import MCPError
from mcp.server import Server, ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from confluence_mcp import __version__
from confluence_mcp.server import guards
from confluence_mcp.server.calls import ToolCaller
from confluence_mcp.server.catalog import Catalog
from confluence_mcp.server.fastpath import FastPath
from confluence_mcp.server.resolver import Resolved, TokenResolver
from confluence_mcp.server.types import Receive, Scope, Send
from confluence_mcp.settings import ServerSettings

INSTRUCTIONS = (
    "Confluence Cloud tools. Page and blog bodies are Confluence storage format (XHTML such as <p>Hi</p>), "
    "not Markdown. An update needs version.number = current version + 1: read the page first. Users are "
    "accountIds (find one with list_all_confluence_users). v2 tools take numeric space ids, v1 tools space "
    "keys. Lists are paginated: pass the cursor from _links.next. Rate limits appear in the result _meta."
)

RESOLVED_KEY = "confluence_mcp.resolved"
HEADERS_KEY = "confluence_mcp.response_headers"


def build_mcp_server(catalog: Catalog, caller: ToolCaller) -> Server[Any]:
    """Return the low-level MCP server whose handlers read the resolved token from the request scope."""

    async def list_tools(
        ctx: ServerRequestContext[Any], params: mt.PaginatedRequestParams | None
    ) -> mt.ListToolsResult:
        resolved = _resolved(ctx)
        try:
            page, next_cursor = resolved.view.page(params.cursor if params else None)
        except ValueError as exc:
            raise MCPError(mt.INVALID_PARAMS, f"Invalid cursor: {exc}") from exc
        return mt.ListToolsResult(tools=list(page), next_cursor=next_cursor)

    async def call_tool(ctx: ServerRequestContext[Any], params: mt.CallToolRequestParams) -> mt.CallToolResult:
        resolved = _resolved(ctx)
        tool = resolved.view.by_name.get(params.name)
        if tool is None:  # filtered out and nonexistent look the same, and nothing goes upstream
            raise MCPError(mt.INVALID_PARAMS, f"Unknown tool: {params.name}")
        outcome = await caller.call(resolved, tool, params.arguments)
        if outcome.headers:
            ctx.request.scope.setdefault("state", {})[HEADERS_KEY] = outcome.headers  # type: ignore[union-attr]
        return mt.CallToolResult(
            content=[mt.TextContent(type="text", text=outcome.text)],
            structured_content=outcome.structured,
            is_error=outcome.is_error,
            _meta=outcome.meta or None,
        )

    return Server(
        "confluence-mcp",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        get_tool_input_schema=catalog.input_schema,
    )


def _resolved(ctx: ServerRequestContext[Any]) -> Resolved:
    request = ctx.request
    state = request.scope.get("state", {}) if request is not None else {}
    resolved = state.get(RESOLVED_KEY)
    if not isinstance(resolved, Resolved):
        # Only reachable if the SDK is driven without our endpoint in front (e.g. in-process tests).
        raise MCPError(mt.INVALID_REQUEST, "this MCP server is only reachable at /mcp/<token>")
    return resolved


class McpEndpoint:
    """The ASGI app behind ``POST /mcp/{token}``: checks, then hands the request to the SDK."""

    def __init__(
        self,
        manager: StreamableHTTPSessionManager,
        resolver: TokenResolver,
        settings: ServerSettings,
        fast: FastPath | None = None,
    ) -> None:
        self._manager = manager
        self._resolver = resolver
        self._settings = settings
        self._fast = fast

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one MCP POST."""
        settings = self._settings
        host = guards.header(scope, b"host")
        if not guards.host_allowed(host, settings.allowed_hosts):
            await guards.send_jsonrpc_error(send, 421, guards.CODE_FORBIDDEN, "Invalid Host header")
            return
        if not guards.origin_allowed(guards.header(scope, b"origin"), settings.allowed_origins, host):
            await guards.send_jsonrpc_error(send, 403, guards.CODE_FORBIDDEN, "Origin not allowed")
            return
        token = scope["path_params"].get("token", "")
        resolved = await self._resolver.resolve(token) if token else None
        if resolved is None:
            # Unknown, revoked and expired tokens answer alike: nothing says whether one ever existed.
            await guards.send_jsonrpc_error(send, 404, guards.CODE_NOT_FOUND, "Not found")
            return
        if resolved.server.require_api_token_auth and not await self._bearer_ok(scope):
            challenge = b'Bearer realm="confluence-mcp", error="invalid_token"'
            await guards.send_jsonrpc_error(
                send,
                401,
                guards.CODE_UNAUTHORIZED,
                "This MCP server requires 'Authorization: Bearer <API token>'",
                extra_headers=[(b"www-authenticate", challenge)],
            )
            return
        length = guards.header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > settings.max_body_bytes:
            await self._too_large(send)
            return
        try:
            body = await guards.read_body(receive, settings.max_body_bytes)
        except guards.BodyTooLarge:
            await self._too_large(send)
            return
        if self._fast is not None and await self._fast.try_handle(scope, body, resolved, send):
            return
        scope.setdefault("state", {})[RESOLVED_KEY] = resolved
        await self._manager.handle_request(scope, guards.replay(body), send)

    async def _bearer_ok(self, scope: Scope) -> bool:
        value = guards.header(scope, b"authorization")
        if value is None or value[:7].lower() != "bearer ":
            return False
        token = value[7:].strip()
        return bool(token) and await self._resolver.api_token_valid(token)

    async def _too_large(self, send: Send) -> None:
        limit = self._settings.max_body_bytes
        await guards.send_jsonrpc_error(
            send, 413, guards.CODE_TOO_LARGE, f"Request body is larger than the {limit}-byte limit"
        )


class ResponseHeadersFromState:
    """Copies headers a handler left in the scope state (``ratelimit-*``) into the HTTP response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through, adding stored headers to the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                extra = state.get(HEADERS_KEY)
                if extra:
                    message["headers"] = [
                        *message.get("headers", []),
                        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()),
                    ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def dumps(data: Any) -> bytes:
    """Serialize compactly for the wire."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
