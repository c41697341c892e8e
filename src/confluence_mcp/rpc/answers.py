"""``Answers``: the result (or the error) of initialize, server/discover, ping, tools/list and tools/call.

Results here are era-neutral, as the SDK's handlers return them; what an era adds on the wire
(``resultType``, ``ttlMs``, server info in ``_meta``) is the transport's job: ``rpc/wire.py`` for the lean
path, the SDK itself for the SDK path. Refusals are our exceptions; ``error_answers.answer_for`` gives their code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from confluence_mcp.errors import InvalidParams
from confluence_mcp.pipeline import Call, Pipeline
from confluence_mcp.pipeline.catalog import ToolView
from confluence_mcp.pipeline.resolver import Resolved
from confluence_mcp.rpc.envelope import json_type
from confluence_mcp.rpc.versions import (
    CAPABILITIES,
    HANDSHAKE_VERSIONS,
    INSTRUCTIONS,
    LATEST_HANDSHAKE_VERSION,
    MODERN_VERSIONS,
    SERVER_INFO,
)
from confluence_mcp.upstream.results import ToolOutcome


@dataclass(frozen=True, slots=True)
class ToolsPage:
    """One tools/list page of a view; ``key`` identifies it for transports that cache its serialization."""

    tools: tuple[dict[str, Any], ...]
    next_cursor: str | None
    key: tuple[int, str]


class Answers:
    """Computes every method's answer for a resolved MCP server; shared by the lean and the SDK paths."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    @staticmethod
    def initialize(params: Mapping[str, Any]) -> dict[str, Any]:
        """Answer ``initialize`` (handshake era): echo a version we speak, else offer our latest one."""
        requested = params.get("protocolVersion")
        version = requested if requested in HANDSHAKE_VERSIONS else LATEST_HANDSHAKE_VERSION
        return {
            "capabilities": CAPABILITIES,
            "instructions": INSTRUCTIONS,
            "protocolVersion": version,
            "serverInfo": SERVER_INFO,
        }

    @staticmethod
    def discover() -> dict[str, Any]:
        """Answer ``server/discover`` (2026-07-28): the versions we speak, capabilities and instructions."""
        return {
            "capabilities": CAPABILITIES,
            "instructions": INSTRUCTIONS,
            "supportedVersions": sorted(MODERN_VERSIONS),
        }

    @staticmethod
    def ping() -> dict[str, Any]:
        """Answer ``ping`` (handshake era only) with an empty result."""
        return {}

    @staticmethod
    def tools_page(view: ToolView, cursor: object) -> ToolsPage:
        """Answer ``tools/list``: the page at ``cursor``; raise InvalidParams for a cursor that is not ours."""
        if cursor is not None and not isinstance(cursor, str):
            raise InvalidParams(f"Invalid params: 'params.cursor' must be a string, got {json_type(cursor)}")
        try:
            tools, next_cursor = view.page(cursor)
        except ValueError as exc:
            raise InvalidParams(f"Invalid cursor: {exc}") from exc
        return ToolsPage(tools=tools, next_cursor=next_cursor, key=(id(view), cursor or ""))

    async def call_tool(self, token: str, resolved: Resolved | None, params: Mapping[str, Any]) -> ToolOutcome:
        """Answer ``tools/call`` through the pipeline; raise InvalidParams or UnknownTool to refuse it."""
        name = params.get("name")
        arguments = params.get("arguments")
        # The SDK would only say "Invalid request parameters"; naming the field helps the agent fix it.
        if not isinstance(name, str):
            raise InvalidParams(f"Invalid params: 'params.name' must be a string naming a tool, got {json_type(name)}")
        if arguments is not None and not isinstance(arguments, dict):
            raise InvalidParams(
                f"Invalid params: 'params.arguments' of {name} must be an object of named arguments, "
                f"got {json_type(arguments)}"
            )
        return await self._pipeline.run(Call(token=token, name=name, arguments=arguments or {}, resolved=resolved))


def call_result(outcome: ToolOutcome) -> dict[str, Any]:
    """Return the era-neutral CallToolResult for an outcome, as the SDK's model would hold it."""
    content = list(outcome.content) if outcome.content else [{"type": "text", "text": outcome.text}]
    result: dict[str, Any] = {"content": content, "isError": outcome.is_error}
    if outcome.structured is not None:
        result["structuredContent"] = outcome.structured
    if outcome.meta:
        result["_meta"] = dict(outcome.meta)
    return result
