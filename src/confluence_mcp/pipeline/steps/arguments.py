"""Step 3, arguments: validate against the tool's compiled input schema, naming every bad argument."""

from __future__ import annotations

from confluence_mcp.errors import InvalidArguments
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.context import Call


class ValidateArguments:
    """Refuses arguments that break the schema before anything is built or sent."""

    name = "arguments"

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    async def run(self, call: Call) -> None:
        """Raise InvalidArguments naming each bad argument; valid arguments pass unchanged."""
        assert call.tool is not None  # visible runs first
        problem = self._catalog.check_arguments(call.tool, call.arguments)
        if problem is not None:
            raise InvalidArguments(problem)
