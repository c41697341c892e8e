"""Two app instances on one Redis refresh an OAuth account once: one holds the lease, the other uses its result."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest

from confluence_mcp.atlassian import OAuthRefresher, OAuthTokens
from confluence_mcp.server.app import create_app, wrap
from confluence_mcp.simulator import SEED, create_simulator
from confluence_mcp.store.base import McpServer
from confluence_mcp.store.cipher import generate_key
from confluence_mcp.store.tokens import hash_token
from tests.support.atlassian import call_tool
from tests.support.redis_server import run_redis_server
from tests.support.servers import serve_asgi
from tests.support.stack import SERVERS, SIM_API_TOKEN, SIM_EMAIL, platform_settings, stack_settings

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A throwaway redis-server for this module."""
    with run_redis_server() as url:
        yield url


async def _until(condition: Any, what: str) -> None:
    with anyio.fail_after(10):
        # Another app's progress shows only in the simulator's log and its refresher's counter: no event to await.
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.005)
    assert condition(), what


async def test_concurrent_calls_on_two_instances_make_exactly_one_refresh(redis_url: str) -> None:
    """A refreshes (held at the token endpoint) while B waits on its lease; both calls then use A's new token."""
    sim = create_simulator(email=SIM_EMAIL, api_token=SIM_API_TOKEN)
    key, tokens = generate_key(), {name: "cmcp_" + secrets.token_urlsafe(32) for name in SERVERS}
    mcp_token = "cmcp_" + secrets.token_urlsafe(32)
    async with serve_asgi(sim.app) as sim_url:
        overrides: dict[str, Any] = {
            "secrets": {"key": key},
            "store": {"url": redis_url},
            "atlassian": platform_settings(sim_url),
            "servers": [],
        }
        app_a = create_app(stack_settings(sim_url, tokens, **overrides))
        app_b = create_app(stack_settings(sim_url, tokens, **overrides))
        async with serve_asgi(wrap(app_a)) as url_a, serve_asgi(wrap(app_b)) as url_b:
            store = app_a.state.runtime.store
            issued = sim.platform.issue_tokens()
            expired = OAuthTokens(issued["access_token"], issued["refresh_token"], expires_at=time.time() - 1)
            now = datetime.now(UTC)
            template = await store.get_account("acme")
            oauth = replace(
                template,
                id="acc_oauth",
                auth_type="oauth",
                username=None,
                secret=expired.dump(),
                cloud_id=sim.platform.cloud_id,
            )
            await store.create_account(oauth)
            server = McpServer("mcp_shared", "shared", oauth.id, hash_token(mcp_token), (), (), False, None, now, now)
            await store.create_mcp_server(server)
            refresher_a: OAuthRefresher = app_a.state.runtime.extra["oauth_refresher"]
            refresher_b: OAuthRefresher = app_b.state.runtime.extra["oauth_refresher"]
            sim.platform.hold_token = anyio.Event()
            sim.requests.clear()
            results: dict[str, dict[str, Any]] = {}

            async def call(name: str, base: str) -> None:
                results[name] = await call_tool(
                    f"{base}/mcp/{mcp_token}", "get_single_confluence_page_by_id", {"id": SEED.runbook_id}
                )

            async with anyio.create_task_group() as group:
                group.start_soon(call, "a", url_a)
                await _until(lambda: any(r.path == "/oauth/token" for r in sim.requests), "A asked for a refresh")
                group.start_soon(call, "b", url_b)
                await _until(lambda: refresher_b.waits == 1, "B found A's lease and waits")
                sim.platform.hold_token.set()
            stored = OAuthTokens.load((await store.get_account(oauth.id)).secret)

    assert all(result.get("isError") is not True for result in results.values()), results
    assert results["a"]["structuredContent"]["id"] == results["b"]["structuredContent"]["id"] == SEED.runbook_id
    assert sim.platform.grants == {"refresh_token": 1}
    assert (refresher_a.refreshes, refresher_b.refreshes) == (1, 0)
    pages = [r for r in sim.requests if r.path.endswith(f"/pages/{SEED.runbook_id}")]
    assert [r.headers["authorization"] for r in pages] == [f"Bearer {stored.access_token}"] * 2
    assert stored.refresh_token != expired.refresh_token
    assert stored.refreshing_until is None
