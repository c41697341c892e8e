"""Per-MCP-server tool filters: ``methods`` AND ``tags``, less hidden deprecated tools, decide what agents see."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

from confluence_mcp.openapi.models import READ_METHODS, STANDARD_METHODS, WRITE_METHODS, Tool

GROUPS = ("read", "write", "custom")
HideDeprecated = Literal["replaced", "all", "none"]
"""Which deprecated tools a server hides: those with a replacement (the default), all of them, or none."""
HIDE_DEPRECATED: Final[tuple[str, ...]] = get_args(HideDeprecated)
_METHOD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TAG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True, slots=True)
class ToolFilter:
    """A server's filters; empty ``methods`` or ``tags`` means no restriction on that axis."""

    methods: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    hide_deprecated: HideDeprecated = "replaced"

    def allows(self, tool: Tool) -> bool:
        """Return whether ``tool`` passes the methods and the tags filter and is not a hidden deprecated tool."""
        if tool.deprecated and (
            self.hide_deprecated == "all" or (self.hide_deprecated == "replaced" and tool.replaced_by)
        ):
            return False
        return self._method_ok(tool.method) and (not self.tags or not self.tags.isdisjoint(tool.tags))

    def _method_ok(self, method: str) -> bool:
        wanted = self.methods
        if not wanted or method in wanted:
            return True
        if method in READ_METHODS:
            return "read" in wanted
        if method in WRITE_METHODS:
            return "write" in wanted
        return "custom" in wanted


def visible_tools(tools: Iterable[Tool], tool_filter: ToolFilter) -> tuple[Tool, ...]:
    """Return the tools ``tool_filter`` lets through, in their original order."""
    return tuple(t for t in tools if tool_filter.allows(t))


def normalize_methods(values: Sequence[str]) -> tuple[str, ...]:
    """Return cleaned method filter entries; raise ValueError naming a malformed entry."""
    cleaned: list[str] = []
    for raw in values:
        value = raw.strip().lower()
        if not _METHOD_NAME.match(value):
            raise ValueError(
                f"methods: {raw!r} is not a method; use read, write, custom, "
                f"{', '.join(STANDARD_METHODS)} or a custom method name such as remove_member"
            )
        if value not in cleaned:
            cleaned.append(value)
    return tuple(cleaned)


def normalize_tags(values: Sequence[str]) -> tuple[str, ...]:
    """Return cleaned tag filter entries; raise ValueError naming a malformed entry."""
    cleaned: list[str] = []
    for raw in values:
        value = raw.strip()
        if not _TAG_NAME.match(value):
            raise ValueError(f"tags: {raw!r} is not a tag (letters, digits, '_', '.', '-')")
        if value not in cleaned:
            cleaned.append(value)
    return tuple(cleaned)


def describe_filter(tool_filter: ToolFilter) -> str:
    """Return a short human description, used in 'no tool passes' errors."""
    methods = ", ".join(sorted(tool_filter.methods)) or "any"
    tags = ", ".join(sorted(tool_filter.tags)) or "any"
    return f"methods [{methods}] and tags [{tags}]"


@dataclass(frozen=True, slots=True)
class UnknownEntry:
    """A filter entry no tool has: where it is, what was written, the nearest valid one and all valid ones."""

    axis: str
    index: int
    value: str
    suggestion: str | None
    valid: tuple[str, ...]


def unknown_entries(tools: Iterable[Tool], methods: Sequence[str], tags: Sequence[str]) -> list[UnknownEntry]:
    """Return the method and tag entries that match no tool (``raed``, ``page``), with a suggestion each."""
    tools = tuple(tools)
    valid_methods = tuple(sorted(set(GROUPS) | {t.method for t in tools}))
    valid_tags = tuple(sorted({tag for t in tools for tag in t.tags}))
    found = []
    for axis, values, valid in (("methods", methods, valid_methods), ("tags", tags, valid_tags)):
        for index, value in enumerate(values):
            if value not in valid:
                near = difflib.get_close_matches(value, valid, n=1, cutoff=0.6)
                found.append(UnknownEntry(axis, index, value, near[0] if near else None, valid))
    return found
