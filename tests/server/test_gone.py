"""410 Gone from a v1 tool: a tool error saying the endpoint was removed and naming the v2 tool to use instead."""

from __future__ import annotations

import httpx
import pytest

from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.context import Call
from confluence_mcp.pipeline.steps.shape import ShapeResult
from confluence_mcp.simulator import SEED, create_simulator
from confluence_mcp.simulator.faults import GONE_MESSAGE
from confluence_mcp.upstream.sender import UpstreamResponse
from tests.support.official import official_tools
from tests.support.stack import Stack

pytestmark = pytest.mark.anyio


async def test_a_removed_v1_user_read_names_its_v2_twin(stack: Stack) -> None:
    """The v1 user read answered 410 says so, names confluence_users_bulk_lookup and keeps Confluence's words."""
    stack.sim.faults.remove_v1(path=r"^/wiki/rest/api/user$")
    result = await stack.call("get_single_confluence_user_by_id", {"accountId": SEED.john_account_id})
    assert result["isError"] is True
    text = result["content"][0]["text"]
    assert "removed the endpoint of get_single_confluence_user_by_id (HTTP 410 Gone" in text
    assert "for this site or this account's credential type" in text
    assert "Use confluence_users_bulk_lookup instead." in text
    assert "This deprecated endpoint has been removed." in text
    assert result["_meta"]["upstream_status"] == 410
    twin = await stack.call("confluence_users_bulk_lookup", {"accountIds": [SEED.john_account_id]})
    assert twin["isError"] is False, twin  # the v2 twin still answers on the same site


async def test_a_twin_the_servers_filters_hide_is_named_with_advice_to_ask_the_operator(stack: Stack) -> None:
    """On a read-only server the bulk lookup (a custom method) is not offered: the error says to ask the operator."""
    stack.sim.faults.remove_v1(path=r"^/wiki/rest/api/user$")
    arguments = {"accountId": SEED.john_account_id}
    result = await stack.call("get_single_confluence_user_by_id", arguments, server="read")
    assert result["isError"] is True
    text = result["content"][0]["text"]
    assert "confluence_users_bulk_lookup does the same, but this MCP server does not offer it" in text
    assert "Use confluence_users_bulk_lookup" not in text


async def test_a_removed_v1_content_write_without_a_twin_says_there_is_none(stack: Stack) -> None:
    """v1 label writes have no v2 twin: the error says so and where they may still work, naming no tool."""
    stack.sim.faults.remove_v1()
    body = [{"prefix": "global", "name": "x"}]
    result = await stack.call("create_a_confluence_page_label", {"id": SEED.release_checklist_id, "body": body})
    assert result["isError"] is True
    text = result["content"][0]["text"]
    assert "(HTTP 410 Gone on POST /wiki/rest/api/content/" in text
    assert "No v2 tool does the same" in text
    assert "classic API token" in text
    assert GONE_MESSAGE.split(": ")[1] in text
    assert [r.path for r in stack.sim.requests] == [f"/wiki/rest/api/content/{SEED.release_checklist_id}/label"]


async def test_with_atlassians_documents_a_removed_v1_content_read_names_the_v2_page_tool() -> None:
    """Serving the official documents, v1 content descendants answered 410 name the v2 page descendants tool."""
    catalog = Catalog(official_tools())
    tool = catalog.by_name["list_all_confluence_content_descendants"]
    request = catalog.plans[tool.name].build({"id": SEED.release_checklist_id})
    sim = create_simulator()
    sim.faults.remove_v1()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(sim.app), base_url="https://sim.example") as client:
        answer = await client.get(request.path, auth=sim.auth)
    response = UpstreamResponse(answer.status_code, answer.headers, answer.content)
    call = Call(token="t", name=tool.name, arguments={}, tool=tool, request=request, response=response)
    await ShapeResult(catalog).run(call)
    assert call.outcome is not None
    assert call.outcome.is_error
    assert "Use list_all_confluence_page_descendants instead." in call.outcome.text
