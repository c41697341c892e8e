"""``confluence-mcp serve`` on SIGTERM ends open listen streams with their closing frame, not at the timeout."""

from __future__ import annotations

import json
import secrets
import signal
from pathlib import Path

import anyio
import httpx
import pytest

from confluence_mcp.store.cipher import generate_key
from tests.support.processes import serve_process
from tests.support.servers import free_port
from tests.support.stack import JSON_HEADERS

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"


@pytest.fixture
def anyio_backend() -> str:
    """Run on asyncio, as uvicorn does."""
    return "asyncio"


async def test_sigterm_closes_a_listen_stream_gracefully_long_before_the_shutdown_timeout(tmp_path: Path) -> None:
    """With a 60 s graceful timeout, an open stream still gets its final, tagged result within seconds."""
    port, token = free_port(), "cmcp_" + secrets.token_urlsafe(32)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"server:\n  port: {port}\n  shutdown_timeout_seconds: 60\nstore:\n  url: 'memory://'\n"
        f"secrets:\n  key: '{generate_key()}'\nlog_level: warning\nupstream:\n  allowed_hosts: ['127.0.0.1']\n"
        "accounts:\n  - id: acme\n    instance_url: http://127.0.0.1:9\n"
        "    auth: {type: basic, username: a@example.com, password: x}\n"
        f"servers:\n  - token: '{token}'\n    account: acme\n",
        encoding="utf-8",
    )
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    body = {
        "jsonrpc": "2.0",
        "id": "bye",
        "method": "subscriptions/listen",
        "params": {"notifications": {"toolsListChanged": True}, "_meta": meta},
    }
    headers = {**JSON_HEADERS, "MCP-Protocol-Version": MODERN, "Mcp-Method": "subscriptions/listen"}
    async with serve_process(config, port) as process, httpx.AsyncClient(timeout=30) as client:
        url = f"http://127.0.0.1:{port}/mcp/{token}"
        async with client.stream("POST", url, json=body, headers=headers) as response:
            frames = (json.loads(line[5:]) async for line in response.aiter_lines() if line.startswith("data:"))
            with anyio.fail_after(10):
                ack = await anext(frames)
                assert ack["method"] == "notifications/subscriptions/acknowledged"
                process.send_signal(signal.SIGTERM)
                end = await anext(frames)
        assert end["id"] == "bye"
        assert end["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "bye"
        with anyio.fail_after(20):
            assert await process.wait() in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it caught
