"""Step 5, transform: arguments -> the upstream request (method, encoded path, query, headers, JSON body)."""

from __future__ import annotations

from confluence_mcp.errors import InvalidArguments
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.context import Call


class BuildRequest:
    """Sets ``call.request`` from the tool's precompiled request plan; path values stay inside their segment."""

    name = "transform"

    def __init__(self, catalog: Catalog) -> None:
        self._plans = catalog.plans

    async def run(self, call: Call) -> None:
        """Build the request; a value that cannot be placed (an empty path segment) is an argument error."""
        assert call.tool is not None
        try:
            call.request = self._plans[call.tool.name].build(call.arguments)
        except InvalidArguments as exc:
            raise InvalidArguments(f"Invalid arguments for {call.tool.name}: {exc}.") from exc
