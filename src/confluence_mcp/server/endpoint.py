"""/mcp/{token}: Host, Origin, token, bearer and size checks, then the lean path or the MCP SDK's transport."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import secrets
import time
from typing import Any

from confluence_mcp import asgi
from confluence_mcp.asgi import Message, Receive, Scope, Send
from confluence_mcp.errors import (
    ApiTokenRequired,
    BodyTooLarge,
    HostNotAllowed,
    InternalFailure,
    InvalidRequest,
    OriginNotAllowed,
    ProtocolError,
    RequestRefused,
    UnknownMcpServer,
    UnsupportedMediaType,
)
from confluence_mcp.pipeline.observers.access import CURRENT, RequestRecord
from confluence_mcp.pipeline.observers.metrics import CallMetrics
from confluence_mcp.pipeline.resolver import Resolved, TokenResolver
from confluence_mcp.rpc.answers import listen_refusal
from confluence_mcp.rpc.envelope import parse_message
from confluence_mcp.rpc.versions import MODERN_VERSIONS
from confluence_mcp.server import guards
from confluence_mcp.server.keys import HEADERS_KEY, RESOLVED_KEY, TOKEN_KEY
from confluence_mcp.server.lean import LeanPath
from confluence_mcp.server.sdk import SdkBridge
from confluence_mcp.settings import ServerSettings

log = logging.getLogger("confluence_mcp.server")
access = logging.getLogger("confluence_mcp.access")

_CHALLENGE = {"www-authenticate": 'Bearer realm="confluence-mcp", error="invalid_token"'}
_CREATE = "Create one with: confluence-mcp api-tokens create NAME --scope mcp --servers MCP_ID"


class McpEndpoint:
    """The ASGI app behind ``POST /mcp/{token}``: HTTP-level checks, then the lean path or the SDK."""

    def __init__(
        self,
        sdk: SdkBridge,
        resolver: TokenResolver,
        settings: ServerSettings,
        lean: LeanPath | None = None,
        *,
        metrics: CallMetrics | None = None,
        access_log: bool = False,
    ) -> None:
        self._sdk = sdk
        self._resolver = resolver
        self._settings = settings
        self.lean = lean
        """The lean path, or None when ``server.fast_path`` is off (every request goes to the SDK)."""
        self._allowed_hosts = settings.effective_allowed_hosts
        self._count = metrics.request if metrics is not None else None
        self._access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one MCP POST; every refusal is a JSON-RPC error from the one error table."""
        if self._access_log:
            await self._logged(scope, receive, send)
        else:
            await self._answer(scope, receive, send, None)

    async def _logged(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer, then write the request's one JSON access line (``logging.format: json`` only)."""
        record = RequestRecord(request_id=secrets.token_hex(6))
        status = 0

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        reset = CURRENT.set(record)
        try:
            await self._answer(scope, receive, send_noting_status, record)
        finally:
            CURRENT.reset(reset)
            fields = {k: v for k, v in dataclasses.asdict(record).items() if v is not None}
            fields.update(status=status, duration_ms=round((time.perf_counter() - started) * 1000, 3))
            access.info("%s %s", record.method or "-", status, extra=fields)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, record: RequestRecord | None) -> None:
        token = scope["path_params"].get("token", "")
        try:
            resolved = await self._admit(scope, token)
            if record is not None:
                record.mcp_server_id = resolved.server.id
            body = await self._body(scope, receive)
            content_type = asgi.header(scope, b"content-type")
            if content_type is None or not content_type.lower().startswith("application/json"):
                # Ours, not the SDK's: it would answer a bare text 400 with no Content-Type.
                raise UnsupportedMediaType("Content-Type must be application/json")
            message = parse_message(body)
            if self._count is not None:
                self._count(message.get("method"))
            if record is not None and isinstance(message.get("method"), str):
                record.method = message["method"][:64]
            if asgi.header(scope, b"mcp-protocol-version") in MODERN_VERSIONS:
                refusal = listen_refusal(asgi.header(scope, b"accept"), message)
                if refusal is not None:
                    request_id = message.get("id")
                    shown_id = request_id if isinstance(request_id, str | int) else None
                    await guards.send_refusal(send, refusal, request_id=shown_id, modern=True)
                    return
            lean = self.lean
            if lean is not None and await lean.try_handle(scope, message, token, resolved, send):
                return
            state = scope.setdefault("state", {})
            state[RESOLVED_KEY] = resolved
            state[TOKEN_KEY] = token
            await self._sdk.handle(scope, asgi.replay(body, receive), _with_state_headers(state, send))
        except RequestRefused as exc:
            await guards.send_refusal(send, exc)
        except ProtocolError as exc:
            request_id = exc.request_id if isinstance(exc, InvalidRequest) else None
            modern = asgi.header(scope, b"mcp-protocol-version") in MODERN_VERSIONS
            await guards.send_refusal(send, exc, request_id=request_id, modern=modern)
        except Exception:  # the top-level handler of /mcp: a JSON-RPC error with a reference, never a text 500
            reference = secrets.token_hex(6)
            log.exception("MCP request failed unexpectedly (reference %s)", reference)
            with contextlib.suppress(Exception):  # the response may have started; then the log is all we have
                await guards.send_refusal(send, InternalFailure(f"Internal error (reference {reference}); logged"))
        # The reference of an internal error is the log line's; the access line carries the request id.

    async def _admit(self, scope: Scope, token: str) -> Resolved:
        """Check Host and Origin before the token, then the token and its bearer requirement."""
        if not guards.host_allowed(asgi.header(scope, b"host"), self._allowed_hosts):
            raise HostNotAllowed("Invalid Host header")
        origin = asgi.header(scope, b"origin")
        if not guards.origin_allowed(origin, self._settings.allowed_origins, self._allowed_hosts):
            raise OriginNotAllowed("Origin not allowed")
        resolved = await self._resolver.resolve(token) if token else None
        if resolved is None:
            # Unknown, revoked and expired tokens answer alike: nothing says whether one ever existed.
            raise UnknownMcpServer("Not found")
        if resolved.server.require_api_token_auth:
            await self._check_bearer(scope, resolved.server.id)
        return resolved

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self._settings.max_body_bytes
        length = asgi.header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise BodyTooLarge(f"Request body is larger than the {limit}-byte limit")
        return await asgi.read_body(receive, limit)

    async def _check_bearer(self, scope: Scope, server_id: str) -> None:
        """Raise ApiTokenRequired unless the bearer is a live MCP client token that opens this server.

        The refusal says which kind of token the sent one is only when it is a live token: its holder
        learns nothing the admin API would not tell them, and unknown, revoked and expired tokens look alike.
        """
        value = asgi.header(scope, b"authorization")
        token = value[7:].strip() if value is not None and value[:7].lower() == "bearer " else ""
        if not token:
            raise ApiTokenRequired(
                f"This MCP server requires 'Authorization: Bearer <MCP client token>'. {_CREATE}", _CHALLENGE
            )
        record = await self._resolver.api_token(token)
        if record is None:
            raise ApiTokenRequired(
                "This MCP server requires 'Authorization: Bearer <MCP client token>'; the token sent is not valid"
                f" (unknown, revoked or expired). {_CREATE}",
                _CHALLENGE,
            )
        if record.opens_mcp_server(server_id):
            return
        if record.scope == "admin":
            raise ApiTokenRequired(
                "This MCP server accepts only MCP client tokens, and the token sent is an admin token (for the"
                f" admin API). {_CREATE}",
                _CHALLENGE,
            )
        raise ApiTokenRequired(
            f"The MCP client token sent is bound to other MCP servers, not this one. {_CREATE}", _CHALLENGE
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

    def close_streams(self) -> None:
        """End every open ``subscriptions/listen`` stream gracefully (``GracefulServer`` calls it on shutdown)."""
        self.app.state.runtime.extra["answers"].close_streams()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one ASGI call."""
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            if path.startswith("/mcp/"):
                token = path[5:].removesuffix("/")  # the same URL with a trailing slash, answered without a redirect
                if token and "/" not in token:
                    scope["path_params"] = {"token": token}
                    await self.endpoint(scope, receive, send)
                    return
        await self.app(scope, receive, send)
