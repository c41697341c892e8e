"""One way to page: every paginated list tool takes our opaque ``cursor`` and answers ``next_cursor``.

Confluence pages three ways: v2 lists and CQL search by an opaque ``cursor`` (in ``_links.next``; v2 also
sends a ``Link`` header), v1 lists by ``start``/``limit`` offsets (``_links.next`` while more remain). The
catalog asks ``paging_for`` once per tool and shows agents ``paged_tool``'s surface; the steps in
``steps/paging.py`` call ``Paging.upstream_arguments`` and ``Paging.next_cursor`` per call.

Our cursor is base64url (unpadded) of compact JSON with exactly one key: ``{"c": "<Confluence cursor>"}`` or
``{"s": <start offset>}``. Decoding yields only that value, and it fills exactly one query parameter
(``cursor`` or ``start``) of the tool's own request: Confluence's links are read for that value, never followed.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, urlsplit

from confluence_mcp.errors import InvalidArguments
from confluence_mcp.openapi.models import Tool
from confluence_mcp.policy.json_text import compact_json

Dialect = Literal["cursor", "start"]
"""``cursor``: Confluence's opaque cursor (v2, CQL search); ``start``: a v1 offset."""

CURSOR: Final = "cursor"
"""The argument every paginated list tool takes."""
NEXT_CURSOR: Final = "next_cursor"
"""The top-level result field carrying the cursor of the next page, null on the last page."""
LIMIT_NOTE: Final = "limit_note"
"""The top-level result field saying that ``limit`` was lowered to the MCP server's maximum."""

_KEYS: Final[dict[Dialect, str]] = {"cursor": "c", "start": "s"}
_MAX_CURSOR_CHARS: Final = 4096
_MAX_START: Final = 2**31 - 1
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]+")
_LINK_NEXT: Final = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')

# Undescribed on purpose: every list tool's description and the server instructions say how to page, once.
_CURSOR_SCHEMA: Final = {"type": "string"}
_USE_NEXT_CURSOR: Final = (
    "pass the next_cursor of this tool's previous result unchanged, or omit cursor for the first page"
)


