"""One way to page, end to end: our server over the Confluence simulator on loopback, walked as an agent would."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from confluence_mcp.pipeline.paging import encode_cursor
from confluence_mcp.simulator import SEED
from confluence_mcp.simulator.state import Group
from confluence_mcp.store.base import McpServer
from confluence_mcp.store.tokens import hash_token, mint_mcp_token, new_id
from tests.support.stack import SIM_API_TOKEN, SIM_EMAIL, Stack

pytestmark = pytest.mark.anyio


def _ok(result: dict[str, Any]) -> dict[str, Any]:
    assert result["isError"] is False, result["content"][0]["text"]
    structured: dict[str, Any] = result["structuredContent"]
    # The text mirrors the structured content exactly, next_cursor included.
    assert json.loads(result["content"][0]["text"]) == structured
    return structured


async def _walk(
    stack: Stack, tool: str, arguments: dict[str, Any], key: Callable[[Any], str], *, server: str = "all"
) -> tuple[list[str], int]:
    """Call ``tool`` from the first page, passing next_cursor back, until it is null; return ids and page count."""
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        result = await stack.call(tool, {**arguments, **({"cursor": cursor} if cursor else {})}, server=server)
        structured = _ok(result)
        seen += [key(item) for item in structured["results"]]
        pages += 1
        assert "next_cursor" in structured
        cursor = structured["next_cursor"]
        if cursor is None:
            return seen, pages
        assert isinstance(cursor, str)
        assert pages < 60, "the walk does not end"


@dataclass(frozen=True)
class Walk:
    """One list to walk: the tool, its arguments, how to read an item's id, and what every id is."""

    tool: str
    arguments: dict[str, Any]
    key: Callable[[Any], str]
    expected: Callable[[Stack], list[str]]
    path: str
    """The one upstream path every request of the walk must go to."""
    query: frozenset[str]
    """The query parameter names Confluence may see during the walk."""


def _pages(stack: Stack) -> list[str]:
    return [c.id for c in stack.sim.state.content.values() if c.kind == "page" and c.status in ("current", "archived")]


def _current_pages(stack: Stack) -> list[str]:
    return [c.id for c in stack.sim.state.content.values() if c.kind == "page" and c.status == "current"]


WALKS = {
    "v2 cursor (pages)": Walk(
        "list_all_confluence_pages",
        {"limit": 2},
        lambda item: item["id"],
        _pages,
        "/wiki/api/v2/pages",
        frozenset({"limit", "cursor"}),
    ),
    "v1 start (groups)": Walk(
        "list_all_confluence_groups",
        {"limit": 1},
        lambda item: item["id"],
        lambda stack: list(stack.sim.state.groups),
        "/wiki/rest/api/group",
        frozenset({"limit", "start"}),
    ),
    "v1 start (users)": Walk(
        "list_all_confluence_users",
        {"cql": "type = user", "limit": 1},
        lambda item: item["user"]["accountId"],
        lambda stack: list(stack.sim.state.users),
        "/wiki/rest/api/search/user",
        frozenset({"cql", "limit", "start"}),
    ),
    "CQL search cursor": Walk(
        "list_all_confluence_search",
        {"cql": "type = page", "limit": 2},
        lambda item: item["content"]["id"],
        _current_pages,
        "/wiki/rest/api/search",
        frozenset({"cql", "limit", "cursor"}),
    ),
}


@pytest.mark.parametrize("walk", WALKS.values(), ids=WALKS.keys())
async def test_a_walk_visits_every_item_once_and_ends_with_a_null_next_cursor(stack: Stack, walk: Walk) -> None:
    """v2, v1 and CQL lists page the same way for the agent; every item is seen once, over more than three pages."""
    for number in range(3):  # the seed has three groups: a few more make the v1 walk long enough
        stack.sim.state.groups[f"group-{number}"] = Group(f"group-{number}", f"Zz paging group {number}")

    seen, pages = await _walk(stack, walk.tool, walk.arguments, walk.key)

    expected = walk.expected(stack)
    assert pages > 3
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(set(seen))
    # Every request went to the tool's own path with only its own parameters: no link was followed.
    assert {r.path for r in stack.sim.requests} == {walk.path}
    assert {name for r in stack.sim.requests for name, _ in r.query} == walk.query
    assert len(stack.sim.requests) == pages


