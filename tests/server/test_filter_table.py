"""The filter semantics as tables: methods x tags on the pure policy, and expiry x API-token auth on the wire."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx
import pytest

from confluence_mcp.errors import NotFound
from confluence_mcp.openapi import default_documents, generate_tools
from confluence_mcp.openapi.models import Tool
from confluence_mcp.policy.filters import ToolFilter, visible_tools
from confluence_mcp.server.app import create_app, wrap
from confluence_mcp.settings import Settings
from confluence_mcp.store.base import McpServer
from confluence_mcp.store.cipher import generate_key
from confluence_mcp.store.tokens import hash_token, mint_mcp_token, new_id
from tests.support.servers import serve_asgi
from tests.support.stack import JSON_HEADERS, Stack

TOOLS = generate_tools(default_documents())
METHODS: list[tuple[str, ...]] = [
    (),
    ("read",),
    ("write",),
    ("custom",),
    ("list",),
    ("get", "create"),
    ("remove_member",),
    ("read", "custom"),
    ("delete", "write"),
]
TAGS: list[tuple[str, ...]] = [(), ("pages",), ("groups",), ("pages", "users"), ("labels",)]
GROUP_OF = {"list": "read", "get": "read", "create": "write", "update": "write", "delete": "write"}


def _oracle(tool: Tool, methods: tuple[str, ...], tags: tuple[str, ...]) -> bool:
    # Written from the words, independently of policy/filters.py.
    group = GROUP_OF.get(tool.method, "custom")
    method_ok = not methods or tool.method in methods or group in methods
    tag_ok = not tags or any(tag in tool.tags for tag in tags)
    return method_ok and tag_ok


@pytest.mark.parametrize(("methods", "tags"), list(itertools.product(METHODS, TAGS)))
def test_methods_and_tags_select_exactly_the_expected_tools(methods: tuple[str, ...], tags: tuple[str, ...]) -> None:
    """Every combination of methods and tags lets through exactly the tools the rule describes."""
    shown = {t.name for t in visible_tools(TOOLS, ToolFilter(frozenset(methods), frozenset(tags)))}
    assert shown == {t.name for t in TOOLS if _oracle(t, methods, tags)}


def test_known_tools_land_where_expected() -> None:
    """Spot checks: read-only hides writes, custom keeps remove_member, tags intersect."""
    read_pages = {t.name for t in visible_tools(TOOLS, ToolFilter(frozenset({"read"}), frozenset({"pages"})))}
    assert "get_single_confluence_page_by_id" in read_pages
    assert "update_a_confluence_page_by_id" not in read_pages
    assert "list_all_confluence_groups" not in read_pages
    custom_groups = {t.name for t in visible_tools(TOOLS, ToolFilter(frozenset({"custom"}), frozenset({"groups"})))}
    assert "confluence_groups_remove_member" in custom_groups
    assert "list_all_confluence_groups" not in custom_groups


async def _add_server(stack: Stack, *, expired: bool, auth: bool) -> str:
    store = stack.app.state.runtime.store
    now = datetime.now(UTC)
    token = mint_mcp_token()
    expires = now - timedelta(seconds=1) if expired else now + timedelta(hours=1)
    server = McpServer(new_id("mcp"), "table", "acme", hash_token(token), (), (), auth, expires, now, now)
    await store.create_mcp_server(server)
    return token


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("expired", "auth", "bearer", "status"),
    [
        (False, False, None, 200),
        (False, False, "valid", 200),
        (False, True, None, 401),
        (False, True, "invalid", 401),
        (False, True, "valid", 200),
        (True, False, None, 404),
        (True, True, None, 404),
        (True, True, "valid", 404),
    ],
)
async def test_expiry_and_api_token_auth_decide_the_status(
    stack: Stack, expired: bool, auth: bool, bearer: str | None, status: int
) -> None:
    """Expired answers 404 whatever the auth; a live server needing auth answers 401 unless the bearer is valid."""
    token = await _add_server(stack, expired=expired, auth=auth)
    headers = dict(JSON_HEADERS)
    if bearer is not None:
        headers["Authorization"] = f"Bearer {stack.mcp_api_token if bearer == 'valid' else 'cmat_nope'}"
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{stack.base_url}/mcp/{token}", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=headers
        )
    assert response.status_code == status
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.anyio
async def test_sweeper_deletes_expired_mcp_servers_from_sqlite(tmp_path: Path) -> None:
    """With a short sweep interval, an expired MCP server disappears from the SQLite store by itself."""
    settings = Settings.model_validate(
        {
            "data_dir": str(tmp_path),
            "secrets": {"key": generate_key()},
            "server": {"sweep_interval_seconds": 0.05},
            "upstream": {"allowed_hosts": ["127.0.0.1"]},
            "accounts": [{"id": "a", "instance_url": "http://127.0.0.1:9", "auth": {"username": "u", "password": "p"}}],
        }
    )
    app = create_app(settings)
    async with serve_asgi(wrap(app), server=settings.server):
        store = app.state.runtime.store
        now = datetime.now(UTC)
        server = McpServer(new_id("mcp"), "old", "a", hash_token(mint_mcp_token()), (), (), False, now, now, now)
        await store.create_mcp_server(server)
        with anyio.fail_after(5):
            while True:
                try:
                    await store.get_mcp_server(server.id)
                except NotFound:
                    break
                await anyio.sleep(0.02)
