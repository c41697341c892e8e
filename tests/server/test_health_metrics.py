"""Operations endpoints: /healthz, /readyz that tracks the store, and /metrics with bounded, secret-free labels."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from confluence_mcp.errors import StoreError
from confluence_mcp.simulator import SEED
from tests.support.stack import SERVERS, Stack, running_stack

pytestmark = pytest.mark.anyio


async def _get(stack: Stack, path: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(stack.base_url + path, headers=headers)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_healthz_and_readyz_answer_when_all_is_well(stack: Stack) -> None:
    """The process is up and ready: the store answers and the tools are loaded."""
    assert (await _get(stack, "/healthz")).json()["status"] == "ok"
    ready = await _get(stack, "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "tools": "ok", "store": "ok"}


async def test_readyz_is_503_while_the_store_is_down_and_recovers(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing store makes /readyz 503 with Retry-After; the next probe after recovery is 200 again."""
    store = stack.app.state.runtime.store
    original = store.find_api_token_by_hash
    down = True

    async def flaky(*args: Any) -> Any:
        if down:
            raise StoreError("connection refused")
        return await original(*args)

    monkeypatch.setattr(store, "find_api_token_by_hash", flaky)
    probe = await _get(stack, "/readyz")
    assert probe.status_code == 503
    assert probe.headers["retry-after"] == "1"
    assert probe.json()["store"] == "unreachable"
    down = False
    assert (await _get(stack, "/readyz")).status_code == 200


async def test_metrics_count_calls_by_tool_and_outcome_and_time_upstream() -> None:
    """Calls, refusals, throttling and upstream statuses are counted; no token or odd name becomes a label."""
    async with running_stack(limits={"per_server_per_minute": 6}) as stack:
        page = {"id": SEED.release_checklist_id}
        assert (await stack.call("get_single_confluence_page_by_id", page))["isError"] is False
        assert (await stack.call("get_single_confluence_page_by_id", {"id": "999999"}))["isError"] is True
        await stack.rpc("tools/call", {"name": "no_such_tool_\u2603", "arguments": {}})
        for _ in range(4):
            await stack.rpc("tools/call", {"name": "list_all_confluence_spaces", "arguments": {}})
        await stack.rpc("tools/list", {})
        text = (await _get(stack, "/metrics")).text
    samples = _samples(text)
    calls = "confluence_mcp_tool_calls_total"
    assert samples[(calls, (("outcome", "ok"), ("tool", "get_single_confluence_page_by_id")))] == 1
    assert samples[(calls, (("outcome", "error"), ("tool", "get_single_confluence_page_by_id")))] == 1
    assert samples[(calls, (("outcome", "refused"), ("tool", "unknown")))] == 1
    assert samples[(calls, (("outcome", "ok"), ("tool", "list_all_confluence_spaces")))] == 3
    assert samples[(calls, (("outcome", "throttled"), ("tool", "list_all_confluence_spaces")))] == 1
    assert samples[("confluence_mcp_rate_limited_calls_total", (("by", "fair_share"),))] == 1
    assert samples[("confluence_mcp_requests_total", (("method", "tools/call"),))] == 7
    assert samples[("confluence_mcp_requests_total", (("method", "tools/list"),))] == 1
    assert samples[("confluence_mcp_upstream_seconds_count", (("status", "200"),))] == 4
    assert samples[("confluence_mcp_upstream_seconds_count", (("status", "404"),))] == 1
    live = len(SERVERS) - sum(1 for extra in SERVERS.values() if "expires_at" in extra)
    assert samples[("confluence_mcp_live_mcp_servers", ())] == live
    assert samples[("confluence_mcp_accounts_token_expiring", ())] == 0
    assert "\u2603" not in text
    for token in stack.tokens.values():
        assert token not in text


async def test_metrics_can_require_an_admin_token() -> None:
    """With server.metrics_require_token, /metrics is 401 without a bearer token and 200 with one."""
    async with running_stack(server={"metrics_require_token": True}) as stack:
        refused = await _get(stack, "/metrics")
        assert refused.status_code == 401
        assert "www-authenticate" in refused.headers
        allowed = await _get(stack, "/metrics", Authorization=f"Bearer {stack.api_token}")
        assert allowed.status_code == 200
        assert "confluence_mcp_tool_calls" in allowed.text
