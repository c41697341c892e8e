"""Discovery mode's three meta tools and the plain-text ranking behind ``search_tools``.

A server in discovery mode lists only ``search_tools``, ``get_tool_schema`` and ``call_tool``, so an agent
starts with about 2 KB of tool definitions instead of the whole API, and asks for what it needs. Everything
here reads the server's own filtered view: a tool filtered out of the server is never found, described or run.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from confluence_mcp.openapi.models import Annotations, Binding, Tool

__all__ = ["CALL_TOOL", "GET_TOOL_SCHEMA", "META_TOOLS", "SEARCH_TOOLS", "rank_tools", "suggest"]

SEARCH_TOOLS = "search_tools"
GET_TOOL_SCHEMA = "get_tool_schema"
CALL_TOOL = "call_tool"
MAX_SCHEMAS = 5

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset({"a", "an", "the", "of", "to", "in", "on", "for", "by", "and", "or", "with", "my", "me", "i", "all"})
# What agents say, and the method word our tool names use for it.
_SYNONYMS = {
    "find": "list", "search": "search", "lookup": "list", "show": "get", "read": "get", "fetch": "get",
    "view": "get", "open": "get", "add": "create", "new": "create", "make": "create", "write": "create",
    "edit": "update", "change": "update", "modify": "update", "rename": "update",
    "move": "update", "remove": "delete", "drop": "delete", "erase": "delete", "member": "member",
    "user": "user", "person": "user", "people": "user", "blog": "blogpost", "doc": "page", "document": "page",
}  # fmt: skip
_NAME_WEIGHT, _TITLE_WEIGHT, _TAG_WEIGHT, _TEXT_WEIGHT = 4.0, 3.0, 2.0, 1.0
_EXTRA_NAME_WORD = 0.5
"""Taken off per word of the tool's name the query did not ask for: the most precise name wins a tie."""
_NAME_FILLER = frozenset({"list", "all", "confluence", "single", "by", "id", "a", "get"})


def _stem(word: str) -> str:
    """Reduce a word to a crude stem so plurals and their singulars meet (pages/page, replies/reply)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP}


def _query_words(query: str) -> set[str]:
    words = _words(query)
    return words | {_SYNONYMS[w] for w in words if w in _SYNONYMS}


def rank_tools(tools: Sequence[Tool], query: str, limit: int) -> list[Tool]:
    """Return up to ``limit`` of ``tools`` that match ``query``, best first (ties by name)."""
    wanted = _query_words(query)
    if not wanted:
        return []
    scored: list[tuple[float, str, Tool]] = []
    for tool in tools:
        name_words = _words(tool.name.replace("_", " "))
        fields = (
            (name_words, _NAME_WEIGHT),
            (_words(tool.title), _TITLE_WEIGHT),
            ({_stem(t) for t in tool.tags}, _TAG_WEIGHT),
            (_words(tool.description), _TEXT_WEIGHT),
        )
        score = sum(max((weight for words, weight in fields if word in words), default=0.0) for word in wanted)
        if score > 0:
            score -= _EXTRA_NAME_WORD * len(name_words - _NAME_FILLER - wanted)
            scored.append((score, tool.name, tool))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [tool for _, _, tool in scored[:limit]]


def suggest(name: str, names: Sequence[str]) -> list[str]:
    """Return up to three visible tool names close to ``name``."""
    return difflib.get_close_matches(name, names, n=3, cutoff=0.5)


def summary(tool: Tool) -> dict[str, Any]:
    """Return what ``search_tools`` shows of a tool: name, title, its description's first sentence, tags."""
    first = tool.description.split(". ", 1)[0].rstrip(".") + "."
    return {"name": tool.name, "title": tool.title, "description": first, "tags": list(tool.tags)}


def _meta(name: str, title: str, description: str, schema: Mapping[str, Any], *, read_only: bool) -> Tool:
    return Tool(
        name=name,
        title=title,
        description=description,
        input_schema=schema,
        annotations=Annotations(
            title=title, read_only_hint=read_only, destructive_hint=not read_only, idempotent_hint=read_only
        ),
        method="get" if read_only else "call",
        group="read" if read_only else "custom",
        tags=("discovery",),
        binding=Binding(method="GET", path="/", arguments=()),
    )


META_TOOLS: tuple[Tool, ...] = (
    _meta(
        SEARCH_TOOLS,
        "Search Confluence tools",
        "Finds the Confluence tools for a task, e.g. 'update a page' or 'group members'; answers their names, "
        "titles, first description sentence and tags, best first. Then get_tool_schema for their arguments.",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1, "description": "What you want to do, in words."},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        read_only=True,
    ),
    _meta(
        GET_TOOL_SCHEMA,
        "Describe Confluence tools",
        f"Answers the full definitions (description, inputSchema, annotations) of up to {MAX_SCHEMAS} tools "
        "by name; unknown names get suggestions.",
        {
            "type": "object",
            "properties": {
                "tool_names": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "maxItems": MAX_SCHEMAS,
                }
            },
            "required": ["tool_names"],
            "additionalProperties": False,
        },
        read_only=True,
    ),
    _meta(
        CALL_TOOL,
        "Run a Confluence tool",
        "Runs one tool by name with its arguments (as its inputSchema says) and answers exactly what the tool "
        "answers. Writes change Confluence.",
        {
            "type": "object",
            "properties": {
                "tool_name": {"type": "string"},
                "arguments": {"type": "object", "description": "The tool's arguments; {} when it takes none."},
            },
            "required": ["tool_name"],
            "additionalProperties": False,
        },
        read_only=False,
    ),
)
"""What tools/list shows on a server in discovery mode."""
