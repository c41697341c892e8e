"""The MCP SDK side: the low-level Server and its stateless Streamable HTTP manager, imported off the hot start.

Importing the SDK costs over a second here (its pydantic wire types), so the bridge builds it in a
worker thread while the server already answers lean-path requests; requests that need the SDK wait
for it to be ready.
"""

from __future__ import annotations

import gc
import logging
from typing import TYPE_CHECKING, Any

import anyio

from confluence_mcp.asgi import Receive, Scope, Send
from confluence_mcp.error_answers import rpc_answer_for
from confluence_mcp.errors import ConfluenceMcpError, ServiceStarting
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.resolver import Resolved
from confluence_mcp.rpc.answers import Answers, call_result
from confluence_mcp.rpc.versions import INSTRUCTIONS, MODERN_VERSIONS, SERVER_INFO, SERVER_NAME
from confluence_mcp.server import guards
from confluence_mcp.server.keys import HEADERS_KEY, RESOLVED_KEY, TOKEN_KEY

if TYPE_CHECKING:
    from mcp import MCPError
    from mcp.server import Server, ServerRequestContext
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

log = logging.getLogger("confluence_mcp.server")


def build_mcp_server(catalog: Catalog, answers: Answers) -> Server[Any]:
    """Return the low-level MCP server; its handlers only wrap what ``Answers`` computes."""
    import mcp.types as mt
    from mcp.server import Server

    async def list_tools(
        ctx: ServerRequestContext[Any], params: mt.PaginatedRequestParams | None
    ) -> mt.ListToolsResult:
        resolved, _ = _resolved(ctx)
        try:
            page = answers.tools_page(resolved.listing, params.cursor if params else None)
        except ConfluenceMcpError as exc:
            raise _mcp_error(exc) from exc
        key = ("sdk", page.cursor)
        tools = page.rendered.get(key)
        if tools is None:
            tools = [mt.Tool.model_validate(t) for t in page.tools]
            page.rendered[key] = tools
        return mt.ListToolsResult(tools=tools, next_cursor=page.next_cursor)

    async def call_tool(ctx: ServerRequestContext[Any], params: mt.CallToolRequestParams) -> mt.CallToolResult:
        resolved, token = _resolved(ctx)
        try:
            outcome = await answers.call_tool(token, resolved, {"name": params.name, "arguments": params.arguments})
        except ConfluenceMcpError as exc:
            raise _mcp_error(exc) from exc
        if outcome.headers:
            ctx.request.scope.setdefault("state", {})[HEADERS_KEY] = outcome.headers  # type: ignore[union-attr]
        return mt.CallToolResult.model_validate(call_result(outcome))

    async def listen(
        ctx: ServerRequestContext[Any], params: mt.SubscriptionsListenRequestParams
    ) -> mt.SubscriptionsListenResult:
        from mcp import MCPError

        if ctx.protocol_version not in MODERN_VERSIONS:  # the handshake era has no such method
            raise MCPError(mt.METHOD_NOT_FOUND, "Method not found")
        resolved, token = _resolved(ctx)
        try:
            subscription = answers.subscription(
                ctx.request_id, params.notifications.model_dump(by_alias=True, exclude_none=True)
            )
        except ConfluenceMcpError as exc:
            raise _mcp_error(exc) from exc
        meta = subscription.meta
        honored = mt.SubscriptionFilter.model_validate(subscription.honored)
        # The acknowledgement is the stream's first frame; then one frame per change asked for, each tagged.
        ack = mt.SubscriptionsAcknowledgedNotificationParams(notifications=honored, _meta=meta)
        await ctx.session.send_notification(
            mt.SubscriptionsAcknowledgedNotification(params=ack), related_request_id=ctx.request_id
        )
        async for _ in answers.changes(token, resolved, subscription, _bearer(ctx)):
            changed = mt.ToolListChangedNotification(params=mt.NotificationParams(_meta=meta))
            await ctx.session.send_notification(changed, related_request_id=ctx.request_id)
        return mt.SubscriptionsListenResult(_meta=meta)

    return Server(
        SERVER_NAME,
        version=SERVER_INFO["version"],
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_subscriptions_listen=listen,
        get_tool_input_schema=catalog.input_schema,
    )


def _mcp_error(exc: ConfluenceMcpError) -> MCPError:
    from mcp import MCPError

    return MCPError(rpc_answer_for(exc).code, str(exc))


def _resolved(ctx: ServerRequestContext[Any]) -> tuple[Resolved, str]:
    import mcp.types as mt
    from mcp import MCPError

    request = ctx.request
    state = request.scope.get("state", {}) if request is not None else {}
    resolved = state.get(RESOLVED_KEY)
    if not isinstance(resolved, Resolved):
        # Only reachable if the SDK is driven without our endpoint in front (e.g. in-process tests).
        raise MCPError(mt.INVALID_REQUEST, "this MCP server is only reachable at /mcp/<token>")
    return resolved, str(state.get(TOKEN_KEY, ""))


def _bearer(ctx: ServerRequestContext[Any]) -> str:
    """Return the bearer token the request carried (checked by the endpoint already), or an empty string."""
    request = ctx.request
    value = request.headers.get("authorization", "") if request is not None else ""
    return value[7:].strip() if value[:7].lower() == "bearer " else ""


class SdkBridge:
    """Builds the SDK's manager in a worker thread at start-up and hands it requests once it runs."""

    def __init__(self, catalog: Catalog, answers: Answers, *, max_body_bytes: int) -> None:
        self._catalog = catalog
        self._answers = answers
        self._max_body_bytes = max_body_bytes
        self._ready = anyio.Event()
        self._manager: StreamableHTTPSessionManager | None = None

    def _build(self) -> StreamableHTTPSessionManager:
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

        return StreamableHTTPSessionManager(
            app=build_mcp_server(self._catalog, self._answers),
            json_response=True,
            stateless=True,
            security_settings=None,  # Host and Origin are checked by our endpoint, before the token
            max_request_body_size=self._max_body_bytes + 1,
        )

    async def run(self) -> None:
        """Build the manager off the event loop, then run it until cancelled (the app's lifespan)."""
        try:
            manager = await anyio.to_thread.run_sync(self._build)
            async with manager.run():
                self._manager = manager
                self._ready.set()
                # Start-up made most of the objects this process will ever hold (tools, schemas, the
                # SDK's types); freezing them keeps the cyclic GC from rescanning them on every pass.
                gc.collect()
                gc.freeze()
                await anyio.sleep_forever()
        finally:
            self._ready.set()  # wake waiters on failure or shutdown; they answer 503

    @property
    def ready(self) -> bool:
        """Whether the SDK is loaded and running."""
        return self._manager is not None

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass one request to the SDK, waiting for it to be ready first."""
        if self._manager is None:
            with anyio.move_on_after(30):
                await self._ready.wait()
        if self._manager is None:
            await guards.send_refusal(send, ServiceStarting("The MCP server is still starting; retry shortly"))
            return
        await self._manager.handle_request(scope, receive, send)
