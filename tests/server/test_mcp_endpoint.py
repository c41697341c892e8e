"""The /mcp/{token} endpoint over real loopback HTTP, spoken to as curl would: raw JSON-RPC POSTs."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from confluence_mcp.errors import StoreError
from confluence_mcp.simulator import SEED
from tests.support.stack import JSON_HEADERS, Stack, running_stack

pytestmark = pytest.mark.anyio

NINE = {
    "list_all_confluence_search",
    "get_single_confluence_page_by_id",
    "create_a_confluence_page",
    "update_a_confluence_page_by_id",
    "list_all_confluence_spaces",
    "list_all_confluence_users",
    "list_all_confluence_groups",
    "list_all_confluence_user_groups",
    "confluence_groups_remove_member",
}


async def _tool_names(stack: Stack, server: str) -> set[str]:
    names: set[str] = set()
    cursor: str | None = None
    while True:
        response = await stack.rpc("tools/list", {"cursor": cursor} if cursor else {}, server=server)
        result = response.json()["result"]
        names.update(t["name"] for t in result["tools"])
        cursor = result.get("nextCursor")
        if not cursor:
            return names


def _upstream_paths(stack: Stack) -> list[str]:
    return [f"{r.method} {r.path}" for r in stack.sim.requests]


async def test_initialize_echoes_a_handshake_version_and_names_the_server(stack: Stack) -> None:
    """initialize answers with the requested 2025-06-18 version, tool capabilities and our name."""
    response = await stack.rpc(
        "initialize",
        {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "curl", "version": "8"}},
    )
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["protocolVersion"] == "2025-06-18"
    assert result["serverInfo"]["name"] == "confluence-mcp"
    assert "tools" in result["capabilities"]
    assert "storage format" in result["instructions"]


async def test_ping_answers_empty_result(stack: Stack) -> None:
    """ping answers with an empty result on the handshake era."""
    response = await stack.rpc("ping")
    assert response.json() == {"jsonrpc": "2.0", "id": 1, "result": {}}


async def test_tools_list_has_the_nine_tools_with_annotations(stack: Stack) -> None:
    """The default document yields the nine tools of Truto's post, whose annotations say all four hints.

    Hints equal to the MCP defaults are left out of the wire (openWorldHint true; the write hints of a
    read-only tool); read with those defaults, the annotations are the full set.
    """
    response = await stack.rpc("tools/list")
    tools = {t["name"]: t for t in response.json()["result"]["tools"]}
    assert set(tools) >= NINE
    page = tools["get_single_confluence_page_by_id"]
    assert page["annotations"] == {"readOnlyHint": True}
    assert page["annotations"].get("openWorldHint", True) is True
    assert page["inputSchema"]["required"] == ["id"]
    delete = tools["delete_a_confluence_page_by_id"]["annotations"]
    assert delete == {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True}


async def test_tools_list_is_paginated_with_an_opaque_cursor() -> None:
    """With a small page size every tool is reachable through nextCursor exactly once."""
    async with running_stack(server={"tools_page_size": 7}) as stack:
        first = (await stack.rpc("tools/list")).json()["result"]
        assert len(first["tools"]) == 7
        assert first["nextCursor"]
        names = await _tool_names(stack, "all")
        assert names >= NINE
        bad = (await stack.rpc("tools/list", {"cursor": "not-a-cursor"})).json()
        assert bad["error"]["code"] == -32602
        assert "cursor" in bad["error"]["message"].lower()


async def test_get_page_returns_structured_content_and_rate_limit_headers(stack: Stack) -> None:
    """A get returns the page as structuredContent and JSON text, with ratelimit-* headers and _meta."""
    response = await stack.rpc(
        "tools/call",
        {
            "name": "get_single_confluence_page_by_id",
            "arguments": {"id": SEED.release_checklist_id, "body-format": "storage"},
        },
    )
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["isError"] is False
    assert result["structuredContent"]["id"] == SEED.release_checklist_id
    assert json.loads(result["content"][0]["text"])["title"] == result["structuredContent"]["title"]
    assert int(response.headers["ratelimit-limit"]) > 0
    assert int(response.headers["ratelimit-remaining"]) >= 0
    assert int(response.headers["ratelimit-reset"]) >= 0
    assert result["_meta"]["ratelimit-limit"] == int(response.headers["ratelimit-limit"])
    (sent,) = stack.sim.requests
    assert sent.method == "GET"
    assert sent.path == f"/wiki/api/v2/pages/{SEED.release_checklist_id}"


async def test_only_our_headers_go_upstream(stack: Stack) -> None:
    """The client's Authorization, cookies and MCP headers never reach Confluence; the account's credentials do."""
    await stack.rpc(
        "tools/call",
        {"name": "list_all_confluence_spaces", "arguments": {}},
        headers={"Authorization": "Bearer client-secret", "Cookie": "session=1", "Mcp-Method": "tools/call"},
    )
    (sent,) = stack.sim.requests
    assert sent.headers["authorization"].startswith("Basic ")
    assert "client-secret" not in json.dumps(sent.headers)
    assert "cookie" not in sent.headers
    assert not any(name.startswith("mcp-") for name in sent.headers)


async def test_get_on_the_endpoint_is_405(stack: Stack) -> None:
    """GET (the SSE stream of old clients) answers 405 with Allow: POST."""
    async with httpx.AsyncClient() as client:
        response = await client.get(stack.url(), headers={"Accept": "text/event-stream"})
    assert response.status_code == 405
    assert "POST" in response.headers["allow"]


@pytest.mark.parametrize("server", ["unknown", "expired"])
async def test_unknown_and_expired_tokens_answer_alike(stack: Stack, server: str) -> None:
    """An unknown token and an expired one both get the same 404 JSON-RPC error body."""
    url = f"{stack.base_url}/mcp/{'x' * 43}" if server == "unknown" else stack.url(server)
    async with httpx.AsyncClient() as client:
        response = await client.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=JSON_HEADERS
        )
    assert response.status_code == 404
    assert response.json() == {"jsonrpc": "2.0", "id": None, "error": {"code": -31404, "message": "Not found"}}


async def test_foreign_origin_is_refused_and_chatgpt_is_allowed(stack: Stack) -> None:
    """A browser Origin not in the allow-list gets 403; https://chatgpt.com passes."""
    evil = await stack.rpc("tools/list", headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    assert evil.json()["error"]["message"] == "Origin not allowed"
    chatgpt = await stack.rpc("tools/list", headers={"Origin": "https://chatgpt.com"})
    assert chatgpt.status_code == 200


async def test_oversized_body_is_413_and_the_server_keeps_serving(stack: Stack) -> None:
    """A body over the limit gets 413 with a JSON-RPC error; the next request works."""
    huge = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "x", "arguments": {"v": "a" * 1_100_000}},
    }
    async with httpx.AsyncClient() as client:
        response = await client.post(stack.url(), json=huge, headers=JSON_HEADERS)
    assert response.status_code == 413
    assert "limit" in response.json()["error"]["message"]
    assert (await stack.rpc("ping")).status_code == 200


