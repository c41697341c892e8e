"""Step 2, visibility: the tool must be one this MCP server shows; a filtered-out tool is an unknown tool."""

from __future__ import annotations

from confluence_mcp.errors import UnknownTool
from confluence_mcp.pipeline.context import Call


class CheckVisible:
    """Sets ``call.tool`` from the server's view; nothing goes upstream for a tool outside it."""

    name = "visible"

    async def run(self, call: Call) -> None:
        """Find the tool in the resolved server's view, or refuse the call as an unknown tool."""
        assert call.resolved is not None  # resolve runs first
        tool = call.resolved.view.by_name.get(call.name)
        if tool is None:  # filtered out and nonexistent look the same
            raise UnknownTool(call.name)
        call.tool = tool