@pytest.mark.parametrize(
    ("tool", "arguments", "cursor"),
    [
        ("list_all_confluence_pages", {}, "not-a-cursor"),
        ("list_all_confluence_pages", {}, "c2ltLW9mZnNldDoy"),  # Confluence's own cursor, not ours
        ("list_all_confluence_pages", {}, encode_cursor("start", 2)),  # a v1 cursor on a v2 tool
        ("list_all_confluence_groups", {}, encode_cursor("cursor", "abc")),  # and the reverse
        ("list_all_confluence_groups", {}, ""),
        ("list_all_confluence_search", {"cql": "type = page"}, "%%%"),
    ],
)
async def test_a_malformed_cursor_is_a_tool_error_naming_cursor_and_nothing_goes_upstream(
    stack: Stack, tool: str, arguments: dict[str, Any], cursor: str
) -> None:
    """The agent learns which argument is wrong and what to pass instead; Confluence is not asked."""
    result = await stack.call(tool, {**arguments, "cursor": cursor})

    assert result["isError"] is True
    text = result["content"][0]["text"]
    assert text.startswith(f"Invalid arguments for {tool}: argument 'cursor' ")
    assert "next_cursor" in text
    assert stack.sim.requests == []


async def test_a_v1_tool_takes_no_start_argument(stack: Stack) -> None:
    """``start`` is gone from v1 tools: asking for it is an unknown argument, and ``cursor`` is listed instead."""
    result = await stack.call("list_all_confluence_groups", {"start": 1})

    assert result["isError"] is True
    assert "valid arguments are: accessType, cursor, limit" in result["content"][0]["text"]
    assert stack.sim.requests == []


async def test_a_limit_above_the_cap_is_lowered_and_the_result_says_so(stack: Stack) -> None:
    """The default server caps ``limit`` at 100: 150 is sent as 100, with a note; a small limit is sent as is."""
    lowered = _ok(await stack.call("list_all_confluence_pages", {"limit": 150}))
    kept = _ok(await stack.call("list_all_confluence_pages", {"limit": 3}))

    assert [r.query for r in stack.sim.requests] == [[("limit", "100")], [("limit", "3")]]
    assert lowered["limit_note"] == "limit 150 was lowered to 100, the most this MCP server returns per page."
    assert "limit_note" not in kept
    # Groups default to 200 on Confluence: without a limit the cap holds too, silently.
    _ok(await stack.call("list_all_confluence_groups", {}))
    assert stack.sim.requests[-1].query == [("limit", "100")]


async def test_a_server_with_a_small_max_limit_pages_by_it(stack: Stack) -> None:
    """With ``max_limit: 2`` a walk asking for 50 per page still sees everything, two at a time."""
    token = mint_mcp_token()
    now = datetime.now(UTC)
    small = McpServer(new_id("mcp"), "small", "acme", hash_token(token), (), (), False, None, now, now, max_limit=2)
    await stack.app.state.runtime.store.create_mcp_server(small)
    stack.tokens["small"] = token

    seen, pages = await _walk(
        stack, "list_all_confluence_pages", {"limit": 50}, lambda item: item["id"], server="small"
    )

    assert sorted(seen) == sorted(_pages(stack))
    assert pages == -(-len(seen) // 2)
    assert {dict(r.query)["limit"] for r in stack.sim.requests} == {"2"}


async def test_a_non_list_result_is_exactly_confluences_answer(stack: Stack) -> None:
    """On a server without lean results, a get tool's text is Confluence's body byte for byte, no next_cursor added."""
    result = await stack.call("get_single_confluence_page_by_id", {"id": SEED.release_checklist_id}, server="full")
    path = f"/wiki/api/v2/pages/{SEED.release_checklist_id}"
    async with httpx.AsyncClient(base_url=stack.sim_url, auth=(SIM_EMAIL, SIM_API_TOKEN)) as direct:
        raw = (await direct.get(path)).text

    assert result["isError"] is False
    assert result["content"][0]["text"] == raw
    assert "next_cursor" not in result["structuredContent"]


async def test_ancestors_do_not_page(stack: Stack) -> None:
    """Confluence's ancestors endpoint has no cursor, so the tool takes none and its result has no next_cursor."""
    listed = (await stack.rpc("tools/list", {})).json()["result"]["tools"]
    ancestors = next(t for t in listed if t["name"] == "list_all_confluence_page_ancestors")
    result = _ok(await stack.call("list_all_confluence_page_ancestors", {"id": SEED.rollback_drill_id, "limit": 2}))

    assert "cursor" not in ancestors["inputSchema"]["properties"]
    assert [a["id"] for a in result["results"]] == [SEED.release_checklist_id, SEED.rollback_plan_id]
    assert "next_cursor" not in result


async def test_tools_list_shows_agents_the_paged_surface(stack: Stack) -> None:
    """tools/list carries the catalog's schemas: v1 lists have ``cursor`` and no ``start``."""
    listed = (await stack.rpc("tools/list", {})).json()["result"]["tools"]
    groups = next(t for t in listed if t["name"] == "list_all_confluence_groups")["inputSchema"]["properties"]

    assert set(groups) == {"cursor", "limit", "accessType"}
    assert groups["cursor"] == {"type": "string"}
