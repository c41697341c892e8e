"""Step 4, cursor, and the finisher next_cursor: our opaque cursor in, ours out again (see ``pipeline/paging.py``).

Both cost one lookup (``cursor``) or one attribute test (``next_cursor``) for a tool that does not page.
"""

from __future__ import annotations

import dataclasses

from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.context import Call
from confluence_mcp.pipeline.paging import with_next_cursor


class DecodeCursor:
    """For a paginated list tool: our ``cursor`` -> Confluence's cursor or ``start``, ``limit`` capped per server."""

    name = "cursor"

    def __init__(self, catalog: Catalog) -> None:
        self._paging = catalog.paging

    async def run(self, call: Call) -> None:
        """Swap ``call.arguments`` for the upstream ones; raise InvalidArguments naming a cursor that is not ours."""
        assert call.tool is not None  # visible runs first
        paging = self._paging.get(call.tool.name)
        if paging is None:
            return
        assert call.resolved is not None
        arguments, call.limit_note = paging.upstream_arguments(call.arguments, call.resolved.server.max_limit)
        call.replace_arguments(arguments)
        call.paging = paging


class AddNextCursor:
    """For a paginated list tool's successful JSON answer: ``next_cursor`` at the top, the text re-serialized."""

    name = "next_cursor"

    async def run(self, call: Call) -> None:
        """Add ``next_cursor`` (null on the last page) and any limit note to the outcome."""
        paging = call.paging
        if paging is None:
            return
        outcome = call.outcome
        if outcome is None or outcome.is_error or outcome.structured is None or call.response is None:
            return
        structured = outcome.structured
        text = with_next_cursor(structured, paging.next_cursor(structured, call.response.headers), call.limit_note)
        call.outcome = dataclasses.replace(outcome, text=text)
