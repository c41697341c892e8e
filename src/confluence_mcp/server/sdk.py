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

from confluence_mcp import __version__
from confluence_mcp.server import guards
from confluence_mcp.server.calls import ToolCaller
from confluence_mcp.server.catalog import Catalog
from confluence_mcp.server.keys import HEADERS_KEY, RESOLVED_KEY
from confluence_mcp.server.resolver import Resolved
from confluence_mcp.server.types import Receive, Scope, Send

if TYPE_CHECKING:
    from mcp.server import Server, ServerRequestContext
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

log = logging.getLogger("confluence_mcp.server")

INSTRUCTIONS = (
    "Confluence Cloud tools. Page and blog bodies are Confluence storage format (XHTML such as <p>Hi</p>), "
    "not Markdown. An update needs version.number = current version + 1: read the page first. Users are "
    "accountIds (find one with list_all_confluence_users). v2 tools take numeric space ids, v1 tools space "
    "keys. Lists are paginated: pass the cursor from _links.next. Rate limits appear in the result _meta."
)


def build_mcp_server(catalog: Catalog, caller: ToolCaller) -> Server[Any]:
    """Return the low-level MCP server whose handlers read the resolved token from the request scope."""
    import mcp.types as mt
    from mcp import MCPError
    from mcp.server import Server

    wire_pages: dict[tuple[int, int], list[mt.Tool]] = {}

    async def list_tools(
        ctx: ServerRequestContext[Any], params: mt.PaginatedRequestParams | None
    ) -> mt.ListToolsResult:
        resolved = _resolved(ctx)
        try:
            page, next_cursor = resolved.view.page(params.cursor if params else None)
        except ValueError as exc:
            raise MCPError(mt.INVALID_PARAMS, f"Invalid cursor: {exc}") from exc
        key = (id(resolved.view), hash(params.cursor if params else None))
        tools = wire_pages.get(key)
        if tools is None:
            tools = [mt.Tool.model_validate(t) for t in page]
            wire_pages[key] = tools
        return mt.ListToolsResult(tools=tools, next_cursor=next_cursor)

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
    import mcp.types as mt
    from mcp import MCPError

    request = ctx.request
    state = request.scope.get("state", {}) if request is not None else {}
    resolved = state.get(RESOLVED_KEY)
    if not isinstance(resolved, Resolved):
        # Only reachable if the SDK is driven without our endpoint in front (e.g. in-process tests).
        raise MCPError(mt.INVALID_REQUEST, "this MCP server is only reachable at /mcp/<token>")
    return resolved


class SdkBridge:
    """Builds the SDK's manager in a worker thread at start-up and hands it requests once it runs."""

    def __init__(self, catalog: Catalog, caller: ToolCaller, *, max_body_bytes: int) -> None:
        self._catalog = catalog
        self._caller = caller
        self._max_body_bytes = max_body_bytes
        self._ready = anyio.Event()
        self._manager: StreamableHTTPSessionManager | None = None

    def _build(self) -> StreamableHTTPSessionManager:
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

        return StreamableHTTPSessionManager(
            app=build_mcp_server(self._catalog, self._caller),
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
            await guards.send_jsonrpc_error(send, 503, -31503, "The MCP server is still starting; retry shortly")
            return
        await self._manager.handle_request(scope, receive, send)
