"""Lean results: Confluence's answer without what an agent never reads, plus the one link it does.

Recursively, every object loses ``_links``, ``_expandable`` and fields that are empty (null, ``""``, ``[]``,
``{}``, including objects left empty by the same rule); an object whose ``_links.webui`` names a web page gains
``web_url``, that page's absolute address, built from the nearest ``_links.base`` (Confluence sends it at the
top of an answer) or else the account's site. List items are cleaned but never dropped, so positions hold;
``false`` and ``0`` are values, not empty. At the top, ``next_cursor`` (even null) and ``results`` always stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from confluence_mcp.pipeline.paging import LIMIT_NOTE, NEXT_CURSOR

WEB_URL: Final = "web_url"
"""The field that carries an object's absolute web address."""

_DROPPED: Final = frozenset({"_links", "_expandable"})
_KEPT_AT_TOP: Final = frozenset({NEXT_CURSOR, LIMIT_NOTE, "results"})


def lean_result(structured: Mapping[str, Any], site_wiki: str) -> dict[str, Any]:
    """Return ``structured`` lean; ``site_wiki`` (``https://site/wiki``) is the base when Confluence gives none."""
    base = _base(structured, site_wiki)
    out = _lean_object(structured, base)
    for key in _KEPT_AT_TOP:
        if key in structured and key not in out:
            out[key] = _lean_value(structured[key], base)
    return out


def _base(item: Mapping[str, Any], inherited: str) -> str:
    links = item.get("_links")
    base = links.get("base") if isinstance(links, Mapping) else None
    return base.rstrip("/") if isinstance(base, str) and base.startswith(("https://", "http://")) else inherited


def _lean_object(item: Mapping[str, Any], inherited: str) -> dict[str, Any]:
    base = _base(item, inherited)
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key in _DROPPED:
            continue
        value = _lean_value(value, base)
        if not _is_empty(value):
            out[key] = value
    url = _web_url(item, base)
    if url is not None and WEB_URL not in out:
        out[WEB_URL] = url
    return out


def _lean_value(value: Any, base: str) -> Any:
    if isinstance(value, Mapping):
        return _lean_object(value, base)
    if isinstance(value, list):
        return [_lean_value(v, base) for v in value]
    return value


def _is_empty(value: Any) -> bool:
    # Not ``value in (None, "", [], {})``: 0 == False, and both are values.
    return value is None or (isinstance(value, str | list | dict) and not value)


def _web_url(item: Mapping[str, Any], base: str) -> str | None:
    links = item.get("_links")
    webui = links.get("webui") if isinstance(links, Mapping) else None
    if not isinstance(webui, str) or not webui:
        return None
    if webui.startswith(("https://", "http://")):
        return webui
    return f"{base}/{webui.lstrip('/')}" if base else None
