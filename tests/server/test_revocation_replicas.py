"""Two app instances on one Redis: a revocation made through either reaches the other within 1 s."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import anyio
import httpx
import pytest

from confluence_mcp.server.app import create_app, wrap
from confluence_mcp.settings import Settings
from confluence_mcp.simulator import create_simulator
from confluence_mcp.store.base import Store
from tests.support.redis_server import run_redis_server
from tests.support.servers import serve_asgi
from tests.support.stack import EXPIRED, JSON_HEADERS, SERVERS, SIM_API_TOKEN, SIM_EMAIL, _add_api_token, stack_settings

pytestmark = pytest.mark.anyio

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A throwaway redis-server for this module."""
    with run_redis_server() as url:
        yield url


@contextlib.asynccontextmanager
async def _replicas(settings: Settings) -> AsyncIterator[tuple[str, str, Store]]:
    """Serve two apps built from the same settings (one Redis); yield both URLs and the first app's store."""
    first, second = create_app(settings), create_app(settings)
    async with (
        serve_asgi(wrap(first), server=settings.server) as url_a,
        serve_asgi(wrap(second), server=settings.server) as url_b,
    ):
        yield url_a, url_b, first.state.runtime.store


async def _refused_within_one_second(request: Callable[[], Awaitable[httpx.Response]], status: int) -> None:
    started = time.monotonic()
    with anyio.fail_after(1.0):
        # Polling the other replica is the behaviour under test; there is no event to wait on.
        while (await request()).status_code != status:  # noqa: ASYNC110
            await anyio.sleep(0.01)
    assert time.monotonic() - started < 1.0


async def test_revoked_url_and_api_tokens_are_refused_by_the_other_replica_within_one_second(redis_url: str) -> None:
    """Delete an MCP server through replica A's admin API and API tokens from the store: B refuses each within 1 s."""
    sim = create_simulator(email=SIM_EMAIL, api_token=SIM_API_TOKEN)
    tokens = {name: "cmcp_" + secrets.token_urlsafe(32) for name in [*SERVERS, EXPIRED]}
    async with serve_asgi(sim.app) as sim_url:
        settings = stack_settings(sim_url, tokens, store={"url": redis_url})
        async with _replicas(settings) as (url_a, url_b, store), httpx.AsyncClient(timeout=10) as client:
            admin_token = await _add_api_token(store, "admin")
            mcp_token = await _add_api_token(store, "mcp")
            admin = {"Authorization": f"Bearer {admin_token}"}
            bearer = {**JSON_HEADERS, "Authorization": f"Bearer {mcp_token}"}
            created = await client.post(f"{url_a}/integrated-account/acme/mcp", json={"name": "shared"}, headers=admin)
            assert created.status_code == 201, created.text
            mcp_url_b = f"{url_b}/mcp/{created.json()['token']}"

            # Each credential works on B first, so B has it cached when it is revoked.
            assert (await client.post(mcp_url_b, json=PING, headers=JSON_HEADERS)).status_code == 200
            assert (await client.post(f"{url_b}/mcp/{tokens['auth']}", json=PING, headers=bearer)).status_code == 200
            assert (await client.get(f"{url_b}/integrated-account", headers=admin)).status_code == 200

            deleted = await client.delete(f"{url_a}/integrated-account/acme/mcp/{created.json()['id']}", headers=admin)
            assert deleted.status_code == 204
            await _refused_within_one_second(lambda: client.post(mcp_url_b, json=PING, headers=JSON_HEADERS), 404)

            for record in await store.list_api_tokens():  # what `confluence-mcp api-tokens revoke` does
                await store.delete_api_token(record.id)
            await _refused_within_one_second(
                lambda: client.post(f"{url_b}/mcp/{tokens['auth']}", json=PING, headers=bearer), 401
            )
            await _refused_within_one_second(lambda: client.get(f"{url_b}/integrated-account", headers=admin), 401)
