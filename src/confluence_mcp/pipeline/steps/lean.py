"""Finisher lean: a successful answer from Confluence, lean (see ``pipeline/lean.py``), unless the server says no.

Only results built from Confluence's JSON are touched: the meta tools' answers and tools with their own
shapes (ChatGPT's ``search`` and ``fetch``) pass as they are. An MCP server with ``lean_results: false`` gets
Confluence's answer whole.
"""

from __future__ import annotations

from typing import Final

from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.context import Call
from confluence_mcp.pipeline.lean import lean_result
from confluence_mcp.policy.json_text import compact_json
from confluence_mcp.upstream.results import ToolOutcome

_GATEWAY: Final = "https://api.atlassian.com"


class LeanResults:
    """Drops ``_links``, ``_expandable`` and empty fields, adds ``web_url``; the text is re-serialized to match."""

    name = "lean"

    def __init__(self, catalog: Catalog) -> None:
        self._own_shapes = frozenset(catalog.shapers)

    async def run(self, call: Call) -> None:
        """Make the outcome lean when it is Confluence's successful JSON on a server that wants it lean."""
        outcome = call.outcome
        response = call.response
        if outcome is None or outcome.is_error or outcome.structured is None or response is None:
            return
        if not response.content.strip():  # "Done: ..." for a 204 is text of ours, not Confluence's JSON
            return
        assert call.resolved is not None  # the steps that sent a request set these
        assert call.tool is not None
        if not call.resolved.server.lean_results or call.tool.name in self._own_shapes:
            return
        site = call.resolved.target.base_url
        structured = lean_result(outcome.structured, "" if site.startswith(_GATEWAY) else f"{site}/wiki")
        if structured == outcome.structured:  # nothing to drop: Confluence's own text stays, byte for byte
            return
        # Built directly: dataclasses.replace costs as much as the leaning itself on this per-call path.
        call.outcome = ToolOutcome(
            compact_json(structured), False, structured, outcome.meta, outcome.headers, outcome.content
        )
