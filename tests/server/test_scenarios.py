"""The seed's scenarios, tool by tool, as an agent would run them through our server."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from confluence_mcp.simulator import SEED
from tests.support.stack import Stack

pytestmark = pytest.mark.anyio


def _ok(result: dict[str, Any]) -> dict[str, Any]:
    assert result["isError"] is False, result["content"][0]["text"]
    structured: dict[str, Any] = result["structuredContent"]
    return structured


async def test_find_product_ops_and_create_q4_launch_plan(stack: Stack) -> None:
    """Find the 'Product Ops' space by listing spaces, then create 'Q4 Launch Plan' in it."""
    spaces = _ok(await stack.call("list_all_confluence_spaces", {}))["results"]
    ops = next(s for s in spaces if s["name"] == "Product Ops")
    created = _ok(
        await stack.call(
            "create_a_confluence_page",
            {
                "spaceId": ops["id"],
                "title": "Q4 Launch Plan",
                "body": {"representation": "storage", "value": "<h1>Q4</h1><p>Milestones &amp; owners</p>"},
            },
        )
    )
    assert created["title"] == "Q4 Launch Plan"
    assert created["spaceId"] == ops["id"]
    assert created["version"]["number"] == 1
    sent = stack.sim.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/wiki/api/v2/pages")
    assert sent.json["body"]["representation"] == "storage"
    again = _ok(await stack.call("get_single_confluence_page_by_id", {"id": created["id"], "body-format": "storage"}))
    assert again["body"]["storage"]["value"] == "<h1>Q4</h1><p>Milestones &amp; owners</p>"


async def test_read_update_and_stale_conflict(stack: Stack) -> None:
    """Read a page, update it with version + 1, then see the stale update explained as a 409."""
    page = _ok(
        await stack.call("get_single_confluence_page_by_id", {"id": SEED.onboarding_guide_id, "body-format": "storage"})
    )
    version = page["version"]["number"]
    update = {
        "id": SEED.onboarding_guide_id,
        "status": "current",
        "title": page["title"],
        "body": {"representation": "storage", "value": "<p>Updated by the agent</p>"},
        "version": {"number": version + 1, "message": "agent edit"},
    }
    updated = _ok(await stack.call("update_a_confluence_page_by_id", update))
    assert updated["version"]["number"] == version + 1
    stale = await stack.call("update_a_confluence_page_by_id", update)
    assert stale["isError"] is True
    assert f"current version is {version + 1}" in stale["content"][0]["text"]
    assert f"version.number = {version + 2}" in stale["content"][0]["text"]


async def test_invalid_storage_body_is_explained(stack: Stack) -> None:
    """A body that is not well-formed XHTML comes back as Confluence's 400, explained."""
    result = await stack.call(
        "create_a_confluence_page",
        {"spaceId": SEED.ops_space_id, "title": "Broken", "body": {"representation": "storage", "value": "<p>open"}},
    )
    assert result["isError"] is True
    assert "HTTP 400" in result["content"][0]["text"]


async def test_search_by_cql(stack: Stack) -> None:
    """A CQL search by space and title finds the seeded release checklist."""
    found = _ok(
        await stack.call("list_all_confluence_search", {"cql": 'space = "OPS" AND type = page AND title ~ "checklist"'})
    )
    titles = [r["content"]["title"] for r in found["results"]]
    assert "Release checklist" in titles
    sent = stack.sim.requests[-1]
    assert sent.path == "/wiki/rest/api/search"
    assert ("cql", 'space = "OPS" AND type = page AND title ~ "checklist"') in sent.query
    broken = await stack.call("list_all_confluence_search", {"cql": 'space = "OPS" AND'})
    assert broken["isError"] is True
    assert "HTTP 400" in broken["content"][0]["text"]


async def test_remove_john_smith_from_contractors(stack: Stack) -> None:
    """Find the Contractors group and John Smith's accountId, check his groups, remove him, check again."""
    groups = _ok(await stack.call("list_all_confluence_groups", {}))["results"]
    contractors = next(g for g in groups if g["name"] == "Contractors")
    users = _ok(await stack.call("list_all_confluence_users", {"cql": 'user.fullname ~ "John Smith"'}))["results"]
    john = next(u["user"] for u in users if u["user"]["displayName"] == "John Smith")
    assert john["accountId"] == SEED.john_account_id
    before = _ok(await stack.call("list_all_confluence_user_groups", {"accountId": john["accountId"]}))["results"]
    assert "Contractors" in {g["name"] for g in before}
    removed = await stack.call(
        "confluence_groups_remove_member", {"groupId": contractors["id"], "accountId": john["accountId"]}
    )
    assert removed["isError"] is False
    assert "HTTP 204" in removed["content"][0]["text"]
    sent = stack.sim.requests[-1]
    assert (sent.method, sent.path) == ("DELETE", "/wiki/rest/api/group/userByGroupId")
    assert set(sent.query) == {("groupId", contractors["id"]), ("accountId", john["accountId"])}
    after = _ok(await stack.call("list_all_confluence_user_groups", {"accountId": john["accountId"]}))["results"]
    assert "Contractors" not in {g["name"] for g in after}


async def test_pagination_cursor_walks_every_page(stack: Stack) -> None:
    """list_all_confluence_pages with limit=2 is walked to the end by passing next_cursor back as cursor."""
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(50):
        arguments: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = _ok(await stack.call("list_all_confluence_pages", arguments))
        seen.extend(p["id"] for p in page["results"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert SEED.release_checklist_id in seen
    assert len(seen) > 2


async def test_scenario_through_the_modern_sdk_client(stack: Stack) -> None:
    """The 2026-07-28 SDK client runs the group scenario's read steps with the same results."""
    async with (
        httpx2.AsyncClient() as http,
        Client(streamable_http_client(stack.url(), http_client=http), mode="2026-07-28") as client,
    ):
        result = await client.call_tool("list_all_confluence_user_groups", {"accountId": SEED.john_account_id})
        assert result.is_error is False
        assert result.structured_content is not None
        assert "Contractors" in {g["name"] for g in result.structured_content["results"]}
