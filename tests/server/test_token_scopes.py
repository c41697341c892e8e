"""Token scopes on the wire: admin tokens open the admin API only, MCP client tokens only their MCP servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from confluence_mcp.store.base import ApiToken, McpServer, TokenScope
from confluence_mcp.store.tokens import hash_token, mint_api_token, mint_mcp_token, new_id
from tests.support.stack import Stack

pytestmark = pytest.mark.anyio

CREATE_MCP_TOKEN = "confluence-mcp api-tokens create NAME --scope mcp --servers MCP_ID"
CHALLENGE = 'Bearer realm="confluence-mcp", error="invalid_token"'
MODERN = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list"}


async def _bearer_rpc(stack: Stack, server: str, token: str, **headers: str) -> httpx.Response:
    return await stack.rpc("tools/list", server=server, headers={"Authorization": f"Bearer {token}", **headers})


def _refusal(response: httpx.Response) -> str:
    """Assert ``response`` is the JSON-RPC 401 of ApiTokenRequired with the challenge; return its message."""
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == CHALLENGE
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == -31401
    message: str = error["message"]
    return message


async def _admin_get(stack: Stack, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as client:
        return await client.get("/integrated-account", headers={"Authorization": f"Bearer {token}"})


async def _second_auth_server(stack: Stack) -> tuple[str, str]:
    """Add another server requiring API-token auth; return its URL token and id."""
    now = datetime.now(UTC)
    token = mint_mcp_token()
    server = McpServer(new_id("mcp"), "auth-2", "acme", hash_token(token), (), (), True, None, now, now)
    await stack.app.state.runtime.store.create_mcp_server(server)
    stack.tokens["auth-2"] = token
    return token, server.id


@pytest.mark.parametrize("era", [{}, MODERN], ids=["legacy", "modern"])
async def test_an_admin_token_on_an_mcp_url_is_refused_naming_the_token_to_create(
    stack: Stack, era: dict[str, str]
) -> None:
    """An admin token sent to an MCP server answers 401 saying it is an admin token and how to make an MCP one."""
    message = _refusal(await _bearer_rpc(stack, "auth", stack.api_token, **era))

    assert "accepts only MCP client tokens" in message
    assert "admin token" in message
    assert CREATE_MCP_TOKEN in message
    assert stack.sim.requests == []


async def test_a_missing_bearer_names_the_token_to_create(stack: Stack) -> None:
    """No bearer at all answers 401 naming the MCP client token and the command that makes one."""
    message = _refusal(await stack.rpc("tools/list", server="auth"))

    assert "Authorization: Bearer <MCP client token>" in message
    assert CREATE_MCP_TOKEN in message


async def test_an_mcp_token_on_the_admin_api_is_refused_as_an_mcp_client_token(stack: Stack) -> None:
    """The admin API answers an MCP client token with 401 unauthorized saying an admin token is needed."""
    bound = await stack.add_api_token("mcp", (await stack.server_id("auth"),))
    for token in (stack.mcp_api_token, bound):
        response = await _admin_get(stack, token)

        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == CHALLENGE
        body = response.json()
        assert body["error"] == "unauthorized"
        assert "MCP client token" in body["message"]
        assert "the admin API needs an admin token" in body["message"]
    assert (await _admin_get(stack, stack.api_token)).status_code == 200


async def test_a_bound_mcp_token_opens_its_server_and_no_other(stack: Stack) -> None:
    """A token bound to one server answers 200 there and 401 on another server that requires auth."""
    _, other_id = await _second_auth_server(stack)
    bound = await stack.add_api_token("mcp", (other_id,))

    assert (await _bearer_rpc(stack, "auth-2", bound)).status_code == 200
    message = _refusal(await _bearer_rpc(stack, "auth", bound))
    assert "bound to other MCP servers" in message
    assert CREATE_MCP_TOKEN in message
    # Asked again within the cache's lifetime, each server still decides for itself.
    assert (await _bearer_rpc(stack, "auth-2", bound)).status_code == 200
    assert (await _bearer_rpc(stack, "auth", bound)).status_code == 401


async def test_a_token_bound_to_several_servers_opens_each_of_them(stack: Stack) -> None:
    """A token bound to two servers opens both."""
    _, other_id = await _second_auth_server(stack)
    both = await stack.add_api_token("mcp", (await stack.server_id("auth"), other_id))

    for server in ("auth", "auth-2"):
        assert (await _bearer_rpc(stack, server, both)).status_code == 200


async def test_an_unbound_mcp_token_opens_every_server_that_requires_auth(stack: Stack) -> None:
    """The unbound MCP client token answers 200 on each server with require_api_token_auth."""
    await _second_auth_server(stack)

    for server in ("auth", "auth-2"):
        response = await _bearer_rpc(stack, server, stack.mcp_api_token)
        assert response.status_code == 200, response.text
        assert response.json()["result"]["tools"]


async def test_one_token_answers_by_its_scope_wherever_it_is_sent_first(stack: Stack) -> None:
    """The cache holds the token's record, not a yes or no: each token keeps its answer on both doors."""
    for _ in range(2):
        assert (await _admin_get(stack, stack.api_token)).status_code == 200
        assert (await _bearer_rpc(stack, "auth", stack.api_token)).status_code == 401
        assert (await _bearer_rpc(stack, "auth", stack.mcp_api_token)).status_code == 200
        assert (await _admin_get(stack, stack.mcp_api_token)).status_code == 401


@pytest.mark.parametrize("kind", ["unknown", "revoked admin", "expired admin", "expired mcp", "not a bearer"])
async def test_a_token_that_is_not_live_is_refused_alike_whatever_it_once_was(stack: Stack, kind: str) -> None:
    """Unknown, revoked and expired tokens get one message on an MCP URL that names no scope."""
    store = stack.app.state.runtime.store
    token = mint_api_token()
    now = datetime.now(UTC)
    if kind == "revoked admin":
        record = ApiToken(new_id("tok"), "gone", hash_token(token), now, None)
        await store.create_api_token(record)
        assert (await _admin_get(stack, token)).status_code == 200
        await store.delete_api_token(record.id)
        stack.app.state.runtime.resolver.invalidate()
    elif kind.startswith("expired"):
        scope: TokenScope = "admin" if kind == "expired admin" else "mcp"
        past = now - timedelta(seconds=1)
        await store.create_api_token(ApiToken(new_id("tok"), "old", hash_token(token), past, past, scope))
    headers = {"Authorization": f"Basic {stack.mcp_api_token}"} if kind == "not a bearer" else None
    response = (
        await stack.rpc("tools/list", server="auth", headers=headers)
        if headers
        else await _bearer_rpc(stack, "auth", token)
    )

    message = _refusal(response)
    assert "admin token" not in message
    assert "bound" not in message
    if kind != "not a bearer":
        assert "the token sent is not valid (unknown, revoked or expired)" in message
