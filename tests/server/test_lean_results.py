"""Lean results end to end: what an agent gets by default, and what a server with lean_results false gets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from confluence_mcp.simulator import SEED
from tests.support.stack import Stack

pytestmark = pytest.mark.anyio

GET_PAGE = "get_single_confluence_page_by_id"


def _ok(result: dict[str, Any]) -> dict[str, Any]:
    assert result["isError"] is False, result["content"][0]["text"]
    structured: dict[str, Any] = result["structuredContent"]
    assert json.loads(result["content"][0]["text"]) == structured  # the text mirrors what is structured
    return structured


def _keys(value: Any) -> set[str]:
    """Every object key anywhere in ``value``."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def _empties(value: Any) -> list[Any]:
    """Every object field anywhere in ``value`` whose value is null, "", [] or {}."""
    found: list[Any] = []
    if isinstance(value, dict):
        found += [v for v in value.values() if v is None or (isinstance(v, str | list | dict) and not v)]
        for v in value.values():
            found += _empties(v)
    elif isinstance(value, list):
        for v in value:
            found += _empties(v)
    return found


async def test_a_page_read_is_lean_and_carries_its_web_url(stack: Stack) -> None:
    """By default a page has no _links, _expandable or empty field, and web_url is its absolute web address."""
    page = _ok(await stack.call(GET_PAGE, {"id": SEED.release_checklist_id, "body-format": "storage"}))
    full = _ok(await stack.call(GET_PAGE, {"id": SEED.release_checklist_id, "body-format": "storage"}, server="full"))

    assert not {"_links", "_expandable"} & _keys(page)
    assert _empties(page) == []
    assert page["web_url"] == full["_links"]["base"] + full["_links"]["webui"]
    assert page["web_url"].startswith(f"{stack.sim_url}/wiki/spaces/")
    assert page["body"]["storage"]["value"] == full["body"]["storage"]["value"]
    assert page["version"]["number"] == full["version"]["number"]


async def test_a_list_is_lean_item_by_item_and_keeps_next_cursor(stack: Stack) -> None:
    """Each listed page gets its own web_url; next_cursor stays at the top, null on the last page too."""
    first = _ok(await stack.call("list_all_confluence_pages", {"limit": 2}))
    everything = _ok(await stack.call("list_all_confluence_pages", {"limit": 250}))

    assert isinstance(first["next_cursor"], str)
    assert "next_cursor" in everything
    assert everything["next_cursor"] is None
    for item in [*first["results"], *everything["results"]]:
        assert item["web_url"].startswith(f"{stack.sim_url}/wiki/spaces/"), item
        assert not {"_links", "_expandable"} & _keys(item)


async def test_a_server_with_lean_results_false_gets_confluences_answer_whole(stack: Stack) -> None:
    """lean_results: false keeps _links and adds nothing: the text is Confluence's answer as it came."""
    result = await stack.call(GET_PAGE, {"id": SEED.release_checklist_id}, server="full")

    structured = _ok(result)
    assert "_links" in structured
    assert "web_url" not in structured


async def test_v1_results_lose_their_expandables_and_self_links(stack: Stack) -> None:
    """A v1 answer (a CQL search) sheds _expandable and _links at every level and keeps each hit's web_url."""
    found = _ok(await stack.call("list_all_confluence_search", {"cql": "type = page"}))
    full = _ok(await stack.call("list_all_confluence_search", {"cql": "type = page"}, server="full"))

    assert "_expandable" in _keys(full) or "_links" in _keys(full)
    assert not {"_links", "_expandable"} & _keys(found)
    assert len(found["results"]) == len(full["results"])
