"""``confluence-mcp serve --demo``: a simulated site, connected, and a printed MCP URL that works as printed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
import pytest

from tests.support.servers import free_port

pytestmark = pytest.mark.anyio

HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


@pytest.fixture
def anyio_backend() -> str:
    """Run on asyncio."""
    return "asyncio"


async def _printed_url(process: subprocess.Popen[str], seen: list[str]) -> str:
    """Read the banner to its last line and return the MCP URL it gives."""
    assert process.stdout is not None
    url = ""
    with anyio.fail_after(30):
        while True:
            line = await anyio.to_thread.run_sync(process.stdout.readline)
            assert line, "the demo exited before printing its banner"
            seen.append(line)
            if line.startswith("MCP URL: "):
                url = line.removeprefix("MCP URL: ").strip()
            if line.startswith("Press Ctrl-C"):
                return url


async def test_the_demo_prints_a_url_that_lists_and_calls_tools(tmp_path: Path) -> None:
    """The printed URL answers tools/list and a real tools/call against the simulated site; it says it is simulated."""
    port = free_port()
    process = subprocess.Popen(  # noqa: ASYNC220  # returns at once; the URL and readiness are awaited below
        [sys.executable, "-m", "confluence_mcp", "serve", "--demo", "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    seen: list[str] = []
    try:
        url = await _printed_url(process, seen)
        assert re.fullmatch(rf"http://127\.0\.0\.1:{port}/mcp/cmcp_[A-Za-z0-9_-]{{43}}", url)
        async with httpx.AsyncClient(timeout=30) as client:
            with anyio.fail_after(30):
                while True:
                    try:
                        listed = await client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                                   headers=HEADERS)  # fmt: skip
                        break
                    except httpx.TransportError:
                        await anyio.sleep(0.05)
            names = {t["name"] for t in listed.json()["result"]["tools"]}
            assert "list_all_confluence_spaces" in names
            call = {"name": "list_all_confluence_spaces", "arguments": {}}
            answer = await client.post(
                url, json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call}, headers=HEADERS
            )
            result = answer.json()["result"]
            assert result["isError"] is False
            assert "Product Ops" in result["content"][0]["text"]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    output = "".join(seen)
    assert "SIMULATED" in output
    assert f"npx -y mcp-remote {url}" in output
    assert process.returncode == 130  # Ctrl-C: the shell convention, after a clean shutdown
