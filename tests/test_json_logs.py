"""JSON logs: one line per MCP request with its ids and figures, and no token or secret anywhere in the output.

The scenario runs the real ``confluence-mcp serve`` process against the simulator and reads everything the
process wrote, so uvicorn's own lines, tracebacks and start-up messages are searched too.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from confluence_mcp.simulator import SEED, create_simulator
from confluence_mcp.store.cipher import generate_key
from tests.support.servers import free_port, serve_asgi
from tests.support.stack import JSON_HEADERS, SIM_API_TOKEN, SIM_EMAIL

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """Run on asyncio."""
    return "asyncio"


@pytest.fixture
async def sim_url() -> AsyncIterator[str]:
    """The Confluence simulator on loopback."""
    async with serve_asgi(create_simulator(email=SIM_EMAIL, api_token=SIM_API_TOKEN).app) as url:
        yield url


def _cli(*args: str, config: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "confluence_mcp", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


async def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    with anyio.fail_after(30):
        async with httpx.AsyncClient() as client:
            while True:
                assert process.poll() is None, "the server exited during start-up"
                try:
                    if (await client.get(url + "/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await anyio.sleep(0.05)


async def test_a_full_scenario_logs_json_lines_without_any_secret(tmp_path: Path, sim_url: str) -> None:
    """Every line is JSON; each MCP request has one access line; no token, password or key appears."""
    port, key = free_port(), generate_key()
    open_token, auth_token = "cmcp_" + secrets.token_urlsafe(32), "cmcp_" + secrets.token_urlsafe(32)
    config = tmp_path / "config.yaml"
    config.write_text(
        json.dumps(
            {
                "log_level": "debug",
                "logging": {"format": "json"},
                "data_dir": str(tmp_path),
                "server": {"port": port},
                "store": {"url": f"sqlite:///{tmp_path / 'store.db'}"},
                "secrets": {"key": key},
                "upstream": {"allowed_hosts": ["127.0.0.1"]},
                "accounts": [
                    {
                        "id": "acme",
                        "instance_url": sim_url,
                        "auth": {"type": "basic", "username": SIM_EMAIL, "password": SIM_API_TOKEN},
                    }
                ],
                "servers": [
                    {"token": open_token, "account": "acme", "name": "open"},
                    {"token": auth_token, "account": "acme", "name": "auth", "require_api_token_auth": True},
                ],
            }
        ),
        encoding="utf-8",
    )
    api_token = _cli("api-tokens", "create", "logs-test", config=config).strip().splitlines()[-1]
    client_token = _cli("api-tokens", "create", "client", "--scope", "mcp", config=config).strip().splitlines()[-1]
    output = tmp_path / "server.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(  # noqa: ASYNC220  # Popen returns at once; readiness is awaited below
            [sys.executable, "-m", "confluence_mcp", "serve", "--config", str(config)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        base = f"http://127.0.0.1:{port}"
        try:
            await _wait_healthy(base, process)
            async with httpx.AsyncClient(timeout=30) as client:

                async def rpc(token: str, method: str, params: dict[str, Any], **headers: str) -> httpx.Response:
                    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
                    return await client.post(f"{base}/mcp/{token}", json=body, headers={**JSON_HEADERS, **headers})

                page = {"name": "get_single_confluence_page_by_id", "arguments": {"id": SEED.release_checklist_id}}
                assert (await rpc(open_token, "tools/list", {})).status_code == 200
                assert (await rpc(open_token, "tools/call", page)).json()["result"]["isError"] is False
                missing = {"name": "get_single_confluence_page_by_id", "arguments": {"id": "999999"}}
                assert (await rpc(open_token, "tools/call", missing)).json()["result"]["isError"] is True
                assert (await rpc(open_token, "tools/call", {"name": "nope", "arguments": {}})).status_code == 200
                assert (await rpc("cmcp_" + "x" * 43, "tools/list", {})).status_code == 404
                assert (await rpc(auth_token, "tools/list", {})).status_code == 401
                as_client = {"Authorization": f"Bearer {client_token}"}
                assert (await rpc(auth_token, "tools/call", page, **as_client)).status_code == 200
                as_admin = {"Authorization": f"Bearer {api_token}"}
                assert (await client.get(f"{base}/integrated-account", headers=as_admin)).status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    text = output.read_text(encoding="utf-8")
    basic = base64.b64encode(f"{SIM_EMAIL}:{SIM_API_TOKEN}".encode()).decode()
    for secret in (open_token, auth_token, api_token, client_token, SIM_API_TOKEN, basic, key):
        assert secret not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "confluence_mcp.access"]
    assert len(access) == 7
    call = next(a for a in access if a.get("tool") == "get_single_confluence_page_by_id" and a["outcome"] == "ok")
    assert call["method"] == "tools/call"
    assert call["status"] == 200
    assert call["upstream_status"] == 200
    assert call["mcp_server_id"].startswith("static-")
    assert len(call["request_id"]) == 12
    assert call["duration_ms"] >= call["upstream_ms"] > 0
    assert any(a.get("upstream_status") == 404 and a["outcome"] == "error" for a in access)
    assert any(a.get("outcome") == "UnknownTool" and "tool" not in a for a in access)
    assert sorted(a["status"] for a in access if "mcp_server_id" not in a) == [401, 404]
