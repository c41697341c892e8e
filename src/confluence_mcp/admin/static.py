"""Accounts and MCP servers declared in the settings file, checked by the admin rules and written at start-up.

Each YAML entry is shaped into the body the admin API would take (``admin.models``) and built by the same
``admin.rules`` functions as an API or CLI request, so an entry the API would refuse stops the start-up with a
``ConfigError`` naming its key (``accounts[0].instance_url``, ``servers[1].methods[0]``). Every entry is checked
before any is written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from confluence_mcp.admin.models import AccountInput, McpServerInput, parse_input
from confluence_mcp.admin.rules import new_account, new_mcp_server, reworded
from confluence_mcp.errors import ConfigError, InvalidInput, NotFound
from confluence_mcp.openapi import Tool
from confluence_mcp.settings import Settings, StaticAccount, StaticServer, UpstreamSettings
from confluence_mcp.store.base import Account, McpServer, Store
from confluence_mcp.store.tokens import hash_token

__all__ = ["STATIC_SERVER_PREFIX", "load_static_config"]

STATIC_SERVER_PREFIX = "static-"
"""Ids of MCP servers declared in the settings file start with this; the admin API refuses to change them."""


async def load_static_config(settings: Settings, store: Store, tools: Sequence[Tool]) -> None:
    """Check every declared account and MCP server with the admin rules, then create or replace them."""
    now = datetime.now(UTC)
    accounts = [_account(item, f"accounts[{i}]", settings.upstream, now) for i, item in enumerate(settings.accounts)]
    known = {a.id for a in accounts}
    servers: list[McpServer] = []
    for index, entry in enumerate(settings.servers):
        key = f"servers[{index}]"
        if entry.account not in known:
            try:
                await store.get_account(entry.account)
            except NotFound as exc:
                raise ConfigError(f"{key}.account: no account with id {entry.account!r}") from exc
        servers.append(_server(entry, key, tools, now))
    for account in accounts:
        try:
            existing = await store.get_account(account.id)
        except NotFound:
            await store.create_account(account)
        else:
            await store.update_account(replace(account, created_at=existing.created_at))
    for server in servers:
        try:
            await store.get_mcp_server(server.id)
        except NotFound:
            await store.create_mcp_server(server)
        else:
            await store.update_mcp_server(server)


def _account(item: StaticAccount, key: str, upstream: UpstreamSettings, now: datetime) -> Account:
    body = {
        "label": item.label or item.id,
        "instance_url": item.instance_url,
        "auth": {"type": item.auth.type, "username": item.auth.username, "password": item.auth.password},
        "api_token_expires_at": item.api_token_expires_at,
    }
    with _named_by(key):
        return new_account(item.id, parse_input(AccountInput, body), upstream, now)


def _server(entry: StaticServer, key: str, tools: Sequence[Tool], now: datetime) -> McpServer:
    body = {
        "name": entry.name,
        "config": {
            "methods": list(entry.methods),
            "tags": list(entry.tags),
            "require_api_token_auth": entry.require_api_token_auth,
        },
        "expires_at": entry.expires_at,
    }
    token_hash = hash_token(entry.token.get_secret_value())
    with _named_by(key):
        checked = parse_input(McpServerInput, body)
        return new_mcp_server(
            f"{STATIC_SERVER_PREFIX}{token_hash[:16]}", entry.account, token_hash, checked, tools, now
        )


@contextlib.contextmanager
def _named_by(key: str) -> Iterator[None]:
    """Turn a rule's InvalidInput into a ConfigError naming the settings key (``config.tags[1]`` -> ``tags[1]``)."""
    try:
        yield
    except InvalidInput as exc:
        # A server's filters sit under ``config`` in the API body but directly in the YAML entry.
        inner = "" if exc.field == "config" else (exc.field or "").removeprefix("config.")
        raise ConfigError(reworded(exc, f"{key}.{inner}" if inner else key)) from exc
