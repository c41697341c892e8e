"""``subscriptions/listen`` (2026-07-28): acknowledged first, every frame tagged, only the kinds asked for."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest

from tests.support.stack import JSON_HEADERS, Stack, running_stack

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"
TAG = "io.modelcontextprotocol/subscriptionId"
DEADLINE = 10
"""Seconds a stream may take to show what the test waits for (a change reaches it within about a second)."""


class Stream:
    """The JSON-RPC frames of one listen response, read as they come."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self) -> dict[str, Any]:
        """Return the next frame (SSE ``data:`` line), under the deadline."""
        with anyio.fail_after(DEADLINE):
            async for line in self._lines:
                if line.startswith("data:"):
                    frame: dict[str, Any] = json.loads(line[5:])
                    return frame
        raise AssertionError("the stream ended")


def _listen_body(notifications: dict[str, Any], request_id: str | int = "sub-1") -> dict[str, Any]:
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "subscriptions/listen",
        "params": {"notifications": notifications, "_meta": meta},
    }


MODERN_HEADERS = {**JSON_HEADERS, "MCP-Protocol-Version": MODERN, "Mcp-Method": "subscriptions/listen"}


@pytest.fixture(params=[pytest.param(True, id="fast-path"), pytest.param(False, id="sdk-path")])
async def stack(request: pytest.FixtureRequest) -> AsyncIterator[Stack]:
    """The stack with the lean path on and off: listen is streamed by the SDK path either way."""
    async with running_stack(server={"fast_path": request.param}) as running:
        yield running


@asynccontextmanager
async def _listening(
    stack: Stack, notifications: dict[str, Any]
) -> AsyncIterator[tuple[Stream, httpx.AsyncClient, str]]:
    """Create an MCP server through the admin API, open a listen stream on it; yield the stream and the server path."""
    admin = {"Authorization": f"Bearer {stack.api_token}"}
    async with httpx.AsyncClient(base_url=stack.base_url, headers=admin, timeout=DEADLINE) as client:
        created = (await client.post("/integrated-account/acme/mcp", json={"name": "listener"})).json()
        server_path = f"/integrated-account/acme/mcp/{created['id']}"
        body = _listen_body(notifications)
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=DEADLINE) as agent:
            url = f"/mcp/{created['token']}"
            async with agent.stream("POST", url, json=body, headers=MODERN_HEADERS) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                yield Stream(response), client, server_path


async def test_the_ack_comes_first_and_every_frame_carries_the_subscription_id(stack: Stack) -> None:
    """Ack (tools only: prompts are not ours), one tagged tools/list_changed per change, a tagged end on revocation."""
    async with _listening(stack, {"toolsListChanged": True, "promptsListChanged": True}) as (stream, admin, path):
        ack = await stream.next()
        assert ack == {
            "jsonrpc": "2.0",
            "method": "notifications/subscriptions/acknowledged",
            "params": {"notifications": {"toolsListChanged": True}, "_meta": {TAG: "sub-1"}},
        }
        assert (await admin.patch(path, json={"name": "renamed"})).status_code == 200  # same tools: nothing sent
        assert (await admin.patch(path, json={"config": {"methods": ["read"]}})).status_code == 200
        changed = await stream.next()
        assert changed == {
            "jsonrpc": "2.0",
            "method": "notifications/tools/list_changed",
            "params": {"_meta": {TAG: "sub-1"}},
        }
        assert (await admin.delete(path)).status_code == 204
        end = await stream.next()  # the stream closes gracefully: the listen request's own result, tagged
        assert end["id"] == "sub-1"
        assert end["result"]["_meta"][TAG] == "sub-1"


async def test_a_stream_that_asked_for_nothing_is_sent_no_change(stack: Stack) -> None:
    """Filters change and the server goes: between the empty ack and the end, no notification arrives."""
    async with _listening(stack, {}) as (stream, admin, path):
        ack = await stream.next()
        assert ack["params"] == {"notifications": {}, "_meta": {TAG: "sub-1"}}
        assert (await admin.patch(path, json={"config": {"methods": ["read"]}})).status_code == 200
        assert (await admin.patch(path, json={"config": {"methods": ["write"]}})).status_code == 200
        assert (await admin.delete(path)).status_code == 204
        end = await stream.next()
        assert "method" not in end
        assert end["id"] == "sub-1"


