"""Discovery mode over the wire: three tools under 3 KB in tools/list, and call_tool equal to a direct call."""

from __future__ import annotations

import json

import pytest

from confluence_mcp.simulator import SEED
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("fast_path", [True, False], ids=["lean path", "sdk path"])
async def test_a_discovery_server_lists_three_tools_and_runs_any_visible_one(fast_path: bool) -> None:
    """Both transports list only the meta tools (under 3 KB) and call_tool answers as the direct call does."""
    async with running_stack(server={"fast_path": fast_path}) as stack:
        listed = (await stack.rpc("tools/list", {}, server="discovery")).json()["result"]
        assert [t["name"] for t in listed["tools"]] == ["search_tools", "get_tool_schema", "call_tool"]
        assert "nextCursor" not in listed
        assert len(json.dumps(listed["tools"], separators=(",", ":"), ensure_ascii=False)) <= 3000

        found = await stack.call("search_tools", {"query": "read a page"}, server="discovery")
        names = [t["name"] for t in found["structuredContent"]["tools"]]
        assert "get_single_confluence_page_by_id" in names[:3]

        arguments = {"id": SEED.release_checklist_id}
        wrapped = await stack.call(
            "call_tool", {"tool_name": "get_single_confluence_page_by_id", "arguments": arguments}, server="discovery"
        )
        direct = await stack.call("get_single_confluence_page_by_id", arguments, server="all")
        assert wrapped["structuredContent"] == direct["structuredContent"]
        assert wrapped["content"] == direct["content"]
        assert [r.path for r in stack.sim.requests] == [f"/wiki/api/v2/pages/{SEED.release_checklist_id}"] * 2


async def test_the_default_listing_has_no_meta_tools(stack: Stack) -> None:
    """A server left on tool_exposure: all lists the real tools and not the meta tools."""
    names = {t["name"] for t in (await stack.rpc("tools/list", {})).json()["result"]["tools"]}
    assert "get_single_confluence_page_by_id" in names
    assert not {"search_tools", "get_tool_schema", "call_tool"} & names
