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
    top = structured if type(structured) is dict else dict(structured)
    out = _lean_object(top, site_wiki)
    base = _base(top.get("_links"), site_wiki)
    for key in _KEPT_AT_TOP:
        if key in top and key not in out:
            out[key] = _lean_value(top[key], base)
    return out


# Exact type tests, not isinstance against the ABCs: what json.loads gives is dict, list and str, and the ABC
# checks were most of the cost of this step (it runs on every successful call).


def _base(links: Any, inherited: str) -> str:
    base = links.get("base") if type(links) is dict else None
    return base.rstrip("/") if type(base) is str and base.startswith(("https://", "http://")) else inherited


def _lean_object(item: dict[str, Any], inherited: str) -> dict[str, Any]:
    links = item.get("_links")
    base = _base(links, inherited)
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key in _DROPPED:
            continue
        kind = type(value)
        if kind is dict:
            value = _lean_object(value, base)
            if not value:
                continue
        elif kind is list:
            if not value:
                continue
            value = [_lean_value(v, base) for v in value]  # items are cleaned, never dropped: positions hold
        elif value is None or (kind is str and not value):
            continue
        out[key] = value
    if type(links) is dict and WEB_URL not in out:
        url = _web_url(links.get("webui"), base)
        if url is not None:
            out[WEB_URL] = url
    return out


def _lean_value(value: Any, base: str) -> Any:
    kind = type(value)
    if kind is dict:
        return _lean_object(value, base)
    if kind is list:
        return [_lean_value(v, base) for v in value]
    return value


def _web_url(webui: Any, base: str) -> str | None:
    if type(webui) is not str or not webui:
        return None
    if webui.startswith(("https://", "http://")):
        return webui
    return f"{base}/{webui.lstrip('/')}" if base else None