def encode_cursor(dialect: Dialect, value: str | int) -> str:
    """Return our opaque cursor for Confluence's ``value`` (a cursor string or a start offset)."""
    raw = compact_json({_KEYS[dialect]: value}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(dialect: Dialect, cursor: str) -> str | int:
    """Return the Confluence cursor or start offset inside ``cursor``; raise ValueError saying what is wrong."""
    if not cursor:
        raise ValueError(f"is empty: {_USE_NEXT_CURSOR}")
    if len(cursor) > _MAX_CURSOR_CHARS or not _BASE64URL.fullmatch(cursor):
        raise ValueError(f"is not a cursor this server issued: {_USE_NEXT_CURSOR}")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    # UnicodeDecodeError and JSONDecodeError are ValueErrors; deeply nested brackets exhaust the recursion limit.
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise ValueError(f"is not a cursor this server issued: {_USE_NEXT_CURSOR}") from exc
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError(f"is not a cursor this server issued: {_USE_NEXT_CURSOR}")
    ((key, value),) = data.items()
    if key != _KEYS[dialect]:
        if key in _KEYS.values():
            kind = "an offset (start)" if key == "s" else "a Confluence cursor"
            raise ValueError(f"holds {kind} position, which this tool does not page by: {_USE_NEXT_CURSOR}")
        raise ValueError(f"is not a cursor this server issued: {_USE_NEXT_CURSOR}")
    if dialect == "start":
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_START:
            return value
        raise ValueError(f"holds an invalid start offset: {_USE_NEXT_CURSOR}")
    if isinstance(value, str) and value:
        return value
    raise ValueError(f"holds an invalid Confluence cursor: {_USE_NEXT_CURSOR}")


@dataclass(frozen=True, slots=True)
class Paging:
    """How one list tool pages upstream, with what a call needs precomputed."""

    tool: str
    dialect: Dialect
    upstream: str
    """The argument (and binding) that carries Confluence's position: ``cursor`` or ``start``."""
    query: str
    """The query parameter it is sent as (and read back from ``_links.next``)."""
    limit: str | None
    """The ``limit`` argument, when the tool has one."""
    limit_max: int | None
    """Confluence's own maximum for ``limit`` (the schema's ``maximum``), when it declares one."""
    limit_default: int | None
    """Confluence's default ``limit`` (the schema's ``default``), when it declares one."""

    def upstream_arguments(self, arguments: Mapping[str, Any], max_limit: int) -> tuple[dict[str, Any], str | None]:
        """Return the arguments for the request plan (our cursor decoded, ``limit`` capped) and a note, if any.

        Raises InvalidArguments naming ``cursor`` when it is not one of ours.
        """
        upstream = dict(arguments)
        cursor = upstream.pop(CURSOR, None)
        if cursor is not None:
            try:
                upstream[self.upstream] = decode_cursor(self.dialect, cursor)
            except ValueError as exc:
                raise InvalidArguments(f"Invalid arguments for {self.tool}: argument 'cursor' {exc}.") from None
        note = None
        if self.limit is not None:
            cap = max(1, max_limit if self.limit_max is None else min(max_limit, self.limit_max))
            asked = upstream.get(self.limit)
            if asked is None:
                # Confluence's own default may exceed the cap (groups: 200); the cap holds for it too.
                if self.limit_default is not None and self.limit_default > cap:
                    upstream[self.limit] = cap
            elif isinstance(asked, int | float) and asked > cap:
                upstream[self.limit] = cap
                note = f"limit {asked} was lowered to {cap}, the most this MCP server returns per page."
        return upstream, note

    def next_cursor(self, structured: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
        """Return our cursor for the page after this answer, or None on the last page."""
        links = structured.get("_links")
        link = links.get("next") if isinstance(links, Mapping) else None
        if not isinstance(link, str) or not link:
            match = _LINK_NEXT.search(headers.get("link", "")) if self.dialect == "cursor" else None
            link = match.group(1) if match else None
        if not link:
            return None
        value = _query_value(link, self.query)
        if self.dialect == "cursor":
            return encode_cursor("cursor", value) if value else None
        if value is not None and value.isdigit():
            return encode_cursor("start", int(value))
        # A v1 link without a readable start: the next offset is this one plus what came back.
        start, size = structured.get("start"), structured.get("size")
        if type(start) is int and type(size) is int and size > 0:
            return encode_cursor("start", start + size)
        return None


def _query_value(link: str, name: str) -> str | None:
    for key, value in parse_qsl(urlsplit(link).query, keep_blank_values=True):
        if key == name:
            return value
    return None


def paging_for(tool: Tool) -> Paging | None:
    """Return how ``tool`` pages upstream, or None when it is not a list tool with a cursor or start parameter."""
    if tool.method != "list":
        return None
    query = {b.name: b for b in tool.binding.arguments if b.location == "query"}
    properties = tool.input_schema.get("properties", {})
    dialect: Dialect
    if "cursor" in query:
        dialect, binding = "cursor", query["cursor"]
        if binding.argument != CURSOR:
            return None
    elif "start" in query:
        dialect, binding = "start", query["start"]
        if CURSOR in properties:  # the agent's name is taken by something else: leave the tool as it is
            return None
    else:
        return None
    limit = query.get("limit")
    limit_schema = properties.get(limit.argument, {}) if limit is not None else {}
    return Paging(
        tool=tool.name,
        dialect=dialect,
        upstream=binding.argument,
        query=binding.name,
        limit=limit.argument if limit is not None else None,
        limit_max=_integer(limit_schema.get("maximum")),
        limit_default=_integer(limit_schema.get("default")),
    )


def _integer(value: Any) -> int | None:
    return value if type(value) is int else None


def paged_tool(tool: Tool, paging: Paging) -> Tool:
    """Return ``tool`` as agents see it: our ``cursor`` (replacing ``start``), ``limit`` capped per server."""
    properties: dict[str, Any] = {}
    for name, schema in tool.input_schema.get("properties", {}).items():
        if name == paging.upstream:
            properties[CURSOR] = dict(_CURSOR_SCHEMA)
        elif name == paging.limit:
            # Above Confluence's maximum is lowered too, not refused, so the schema keeps only the minimum.
            limit = {key: value for key, value in schema.items() if key != "maximum"}
            properties[name] = limit
        else:
            properties[name] = schema
    input_schema = dict(tool.input_schema)
    input_schema["properties"] = properties
    required = input_schema.get("required")
    if required is not None and paging.upstream in required:
        input_schema["required"] = [name for name in required if name != paging.upstream]
    return dataclasses.replace(tool, input_schema=input_schema)


def with_next_cursor(structured: dict[str, Any], next_cursor: str | None, note: str | None) -> str:
    """Add ``next_cursor`` (and the limit note) to ``structured`` in place; return its JSON text."""
    structured[NEXT_CURSOR] = next_cursor
    if note is not None:
        structured[LIMIT_NOTE] = note
    return compact_json(structured)
