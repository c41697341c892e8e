"""The one place every tool call passes through: validate, build, send, explain. Never raises."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from confluence_mcp.errors import InvalidInput, UpstreamError
from confluence_mcp.openapi import Tool
from confluence_mcp.server.catalog import Catalog
from confluence_mcp.server.resolver import Resolved
from confluence_mcp.upstream.client import UpstreamClient
from confluence_mcp.upstream.results import ToolOutcome, error_outcome, outcome_from_response

log = logging.getLogger("confluence_mcp.calls")


class ToolCaller:
    """Runs tool calls for resolved MCP servers against Confluence."""

    def __init__(self, catalog: Catalog, upstream: UpstreamClient) -> None:
        self._catalog = catalog
        self._upstream = upstream

    async def call(self, resolved: Resolved, tool: Tool, arguments: Mapping[str, Any] | None) -> ToolOutcome:
        """Validate ``arguments`` and run ``tool``; every failure becomes an error outcome."""
        args = arguments or {}
        problem = self._catalog.check_arguments(tool, args)
        if problem is not None:
            return error_outcome(problem)
        try:
            request = self._catalog.plans[tool.name].build(args)
            response = await self._upstream.send(resolved.target, request)
        except InvalidInput as exc:
            return error_outcome(f"Invalid arguments for {tool.name}: {exc}.")
        except UpstreamError as exc:
            if tool.binding.method in ("GET", "HEAD"):
                return error_outcome(f"{exc}. Reading is safe to retry.")
            # A write that timed out or lost its connection may still have been applied upstream.
            return error_outcome(
                f"{exc}. The change may or may not have been applied: read the object before retrying."
            )
        except Exception:  # the top-level handler for a call: log it, never leak it
            log.exception("tool %s failed unexpectedly", tool.name)
            return error_outcome(f"Internal error while running {tool.name}; the failure was logged.")
        return outcome_from_response(tool.name, request, response)
