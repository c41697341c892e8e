"""Discovery mode: three meta tools over the server's own filtered view, and call_tool equal to a direct call."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from confluence_mcp.errors import UnknownTool
from confluence_mcp.openapi import default_documents, generate_tools
from confluence_mcp.pipeline import Call, build_pipeline
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.discovery import rank_tools
from confluence_mcp.settings import RetrySettings
from confluence_mcp.store.base import McpServer
from confluence_mcp.store.tokens import hash_token, mint_mcp_token, new_id
from confluence_mcp.upstream.client import UpstreamClient
from confluence_mcp.upstream.results import ToolOutcome
from confluence_mcp.upstream.sender import UpstreamResponse
from tests.pipeline.doubles import RecordingSender, World

pytestmark = pytest.mark.anyio

PAGE = b'{"id":"393218","title":"Release checklist","version":{"number":3}}'
JSON = {"content-type": "application/json"}


async def _discovery_server(world: World, **filters: Any) -> str:
    """Add a discovery-mode MCP server with ``filters`` to the world's store; return its token."""
    [account] = await world.store.list_accounts()
    token, now = mint_mcp_token(), datetime.now(UTC)
    server = McpServer(new_id("mcp"), "disc", account.id, hash_token(token), filters.get("methods", ()),
                       filters.get("tags", ()), False, None, now, now, tool_exposure="discovery")  # fmt: skip
    await world.store.create_mcp_server(server)
    return token


async def _call(world: World, sender: RecordingSender, token: str, name: str, arguments: Any) -> ToolOutcome:
    pipeline = build_pipeline(world.catalog, world.resolver, UpstreamClient(sender, RetrySettings()))
    return await pipeline.run(Call(token=token, name=name, arguments=arguments))


def _payload(outcome: ToolOutcome) -> dict[str, Any]:
    assert outcome.is_error is False, outcome.text
    payload: dict[str, Any] = json.loads(outcome.text)
    assert outcome.structured == payload
    return payload


async def test_the_listing_of_a_discovery_server_is_the_three_meta_tools(world: World) -> None:
    """tools/list shows search_tools, get_tool_schema and call_tool; the server's real view stays for calls."""
    resolved = await world.resolver.resolve(await _discovery_server(world))
    assert resolved is not None
    [page] = resolved.listing.pages
    assert [t["name"] for t in page] == ["search_tools", "get_tool_schema", "call_tool"]
    assert len(json.dumps(list(page), separators=(",", ":"))) <= 3000
    assert "update_a_confluence_page_by_id" in resolved.view.by_name


async def test_search_tools_ranks_the_tools_for_a_task(world: World) -> None:
    """'update a page' finds the page update tool first; the answer says how many tools the server has."""
    token = await _discovery_server(world)
    sender = RecordingSender(UpstreamResponse(200, JSON, PAGE))
    payload = _payload(await _call(world, sender, token, "search_tools", {"query": "update a page", "limit": 3}))
    assert payload["tools"][0]["name"] == "update_a_confluence_page_by_id"
    assert len(payload["tools"]) == 3
    assert set(payload["tools"][0]) == {"name", "title", "description", "tags"}
    assert payload["visible_tools"] == len(world.catalog.tools)
    assert sender.sent == []


async def test_get_tool_schema_gives_full_definitions_and_suggests_near_names(world: World) -> None:
    """Known names get their tools/list entries; a misspelt one gets close visible names."""
    token = await _discovery_server(world)
    names = ["get_single_confluence_page_by_id", "update_a_confluence_pag_by_id"]
    payload = _payload(await _call(world, RecordingSender(UpstreamResponse(200, {}, b"")), token,
                                   "get_tool_schema", {"tool_names": names}))  # fmt: skip
    assert payload["tools"] == [world.catalog.wire("get_single_confluence_page_by_id")]
    assert payload["unknown"][0]["name"] == "update_a_confluence_pag_by_id"
    assert "update_a_confluence_page_by_id" in payload["unknown"][0]["did_you_mean"]


