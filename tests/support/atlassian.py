"""Helpers for scoped and OAuth accounts over the real stack: Connect with Atlassian, MCP URLs, raw tool calls."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from typing import Any

import httpx

from confluence_mcp.atlassian import OAuthTokens
from confluence_mcp.store.base import Store
from tests.support.stack import JSON_HEADERS, Stack

SIM_SCOPED_TOKEN = "sim-scoped-token"  # the simulator's default scoped API token


def admin_client(stack: Stack) -> httpx.AsyncClient:
    """Return a client of the stack's admin API, with its admin token."""
    return httpx.AsyncClient(base_url=stack.base_url, headers={"Authorization": f"Bearer {stack.api_token}"})


async def connect_oauth(stack: Stack, *, label: str | None = "Acme via OAuth", account_id: str | None = None) -> str:
    """Connect with Atlassian end to end (our authorize URL, the simulator's consent, our callback); return the id."""
    body: dict[str, Any] = {"label": label} if account_id is None else {"account_id": account_id}
    async with admin_client(stack) as admin:
        started = await admin.post("/oauth/connect", json=body)
        assert started.status_code == 200, started.text
        consent = await admin.get(started.json()["authorize_url"])  # the simulator approves at once
    assert consent.status_code == 302, consent.text
    async with httpx.AsyncClient() as browser:  # the operator's browser: no admin token
        callback = await browser.get(consent.headers["location"])
    assert callback.status_code == 200, callback.text
    found = re.search(r"as account (acc_[0-9a-f]+)", callback.text)
    assert found is not None, callback.text
    return found.group(1)


async def mcp_url(stack: Stack, account_id: str) -> str:
    """Create an MCP server for ``account_id`` through the admin API and return its URL on the stack."""
    async with admin_client(stack) as admin:
        created = await admin.post(f"/integrated-account/{account_id}/mcp", json={"name": "atlassian"})
    assert created.status_code == 201, created.text
    return f"{stack.base_url}/mcp/{created.json()['token']}"


async def call_tool(url: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call a tool over raw JSON-RPC at ``url`` and return the result object."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(url, json=body, headers=JSON_HEADERS)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


async def expire_access_token(store: Store, account_id: str, *, refresh_token: str | None = None) -> OAuthTokens:
    """Make the stored access token expired (and optionally swap its refresh token); return the tokens now stored."""
    account = await store.get_account(account_id)
    tokens = OAuthTokens.load(account.secret)
    changed = replace(tokens, expires_at=time.time() - 1, refresh_token=refresh_token or tokens.refresh_token)
    await store.update_account(replace(account, secret=changed.dump()))
    return changed
