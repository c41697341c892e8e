"""Generated JSON-RPC envelopes, valid and broken, in both protocol eras, over real HTTP to /mcp/<token>.

Whatever arrives, the answer is 2xx or a refusal (never a 5xx), shows no traceback or server path, carries
well-formed JSON-RPC 2.0 messages with no -32603 (nothing unexpected happened inside), and the server still
answers its health probe afterwards.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from confluence_mcp.rpc.versions import HANDSHAKE_VERSIONS, MODERN_VERSIONS
from tests.support.fuzzing import assert_alive, budget
from tests.support.soundness import assert_rpc_answer
from tests.support.stack import SERVERS, Stack

surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | surrogates
"""Python's json writes NaN, Infinity and lone surrogates (as \\uD800 escapes): strict JSON has none of them."""
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
METHODS = [
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "notifications/initialized",
    "notifications/cancelled",
    "subscriptions/listen",
    "server/discover",
    "resources/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
]
methods = st.sampled_from(METHODS) | st.text(max_size=30) | json_values
ids = st.integers() | st.text(max_size=20) | st.none() | st.floats(allow_nan=False) | st.booleans() | json_values
JSON = {"Content-Type": "application/json"}
VERSIONS = sorted(HANDSHAKE_VERSIONS | MODERN_VERSIONS)
tool_names = st.sampled_from(["get_single_confluence_page_by_id", "search_tools", "call_tool", "nope"]) | st.text()


@st.composite
def params(draw: st.DrawFn) -> Any:
    """Params of the right shape for tools/call and initialize, or anything at all."""
    kind = draw(st.sampled_from(["call", "initialize", "meta", "any"]))
    if kind == "call":
        return {"name": draw(tool_names | json_values), "arguments": draw(json_values)}
    if kind == "initialize":
        return {
            "protocolVersion": draw(st.sampled_from(VERSIONS) | json_values),
            "capabilities": draw(json_values),
            "clientInfo": draw(st.fixed_dictionaries({"name": st.text(), "version": st.text()}) | json_values),
        }
    if kind == "meta":
        meta = {"io.modelcontextprotocol/protocolVersion": draw(st.sampled_from(VERSIONS) | json_values)}
        return {"_meta": draw(st.just(meta) | json_values), "cursor": draw(json_values)}
    return draw(json_values)


@st.composite
def envelopes(draw: st.DrawFn) -> Any:
    """One JSON-RPC message: every member present, missing or of the wrong type."""
    message: dict[str, Any] = {}
    if draw(st.booleans()):
        message["jsonrpc"] = draw(st.just("2.0") | json_values)
    if draw(st.booleans()):
        message["id"] = draw(ids)
    if draw(st.integers(0, 9)) > 0:
        message["method"] = draw(methods)
    if draw(st.booleans()):
        message["params"] = draw(params())
    if draw(st.integers(0, 9)) == 0:
        message[draw(st.sampled_from(["result", "error"]))] = draw(json_values)  # a response sent to the server
    return message


def _encoded(value: Any) -> st.SearchStrategy[bytes]:
    """``value`` as JSON bytes, ASCII-escaped or as raw UTF-8 (where it has no lone surrogate)."""
    escaped = json.dumps(value).encode()
    try:
        raw = json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return st.just(escaped)
    return st.sampled_from([escaped, raw])


bodies = (
    envelopes().flatmap(_encoded)
    | st.lists(envelopes(), max_size=3).flatmap(_encoded)  # batches, empty included
    | json_values.flatmap(_encoded)
    | st.binary(max_size=64)
    | envelopes().flatmap(_encoded).flatmap(lambda raw: st.integers(0, len(raw)).map(lambda cut: raw[:cut]))
)


@st.composite
def headers(draw: st.DrawFn) -> dict[str, str]:
    """Content-Type, Accept and the protocol-version header of either era, each right, wrong or absent."""
    chosen: dict[str, str] = {}
    text = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=30)  # h11 refuses edge spaces
    content_type = draw(st.sampled_from(["application/json", "text/plain", "application/json; charset=utf-8", None]))
    if content_type:
        chosen["Content-Type"] = content_type
    accept = draw(
        st.sampled_from(
            ["application/json, text/event-stream", "application/json", "text/event-stream", "*/*", "text/html"]
        )
    )
    chosen["Accept"] = accept
    version = draw(st.none() | st.sampled_from(VERSIONS) | text)
    if version is not None:
        chosen["MCP-Protocol-Version"] = version
    if draw(st.booleans()):
        chosen["Mcp-Session-Id"] = draw(text)
    return chosen


