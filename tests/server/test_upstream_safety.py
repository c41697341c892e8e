"""What an agent sees when the upstream would lead its credentials astray: redirects and refused hosts, end to end."""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from confluence_mcp.asgi import Receive, Scope, Send
from confluence_mcp.server.app import create_app, wrap
from confluence_mcp.settings import Settings
from confluence_mcp.simulator import SEED, create_simulator
from confluence_mcp.upstream.guard import GuardedHttpTransport
from tests.support.dns import FakeDns
from tests.support.servers import serve_asgi
from tests.support.stack import JSON_HEADERS, SERVERS, SIM_API_TOKEN, SIM_EMAIL, stack_settings

pytestmark = pytest.mark.anyio

GET_PAGE = {"name": "get_single_confluence_page_by_id", "arguments": {"id": SEED.release_checklist_id}}


@dataclass
class Recorder:
    """An ASGI upstream that logs each request's path and answers 302 to ``location`` (or 200 when empty)."""

    location: str = ""
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization")
        self.requests.append((scope["path"], authorization.decode() if authorization else None))
        answer = [(b"location", self.location.encode())] if self.location else []
        await send({"type": "http.response.start", "status": 302 if self.location else 200, "headers": answer})
        await send({"type": "http.response.body", "body": b""})


def _tokens() -> dict[str, str]:
    return {name: "cmcp_" + secrets.token_urlsafe(32) for name in SERVERS}


@contextlib.asynccontextmanager
async def _served(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> AsyncIterator[str]:
    app = create_app(settings, transport=transport)
    async with serve_asgi(wrap(app)) as base_url:
        yield base_url


async def _call(url: str, params: dict[str, Any]) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(url, json=body, headers=JSON_HEADERS)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


@pytest.mark.parametrize("transport", ["lean", "httpx"])
async def test_a_redirect_from_upstream_is_a_tool_error_and_is_never_followed(transport: str) -> None:
    """A 302 (here to another loopback server) reaches the agent as an error; no second request goes anywhere."""
    elsewhere = Recorder()
    async with serve_asgi(elsewhere, lifespan="off") as elsewhere_url:
        redirector = Recorder(location=f"{elsewhere_url}/steal")
        async with serve_asgi(redirector, lifespan="off") as upstream_url:
            tokens = _tokens()
            settings = stack_settings(upstream_url, tokens, upstream={"transport": transport})
            async with _served(settings) as base_url:
                result = await _call(f"{base_url}/mcp/{tokens['all']}", GET_PAGE)
    assert result["isError"] is True
    assert "redirect (HTTP 302)" in result["content"][0]["text"]
    assert "/steal" not in result["content"][0]["text"]
    assert len(redirector.requests) == 1
    assert redirector.requests[0][1] is not None  # the credentials went to the site, and only there
    assert elsewhere.requests == []


async def test_a_site_that_rebinds_to_loopback_is_a_tool_error_naming_the_host_and_not_the_address() -> None:
    """An account on *.atlassian.net whose name now resolves to 127.0.0.1 gets a clear refusal; nothing is sent."""
    sim = create_simulator(email=SIM_EMAIL, api_token=SIM_API_TOKEN)
    async with serve_asgi(sim.app) as sim_url:
        port = httpx.URL(sim_url).port
        tokens = _tokens()
        settings = stack_settings(
            f"https://rebind.atlassian.net:{port}", tokens, upstream={"allowed_hosts": ["*.atlassian.net"]}
        )
        dns = FakeDns({"rebind.atlassian.net": ["127.0.0.1"]})
        async with _served(settings, GuardedHttpTransport(settings.upstream, resolver=dns)) as base_url:
            sim.requests.clear()
            result = await _call(f"{base_url}/mcp/{tokens['all']}", GET_PAGE)
    text = result["content"][0]["text"]
    assert result["isError"] is True
    assert "Refused to connect to Confluence: 'rebind.atlassian.net' resolves to a loopback address" in text
    assert "upstream.allowed_hosts" in text
    assert "127.0.0.1" not in text
    assert "retry" not in text.lower()  # nothing was sent, so no advice about retrying a write
    assert dns.lookups == ["rebind.atlassian.net"]
    assert sim.requests == []


async def test_a_stored_account_on_a_loopback_address_is_refused_at_connect_time_on_the_default_pool() -> None:
    """A record the rules would refuse today (written before them) still never reaches a loopback service."""
    sim = create_simulator(email=SIM_EMAIL, api_token=SIM_API_TOKEN)
    async with serve_asgi(sim.app) as sim_url:
        tokens = _tokens()
        settings = stack_settings("https://acme.atlassian.net", tokens, upstream={"allowed_hosts": ["*.atlassian.net"]})
        app = create_app(settings)
        async with serve_asgi(wrap(app)) as base_url:
            store = app.state.runtime.store
            account = await store.get_account("acme")
            await store.update_account(dataclasses.replace(account, instance_url=sim_url))
            app.state.runtime.resolver.invalidate()
            sim.requests.clear()
            result = await _call(f"{base_url}/mcp/{tokens['all']}", GET_PAGE)
    assert result["isError"] is True
    assert "'127.0.0.1' is an IP address" in result["content"][0]["text"]
    assert sim.requests == []
