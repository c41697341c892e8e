"""The tool catalog: tools as agents see them, validators, request plans, paging and per-filter views, built once."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from confluence_mcp.openapi import Tool
from confluence_mcp.pipeline.paging import Paging, paged_tool, paging_for
from confluence_mcp.policy.filters import ToolFilter, visible_tools
from confluence_mcp.upstream.request import RequestPlan


@dataclass(frozen=True, slots=True)
class ToolView:
    """What one filter lets an agent see: tools by name and ready tools/list pages."""

    tools: tuple[Tool, ...]
    by_name: Mapping[str, Tool]
    pages: tuple[tuple[dict[str, Any], ...], ...]

    def page(self, cursor: str | None) -> tuple[tuple[dict[str, Any], ...], str | None]:
        """Return the page at ``cursor`` and the next cursor; raise ValueError for a bad cursor."""
        index = decode_cursor(cursor) if cursor else 0
        if index >= max(len(self.pages), 1):
            raise ValueError("cursor is past the end of the list")
        page = self.pages[index] if self.pages else ()
        return page, encode_cursor(index + 1) if index + 1 < len(self.pages) else None


def encode_cursor(index: int) -> str:
    """Return an opaque cursor for page ``index``."""
    return base64.urlsafe_b64encode(f"p{index}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Return the page index in ``cursor``; raise ValueError when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("cursor is not valid") from exc
    if not raw.startswith("p") or not raw[1:].isdigit() or len(raw) > 8:
        raise ValueError("cursor is not valid")
    return int(raw[1:])


class Catalog:
    """Every tool we serve, with what a call needs precomputed; views are cached per filter.

    Paginated list tools are shown with our ``cursor`` (``pipeline/paging.py``); their request plans keep
    Confluence's own parameters, which the ``cursor`` step fills.
    """

    def __init__(self, tools: tuple[Tool, ...], *, page_size: int = 100) -> None:
        self.paging: dict[str, Paging] = {}
        served: list[Tool] = []
        for tool in tools:
            paging = paging_for(tool)
            if paging is not None:
                self.paging[tool.name] = paging
                tool = paged_tool(tool, paging)
            served.append(tool)
        self.tools = tuple(served)
        self.page_size = page_size
        self.by_name = {t.name: t for t in self.tools}
        self.plans = {t.name: RequestPlan(t.binding) for t in self.tools}
        self._validators: dict[str, Draft202012Validator] = {}
        self._wire = {t.name: _wire_tool(t) for t in self.tools}
        self._views: dict[ToolFilter, ToolView] = {}

    def view(self, tool_filter: ToolFilter) -> ToolView:
        """Return the (cached) view for ``tool_filter``."""
        view = self._views.get(tool_filter)
        if view is None:
            tools = visible_tools(self.tools, tool_filter)
            wire = [self._wire[t.name] for t in tools]
            pages = tuple(tuple(wire[i : i + self.page_size]) for i in range(0, len(wire), self.page_size))
            view = ToolView(tools=tools, by_name={t.name: t for t in tools}, pages=pages)
            self._views[tool_filter] = view
        return view

    def input_schema(self, name: str) -> Mapping[str, Any] | None:
        """Return a tool's inputSchema by name (for the SDK's header-mirroring check)."""
        tool = self.by_name.get(name)
        return tool.input_schema if tool is not None else None

    def check_arguments(self, tool: Tool, arguments: Mapping[str, Any]) -> str | None:
        """Return a message naming each bad argument, or None when the arguments are valid."""
        validator = self._validators.get(tool.name)
        if validator is None:
            validator = Draft202012Validator(tool.input_schema)
            self._validators[tool.name] = validator
        errors = sorted(validator.iter_errors(arguments), key=lambda e: (list(e.absolute_path), e.validator))
        if not errors:
            return None
        lines = [_describe(tool, error) for error in errors[:5]]
        more = f" (and {len(errors) - 5} more problems)" if len(errors) > 5 else ""
        return f"Invalid arguments for {tool.name}: " + "; ".join(lines) + more + "."


def _describe(tool: Tool, error: ValidationError) -> str:
    path = list(error.absolute_path)
    where = "argument " + repr(".".join(str(p) for p in path)) if path else "arguments"
    if error.validator == "required" and not path:
        missing = str(error.message).split("'")[1] if "'" in str(error.message) else str(error.message)
        return f"argument {missing!r} is required"
    if error.validator == "additionalProperties" and not path:
        allowed = ", ".join(sorted(tool.input_schema.get("properties", {})))
        return f"{error.message}; valid arguments are: {allowed}"
    return f"{where}: {error.message}"


def _wire_tool(tool: Tool) -> dict[str, Any]:
    """Return the tools/list entry, as the SDK would serialize it (camelCase, no nulls)."""
    return {
        "name": tool.name,
        "title": tool.title,
        "description": tool.description,
        "inputSchema": dict(tool.input_schema),
        "annotations": tool.annotations.as_dict(),
    }
