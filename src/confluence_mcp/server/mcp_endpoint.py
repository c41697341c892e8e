"""/mcp/{token}: guards and token checks, then the lean path or the MCP SDK's stateless transport."""

from __future__ import annotations

from typing import Any

from confluence_mcp.server import guards
from confluence_mcp.server.fastpath import FastPath
from confluence_mcp.server.keys import HEADERS_KEY, RESOLVED_KEY
from confluence_mcp.server.resolver import TokenResolver
from confluence_mcp.server.sdk import SdkBridge
from confluence_mcp.server.types import Receive, Scope, Send
from confluence_mcp.settings import ServerSettings


class McpEndpoint:
    """The ASGI app behind ``POST /mcp/{token}``: checks, then hands the request to the SDK."""

    def __init__(
        self,
        sdk: SdkBridge,
        resolver: TokenResolver,
        settings: ServerSettings,
        fast: FastPath | None = None,
    ) -> None:
        self._sdk = sdk
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
        await self._sdk.handle(scope, guards.replay(body), send)

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
