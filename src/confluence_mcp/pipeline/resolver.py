"""Token -> MCP server, account target and tool view, cached briefly so revocation still lands within 1 s."""

from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeVar

from confluence_mcp.atlassian import OAuthRefresher, OAuthTokens, gateway_base
from confluence_mcp.errors import NotFound, ServiceUnavailable, StoreError, ToolCallFailed
from confluence_mcp.pipeline.catalog import Catalog, ToolView
from confluence_mcp.policy.filters import ToolFilter
from confluence_mcp.settings import AtlassianSettings
from confluence_mcp.store.base import Account, ApiToken, McpServer, Store, TokenKind, is_expired
from confluence_mcp.store.tokens import TokenHasher
from confluence_mcp.upstream.target import Target

log = logging.getLogger("confluence_mcp.resolver")

_Record = TypeVar("_Record", McpServer, ApiToken)

CACHE_LIMIT = 10_000
"""Entries each cache holds at most; a full cache is emptied, which bounds memory under a flood of random tokens."""


@dataclass(frozen=True, slots=True)
class Resolved:
    """A live MCP server with what a request needs: its upstream target and its tool view."""

    server: McpServer
    target: Target
    view: ToolView
    """The tools this server's filters let an agent find and call."""
    listing: ToolView
    """What its tools/list shows: ``view`` itself, or the meta tools in discovery mode."""
    unusable: ToolCallFailed | None = None
    """Why no call can go upstream now (an OAuth account to reconnect): ``send`` raises it, nothing is sent."""

    def expired(self, now: datetime) -> bool:
        """Return whether the server's expiry has passed at ``now``."""
        expires_at = self.server.expires_at
        return expires_at is not None and expires_at <= now


class TokenResolver:
    """Resolves MCP URL tokens and API tokens through the store, with a short in-process cache."""

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        *,
        ttl: float,
        atlassian: AtlassianSettings | None = None,
        refresher: OAuthRefresher | None = None,
        hasher: TokenHasher | None = None,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._ttl = ttl
        self._atlassian = atlassian or AtlassianSettings()
        self._refresher = refresher or OAuthRefresher(store, self._atlassian)
        self._hasher = hasher or TokenHasher(())
        # Both caches key on the token's hash, never on what it is asked to open: the scope decision is made
        # per request from the cached record, so one answer can never leak to another server or route.
        self._servers: dict[str, tuple[float, Resolved | None]] = {}
        self._api_tokens: dict[str, tuple[float, ApiToken | None]] = {}

    def invalidate(self) -> None:
        """Forget every cached answer (called after writes made through this process)."""
        self._servers.clear()
        self._api_tokens.clear()

    async def resolve(self, token: str) -> Resolved | None:
        """Return the live MCP server for ``token``, or None when unknown, revoked or expired.

        Raises ServiceUnavailable when the store cannot answer.
        """
        token_hash = self._hasher.hash(token)
        now_mono = time.monotonic()
        hit = self._servers.get(token_hash)
        if hit is not None and hit[0] > now_mono:
            resolved = hit[1]
        else:
            try:
                resolved = await self._load(token)
            except StoreError as exc:  # a store outage is not an unknown token: say so, and let clients retry
                raise ServiceUnavailable("The MCP server registry is unavailable; retry shortly") from exc
            if len(self._servers) >= CACHE_LIMIT:
                self._servers.clear()  # bound memory under a flood of random tokens
            self._servers[token_hash] = (now_mono + self._ttl, resolved)
        # Expiry is checked on every request, not only on load: a cached entry never outlives it.
        if resolved is not None and resolved.expired(datetime.now(UTC)):
            return None
        return resolved

    async def _load(self, token: str) -> Resolved | None:
        server = None
        for token_hash in self._hasher.candidates(token):  # the current key's hash, older keys', then unkeyed
            found = await self._store.find_mcp_server_by_token_hash(token_hash, datetime.now(UTC))
            # The lookup is by hash, so timing reveals nothing about the token; the constant-time check
            # below also guards against a store that matched loosely.
            if found is not None and hmac.compare_digest(found.token_hash, token_hash):
                server = await self._rekeyed(found, token)
                break
        if server is None:
            return None
        try:
            account = await self._store.get_account(server.account_id)
        except NotFound:
            return None
        unusable: ToolCallFailed | None = None
        if account.auth_type == "oauth":
            try:  # refreshed here, before the cached target is built, so every call meets a live access token
                account = await self._refresher.fresh(account)
            except ToolCallFailed as exc:
                unusable = exc
        view = self._catalog.view(
            ToolFilter(
                methods=frozenset(server.methods), tags=frozenset(server.tags), hide_deprecated=server.hide_deprecated
            )
        )
        listing = self._catalog.discovery_view() if server.tool_exposure == "discovery" else view
        target = target_for_account(account, api_url=self._atlassian.api_url)
        return Resolved(server=server, target=target, view=view, listing=listing, unusable=unusable)

    async def api_token(self, token: str) -> ApiToken | None:
        """Return the live API token record for ``token`` (its scope says what it opens), or None.

        Unknown, revoked and expired tokens all give None. Raises StoreError when the store cannot answer.
        """
        token_hash = self._hasher.hash(token)
        now_mono = time.monotonic()
        hit = self._api_tokens.get(token_hash)
        if hit is not None and hit[0] > now_mono:
            record = hit[1]
        else:
            record = None
            for candidate in self._hasher.candidates(token):
                found = await self._store.find_api_token_by_hash(candidate, datetime.now(UTC))
                # As for MCP servers: found by hash, then compared in constant time against a loosely matching store.
                if found is not None and hmac.compare_digest(found.token_hash, candidate):
                    record = await self._rekeyed(found, token)
                    break
            if len(self._api_tokens) >= CACHE_LIMIT:
                self._api_tokens.clear()
            self._api_tokens[token_hash] = (now_mono + self._ttl, record)
        # A cached record never outlives its expiry.
        if record is not None and is_expired(record.expires_at, datetime.now(UTC)):
            return None
        return record

    async def _rekeyed(self, record: _Record, token: str) -> _Record:
        """Return ``record`` stored under the current key's hash, moving it there when an older hash found it."""
        current = self._hasher.hash(token)
        if record.token_hash == current:
            return record
        kind: TokenKind = "mcp_server" if isinstance(record, McpServer) else "api_token"
        try:
            await self._store.rekey_token(kind, record.id, record.token_hash, current)
        except StoreError:  # the next request tries again; the record is found by its older hash meanwhile
            log.warning("re-keying the token hash of %s failed", record.id, exc_info=True)
            return record
        return replace(record, token_hash=current)


def target_for_account(account: Account, *, api_url: str = AtlassianSettings().api_url) -> Target:
    """Return where and as whom an account's calls go: the one place an account becomes a base URL and header.

    basic and bearer call the site itself; scoped (email:scoped token) and oauth (the access token as bearer)
    call the API gateway's ``{api_url}/ex/confluence/{cloudId}``. An oauth account's token must be fresh already
    (``OAuthRefresher.fresh``).
    """
    if account.auth_type == "basic":
        return Target.basic(account.instance_url, account.username or "", account.secret)
    if account.auth_type == "bearer":
        return Target.bearer(account.instance_url, account.secret)
    base = gateway_base(api_url, account.cloud_id or "")
    if account.auth_type == "scoped":
        return Target.basic(base, account.username or "", account.secret)
    return Target.bearer(base, OAuthTokens.load(account.secret).access_token)
