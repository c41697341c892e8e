"""Accounts and MCP servers declared in the settings file, checked by the admin rules and written at start-up.

Each YAML entry is shaped into the body the admin API would take (``admin.models``) and built by the same
``admin.rules`` functions as an API or CLI request, so an entry the API would refuse stops the start-up with a
``ConfigError`` naming its key (``accounts[0].instance_url``, ``servers[1].methods[0]``). Every entry is checked
before any is written. An entry whose stored record has another site must bring other credentials too
(``accounts[0].auth``), since the file, unlike a PATCH, always states credentials: the stored ones never
follow a new host.

Dates are the exception, because the file is read again at every start and time passes: the API's windows
(an MCP server expiry at least 60 s ahead, an Atlassian token expiry in the future) guard against typos when
a record is created, but a settings file that was valid yesterday must not stop the server today. A declared
server whose ``expires_at`` has passed is not loaded (and is removed if an earlier start wrote it); an account
whose Atlassian token has expired still loads, with a warning, and its calls get Confluence's 401 explained.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from confluence_mcp.admin.models import AccountInput, McpServerInput, parse_input
from confluence_mcp.admin.rules import new_account, new_mcp_server, require_credentials_for_new_site, reworded
from confluence_mcp.atlassian.platform import discover_cloud_id
from confluence_mcp.errors import ConfigError, InvalidInput, NotFound
from confluence_mcp.openapi import Tool
from confluence_mcp.settings import Settings, StaticAccount, StaticServer, UpstreamSettings
from confluence_mcp.store.base import Account, McpServer, Store
from confluence_mcp.store.tokens import TokenHasher, hash_token

__all__ = ["STATIC_SERVER_PREFIX", "load_static_config", "with_cloud_id"]

log = logging.getLogger("confluence_mcp.admin")

STATIC_SERVER_PREFIX = "static-"
"""Ids of MCP servers declared in the settings file start with this; the admin API refuses to change them."""


async def load_static_config(
    settings: Settings, store: Store, tools: Sequence[Tool], hasher: TokenHasher | None = None
) -> None:
    """Check every declared account and MCP server with the admin rules, then create or replace them.

    Declared tokens are stored under ``hasher``'s keyed hash; one stored under an older hash is re-keyed in place.
    """
    now = datetime.now(UTC)
    hasher = hasher or TokenHasher(())
    accounts = [_account(item, f"accounts[{i}]", settings.upstream, now) for i, item in enumerate(settings.accounts)]
    stored = {account.id: await _stored_account(store, account.id) for account in accounts}
    for index, account in enumerate(accounts):
        _check_site_change(stored[account.id], account, f"accounts[{index}]")
        with _named_by(f"accounts[{index}]"):
            accounts[index] = await with_cloud_id(account, stored[account.id], settings.upstream)
    known = {a.id for a in accounts}
    servers: list[McpServer] = []
    expired: list[McpServer] = []
    for index, entry in enumerate(settings.servers):
        key = f"servers[{index}]"
        if entry.account not in known:
            try:
                await store.get_account(entry.account)
            except NotFound as exc:
                raise ConfigError(f"{key}.account: no account with id {entry.account!r}") from exc
        server = _server(entry, key, tools, now, hasher)
        if server.expires_at is not None and server.expires_at <= now:
            log.warning("%s (%s) expired at %s: not loaded", key, server.name, server.expires_at.isoformat())
            expired.append(server)
        else:
            servers.append(server)
    for account in accounts:
        existing = stored[account.id]
        if existing is None:
            await store.create_account(account)
        else:
            await store.update_account(replace(account, created_at=existing.created_at))
    for server in servers:
        try:
            stored_server = await store.get_mcp_server(server.id)
        except NotFound:
            await store.create_mcp_server(server)
        else:
            if stored_server.token_hash != server.token_hash:  # written before keyed hashes, or under an older key
                await store.rekey_token("mcp_server", server.id, stored_server.token_hash, server.token_hash)
            await store.update_mcp_server(server)
    for server in expired:
        with contextlib.suppress(NotFound):
            await store.delete_mcp_server(server.id)


def _account(item: StaticAccount, key: str, upstream: UpstreamSettings, now: datetime) -> Account:
    body = {
        "label": item.label or item.id,
        "instance_url": item.instance_url,
        "auth": {"type": item.auth.type, "username": item.auth.username, "password": item.auth.password},
        "api_token_expires_at": item.api_token_expires_at,
    }
    with _named_by(key):
        checked = parse_input(AccountInput, body)
        token_expiry = _utc(checked.api_token_expires_at)
        if token_expiry is not None and token_expiry <= now:
            log.warning("%s.api_token_expires_at: the Atlassian API token expired at %s", key, token_expiry.isoformat())
            account = new_account(item.id, checked.model_copy(update={"api_token_expires_at": None}), upstream, now)
            return replace(account, api_token_expires_at=token_expiry)
        return new_account(item.id, checked, upstream, now)


async def with_cloud_id(account: Account, previous: Account | None, upstream: UpstreamSettings) -> Account:
    """Return ``account`` with the cloudId its kind needs: found once for scoped, kept while the site stays.

    basic and bearer accounts call the site and hold none; oauth accounts got theirs when they connected.
    """
    if account.auth_type in ("basic", "bearer"):
        return replace(account, cloud_id=None)
    if account.auth_type != "scoped":
        return account
    if previous is not None and previous.cloud_id and previous.instance_url == account.instance_url:
        return replace(account, cloud_id=previous.cloud_id)
    return replace(account, cloud_id=await discover_cloud_id(account.instance_url, upstream))


async def _stored_account(store: Store, account_id: str) -> Account | None:
    try:
        return await store.get_account(account_id)
    except NotFound:
        return None


def _check_site_change(stored: Account | None, account: Account, key: str) -> None:
    """Refuse a declared account that moved to another site but kept the stored record's credentials."""
    if stored is None:
        return
    same = (stored.auth_type, stored.username, stored.secret) == (account.auth_type, account.username, account.secret)
    with _named_by(key):
        require_credentials_for_new_site(stored.instance_url, account.instance_url, new_credentials=not same)


