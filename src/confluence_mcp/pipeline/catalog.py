"""The tool catalog: tools as agents see them, validators, request plans, paging and per-filter views, built once."""

from __future__ import annotations

import base64
import binascii
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from confluence_mcp.errors import ConfigError
from confluence_mcp.openapi import Tool
from confluence_mcp.openapi.compact import wire_schema
from confluence_mcp.openapi.twins import v2_twins
from confluence_mcp.pipeline.chatgpt_tools import ExtraTool
from confluence_mcp.pipeline.discovery import META_TOOLS
from confluence_mcp.pipeline.markdown import (
    MarkdownWrite,
    markdown_read_tool,
    markdown_reads,
    markdown_write_tool,
    markdown_writes,
)
from confluence_mcp.pipeline.paging import Paging, paged_tool, paging_for
from confluence_mcp.pipeline.quick_check import QuickCheck, quick_check
from confluence_mcp.pipeline.updates import SafeUpdate, safe_update_tool, safe_updates
from confluence_mcp.policy.filters import ToolFilter, visible_tools
from confluence_mcp.upstream.request import RequestPlan, UpstreamRequest

VIEW_CACHE_LIMIT = 256
"""Filtered views kept at most, least recently used dropped first; a view is rebuilt on demand, and cursors
are stateless page numbers, so a dropped view costs one rebuild and never invalidates a cursor."""


@dataclass(frozen=True, slots=True)
class ToolView:
    """What one filter lets an agent see: tools by name and ready tools/list pages."""

    tools: tuple[Tool, ...]
    by_name: Mapping[str, Tool]
    pages: tuple[tuple[dict[str, Any], ...], ...]
    rendered: dict[tuple[object, ...], Any] = field(default_factory=dict, compare=False, repr=False)
    """Pages as a transport serialized them, by the transport's own key; they live and die with this view, so a
    dropped view's pages can never be served for another (as an ``id()``-keyed cache could, once ids are reused)."""

    def page(self, cursor: str | None) -> tuple[tuple[dict[str, Any], ...], str | None]:
        """Return the page at ``cursor`` and the next cursor; raise ValueError for a bad cursor."""
        index = decode_cursor(cursor) if cursor else 0
        if index >= max(len(self.pages), 1):
            raise ValueError("cursor is past the end of the list")
        page = self.pages[index] if self.pages else ()
        return page, encode_cursor(index + 1) if index + 1 < len(self.pages) else None


class Plan(Protocol):
    """What turns a tool's validated arguments into its upstream request."""

    def build(self, arguments: Mapping[str, Any]) -> UpstreamRequest:
        """Return the request; raise InvalidArguments for a value that cannot be placed."""
        ...