DEEP = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"x":' + b"[" * 50_000 + b"]" * 50_000 + b"}}"


@pytest.mark.parametrize(
    ("body", "code", "words", "request_id"),
    [
        (b"{not json", -32700, "the body is not JSON (Expecting property name", None),
        (DEEP, -32700, "the JSON nests too deeply", None),
        (b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', -32600, "batches are not supported", None),
        (b"[]", -32600, "batches are not supported", None),
        (b"null", -32600, "a JSON-RPC message is an object, not null", None),
        (b'{"jsonrpc": "2.0", "id": 1}', -32600, "'method' is missing", 1),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "ping"}', -32600, "'jsonrpc' must be", 1),
        (b'{"jsonrpc": "2.0", "id": 1, "method": 5}', -32600, "'method' must be a string, got a number", 1),
        (
            b'{"jsonrpc": "2.0", "id": "a", "method": "tools/call", "params": "x"}',
            -32600,
            "'params' of tools/call",
            "a",
        ),
        (b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}', -32600, "'id' must be a string or a number", None),
    ],
)
async def test_malformed_json_rpc_gets_a_clear_error_not_a_500(
    stack: Stack, body: bytes, code: int, words: str, request_id: object
) -> None:
    """Unparsable or malformed JSON-RPC gets a 400 naming what is wrong, no validation dump, and serving goes on."""
    async with httpx.AsyncClient() as client:
        response = await client.post(stack.url(), content=body, headers=JSON_HEADERS)
    assert response.status_code == 400
    payload = response.json()
    assert payload["error"]["code"] == code
    assert words in payload["error"]["message"]
    assert payload["id"] == request_id
    assert "validation error" not in response.text.lower()
    assert (await stack.rpc("ping")).status_code == 200