@given(body=bodies, chosen=headers(), server=st.sampled_from(sorted(SERVERS)), bearer=st.sampled_from([0, 1, 2]))
@budget(120)
@example(body=b"[]", chosen={"Content-Type": "application/json"}, server="all", bearer=0)
@example(body=b'{"jsonrpc":"2.0","id":1,"method":"ping"}', chosen=JSON, server="all", bearer=0)
@example(body=b'{"jsonrpc":"2.0","id":' + b"9" * 5000 + b',"method":"ping"}', chosen=JSON, server="all", bearer=0)
@example(body=b'{"jsonrpc":"2.0","id":1,"method":"ping","params":1e999}', chosen=JSON, server="all", bearer=0)
@example(body=b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":NaN}}', chosen=JSON, server="all", bearer=0)
@example(body=b'\xef\xbb\xbf{"jsonrpc":"2.0","id":1,"method":"ping"}', chosen=JSON, server="all", bearer=0)
@example(body=b'{"jsonrpc":"2.0","id":1,"method":"ping","id":2}', chosen=JSON, server="auth", bearer=1)
@example(body=b'{"jsonrpc":"2.0","id":"\\ud800","method":"ping"}', chosen=JSON, server="all", bearer=0)
@example(
    body=b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\\udfff"}}',
    chosen=JSON,
    server="all",
    bearer=0,
)
def test_any_envelope_gets_a_json_rpc_answer_and_the_server_stays_up(
    fuzz_stack: Stack, client: httpx.Client, body: bytes, chosen: dict[str, str], server: str, bearer: int
) -> None:
    """Generated envelopes (every member missing or mistyped, batches, cut-off JSON, bytes) are answered soundly."""
    sent = dict(chosen)
    if bearer:
        sent["Authorization"] = f"Bearer {fuzz_stack.mcp_api_token if bearer == 1 else fuzz_stack.api_token}"
    response = client.post(f"/mcp/{fuzz_stack.tokens[server]}", content=body, headers=sent)
    assert_rpc_answer(response)
    assert_alive(client)


def _nested(depth: int, *, arrays: bool) -> str:
    inner = '"x"'
    return "[" * depth + inner + "]" * depth if arrays else '{"a":' * depth + inner + "}" * depth


@pytest.mark.parametrize("depth", [64, 1000, 100_000])
@pytest.mark.parametrize("arrays", [True, False], ids=["arrays", "objects"])
@pytest.mark.parametrize("where", ["params", "arguments", "id"])
def test_deeply_nested_bodies_are_parse_errors_or_answered(
    fuzz_stack: Stack, client: httpx.Client, depth: int, arrays: bool, where: str
) -> None:
    """Nesting 64 to 100,000 deep in params, tool arguments or the id is answered soundly; past the cap it is -32700."""
    nested = _nested(depth, arrays=arrays)
    if where == "params":
        body = f'{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{nested}}}'
    elif where == "arguments":
        body = (
            '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":'
            f'{{"name":"get_single_confluence_page_by_id","arguments":{{"id":{nested}}}}}}}'
        )
    else:
        body = f'{{"jsonrpc":"2.0","id":{nested},"method":"ping"}}'
    response = client.post(
        f"/mcp/{fuzz_stack.tokens['all']}", content=body, headers={"Content-Type": "application/json"}
    )
    messages = assert_rpc_answer(response)
    if depth == 100_000:
        assert response.status_code in (400, 413), response.text
        assert not messages or messages[0]["error"]["code"] in (-32700, -32600), messages
    assert_alive(client)


def test_batches_are_refused_with_a_message_saying_so(fuzz_stack: Stack, client: httpx.Client) -> None:
    """A JSON-RPC batch is -32600 naming batches, never a pydantic dump."""
    batch = [{"jsonrpc": "2.0", "id": n, "method": "ping"} for n in range(3)]
    response = client.post(f"/mcp/{fuzz_stack.tokens['all']}", json=batch, headers={"Accept": "application/json"})
    (message,) = assert_rpc_answer(response)
    assert message["error"]["code"] == -32600
    assert "batch" in message["error"]["message"].lower()
    assert "pydantic" not in response.text.lower()


@given(
    token=st.text(min_size=1, max_size=80), host=st.none() | st.text(st.characters(min_codepoint=33, max_codepoint=126))
)
@budget(60)
@example(token="..", host=None)
@example(token="%2e%2e%2fadmin", host=None)
@example(token="x" * 5000, host=None)
def test_any_token_and_host_get_a_json_rpc_refusal(client: httpx.Client, token: str, host: str | None) -> None:
    """A made-up token in the path (any text, encoded) or a made-up Host is refused as JSON-RPC, not echoed."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if host is not None:
        headers["Host"] = host
    path = "/mcp/" + quote(token, safe="")
    response = client.post(path, content=b'{"jsonrpc":"2.0","id":1,"method":"ping"}', headers=headers)
    if response.status_code == 404 and not response.headers.get("content-type", "").startswith("application/json"):
        raise AssertionError(response.text)
    if response.headers.get("content-type", "").startswith("application/json") and "jsonrpc" in response.text:
        assert_rpc_answer(response)
    else:  # a path that is not /mcp/<one segment> after decoding reaches the admin router
        assert response.status_code in (404, 405, 307), response.text
    assert response.status_code >= 300, response.text
    assert len(token) < 8 or token not in response.text
    assert_alive(client)
