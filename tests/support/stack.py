"""The full stack for end-to-end tests: the Confluence simulator and our server, both on real loopback HTTP."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from confluence_mcp.server.app import create_app, wrap
from confluence_mcp.settings import Settings
from confluence_mcp.simulator import Simulator, create_simulator
from confluence_mcp.store.base import ApiToken, McpServer, Store, TokenScope
from confluence_mcp.store.cipher import generate_key
from confluence_mcp.store.tokens import hash_token, mint_api_token, new_id
from tests.support.servers import serve_asgi

SIM_EMAIL = "agent@example.com"
SIM_API_TOKEN = "sim-token"
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}

# One static MCP server per filter the tests need; tokens are random per run.
SERVERS: dict[str, dict[str, Any]] = {
    "all": {},
    "read": {"methods": ["read"]},
    "pages": {"tags": ["pages"]},
    "groups_custom": {"methods": ["custom"], "tags": ["groups"]},
    "auth": {"require_api_token_auth": True},
    "discovery": {"tool_exposure": "discovery"},
    "full": {"lean_results": False},
}
EXPIRED = "expired"
"""A server that expired long ago: written to the store directly, since the settings file and the API refuse it."""


@dataclass
class Stack:
    """A running simulator and server, with a URL per configured MCP server."""

    base_url: str
    sim: Simulator
    sim_url: str
    tokens: dict[str, str]
    app: Any
    api_token: str = ""
    """An admin token: opens the admin API, and no MCP server."""
    mcp_api_token: str = ""
    """An unbound MCP client token: the bearer every server with ``require_api_token_auth`` accepts."""
    extra: dict[str, Any] = field(default_factory=dict)

    def url(self, name: str = "all") -> str:
        """Return the MCP URL of the named server."""
        return f"{self.base_url}/mcp/{self.tokens[name]}"

    async def server_id(self, name: str) -> str:
        """Return the store id of the named server."""
        runtime = self.app.state.runtime
        server = await runtime.store.find_mcp_server_by_token_hash(
            runtime.cipher.hasher.hash(self.tokens[name]), datetime.now(UTC)
        )
        assert server is not None, name
        server_id: str = server.id
        return server_id

    async def add_api_token(self, scope: TokenScope, server_ids: tuple[str, ...] = ()) -> str:
        """Store a new API token of ``scope`` (bound to ``server_ids``) and return its secret."""
        return await _add_api_token(self.app.state.runtime.store, scope, server_ids)

    async def rpc(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        server: str = "all",
        headers: dict[str, str] | None = None,
        request_id: int = 1,
    ) -> httpx.Response:
        """POST one JSON-RPC request as curl would and return the raw response."""
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            body["params"] = params
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(self.url(server), json=body, headers={**JSON_HEADERS, **(headers or {})})

    async def call(self, name: str, arguments: dict[str, Any], *, server: str = "all") -> dict[str, Any]:
        """Call a tool over raw JSON-RPC and return the JSON-RPC result object."""
        response = await self.rpc("tools/call", {"name": name, "arguments": arguments}, server=server)
        assert response.status_code == 200, response.text
        payload: dict[str, Any] = response.json()
        assert "result" in payload, payload
        result: dict[str, Any] = payload["result"]
        return result


def stack_settings(
    sim_url: str, tokens: dict[str, str], *, account_auth: dict[str, Any] | None = None, **overrides: Any
) -> Settings:
    """Return settings with one account on the simulator and one static server per entry of SERVERS."""
    raw: dict[str, Any] = {
        "secrets": {"key": generate_key()},
        "store": {"url": "memory://"},
        "upstream": {"allowed_hosts": ["127.0.0.1"]},  # the simulator, named exactly: loopback and plain http
        "accounts": [
            {
                "id": "acme",
                "label": "Acme (simulated)",
                "instance_url": sim_url,
                "auth": account_auth or {"type": "basic", "username": SIM_EMAIL, "password": SIM_API_TOKEN},
            }
        ],
        "servers": [
            {"token": tokens[name], "account": "acme", "name": name, **extra} for name, extra in SERVERS.items()
        ],
    }
    for key, value in overrides.items():
        section = raw.setdefault(key, {})
        if isinstance(value, dict) and isinstance(section, dict):
            section.update(value)
        else:
            raw[key] = value
    return Settings.model_validate(raw)


def platform_settings(sim_url: str) -> dict[str, Any]:
    """Return the ``atlassian`` section that points OAuth and the API gateway at the simulator's platform."""
    return {
        "auth_url": sim_url,
        "api_url": sim_url,
        "oauth_client_id": "sim-client",
        "oauth_client_secret": "sim-client-secret",
    }


@contextlib.asynccontextmanager
async def running_stack(
    *,
    account_auth: dict[str, Any] | None = None,
    platform: bool = False,
    instance_url: str | None = None,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """Start the simulator and our server (memory store) on loopback; settings sections may be overridden.

    ``platform``: Atlassian's hosts (OAuth server, API gateway) are the simulator's too. ``instance_url`` points
    the account somewhere else than the simulator (a raw server that misbehaves).
    """
    sim = create_simulator(email=SIM_EMAIL, api_token=SIM_API_TOKEN)
    tokens = {name: "cmcp_" + secrets.token_urlsafe(32) for name in [*SERVERS, EXPIRED]}
    async with serve_asgi(sim.app) as sim_url:
        if platform:
            overrides = {"atlassian": platform_settings(sim_url), **overrides}
        settings = stack_settings(instance_url or sim_url, tokens, account_auth=account_auth, **overrides)
        app = create_app(settings)
        async with serve_asgi(wrap(app), server=settings.server) as base_url:
            store = app.state.runtime.store
            api_token = await _add_api_token(store, "admin")
            mcp_api_token = await _add_api_token(store, "mcp")
            long_ago = datetime(2000, 1, 1, tzinfo=UTC)
            token_hash = hash_token(tokens[EXPIRED])
            expired = McpServer(new_id("mcp"), EXPIRED, "acme", token_hash, (), (), False, long_ago, long_ago, long_ago)
            await store.create_mcp_server(expired)
            sim.requests.clear()
            yield Stack(
                base_url=base_url,
                sim=sim,
                sim_url=sim_url,
                tokens=tokens,
                app=app,
                api_token=api_token,
                mcp_api_token=mcp_api_token,
            )


async def _add_api_token(store: Store, scope: TokenScope, server_ids: tuple[str, ...] = ()) -> str:
    token = mint_api_token()
    record = ApiToken(new_id("tok"), f"tests-{scope}", hash_token(token), datetime.now(UTC), None, scope, server_ids)
    await store.create_api_token(record)
    return token