async def test_an_unexpected_failure_is_a_json_rpc_error_with_a_logged_reference(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug of ours answers -32603 with a reference that is in the log; never a text 500, and serving goes on."""
    resolver = stack.app.state.runtime.resolver
    original = resolver.resolve
    calls = 0

    async def broken(token: str) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ZeroDivisionError("boom")
        return await original(token)

    monkeypatch.setattr(resolver, "resolve", broken)
    monkeypatch.setattr(logging.getLogger("confluence_mcp"), "propagate", True)
    response = await stack.rpc("tools/list", {})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == -32603
    reference = error["message"].split("reference ")[1].split(")")[0]
    assert f"reference {reference}" in caplog.text
    assert "boom" not in response.text
    assert (await stack.rpc("tools/list", {})).status_code == 200


async def test_a_store_outage_is_503_with_retry_after_and_heals_by_itself(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the store fails every lookup answers 503 + Retry-After; the first lookup after it recovers works."""
    store = stack.app.state.runtime.store
    original = store.find_mcp_server_by_token_hash
    down = True

    async def flaky(*args: object) -> object:
        if down:
            raise StoreError("redis: connection refused")
        return await original(*args)

    monkeypatch.setattr(store, "find_mcp_server_by_token_hash", flaky)
    stack.app.state.runtime.resolver.invalidate()
    response = await stack.rpc("tools/list", {})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "redis" not in response.text
    down = False
    assert (await stack.rpc("tools/list", {})).status_code == 200


async def test_unknown_tool_is_a_protocol_error_and_nothing_goes_upstream(stack: Stack) -> None:
    """Calling a tool that does not exist is -32602 Unknown tool, with no upstream request."""
    response = await stack.rpc("tools/call", {"name": "nope", "arguments": {}})
    assert response.json()["error"] == {"code": -32602, "message": "Unknown tool: nope"}
    assert stack.sim.requests == []


async def test_filtered_out_tool_is_invisible_and_uncallable(stack: Stack) -> None:
    """A read-only server lists no write tool, and calling one is 'Unknown tool' with no upstream request."""
    names = await _tool_names(stack, "read")
    assert "get_single_confluence_page_by_id" in names
    assert "create_a_confluence_page" not in names
    response = await stack.rpc(
        "tools/call",
        {"name": "delete_a_confluence_page_by_id", "arguments": {"id": SEED.release_checklist_id}},
        server="read",
    )
    assert response.json()["error"]["message"] == "Unknown tool: delete_a_confluence_page_by_id"
    assert stack.sim.requests == []


async def test_tag_and_custom_method_filters_combine(stack: Stack) -> None:
    """methods=[custom] AND tags=[groups] leaves exactly the custom group tools."""
    names = await _tool_names(stack, "groups_custom")
    assert names
    assert "confluence_groups_remove_member" in names
    assert all(n.startswith("confluence_") for n in names)
    assert "list_all_confluence_groups" not in names
    page_names = await _tool_names(stack, "pages")
    assert "get_single_confluence_page_by_id" in page_names
    assert "list_all_confluence_groups" not in page_names


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({}, "argument 'id' is required"),
        ({"id": True}, "argument 'id': True is not of type 'string'"),
        ({"id": -3}, "argument 'id': -3 is not of type 'string'"),
        ({"id": "1", "colour": "red"}, "'colour' was unexpected"),
        ({"id": "../etc"}, "argument 'id'"),
    ],
)
async def test_invalid_arguments_are_tool_errors_naming_the_argument(
    stack: Stack, arguments: dict[str, Any], fragment: str
) -> None:
    """Arguments that break the inputSchema give isError naming the argument, and nothing goes upstream."""
    result = await stack.call("get_single_confluence_page_by_id", arguments)
    assert result["isError"] is True
    assert fragment in result["content"][0]["text"]
    assert stack.sim.requests == []


async def test_api_token_auth_requires_a_valid_bearer(stack: Stack) -> None:
    """A server with require_api_token_auth answers 401 with WWW-Authenticate until a valid API token is sent."""
    missing = await stack.rpc("tools/list", server="auth")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["error"]["code"] == -31401
    wrong = await stack.rpc("tools/list", server="auth", headers={"Authorization": "Bearer cmat_wrong"})
    assert wrong.status_code == 401
    right = await stack.rpc("tools/list", server="auth", headers={"Authorization": f"Bearer {stack.mcp_api_token}"})
    assert right.status_code == 200
    assert right.json()["result"]["tools"]


async def test_stale_version_conflict_is_explained(stack: Stack) -> None:
    """Updating with the current version number (not current + 1) gives a 409 tool error naming both."""
    page = (await stack.call("get_single_confluence_page_by_id", {"id": SEED.release_checklist_id}))[
        "structuredContent"
    ]
    current = page["version"]["number"]
    result = await stack.call(
        "update_a_confluence_page_by_id",
        {
            "id": SEED.release_checklist_id,
            "status": "current",
            "title": page["title"],
            "body": {"representation": "storage", "value": "<p>edited</p>"},
            "version": {"number": current},
        },
    )
    assert result["isError"] is True
    text = result["content"][0]["text"]
    assert "HTTP 409" in text
    assert f"current version is {current}" in text
    assert f"version.number = {current + 1}" in text


