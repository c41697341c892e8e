"""Pagination as Confluence does it: v2 opaque cursors with ``Link`` headers, v1 ``start``/``limit`` offsets."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from confluence_mcp.simulator.exchange import Call, JsonObject, Problem, Reply

T = TypeVar("T")

_CURSOR_PREFIX = "sim-offset:"


def encode_cursor(offset: int) -> str:
    """Return an opaque, URL-safe cursor for ``offset``."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """Return the offset inside ``cursor`` (0 when absent) or raise a 400 ``Problem``."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.startswith(_CURSOR_PREFIX):
            offset = int(text[len(_CURSOR_PREFIX) :])
            if offset >= 0:
                return offset
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise Problem(400, f"Invalid value for parameter 'cursor': '{cursor}'")


def _next_query(call: Call, drop: tuple[str, ...], extra: list[tuple[str, str]]) -> str:
    kept = [(key, value) for key, value in call.query if key not in drop]
    return urlencode(kept + extra)


def cursor_page(
    call: Call,
    items: Sequence[T],
    render: Callable[[T], JsonObject],
    *,
    default_limit: int = 25,
    max_limit: int = 250,
) -> Reply:
    """Return one v2 page of ``items``: ``results`` plus ``_links`` and, when more remain, a ``Link`` header."""
    limit = call.int_arg("limit", default_limit, low=1, high=max_limit)
    offset = decode_cursor(call.arg("cursor"))
    chunk = items[offset : offset + limit]
    links: dict[str, Any] = {}
    headers: list[tuple[str, str]] = []
    if offset + limit < len(items):
        query = _next_query(
            call, ("limit", "cursor"), [("limit", str(limit)), ("cursor", encode_cursor(offset + limit))]
        )
        next_link = f"{call.path}?{query}"
        links["next"] = next_link
        headers.append(("link", f'<{next_link}>; rel="next", <{call.base}>; rel="base"'))
    links["base"] = call.base
    return Reply(200, {"results": [render(item) for item in chunk], "_links": links}, headers)


def v1_links(call: Call, path: str | None = None) -> JsonObject:
    """Return v1 ``_links``: ``base``, ``context`` and ``self`` for the request path."""
    relative = (path or call.path).removeprefix("/wiki")
    return {"base": call.base, "context": "/wiki", "self": call.base + relative}


def offset_page(
    call: Call,
    items: Sequence[T],
    render: Callable[[T], JsonObject],
    *,
    default_limit: int,
    max_limit: int,
    reject_over_max: bool = False,
    total: bool = False,
) -> JsonObject:
    """Return one v1 page of ``items``: ``results``, ``start``, ``limit``, ``size``, ``_links`` (``next`` if more)."""
    start = call.int_arg("start", 0, low=0)
    limit = call.int_arg("limit", default_limit, low=0, high=max_limit if reject_over_max else None)
    limit = min(limit, max_limit)
    chunk = items[start : start + limit]
    links = v1_links(call)
    if start + limit < len(items) and limit > 0:
        query = _next_query(call, ("start", "limit"), [("limit", str(limit)), ("start", str(start + limit))])
        links["next"] = f"{call.path.removeprefix('/wiki')}?{query}"
    page: JsonObject = {"results": [render(item) for item in chunk], "start": start, "limit": limit, "size": len(chunk)}
    if total:
        page["totalSize"] = len(items)
    page["_links"] = links
    return page