async def test_listen_is_not_a_handshake_era_method(stack: Stack) -> None:
    """Under 2025-11-25 subscriptions/listen is an unknown method, answered at once as JSON."""
    body = {"jsonrpc": "2.0", "id": 3, "method": "subscriptions/listen", "params": {"notifications": {}}}
    async with httpx.AsyncClient(timeout=DEADLINE) as client:
        response = await client.post(
            stack.url(), json=body, headers={**JSON_HEADERS, "MCP-Protocol-Version": "2025-11-25"}
        )
    assert response.status_code == 200
    assert response.json()["error"]["code"] == -32601


async def test_discover_says_tools_list_changes_are_announced(stack: Stack) -> None:
    """server/discover advertises tools.listChanged, since listen streams carry the change."""
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    body = {"jsonrpc": "2.0", "id": "d", "method": "server/discover", "params": {"_meta": meta}}
    headers = {**JSON_HEADERS, "MCP-Protocol-Version": MODERN, "Mcp-Method": "server/discover"}
    async with httpx.AsyncClient(timeout=DEADLINE) as client:
        response = await client.post(stack.url(), json=body, headers=headers)
    assert response.json()["result"]["capabilities"]["tools"] == {"listChanged": True}


async def test_a_stream_opened_with_a_client_token_ends_when_that_token_is_revoked(stack: Stack) -> None:
    """On a server requiring API-token auth, revoking the bearer ends its open streams too."""
    bearer = {"Authorization": f"Bearer {stack.mcp_api_token}"}
    async with httpx.AsyncClient(timeout=DEADLINE) as agent:
        body = _listen_body({"toolsListChanged": True}, request_id=9)
        async with agent.stream("POST", stack.url("auth"), json=body, headers={**MODERN_HEADERS, **bearer}) as response:
            assert response.status_code == 200
            stream = Stream(response)
            assert (await stream.next())["method"] == "notifications/subscriptions/acknowledged"
            store = stack.app.state.runtime.store
            for record in await store.list_api_tokens():
                if record.scope == "mcp":
                    await store.delete_api_token(record.id)
            end = await stream.next()
            assert end["id"] == 9
            assert "method" not in end


@pytest.mark.parametrize(
    ("accept", "params", "status", "message"),
    [
        ("application/json", {"notifications": {}}, 406, "send 'Accept: application/json, text/event-stream'"),
        (None, {"notifications": {}}, 406, "send 'Accept: application/json, text/event-stream'"),
        (JSON_HEADERS["Accept"], {}, 400, "'params.notifications' must be an object of the notifications wanted"),
        (JSON_HEADERS["Accept"], {"notifications": []}, 400, "got an array"),
    ],
)
async def test_a_listen_that_cannot_open_is_refused_saying_what_to_fix(
    stack: Stack, accept: str | None, params: dict[str, Any], status: int, message: str
) -> None:
    """No SSE in Accept is a JSON 406, a missing or non-object filter a -32602, on both paths alike."""
    body = _listen_body({})
    body["params"] = {**params, "_meta": body["params"]["_meta"]}
    headers = {k: v for k, v in MODERN_HEADERS.items() if k != "Accept"}
    if accept is not None:
        headers["Accept"] = accept
    async with httpx.AsyncClient(timeout=DEADLINE) as client:
        del client.headers["accept"]  # httpx sends */* by default; these cases name their Accept, or send none
        response = await client.post(stack.url(), json=body, headers=headers)
    assert response.status_code == status
    error = response.json()["error"]
    assert response.json()["id"] == "sub-1"
    assert error["code"] == (-32600 if status == 406 else -32602)
    assert message in error["message"]