async def test_forced_429_is_a_tool_error_with_headers_and_no_retry(stack: Stack) -> None:
    """A simulated burst 429 reaches the caller as a tool error with ratelimit-* headers; it is sent once."""
    stack.sim.faults.rate_limit("burst", path=r"/wiki/api/v2/spaces$", retry_after=17, count=1)
    response = await stack.rpc("tools/call", {"name": "list_all_confluence_spaces", "arguments": {}})
    result = response.json()["result"]
    assert result["isError"] is True
    assert "Rate limited" in result["content"][0]["text"]
    assert "Retry after 17 seconds" in result["content"][0]["text"]
    assert response.headers["ratelimit-reset"] == "17"
    assert "ratelimit-limit" in response.headers
    assert "ratelimit-remaining" in response.headers
    assert _upstream_paths(stack) == ["GET /wiki/api/v2/spaces"]


async def test_opt_in_retry_honours_retry_after() -> None:
    """With upstream.retry enabled, a GET that got a 429 with Retry-After: 0 is retried and succeeds."""
    async with running_stack(upstream={"retry": {"enabled": True, "max_attempts": 3, "budget_seconds": 5}}) as stack:
        stack.sim.faults.rate_limit("burst", path=r"/wiki/api/v2/spaces$", retry_after=0, count=1)
        result = await stack.call("list_all_confluence_spaces", {})
        assert result["isError"] is False
        assert _upstream_paths(stack) == ["GET /wiki/api/v2/spaces", "GET /wiki/api/v2/spaces"]
        assert result["_meta"]["upstream_attempts"] == 2


@pytest.mark.parametrize(
    ("fault", "fragment"),
    [
        ("fail", "HTTP 503"),
        ("drop", "connection failed or was dropped"),
        ("malformed_json", "malformed JSON"),
    ],
)
async def test_upstream_faults_become_clear_tool_errors(stack: Stack, fault: str, fragment: str) -> None:
    """5xx answers, dropped connections and malformed JSON are tool errors, never a 500 from us."""
    getattr(stack.sim.faults, fault)(path=r"/wiki/api/v2/spaces$", count=1)
    response = await stack.rpc("tools/call", {"name": "list_all_confluence_spaces", "arguments": {}})
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["isError"] is True
    assert fragment in result["content"][0]["text"]


@pytest.mark.parametrize("transport", ["lean", "httpx"])
async def test_an_answer_over_max_response_bytes_is_a_clear_tool_error(transport: str) -> None:
    """A Confluence answer larger than upstream.max_response_bytes is cut off; the tool error names the setting."""
    async with running_stack(upstream={"transport": transport, "max_response_bytes": 200}) as stack:
        result = await stack.call("list_all_confluence_spaces", {})
        assert result["isError"] is True
        assert result["content"][0]["text"] == (
            "Confluence's answer to GET /wiki/api/v2/spaces is larger than upstream.max_response_bytes (200 bytes) "
            "and was cut off. Ask for less: a smaller limit, fewer expansions or a narrower query."
        )


async def test_upstream_timeout_is_a_clear_tool_error() -> None:
    """An upstream slower than the read timeout gives a timeout tool error."""
    async with running_stack(upstream={"read_timeout": 0.2}) as stack:
        stack.sim.faults.latency(1500, path=r"/wiki/api/v2/spaces$", count=1)
        result = await stack.call("list_all_confluence_spaces", {})
        assert result["isError"] is True
        assert "did not answer in time" in result["content"][0]["text"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Host": "evil.example.com"}, 421),
        ({"Host": "evil.example.com", "Origin": "http://evil.example.com"}, 421),
        ({"Origin": "http://evil.example.com"}, 403),
        ({"Host": "localhost:8000"}, 200),
    ],
)
async def test_default_loopback_bind_refuses_dns_rebinding(stack: Stack, headers: dict[str, str], status: int) -> None:
    """Bound to 127.0.0.1 with no Host list, a foreign Host gets 421 and a foreign Origin 403."""
    response = await stack.rpc("tools/list", headers=headers)
    assert response.status_code == status


