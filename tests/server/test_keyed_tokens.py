"""Tokens are stored under keyed hashes; tokens stored unkeyed or under a retired key keep working and are re-keyed."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from confluence_mcp.server.app import create_app, wrap
from confluence_mcp.store.base import Account, ApiToken, McpServer
from confluence_mcp.store.cipher import Cipher, generate_key
from confluence_mcp.store.memory import MemoryStore
from confluence_mcp.store.tokens import TokenHasher, hash_token, mint_api_token, mint_mcp_token, new_id
from tests.support.admin import admin_settings
from tests.support.servers import serve_asgi
from tests.support.stack import JSON_HEADERS, Stack, running_stack

pytestmark = pytest.mark.anyio

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


async def _deployed_server(stack: Stack, token_hash: str) -> McpServer:
    """Write an MCP server as an earlier version (or an earlier key) left it in the store."""
    now = datetime.now(UTC)
    server = McpServer(new_id("mcp"), "deployed", "acme", token_hash, (), (), False, None, now, now)
    await stack.app.state.runtime.store.create_mcp_server(server)
    return server


async def _ping(stack: Stack, token: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(f"{stack.base_url}/mcp/{token}", json=PING, headers=JSON_HEADERS)


async def test_declared_servers_are_stored_under_the_keyed_hash_only(stack: Stack) -> None:
    """A store dump holds no plain SHA-256 of any declared token."""
    store, hasher = stack.app.state.runtime.store, stack.app.state.runtime.cipher.hasher
    now = datetime.now(UTC)
    assert await store.find_mcp_server_by_token_hash(hash_token(stack.tokens["all"]), now) is None
    found = await store.find_mcp_server_by_token_hash(hasher.hash(stack.tokens["all"]), now)
    assert found is not None
    assert found.id == f"static-{hash_token(stack.tokens['all'])[:16]}"  # ids did not change with keyed hashes


async def test_an_unkeyed_url_token_keeps_working_and_is_rekeyed_on_first_use(stack: Stack) -> None:
    """A server stored before keyed hashes answers, and afterwards only its keyed hash finds it."""
    token = mint_mcp_token()
    server = await _deployed_server(stack, hash_token(token))
    store, hasher = stack.app.state.runtime.store, stack.app.state.runtime.cipher.hasher

    assert (await _ping(stack, token)).status_code == 200

    now = datetime.now(UTC)
    assert (await store.get_mcp_server(server.id)).token_hash == hasher.hash(token)
    assert await store.find_mcp_server_by_token_hash(hash_token(token), now) is None
    stack.app.state.runtime.resolver.invalidate()
    assert (await _ping(stack, token)).status_code == 200


async def test_an_unkeyed_admin_token_keeps_working_and_is_rekeyed_on_first_use(stack: Stack) -> None:
    """An admin API token minted before keyed hashes opens the admin API and is then stored keyed."""
    token = mint_api_token()
    record = ApiToken(new_id("tok"), "old", hash_token(token), datetime.now(UTC), None, "admin")
    store, hasher = stack.app.state.runtime.store, stack.app.state.runtime.cipher.hasher
    await store.create_api_token(record)
    async with httpx.AsyncClient(base_url=stack.base_url) as client:
        listed = await client.get("/integrated-account", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    (stored,) = [t for t in await store.list_api_tokens() if t.id == record.id]
    assert stored.token_hash == hasher.hash(token)


async def test_a_token_hashed_under_a_retired_key_works_and_moves_to_the_new_key() -> None:
    """After a rotation (the old key in secrets.previous_keys) the old URL answers and is re-keyed to the new key."""
    old, new = generate_key(), generate_key()
    async with running_stack(secrets={"key": new, "previous_keys": [old]}) as stack:
        token = mint_mcp_token()
        server = await _deployed_server(stack, TokenHasher([old]).hash(token))
        assert (await _ping(stack, token)).status_code == 200
        stored = await stack.app.state.runtime.store.get_mcp_server(server.id)
        assert stored.token_hash == TokenHasher([new]).hash(token)


async def test_an_unknown_token_is_404_under_every_candidate_hash(stack: Stack) -> None:
    """Trying older hashes never lets a token in that no hash of it was stored under."""
    assert (await _ping(stack, mint_mcp_token())).status_code == 404


async def test_start_up_rekeys_every_unkeyed_hash_an_earlier_version_stored() -> None:
    """A store written before keyed hashes holds none of them once a server has started on it."""
    settings = admin_settings()
    assert settings.secrets.key is not None
    cipher = Cipher.from_key(settings.secrets.key.get_secret_value())
    store = MemoryStore(cipher=cipher)
    await store.open()
    token, api_token = mint_mcp_token(), mint_api_token()
    now = datetime.now(UTC)
    await store.create_account(Account("acc", "a", "https://acme.atlassian.net", "basic", "u", "s", None, now, now))
    await store.create_mcp_server(McpServer("srv", "old", "acc", hash_token(token), (), (), False, None, now, now))
    await store.create_api_token(ApiToken("tok", "old", hash_token(api_token), now, None, "admin"))
    try:
        async with serve_asgi(wrap(create_app(settings, store=store)), server=settings.server):
            pass  # the start-up alone
        assert (await store.get_mcp_server("srv")).token_hash == cipher.hasher.hash(token)
        (stored,) = await store.list_api_tokens()
        assert stored.token_hash == cipher.hasher.hash(api_token)
    finally:
        await store.close()
