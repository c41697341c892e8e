"""Every tool's arguments, generated from its own input schema and then spoiled, sent as tools/call over real HTTP.

The stack's simulator answers the calls that reach it. Accepted arguments yield a tool result (success or a tool
error); spoiled ones are a precise error naming what is wrong. Never a 5xx, a -32603, a traceback or a server path,
and the server answers its health probe after each tool.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.fuzzing import assert_alive, budget
from tests.support.schema_values import arguments_for, mistyped_arguments_for
from tests.support.soundness import assert_rpc_answer
from tests.support.stack import JSON_HEADERS, Stack

VALID_EXAMPLES = 6
SPOILED_EXAMPLES = 6
WRAPPED_EXAMPLES = 4


def _tools(client: httpx.Client, path: str) -> list[dict[str, Any]]:
    """Every tool tools/list shows on ``path``, following cursors."""
    tools: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"cursor": cursor} if cursor else {}
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": params}
        result = client.post(path, json=body, headers=JSON_HEADERS).json()["result"]
        tools.extend(result["tools"])
        cursor = result.get("nextCursor")
        if not cursor:
            return tools


def _call(client: httpx.Client, path: str, name: str, arguments: Any) -> dict[str, Any]:
    """Send one tools/call and return its one JSON-RPC message, checked for soundness."""
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    response = client.post(path, json=body, headers=JSON_HEADERS)
    (message,) = assert_rpc_answer(response)
    assert message.get("id") == 7, message
    if "result" in message:
        result = message["result"]
        assert isinstance(result.get("isError", False), bool), result
        assert isinstance(result["content"], list), result
        for item in result["content"]:
            assert item["type"] == "text", item
            assert isinstance(item["text"], str), item
    return message


def _error_text(message: dict[str, Any]) -> str | None:
    """The error's text (a JSON-RPC error or an isError result), or ``None`` for a success."""
    if "error" in message:
        text: str = message["error"]["message"]
        return text
    result = message["result"]
    return " ".join(item["text"] for item in result["content"]) if result.get("isError") else None


def _fuzz_tool(client: httpx.Client, path: str, name: str, schema: dict[str, Any]) -> None:
    """Run both property checks over one tool."""

    @given(arguments=arguments_for(schema))
    @budget(VALID_EXAMPLES)
    def accepted(arguments: dict[str, Any]) -> None:
        _call(client, path, name, arguments)

    @given(spoiled=mistyped_arguments_for(schema))
    @budget(SPOILED_EXAMPLES)
    def spoiled(spoiled: tuple[str, str | None, Any]) -> None:
        how, concerned, arguments = spoiled
        text = _error_text(_call(client, path, name, arguments))
        if how in ("missing", "not an object"):  # the message names the missing argument, or says 'arguments'
            assert text is not None, (name, how, arguments)
            assert concerned in text if concerned is not None else "argument" in text.lower(), (name, text)

    accepted()
    spoiled()


@pytest.mark.parametrize(("server", "least"), [("all", 40), ("discovery", 3)])  # discovery: its three meta tools
def test_every_tool_answers_generated_and_spoiled_arguments_soundly(
    fuzz_stack: Stack, client: httpx.Client, server: str, least: int
) -> None:
    """For each tool of a server (every tool; discovery's meta tools): valid and spoiled arguments, answered soundly."""
    path = f"/mcp/{fuzz_stack.tokens[server]}"
    tools = _tools(client, path)
    assert len(tools) >= least, [tool["name"] for tool in tools]
    fuzz_stack.sim.requests.clear()
    for tool in tools:
        _fuzz_tool(client, path, tool["name"], tool["inputSchema"])
        assert_alive(client)
    # Generated names for call_tool are almost never real tools; every tool of 'all' reaches Confluence.
    assert server == "discovery" or fuzz_stack.sim.requests, "no generated call reached the simulator"


def _fuzz_through_call_tool(client: httpx.Client, path: str, name: str, schema: dict[str, Any]) -> None:
    """Valid and spoiled arguments of one real tool, sent through discovery mode's call_tool."""

    @given(arguments=arguments_for(schema), spoiled=mistyped_arguments_for(schema), valid=st.booleans())
    @budget(WRAPPED_EXAMPLES)
    def wrapped(arguments: dict[str, Any], spoiled: tuple[str, str | None, Any], valid: bool) -> None:
        inner = arguments if valid else spoiled[2]
        message = _call(client, path, "call_tool", {"tool_name": name, "arguments": inner})
        assert "result" in message, message  # an unknown or refused inner call is a tool error, not a refusal

    wrapped()


def test_discovery_call_tool_unwraps_every_tools_generated_arguments_soundly(
    fuzz_stack: Stack, client: httpx.Client
) -> None:
    """call_tool on a discovery server carries each real tool's valid and spoiled arguments to the same answers."""
    tools = _tools(client, f"/mcp/{fuzz_stack.tokens['all']}")
    path = f"/mcp/{fuzz_stack.tokens['discovery']}"
    fuzz_stack.sim.requests.clear()
    for tool in tools:
        _fuzz_through_call_tool(client, path, tool["name"], tool["inputSchema"])
    assert_alive(client)
    assert fuzz_stack.sim.requests, "no wrapped call reached the simulator"
