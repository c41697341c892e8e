"""Real MCP clients against our server over loopback: the SDK in both eras, mcp-remote and the Inspector CLI."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from anyio.abc import Process
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from confluence_mcp.simulator import SEED
from tests.support.stack import Stack

pytestmark = pytest.mark.anyio

CLIENTS = Path(__file__).resolve().parents[1] / "clients" / "node_modules" / ".bin"
NODE_MISSING = shutil.which("node") is None or not (CLIENTS / "mcp-remote").exists()
NODE_REASON = "Node clients are installed by the README's test command (tests/clients: npm ci)"


@pytest.mark.parametrize(
    ("mode", "version"), [("legacy", "2025-11-25"), ("auto", "2026-07-28"), ("2026-07-28", "2026-07-28")]
)
async def test_sdk_client_lists_and_calls_in_both_eras(stack: Stack, mode: Any, version: str) -> None:
    """The mcp SDK client negotiates each era, lists tools page by page and calls one."""
    async with (
        httpx2.AsyncClient() as http,
        Client(streamable_http_client(stack.url(), http_client=http), mode=mode) as client,
    ):
        assert client.protocol_version == version
        page = await client.list_tools()
        names = {t.name for t in page.tools}
        assert "get_single_confluence_page_by_id" in names
        result = await client.call_tool("get_single_confluence_page_by_id", {"id": SEED.release_checklist_id})
        assert result.is_error is False
        assert result.structured_content is not None
        assert result.structured_content["id"] == SEED.release_checklist_id
        failed = await client.call_tool("get_single_confluence_page_by_id", {"id": 5})
        assert failed.is_error is True
        with pytest.raises(MCPError) as raised:
            await client.call_tool("no_such_tool", {})
        assert "Unknown tool" in raised.value.message


async def test_sdk_client_with_api_token_header(stack: Stack) -> None:
    """A server requiring API-token auth works for an SDK client that sends the bearer."""
    headers = {"Authorization": f"Bearer {stack.mcp_api_token}"}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(streamable_http_client(stack.url("auth"), http_client=http), mode="legacy") as client,
    ):
        result = await client.call_tool("list_all_confluence_spaces", {})
        assert result.is_error is False


class _Lines:
    """JSON-RPC messages read from a process's stdout, one per line, kept across reads."""

    def __init__(self, process: Process, log: bytearray) -> None:
        assert process.stdout is not None
        self._stdout = process.stdout
        self._log = log
        self._buffer = b""
        self._seen: dict[Any, dict[str, Any]] = {}

    async def answer(self, want_id: int) -> dict[str, Any]:
        """Return the response with ``want_id``, reading lines until it arrives (60 s at most)."""
        try:
            with anyio.fail_after(60):
                while want_id not in self._seen:
                    while b"\n" not in self._buffer:
                        self._buffer += await self._stdout.receive()
                    line, self._buffer = self._buffer.split(b"\n", 1)
                    if line.strip():
                        message: dict[str, Any] = json.loads(line)
                        self._seen[message.get("id")] = message
        except (TimeoutError, anyio.EndOfStream):
            log = self._log.decode(errors="replace")
            raise AssertionError(f"mcp-remote gave no answer to id {want_id}; its log:\n{log}") from None
        return self._seen.pop(want_id)


async def _collect(stream: Any, log: bytearray) -> None:
    async for chunk in stream:
        log.extend(chunk)


@pytest.mark.skipif(NODE_MISSING, reason=NODE_REASON)
async def test_mcp_remote_bridges_stdio_to_our_url(stack: Stack) -> None:
    """npx mcp-remote URL relays initialize, tools/list and tools/call as JSON-RPC lines."""
    command = [
        str(CLIENTS / "mcp-remote"),
        stack.url("auth"),
        "--header",
        f"Authorization: Bearer {stack.mcp_api_token}",
    ]
    env = {**os.environ, "MCP_REMOTE_CONFIG_DIR": str(Path(stack.extra.get("tmp", "/tmp")) / "mcp-remote")}
    log = bytearray()
    async with await anyio.open_process(command, env=env) as process, anyio.create_task_group() as tasks:
        assert process.stdin is not None
        tasks.start_soon(_collect, process.stderr, log)
        messages: list[dict[str, Any]] = [
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"},
                },
            },
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
            {
                "jsonrpc": "2.0",
                "id": 3,
                "method": "tools/call",
                "params": {"name": "get_single_confluence_page_by_id", "arguments": {"id": SEED.release_checklist_id}},
            },
        ]
        await process.stdin.send((json.dumps(messages[0]) + "\n").encode())
        lines = _Lines(process, log)
        init = await lines.answer(1)
        assert init["result"]["serverInfo"]["name"] == "confluence-mcp"
        for message in messages[1:]:
            await process.stdin.send((json.dumps(message) + "\n").encode())
        listed = await lines.answer(2)
        assert "get_single_confluence_page_by_id" in {t["name"] for t in listed["result"]["tools"]}
        called = await lines.answer(3)
        assert called["result"]["structuredContent"]["id"] == SEED.release_checklist_id
        process.terminate()
        tasks.cancel_scope.cancel()


async def _inspector(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    command = [str(CLIENTS / "mcp-inspector"), "--cli", *args]
    with anyio.fail_after(120):
        result = await anyio.run_process(command, check=False)
    stdout = result.stdout.decode()
    try:
        parsed: dict[str, Any] | None = json.loads(stdout)
    except ValueError:
        parsed = None
    return result.returncode, parsed, stdout + result.stderr.decode()


@pytest.mark.skipif(NODE_MISSING, reason=NODE_REASON)
async def test_inspector_cli_lists_and_calls(stack: Stack) -> None:
    """The MCP Inspector CLI lists every tool and calls one with a JSON argument."""
    code, listed, output = await _inspector(stack.url(), "--transport", "http", "--method", "tools/list")
    assert code == 0, output
    assert listed is not None
    assert "list_all_confluence_spaces" in {t["name"] for t in listed["tools"]}
    code, called, output = await _inspector(
        stack.url(),
        "--transport",
        "http",
        "--method",
        "tools/call",
        "--tool-name",
        "get_single_confluence_page_by_id",
        "--tool-args-json",
        json.dumps({"id": SEED.release_checklist_id}),
    )
    assert code == 0, output
    assert called is not None
    assert called["structuredContent"]["id"] == SEED.release_checklist_id
