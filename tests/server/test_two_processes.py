"""Two real server processes sharing one Redis: what one creates works on the other; revocation lands within 1 s."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from confluence_mcp.simulator import SEED, create_simulator
from confluence_mcp.store.cipher import generate_key
from tests.support.processes import serve_process
from tests.support.redis_server import run_redis_server
from tests.support.servers import free_port, serve_asgi
from tests.support.stack import JSON_HEADERS, SIM_API_TOKEN, SIM_EMAIL

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A throwaway redis-server for this module."""
    with run_redis_server() as url:
        yield url


def _config(path: Path, port: int, redis_url: str, key: str) -> Path:
    path.write_text(
        f"server:\n  port: {port}\n  public_url: http://127.0.0.1:{port}\n"
        f"store:\n  url: {redis_url}\nsecrets:\n  key: '{key}'\nlog_level: warning\n"
        "upstream:\n  allowed_hosts: ['127.0.0.1']\n",
        encoding="utf-8",
    )
    return path


async def _rpc(url: str, method: str, params: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return await client.post(url, json=body, headers=JSON_HEADERS)


async def test_mcp_server_created_on_one_process_works_on_the_other_and_revocation_spreads(
    tmp_path: Path, redis_url: str
) -> None:
    """Create through process A, call through process B; revoke through A, B answers 404 within 1 s."""
    sim = create_simulator(email=SIM_EMAIL, api_token=SIM_API_TOKEN)
    key = generate_key()
    port_a, port_b = free_port(), free_port()
    config_a = _config(tmp_path / "a.yaml", port_a, redis_url, key)
    config_b = _config(tmp_path / "b.yaml", port_b, redis_url, key)
    bootstrap = await anyio.run_process(
        [sys.executable, "-m", "confluence_mcp", "api-tokens", "create", "tests", "--config", str(config_a)]
    )
    api_token = bootstrap.stdout.decode().strip().splitlines()[-1]
    async with (
        serve_asgi(sim.app) as sim_url,
        serve_process(config_a, port_a),
        serve_process(config_b, port_b),
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port_a}", headers={"Authorization": f"Bearer {api_token}"}
        ) as admin,
    ):
        account = await admin.post(
            "/integrated-account",
            json={
                "label": "sim",
                "instance_url": sim_url,
                "auth": {"type": "basic", "username": SIM_EMAIL, "password": SIM_API_TOKEN},
            },
        )
        assert account.status_code == 201, account.text
        account_id = account.json()["id"]
        created = await admin.post(f"/integrated-account/{account_id}/mcp", json={"name": "shared"})
        assert created.status_code == 201, created.text
        token = created.json()["token"]
        url_b = f"http://127.0.0.1:{port_b}/mcp/{token}"

        called = await _rpc(
            url_b, "tools/call", {"name": "get_single_confluence_page_by_id", "arguments": {"id": SEED.runbook_id}}
        )
        assert called.status_code == 200
        assert called.json()["result"]["structuredContent"]["id"] == SEED.runbook_id

        revoked = await admin.delete(f"/integrated-account/{account_id}/mcp/{created.json()['id']}")
        assert revoked.status_code == 204
        started = time.monotonic()
        with anyio.fail_after(1.0):
            # Polling the other process is the behaviour under test; there is no event to wait on.
            while (await _rpc(url_b, "tools/list", {})).status_code != 404:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        assert time.monotonic() - started < 1.0
        assert (await _rpc(f"http://127.0.0.1:{port_a}/mcp/{token}", "tools/list", {})).status_code == 404
