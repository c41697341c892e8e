"""Step 2, discover: on a server in discovery mode, answer search_tools and get_tool_schema, unwrap call_tool.

``call_tool(tool_name, arguments)`` becomes the call of that tool, which then goes through every later step
exactly as a direct call would (visibility, coercion, validation, rate limits, results). Servers not in
discovery mode pay one attribute comparison.
"""

from __future__ import annotations

import json
from typing import Any

from confluence_mcp.errors import InvalidArguments
from confluence_mcp.pipeline.catalog import Catalog, ToolView
from confluence_mcp.pipeline.context import Call
from confluence_mcp.pipeline.discovery import CALL_TOOL, META_TOOLS, SEARCH_TOOLS, rank_tools, suggest, summary
from confluence_mcp.upstream.results import ToolOutcome

_DEFAULT_LIMIT = 10


class AnswerDiscovery:
    """Serves the three meta tools from the server's own filtered view."""

    name = "discover"

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._meta = {t.name: t for t in META_TOOLS}

    async def run(self, call: Call) -> None:
        """Answer or unwrap a meta-tool call; any other call passes untouched."""
        assert call.resolved is not None  # resolve runs first
        if call.resolved.server.tool_exposure != "discovery":
            return
        meta = self._meta.get(call.name)
        if meta is None:  # a direct call of a visible tool is fine: it is what call_tool would run
            return
        problem = self._catalog.check_arguments(meta, call.arguments)
        if problem is not None:
            raise InvalidArguments(problem)
        view = call.resolved.view
        arguments = call.arguments
        if call.name == SEARCH_TOOLS:
            call.outcome = _json(self._search(view, arguments["query"], arguments.get("limit", _DEFAULT_LIMIT)))
        elif call.name == CALL_TOOL:
            name = arguments["tool_name"]
            if name not in view.by_name:
                raise InvalidArguments(_unknown(name, view))
            call.name = name
            call.arguments = arguments.get("arguments") or {}
        else:
            call.outcome = _json(self._schemas(view, arguments["tool_names"]))

    @staticmethod
    def _search(view: ToolView, query: str, limit: int) -> dict[str, Any]:
        found = rank_tools(view.tools, query, limit)
        payload: dict[str, Any] = {"tools": [summary(t) for t in found], "visible_tools": len(view.tools)}
        if not found:
            tags = sorted({tag for t in view.tools for tag in t.tags})
            payload["hint"] = f"Nothing matched; try other words. This server's tools have the tags: {', '.join(tags)}."
        return payload

    def _schemas(self, view: ToolView, names: list[str]) -> dict[str, Any]:
        tools = [self._catalog.wire(n) for n in dict.fromkeys(names) if n in view.by_name]
        unknown = {n: suggest(n, list(view.by_name)) for n in dict.fromkeys(names) if n not in view.by_name}
        payload: dict[str, Any] = {"tools": tools}
        if unknown:
            payload["unknown"] = [{"name": n, "did_you_mean": near} for n, near in unknown.items()]
        return payload


def _unknown(name: str, view: ToolView) -> str:
    near = suggest(name, list(view.by_name))
    hint = f" Did you mean {', '.join(near)}?" if near else ""
    return f"Unknown tool: {name}.{hint} Find tools with search_tools."


def _json(payload: dict[str, Any]) -> ToolOutcome:
    return ToolOutcome(text=json.dumps(payload, ensure_ascii=False, separators=(",", ":")), structured=payload)