async def test_call_tool_answers_exactly_as_the_direct_call(world: World) -> None:
    """The same request goes upstream and the same outcome comes back, coercion and validation included."""
    token = await _discovery_server(world)
    answer = UpstreamResponse(200, JSON | {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "99"}, PAGE)
    via, direct = RecordingSender(answer), RecordingSender(answer)
    wrapped = await _call(world, via, token, "call_tool",
                          {"tool_name": "get_single_confluence_page_by_id", "arguments": {"id": 393218}})  # fmt: skip
    plain = await _call(world, direct, token, "get_single_confluence_page_by_id", {"id": 393218})
    assert wrapped == plain
    assert via.sent == direct.sent
    assert via.sent[0][1].path == "/wiki/api/v2/pages/393218"
    bad = await _call(world, via, token, "call_tool", {"tool_name": "get_single_confluence_page_by_id"})
    assert bad.is_error is True
    assert "argument 'id' is required" in bad.text


async def test_a_filtered_out_tool_is_neither_found_described_nor_called(world: World) -> None:
    """On a read-only discovery server write tools never appear, and calling one sends nothing."""
    token = await _discovery_server(world, methods=("read",))
    sender = RecordingSender(UpstreamResponse(200, JSON, PAGE))
    found = _payload(await _call(world, sender, token, "search_tools", {"query": "delete a page", "limit": 50}))
    assert all(not t["name"].startswith(("delete_", "update_", "create_")) for t in found["tools"])
    described = _payload(
        await _call(world, sender, token, "get_tool_schema", {"tool_names": ["delete_a_confluence_page_by_id"]})
    )
    assert described["tools"] == []
    called = await _call(world, sender, token, "call_tool",
                         {"tool_name": "delete_a_confluence_page_by_id", "arguments": {"id": "1"}})  # fmt: skip
    assert called.is_error is True
    assert called.text.startswith("Unknown tool: delete_a_confluence_page_by_id.")
    with pytest.raises(UnknownTool):
        await _call(world, sender, token, "delete_a_confluence_page_by_id", {"id": "1"})
    assert sender.sent == []


async def test_meta_tools_are_unknown_on_a_server_that_lists_everything(world: World) -> None:
    """Only discovery servers have the meta tools; elsewhere they are unknown tools like any other name."""
    with pytest.raises(UnknownTool):
        await _call(world, RecordingSender(UpstreamResponse(200, {}, b"")), world.open_token, "search_tools",
                    {"query": "page"})  # fmt: skip


async def test_meta_tool_arguments_are_validated(world: World) -> None:
    """A missing query or too many names is a tool error naming the argument."""
    token = await _discovery_server(world)
    sender = RecordingSender(UpstreamResponse(200, {}, b""))
    missing = await _call(world, sender, token, "search_tools", {})
    assert missing.is_error
    assert "argument 'query' is required" in missing.text
    many = await _call(world, sender, token, "get_tool_schema", {"tool_names": ["a"] * 6})
    assert many.is_error
    assert "tool_names" in many.text


def test_ranking_uses_names_titles_tags_and_descriptions() -> None:
    """Synonyms and plurals meet the tools' words; precise names win; nonsense finds nothing."""
    tools = Catalog(generate_tools(default_documents())).tools
    assert rank_tools(tools, "members of a group", 1)[0].name == "list_all_confluence_group_members"
    assert rank_tools(tools, "delete blog post", 1)[0].name == "delete_a_confluence_blogpost_by_id"
    assert rank_tools(tools, "find pages", 1)[0].name == "list_all_confluence_pages"
    assert rank_tools(tools, "zzqx", 5) == []
    assert rank_tools(tools, "the of a", 5) == []
    narrowed = [replace(t, tags=("x",)) for t in tools if t.name.startswith("list_")]
    assert all(t.name.startswith("list_") for t in rank_tools(narrowed, "page", 50))
