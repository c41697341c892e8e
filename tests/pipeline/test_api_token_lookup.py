"""The resolver's API-token lookup: the live record by hash, cached per token, bounded, never past its expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from confluence_mcp.pipeline import resolver as resolver_module
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.resolver import TokenResolver
from confluence_mcp.store.base import ApiToken, TokenScope
from confluence_mcp.store.cipher import Cipher, generate_key
from confluence_mcp.store.memory import MemoryStore
from confluence_mcp.store.tokens import hash_token, mint_api_token, new_id
from tests.pipeline.doubles import new_store

pytestmark = pytest.mark.anyio


def _token(
    secret: str, scope: TokenScope = "admin", server_ids: tuple[str, ...] = (), expires_at: datetime | None = None
) -> ApiToken:
    return ApiToken(new_id("tok"), "t", hash_token(secret), datetime.now(UTC), expires_at, scope, server_ids)


class _LooseStore(MemoryStore):
    """A store that returns records whatever their expiry, as a store with a skewed clock might."""

    async def find_api_token_by_hash(self, token_hash: str, now: datetime) -> ApiToken | None:
        """Return the token with this hash even when it has expired."""
        return next((t for t in await self.list_api_tokens() if t.token_hash == token_hash), None)


async def test_lookup_returns_the_record_with_its_scope_and_servers(catalog: Catalog) -> None:
    """Each live token's own record comes back, scope and bindings included; an unknown token gives None."""
    store = new_store()
    admin, client = mint_api_token(), mint_api_token()
    await store.create_api_token(_token(admin))
    await store.create_api_token(_token(client, "mcp", ("mcp_1",)))
    resolver = TokenResolver(store, catalog, ttl=60.0)

    for _ in range(2):  # from the store, then from the cache
        found_admin, found_client = await resolver.api_token(admin), await resolver.api_token(client)
        assert found_admin is not None
        assert found_client is not None
        assert (found_admin.scope, found_client.scope, found_client.mcp_server_ids) == ("admin", "mcp", ("mcp_1",))
        assert await resolver.api_token(mint_api_token()) is None


async def test_a_cached_record_is_not_returned_once_it_has_expired(catalog: Catalog) -> None:
    """The expiry is checked on every lookup, so neither the cache nor a lax store serves an expired token."""
    store = _LooseStore(cipher=Cipher.from_key(generate_key()))
    secret = mint_api_token()
    await store.create_api_token(_token(secret, expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    resolver = TokenResolver(store, catalog, ttl=60.0)

    assert await resolver.api_token(secret) is None


async def test_the_cache_stays_bounded_under_a_flood_of_unknown_tokens(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many distinct tokens are tried, the cache never holds more than its limit, and live ones still work."""
    monkeypatch.setattr(resolver_module, "CACHE_LIMIT", 50)
    store = new_store()
    secret = mint_api_token()
    await store.create_api_token(_token(secret))
    resolver = TokenResolver(store, catalog, ttl=60.0)

    for _ in range(500):
        await resolver.api_token(mint_api_token())
        assert len(resolver._api_tokens) <= 50

    assert await resolver.api_token(secret) is not None