async def test_own_origin_is_allowed_on_loopback(stack: Stack) -> None:
    """A page served by this server (Origin = one of the allowed loopback hosts) may call it."""
    port = stack.base_url.rsplit(":", 1)[1]
    response = await stack.rpc("tools/list", headers={"Origin": f"http://127.0.0.1:{port}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("host", "allowed"),
    [("[::1]:8000", True), ("127.0.0.1:9", True), ("localhost", False), ("127.0.0.2:80", False)],
)
def test_host_patterns_match_ipv4_and_ipv6_with_any_port(host: str, allowed: bool) -> None:
    """'name:*' patterns accept any port, IPv6 literals included."""
    from confluence_mcp.server.guards import host_allowed

    assert host_allowed(host, ("127.0.0.1:*", "[::1]:*")) is allowed


async def test_bearer_account_sends_its_token_upstream() -> None:
    """An account with bearer auth sends 'Authorization: Bearer <token>' to Confluence, and the call works."""
    async with running_stack(account_auth={"type": "bearer", "password": "sim-token"}) as stack:
        account = await stack.app.state.runtime.store.get_account("acme")
        assert account.auth_type == "bearer"
        result = await stack.call("list_all_confluence_spaces", {})
        assert result["isError"] is False
        (sent,) = stack.sim.requests
        assert sent.headers["authorization"] == "Bearer sim-token"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"name": "get_single_confluence_page_by_id", "arguments": "id=1"}, "'params.arguments' of get_single"),
        ({"name": "get_single_confluence_page_by_id", "arguments": [1]}, "got an array"),
        ({"name": 7, "arguments": {}}, "'params.name' must be a string naming a tool, got a number"),
    ],
)
async def test_malformed_call_params_name_the_field(stack: Stack, params: dict[str, Any], fragment: str) -> None:
    """tools/call with arguments that are not an object (or a name that is not a string) names the field."""
    response = await stack.rpc("tools/call", params)
    assert response.status_code == 200
    error = response.json()["error"]
    assert error["code"] == -32602
    assert fragment in error["message"]
    assert stack.sim.requests == []


async def test_malformed_call_params_on_the_modern_era_are_400(stack: Stack) -> None:
    """On 2026-07-28 the same invalid-params error comes with HTTP 400, as the SDK maps -32602."""
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    headers = {
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "list_all_confluence_spaces",
    }
    params = {"name": "list_all_confluence_spaces", "arguments": "all", "_meta": meta}
    response = await stack.rpc("tools/call", params, headers=headers)
    assert response.status_code == 400
    assert "'params.arguments' of list_all_confluence_spaces" in response.json()["error"]["message"]


async def test_a_server_over_its_fair_share_gets_429_with_retry_after_and_nothing_goes_upstream() -> None:
    """The third call in a minute of a server capped at two is a JSON-RPC error at HTTP 429 saying when to retry."""
    async with running_stack(limits={"per_server_per_minute": 2}) as stack:
        for _ in range(2):
            assert (await stack.call("list_all_confluence_spaces", {}))["isError"] is False
        stack.sim.requests.clear()
        response = await stack.rpc("tools/call", {"name": "list_all_confluence_spaces", "arguments": {}})
        assert response.status_code == 429
        wait = int(response.headers["retry-after"])
        assert 1 <= wait <= 30  # the bucket refills 2 calls a minute, so at most 30 s to the next one
        assert response.json()["error"] == {
            "code": -31429,
            "message": f"Too many calls for this MCP server: at most 2 per minute. Retry after {wait} seconds.",
        }
        assert stack.sim.requests == []
        other = await stack.call("list_all_confluence_spaces", {}, server="read")
        assert other["isError"] is False


async def test_trailing_slash_is_answered_in_place_and_no_redirect_echoes_the_token(stack: Stack) -> None:
    """``/mcp/<token>/`` answers like ``/mcp/<token>``; no method or path gets a Location carrying the token."""
    token = stack.tokens["all"]
    ping = {"jsonrpc": "2.0", "id": 7, "method": "ping"}
    async with httpx.AsyncClient(follow_redirects=False) as client:
        answered = await client.post(stack.url() + "/", json=ping, headers=JSON_HEADERS)
        assert answered.status_code == 200
        assert answered.json() == {"jsonrpc": "2.0", "id": 7, "result": {}}
        for method, path in [
            ("GET", f"/mcp/{token}/"),
            ("DELETE", f"/mcp/{token}/"),
            ("POST", f"/mcp/{token}//"),
            ("GET", f"/mcp/{token}/x/"),
            ("GET", "/healthz/"),
        ]:
            response = await client.request(method, stack.base_url + path, headers=JSON_HEADERS)
            assert not response.is_redirect, (method, path, response.status_code)
            assert "location" not in response.headers
            assert token not in response.text
