"""Markdown bodies: ``body-format: "markdown"`` on reads, ``{"representation": "markdown"}`` on writes.

What agents see is computed once, when the catalog is built: every tool whose ``body-format`` offers
``storage`` also offers ``markdown``, and every write whose ``body.representation`` offers ``storage`` also
takes ``markdown``; ``openapi/`` keeps Confluence's own values. Per call, ``steps/markdown.py`` asks Confluence
for storage and converts with ``content/`` (the same code as ``confluence-mcp convert``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from confluence_mcp.content import to_markdown
from confluence_mcp.errors import StorageUnreadable
from confluence_mcp.openapi.models import Tool
from confluence_mcp.pipeline.updates import path_argument

MARKDOWN: Final = "markdown"
BODY_FORMAT: Final = "body-format"
_BODY_HELP: Final = '{"representation": "markdown", "value": "Hi *all*"}, or storage XHTML.'
_MAX_DEPTH: Final = 6
"""How deep a result is searched for bodies: a list's ``results[i].body.storage`` is at depth four."""


@dataclass(frozen=True, slots=True)
class MarkdownWrite:
    """A write tool that takes Markdown bodies, and the get tool that reads the object it changes (if any)."""

    tool: str
    reader: str | None
    """The get tool on the same path (updates): placeholders are resolved against its current storage."""
    id_argument: str | None
    reader_id_argument: str | None


def markdown_reads(tools: Iterable[Tool]) -> frozenset[str]:
    """Return the names of the tools whose ``body-format`` offers ``storage``."""
    return frozenset(t.name for t in tools if "storage" in _enum(t.input_schema.get("properties", {}), BODY_FORMAT))


def markdown_writes(tools: Iterable[Tool]) -> dict[str, MarkdownWrite]:
    """Return the write tools whose ``body.representation`` offers ``storage``, by name, with their readers."""
    tools = tuple(tools)
    readers = {t.binding.path: t for t in tools if t.binding.method == "GET"}
    found: dict[str, MarkdownWrite] = {}
    for tool in tools:
        if tool.binding.method not in {"POST", "PUT"} or "storage" not in _representations(tool):
            continue
        reader = readers.get(tool.binding.path) if tool.binding.method == "PUT" else None
        id_argument = path_argument(tool) if reader else None
        reader_id = path_argument(reader) if reader else None
        if reader is None or id_argument is None or reader_id is None:
            found[tool.name] = MarkdownWrite(tool.name, None, None, None)
        else:
            found[tool.name] = MarkdownWrite(tool.name, reader.name, id_argument, reader_id)
    return found


def markdown_read_tool(tool: Tool) -> Tool:
    """Return ``tool`` with ``markdown`` first among its ``body-format`` values."""
    properties = dict(tool.input_schema["properties"])
    body_format = dict(properties[BODY_FORMAT])
    body_format["enum"] = [MARKDOWN, *body_format["enum"]]
    properties[BODY_FORMAT] = body_format
    return dataclasses.replace(tool, input_schema={**tool.input_schema, "properties": properties})


def markdown_write_tool(tool: Tool) -> Tool:
    """Return ``tool`` with ``markdown`` first among its body representations."""
    properties = dict(tool.input_schema["properties"])
    body = dict(properties["body"])
    inner = dict(body["properties"])
    representation = dict(inner["representation"])
    representation["enum"] = [MARKDOWN, *representation["enum"]]
    inner["representation"] = representation
    body["properties"] = inner
    body["description"] = _BODY_HELP
    properties["body"] = body
    return dataclasses.replace(tool, input_schema={**tool.input_schema, "properties": properties})


def markdown_body(arguments: Mapping[str, Any]) -> str | None:
    """Return the Markdown an agent sent as ``body``, or None when the body is in another representation."""
    body = arguments.get("body")
    if isinstance(body, Mapping) and body.get("representation") == MARKDOWN and isinstance(body.get("value"), str):
        return str(body["value"])
    return None


def current_storage(current: Mapping[str, Any]) -> str | None:
    """Return ``body.storage.value`` of an object as Confluence answered it with ``body-format=storage``."""
    body = current.get("body")
    storage = body.get("storage") if isinstance(body, Mapping) else None
    value = storage.get("value") if isinstance(storage, Mapping) else None
    return value if isinstance(value, str) else None


def bodies_as_markdown(node: Any, depth: int = 0) -> tuple[Any, int]:
    """Return ``node`` with every ``body.storage`` turned into ``{"representation": "markdown", "value"}``.

    Also returns how many bodies could not be read as XHTML: those keep their storage, so nothing is lost.
    """
    if depth > _MAX_DEPTH:
        return node, 0
    if isinstance(node, list):
        unread = 0
        items = []
        for item in node:
            converted, failed = bodies_as_markdown(item, depth + 1)
            items.append(converted)
            unread += failed
        return items, unread
    if not isinstance(node, dict):
        return node, 0
    out: dict[str, Any] = {}
    unread = 0
    for key, value in node.items():
        if key == "body" and isinstance(value, dict):
            storage = current_storage({"body": value})
            if storage is not None:
                try:
                    out[key] = {"representation": MARKDOWN, "value": to_markdown(storage)}
                    continue
                except StorageUnreadable:
                    unread += 1
        converted, failed = bodies_as_markdown(value, depth + 1)
        out[key] = converted
        unread += failed
    return out, unread


def _enum(properties: Mapping[str, Any], name: str) -> list[Any]:
    schema = properties.get(name)
    enum = schema.get("enum") if isinstance(schema, Mapping) else None
    return list(enum) if isinstance(enum, list) else []


def _representations(tool: Tool) -> list[Any]:
    body = tool.input_schema.get("properties", {}).get("body")
    inner = body.get("properties") if isinstance(body, Mapping) else None
    return _enum(inner, "representation") if isinstance(inner, Mapping) else []