def _server(entry: StaticServer, key: str, tools: Sequence[Tool], now: datetime, hasher: TokenHasher) -> McpServer:
    config: dict[str, object] = {
        "methods": list(entry.methods),
        "tags": list(entry.tags),
        "require_api_token_auth": entry.require_api_token_auth,
    }
    # Keys left out of the file are left out of the body, so the API's defaults apply.
    if entry.tool_exposure is not None:
        config["tool_exposure"] = entry.tool_exposure
    if entry.max_limit is not None:
        config["max_limit"] = entry.max_limit
    if entry.lean_results is not None:
        config["lean_results"] = entry.lean_results
    if entry.hide_deprecated is not None:
        config["hide_deprecated"] = entry.hide_deprecated
    body = {"name": entry.name, "config": config, "expires_at": entry.expires_at}
    secret = entry.token.get_secret_value()
    token_hash = hasher.hash(secret)
    # The id stays what it was before keyed hashes, so a rotation or an upgrade keeps each declared server's id.
    stable_id = f"{STATIC_SERVER_PREFIX}{hash_token(secret)[:16]}"
    with _named_by(key):
        checked = parse_input(McpServerInput, body)
        # Every rule but the creation-time expiry window (see the module docstring); the caller sorts out the past.
        server = new_mcp_server(
            stable_id,
            entry.account,
            token_hash,
            checked.model_copy(update={"expires_at": None}),
            tools,
            now,
        )
        return replace(server, expires_at=_utc(checked.expires_at))


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(UTC)


@contextlib.contextmanager
def _named_by(key: str) -> Iterator[None]:
    """Turn a rule's InvalidInput into a ConfigError naming the settings key (``config.tags[1]`` -> ``tags[1]``)."""
    try:
        yield
    except InvalidInput as exc:
        # A server's filters sit under ``config`` in the API body but directly in the YAML entry.
        inner = "" if exc.field == "config" else (exc.field or "").removeprefix("config.")
        raise ConfigError(reworded(exc, f"{key}.{inner}" if inner else key)) from exc
