"""Refusals the web framework or the SDK would word as bare text are JSON: found by the fuzzers in tests/fuzz/."""

from __future__ import annotations

import httpx
import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
@pytest.mark.parametrize("version", [None, "2025-06-18", "2026-07-28"])
async def test_a_body_not_declared_as_json_is_a_json_rpc_415(
    stack: Stack, content_type: str | None, version: str | None
) -> None:
    """A POST without Content-Type application/json gets -31415 as JSON in both eras (the SDK sent a text 400)."""
    headers = {"Accept": "application/json, text/event-stream"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if version is not None:
        headers["MCP-Protocol-Version"] = version
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(stack.url(), content=b'{"jsonrpc":"2.0","id":1,"method":"ping"}', headers=headers)
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["jsonrpc"] == "2.0"
    assert body["error"]["code"] == -31415
    assert "Content-Type must be application/json" in body["error"]["message"]


@pytest.mark.parametrize("path", ["/nope", "/integrated-account/a%2Fb", "/integrated-account/x/y/z"])
async def test_a_path_no_route_matches_is_a_json_404(stack: Stack, path: str) -> None:
    """An unknown path answers the admin error shape, not Starlette's text 'Not Found'."""
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as client:
        response = await client.get(path, headers={"Authorization": f"Bearer {stack.api_token}"})
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert "/admin/openapi.json" in response.json()["message"]


async def test_a_method_the_mcp_route_does_not_take_is_a_json_405_without_the_token(stack: Stack) -> None:
    """GET /mcp/<token> is 405 with Allow: POST, as JSON, and the token is not echoed."""
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(stack.url())
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"] == "method_not_allowed"
    assert stack.tokens["all"] not in response.text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"jsonrpc":"2.0","id":"\\ud800","method":"ping"}', "half of a UTF-16 surrogate pair"),
        (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\\udfff"}}', "surrogate pair"),
        (b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":NaN}}', "NaN is not a JSON value"),
        (b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":-Infinity}}', "-Infinity is not a JSON value"),
        (b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":1e999}}', "the number 1e999 is too large"),
        (b'{"jsonrpc":"2.0","id":' + b"9" * 5000 + b',"method":"ping"}', "an integer of 5000 digits is too long"),
    ],
)
@pytest.mark.parametrize("version", [None, "2026-07-28"])
async def test_what_python_parses_and_json_has_not_is_a_parse_error(
    stack: Stack, body: bytes, reason: str, version: str | None
) -> None:
    """Lone surrogates (a -32603 before: no UTF-8 can carry them), NaN, infinities and 5,000-digit ints are -32700."""
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if version is not None:
        headers["MCP-Protocol-Version"] = version
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(stack.url(), content=body, headers=headers)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == -32700
    assert reason in error["message"], error


async def test_a_valid_surrogate_pair_is_a_character_and_passes(stack: Stack) -> None:
    """An escaped pair (an emoji) is ordinary text: the call goes through to a tool error about the page id."""
    body = (
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_single_confluence_page_by_id",'
        b'"arguments":{"id":"\\ud83d\\ude00"}}}'
    )
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(stack.url(), content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["result"]["isError"] is True
    assert "\U0001f600" in response.json()["result"]["content"][0]["text"]
