"""/mcp/{token}: guards and token checks, then the lean path or the MCP SDK's stateless transport."""

from __future__ import annotations

from typing import Any

from confluence_mcp.server import guards
from confluence_mcp.server.fastpath import FastPath
from confluence_mcp.server.keys import HEADERS_KEY, RESOLVED_KEY
from confluence_mcp.server.resolver import TokenResolver
from confluence_mcp.server.sdk import SdkBridge
from confluence_mcp.server.types import Message, Receive, Scope, Send
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
        self._allowed_hosts = settings.effective_allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one MCP POST."""
        settings = self._settings
        host = guards.header(scope, b"host")
        if not guards.host_allowed(host, self._allowed_hosts):
            await guards.send_jsonrpc_error(send, 421, guards.CODE_FORBIDDEN, "Invalid Host header")
            return
        if not guards.origin_allowed(guards.header(scope, b"origin"), settings.allowed_origins, self._allowed_hosts):
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
        state = scope.setdefault("state", {})
        state[RESOLVED_KEY] = resolved
        await self._sdk.handle(scope, guards.replay(body), _with_state_headers(state, send))

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


def _with_state_headers(state: dict[str, Any], send: Send) -> Send:
    """Return a send that adds the headers a handler left in the state (``ratelimit-*``) to the response."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            extra = state.get(HEADERS_KEY)
            if extra:
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()),
                ]
        await send(message)

    return send_with_headers


class FrontDoor:
    """Sends ``POST /mcp/<token>`` straight to the MCP endpoint; everything else goes to the Starlette app.

    The hot path thereby skips Starlette's router and its two exception middlewares (our endpoint
    never raises); other methods on /mcp/... still reach the app's route, which answers 405.
    """

    def __init__(self, app: Any, endpoint: McpEndpoint) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one ASGI call."""
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            if path.startswith("/mcp/"):
                token = path[5:]
                if token and "/" not in token:
                    scope["path_params"] = {"token": token}
                    await self.endpoint(scope, receive, send)
                    return
        await self.app(scope, receive, send)
