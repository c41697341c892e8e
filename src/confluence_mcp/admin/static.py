"""Accounts and MCP servers declared in the settings file, written into the store at start-up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from confluence_mcp.errors import ConfigError, NotFound
from confluence_mcp.policy.filters import normalize_methods, normalize_tags
from confluence_mcp.settings import Settings
from confluence_mcp.store.base import Account, McpServer, Store
from confluence_mcp.store.tokens import hash_token


def parse_time(value: str | None, key: str) -> datetime | None:
    """Parse an ISO-8601 time from settings (naive means UTC); a bad value names its key."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{key}: {value!r} is not an ISO-8601 time such as 2026-12-31T00:00:00Z") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


async def load_static_config(settings: Settings, store: Store) -> None:
    """Create or replace every statically declared account and MCP server."""
    now = datetime.now(UTC)
    known = {a.id for a in settings.accounts}
    for index, item in enumerate(settings.accounts):
        account = Account(
            id=item.id,
            label=item.label or item.id,
            instance_url=item.instance_url.rstrip("/"),
            auth_type=item.auth.type,
            username=item.auth.username,
            secret=item.auth.password.get_secret_value(),
            api_token_expires_at=parse_time(item.api_token_expires_at, f"accounts[{index}].api_token_expires_at"),
            created_at=now,
            updated_at=now,
        )
        try:
            existing = await store.get_account(account.id)
        except NotFound:
            await store.create_account(account)
        else:
            await store.update_account(replace(account, created_at=existing.created_at))
    for index, entry in enumerate(settings.servers):
        key = f"servers[{index}]"
        if entry.account not in known:
            try:
                await store.get_account(entry.account)
            except NotFound as exc:
                raise ConfigError(f"{key}.account: no account with id {entry.account!r}") from exc
        try:
            methods = normalize_methods(entry.methods)
            tags = normalize_tags(entry.tags)
        except ValueError as exc:
            raise ConfigError(f"{key}.{exc}") from exc
        token_hash = hash_token(entry.token.get_secret_value())
        server = McpServer(
            id=f"static-{token_hash[:16]}",
            name=entry.name,
            account_id=entry.account,
            token_hash=token_hash,
            methods=methods,
            tags=tags,
            require_api_token_auth=entry.require_api_token_auth,
            expires_at=parse_time(entry.expires_at, f"{key}.expires_at"),
            created_at=now,
            updated_at=now,
        )
        try:
            await store.get_mcp_server(server.id)
        except NotFound:
            await store.create_mcp_server(server)
        else:
            await store.update_mcp_server(server)
