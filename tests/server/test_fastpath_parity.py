"""The lean path answers exactly as the SDK would: the same requests through both give the same responses."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from confluence_mcp.simulator import SEED
from tests.support.stack import JSON_HEADERS, Stack, running_stack

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "parity", "version": "1"},
}


@pytest.fixture
async def stacks() -> AsyncIterator[tuple[Stack, Stack]]:
    """Two stacks, lean path on and off, with a small tools/list page size so cursors matter."""
    async with (
        running_stack(server={"fast_path": True, "tools_page_size": 20}) as fast,
        running_stack(server={"fast_path": False, "tools_page_size": 20}) as sdk,
    ):
        yield fast, sdk


def _legacy(method: str, params: dict[str, Any] | None, request_id: Any = 7) -> tuple[dict[str, str], dict[str, Any]]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        body["params"] = params
    return {"MCP-Protocol-Version": "2025-11-25"}, body


def _modern(method: str, params: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    if method == "tools/call":
        headers["Mcp-Name"] = params["name"]
    return headers, {"jsonrpc": "2.0", "id": "m-1", "method": method, "params": {**params, "_meta": MODERN_META}}


CASES: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "legacy ping": _legacy("ping", None),
    "legacy ping string id": _legacy("ping", {}, request_id="abc"),
    "legacy tools/list": _legacy("tools/list", {}),
    "legacy tools/list no params": _legacy("tools/list", None),
    "legacy get page": _legacy(
        "tools/call", {"name": "get_single_confluence_page_by_id", "arguments": {"id": SEED.release_checklist_id}}
    ),
    "legacy bad argument": _legacy("tools/call", {"name": "get_single_confluence_page_by_id", "arguments": {"id": 1}}),
    "legacy missing page": _legacy(
        "tools/call", {"name": "get_single_confluence_page_by_id", "arguments": {"id": "999999"}}
    ),
    "legacy unknown tool": _legacy("tools/call", {"name": "nope", "arguments": {}}),
    "legacy 204": _legacy(
        "tools/call",
        {"name": "confluence_groups_remove_member", "arguments": {"groupId": SEED.users_group_id, "accountId": "x"}},
    ),
    "no version header": ({}, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    "modern tools/list": _modern("tools/list", {}),
    "modern get page": _modern(
        "tools/call", {"name": "get_single_confluence_page_by_id", "arguments": {"id": SEED.release_checklist_id}}
    ),
    "modern bad argument": _modern("tools/call", {"name": "get_single_confluence_page_by_id", "arguments": {}}),
}


async def _post(stack: Stack, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(stack.url(), json=body, headers={**JSON_HEADERS, **headers})


def _comparable(stack: Stack, response: httpx.Response) -> tuple[int, str, dict[str, Any]]:
    # Each stack has its own simulator port, which Confluence-style bodies echo in _links.base.
    port = stack.sim_url.rsplit(":", 1)[1]
    payload: dict[str, Any] = json.loads(response.text.replace(port, "PORT"))
    result = payload.get("result")
    if isinstance(result, dict) and isinstance(result.get("_meta"), dict):
        # Remaining-budget figures move with every upstream request; their presence must match, not their value.
        result["_meta"] = {
            k: (v if "remaining" not in k and "reset" not in k else "n") for k, v in result["_meta"].items()
        }
    return response.status_code, response.headers["content-type"], payload


@pytest.mark.parametrize("case", list(CASES))
async def test_lean_path_matches_the_sdk(stacks: tuple[Stack, Stack], case: str) -> None:
    """Status, content type and JSON body are the same whether the lean path or the SDK answered."""
    fast, sdk = stacks
    headers, body = CASES[case]
    fast_response = await _post(fast, headers, body)
    sdk_response = await _post(sdk, headers, body)
    fast_view, sdk_view = _comparable(fast, fast_response), _comparable(sdk, sdk_response)
    assert fast_view[:2] == sdk_view[:2]
    assert fast_view[2].get("error") == sdk_view[2].get("error")
    fast_result, sdk_result = fast_view[2].get("result", {}), sdk_view[2].get("result", {})
    assert set(fast_result) == set(sdk_result)
    for key in sdk_result:
        assert fast_result[key] == sdk_result[key], key
    assert ("ratelimit-limit" in fast_response.headers) == ("ratelimit-limit" in sdk_response.headers)


async def test_lean_path_walks_tools_list_pages_like_the_sdk(stacks: tuple[Stack, Stack]) -> None:
    """Following nextCursor gives the same pages in the same order on both paths."""
    pages: list[list[list[str]]] = []
    for stack in stacks:
        names: list[list[str]] = []
        cursor: str | None = None
        while True:
            headers, body = _legacy("tools/list", {"cursor": cursor} if cursor else {})
            result = (await _post(stack, headers, body)).json()["result"]
            names.append([t["name"] for t in result["tools"]])
            cursor = result.get("nextCursor")
            if not cursor:
                break
        pages.append(names)
    assert pages[0] == pages[1]
    assert len(pages[0]) > 1