@dataclass(frozen=True, slots=True)
class _ExtraPlan:
    builder: Callable[[Mapping[str, Any]], UpstreamRequest]

    def build(self, arguments: Mapping[str, Any]) -> UpstreamRequest:
        return self.builder(arguments)


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
    Confluence's own parameters, which the ``cursor`` step fills. Page and blog-post updates take ``version``
    optionally and ``expected_version`` (``pipeline/updates.py``), which the ``version`` step resolves. Tools
    that read or write bodies also take Markdown (``pipeline/markdown.py``), which ``steps/markdown.py`` converts.
    """

    def __init__(self, tools: tuple[Tool, ...], *, page_size: int = 100, extras: Sequence[ExtraTool] = ()) -> None:
        clash = sorted({t.name for t in tools} & {e.tool.name for e in extras})
        if clash:
            raise ConfigError(f"documents: tool names {', '.join(clash)} are reserved for the server's own tools")
        self.paging: dict[str, Paging] = {}
        self.safe_updates: dict[str, SafeUpdate] = safe_updates(tools)
        """Page and blog-post updates: ``version`` optional, ``expected_version`` added (``pipeline/updates.py``)."""
        self.markdown_reads = markdown_reads(tools)
        """Tools whose ``body-format`` also offers ``markdown``."""
        self.markdown_writes: dict[str, MarkdownWrite] = markdown_writes(tools)
        """Writes whose ``body`` may be Markdown, with the reader that resolves its placeholders."""
        served: list[Tool] = []
        for tool in tools:
            paging = paging_for(tool)
            if paging is not None:
                self.paging[tool.name] = paging
                tool = paged_tool(tool, paging)
            if tool.name in self.safe_updates:
                tool = safe_update_tool(tool)
            if tool.name in self.markdown_reads:
                tool = markdown_read_tool(tool)
            if tool.name in self.markdown_writes:
                tool = markdown_write_tool(tool)
            served.append(tool)
        self.tools = (*served, *(e.tool for e in extras))
        self.page_size = page_size
        self.by_name = {t.name: t for t in self.tools}
        self.plans: dict[str, Plan] = {t.name: RequestPlan(t.binding) for t in self.tools}
        self.plans.update({e.tool.name: _ExtraPlan(e.build) for e in extras})
        self.shapers = {e.tool.name: e.shape for e in extras if e.shape is not None}
        """Result shapers of the tools that need their own; the others use ``outcome_from_response``."""
        self.twins = v2_twins(((t.binding.method, t.binding.path), t.name) for t in self.tools)
        """v1 tool -> the served v2 tool doing the same, named when Confluence answers a v1 tool 410 Gone."""
        self._validators: dict[str, Draft202012Validator] = {}
        self._quick: dict[str, QuickCheck | None] = {t.name: quick_check(t.input_schema) for t in self.tools}
        """Per tool, the quick yes that spares most calls the full validator (``pipeline/quick_check.py``)."""
        self._wire = {t.name: _wire_tool(t) for t in self.tools}
        self._views: OrderedDict[ToolFilter, ToolView] = OrderedDict()
        self._discovery: ToolView | None = None

    def view(self, tool_filter: ToolFilter) -> ToolView:
        """Return the (cached) view for ``tool_filter``."""
        views = self._views
        view = views.get(tool_filter)
        if view is not None:
            views.move_to_end(tool_filter)
            return view
        tools = visible_tools(self.tools, tool_filter)
        wire = [self._wire[t.name] for t in tools]
        pages = tuple(tuple(wire[i : i + self.page_size]) for i in range(0, len(wire), self.page_size))
        view = ToolView(tools=tools, by_name={t.name: t for t in tools}, pages=pages)
        views[tool_filter] = view
        if len(views) > VIEW_CACHE_LIMIT:  # every MCP server may bring its own filters: keep memory bounded
            views.popitem(last=False)
        return view

    @property
    def cached_views(self) -> int:
        """Return how many filtered views are cached now (at most ``VIEW_CACHE_LIMIT``)."""
        return len(self._views)

    def discovery_view(self) -> ToolView:
        """Return what tools/list shows in discovery mode: the three meta tools, on one page."""
        view = self._discovery
        if view is None:
            wire = tuple(_wire_tool(t) for t in META_TOOLS)
            view = ToolView(tools=META_TOOLS, by_name={t.name: t for t in META_TOOLS}, pages=(wire,))
            self._discovery = view
        return view

    def wire(self, name: str) -> dict[str, Any]:
        """Return a tool's tools/list entry by name (KeyError when there is no such tool)."""
        return self._wire[name]

    def input_schema(self, name: str) -> Mapping[str, Any] | None:
        """Return a tool's inputSchema by name (for the SDK's header-mirroring check)."""
        tool = self.by_name.get(name)
        return tool.input_schema if tool is not None else None

    def check_arguments(self, tool: Tool, arguments: Mapping[str, Any]) -> str | None:
        """Return a message naming each bad argument, or None when the arguments are valid."""
        quick = self._quick.get(tool.name)
        if quick is not None and quick(arguments):
            return None
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
        "inputSchema": wire_schema(tool.input_schema),  # the bounds stay in the validator, not the context
        "annotations": _wire_annotations(tool),
    }


def _wire_annotations(tool: Tool) -> dict[str, Any]:
    """Return the annotations without what the MCP defaults already say; the meaning is unchanged.

    The spec makes every field optional: ``title`` falls back to the tool's title, ``openWorldHint``
    defaults to true, and ``destructiveHint`` and ``idempotentHint`` mean something only when
    ``readOnlyHint`` is false. ``readOnlyHint`` is always sent, and both write hints on every
    non-read-only tool, so no client has to know a default to see that a tool deletes.
    """
    full = tool.annotations.as_dict()
    out: dict[str, Any] = {}
    if full["title"] != tool.title:
        out["title"] = full["title"]
    out["readOnlyHint"] = full["readOnlyHint"]
    if not full["readOnlyHint"]:
        out["destructiveHint"] = full["destructiveHint"]
        out["idempotentHint"] = full["idempotentHint"]
    if not full["openWorldHint"]:
        out["openWorldHint"] = False
    return out
