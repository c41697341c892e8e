"""A running app for admin API tests: real uvicorn on loopback, a memory store and one bootstrapped API token."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from confluence_mcp.admin.service import AdminService
from confluence_mcp.server.app import Runtime, create_app, wrap
from confluence_mcp.settings import Settings
from confluence_mcp.store.cipher import Cipher, generate_key
from confluence_mcp.store.memory import MemoryStore
from tests.support.servers import serve_asgi

__all__ = [
    "ACCOUNTS_UNCHECKED",
    "ISO_Z_PATTERN",
    "MCP_HEADERS",
    "SECRET",
    "AdminApp",
    "admin_settings",
    "an_account_body",
    "error_body",
    "error_fields",
    "iso_in",
    "iso_text",
    "running_admin_app",
]

ACCOUNTS_UNCHECKED = "/integrated-account?check=false"
"""Where tests create accounts on sites no test serves (acme.atlassian.net): the connection check is skipped."""
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
SECRET = "ATATT3x-admin-api-canary-91c2"  # a canary the tests look for in responses
ISO_Z_PATTERN = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def iso_text(moment: datetime) -> str:
    """Return ``moment`` as ISO-8601 UTC text with a ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def iso_in(delta: timedelta) -> str:
    """Return the ISO-8601 UTC text of now plus ``delta``."""
    return iso_text(datetime.now(UTC) + delta)


def error_body(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert ``response`` is the JSON error ``code`` with ``status`` and return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    assert set(body) == {"error", "message", "details"}
    return body


def error_fields(body: dict[str, Any]) -> list[str]:
    """Return the field paths an error body's details name."""
    return [problem["field"] for problem in body["details"]]


def an_account_body(**overrides: Any) -> dict[str, Any]:
    """Return a valid POST /integrated-account body; keys in ``overrides`` replace its own."""
    body: dict[str, Any] = {
        "label": "Acme",
        "instance_url": "https://acme.atlassian.net",
        "auth": {"type": "basic", "username": "john.smith@example.com", "password": SECRET},
    }
    body.update(overrides)
    return body


def admin_settings(**sections: Any) -> Settings:
    """Return settings with a fresh secret key; keyword arguments are extra top-level sections."""
    return Settings.model_validate({"secrets": {"key": generate_key()}, **sections})


@dataclass
class AdminApp:
    """A running app: its base URL, an authenticated admin client, the store and the runtime."""

    base_url: str
    client: httpx.AsyncClient
    api_token: str
    store: MemoryStore
    runtime: Runtime

    async def create_account(self, **overrides: Any) -> dict[str, Any]:
        """Create an account through the API and return its JSON."""
        response = await self.client.post(ACCOUNTS_UNCHECKED, json=an_account_body(**overrides))
        assert response.status_code == 201, response.text
        account: dict[str, Any] = response.json()
        return account

    async def create_mcp_server(self, account_id: str, **body: Any) -> httpx.Response:
        """POST an MCP server under ``account_id`` (name defaults to 'agent') and return the raw response."""
        return await self.client.post(f"/integrated-account/{account_id}/mcp", json={"name": "agent", **body})

    async def rpc(self, url: str, method: str = "tools/list", params: dict[str, Any] | None = None) -> httpx.Response:
        """POST one JSON-RPC request to an MCP URL, as curl would, without the admin token."""
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(url, json=body, headers=MCP_HEADERS)

    async def tool_names(self, url: str) -> set[str]:
        """Return every tool name tools/list answers on ``url``, following cursors."""
        names: set[str] = set()
        cursor: str | None = None
        while True:
            response = await self.rpc(url, "tools/list", {"cursor": cursor} if cursor else {})
            assert response.status_code == 200, response.text
            result = response.json()["result"]
            names.update(tool["name"] for tool in result["tools"])
            cursor = result.get("nextCursor")
            if not cursor:
                return names


@contextlib.asynccontextmanager
async def running_admin_app(settings: Settings | None = None) -> AsyncIterator[AdminApp]:
    """Serve a fresh app over a memory store and yield it with a client holding a valid API token."""
    settings = settings or admin_settings()
    assert settings.secrets.key is not None
    store = MemoryStore(cipher=Cipher.from_key(settings.secrets.key.get_secret_value()))
    await store.open()  # an explicit store is ours to open and close, not the app's
    try:
        app = create_app(settings, store=store)
        runtime: Runtime = app.state.runtime
        created = await AdminService(store, settings, lambda: runtime.catalog.tools).create_api_token("tests")
        async with serve_asgi(wrap(app), server=settings.server) as base_url:
            headers = {"Authorization": f"Bearer {created.token}"}
            async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
                yield AdminApp(base_url, client, created.token, store, runtime)
    finally:
        await store.close()
