"""Refresh OAuth access tokens before they expire: one refresh per account at a time, across every replica.

Atlassian rotates refresh tokens, and a used one is refused: two replicas refreshing with the same token would
leave one of them with a dead token. So a replica first swaps a lease into the stored tokens (compare-and-set);
only the winner calls the token endpoint, then swaps the new tokens in. The others poll the store until the
tokens are fresh and use those. In one process, a lock per account keeps concurrent calls to one refresh.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import anyio
import httpx

from confluence_mcp.atlassian.platform import TIMEOUT_SECONDS, token_grant
from confluence_mcp.atlassian.tokens import OAuthTokens
from confluence_mcp.errors import AccountNeedsReconnect, AtlassianRefused, CredentialUnavailable, OAuthGrantRefused
from confluence_mcp.settings import AtlassianSettings
from confluence_mcp.store.base import Account, Store

__all__ = ["REFRESH_MARGIN_SECONDS", "OAuthRefresher", "reconnect_error"]

REFRESH_MARGIN_SECONDS = 300.0
"""Refresh this long before the access token expires (Atlassian's last an hour), so no call meets an expired one."""
_LEASE_SECONDS = 3 * TIMEOUT_SECONDS
"""How long a refresh may hold its lease; past it (a replica died mid-refresh) another may take over."""
_POLL_SECONDS = 0.05


def reconnect_error(account: Account, reason: str) -> AccountNeedsReconnect:
    """Return the tool error of an account whose refresh Atlassian refused, saying how to reconnect it."""
    return AccountNeedsReconnect(
        f"The Atlassian connection of account {account.id!r} ({account.label}) must be reconnected: {reason}."
        f" Nothing was sent to Confluence. An operator reconnects it with 'confluence-mcp accounts connect"
        f" --account {account.id}' (or POST /oauth/connect with account_id {account.id!r}) and signs in again."
    )


class OAuthRefresher:
    """Returns OAuth accounts with an access token that is good for at least the margin, refreshing when due."""

    def __init__(self, store: Store, atlassian: AtlassianSettings, *, margin: float = REFRESH_MARGIN_SECONDS) -> None:
        self._store = store
        self._atlassian = atlassian
        self._margin = margin
        self._locks: dict[str, asyncio.Lock] = {}
        self.refreshes = 0
        """Refreshes this process made (token endpoint calls)."""
        self.waits = 0
        """Times this process found another replica's refresh under way and waited for its result."""

    async def fresh(self, account: Account) -> Account:
        """Return ``account`` with fresh tokens; AccountNeedsReconnect or CredentialUnavailable when it has none."""
        tokens = OAuthTokens.load(account.secret)
        if tokens.reconnect is not None:
            raise reconnect_error(account, tokens.reconnect)
        if not tokens.due(time.time(), self._margin):
            return account
        lock = self._locks.setdefault(account.id, asyncio.Lock())
        async with lock:  # the calls queued here find the tokens fresh when they get in
            return await self._refreshed(account.id)

    async def _refreshed(self, account_id: str) -> Account:
        deadline = time.monotonic() + _LEASE_SECONDS + TIMEOUT_SECONDS
        counted = False
        while True:
            account = await self._store.get_account(account_id)
            tokens = OAuthTokens.load(account.secret)
            now = time.time()
            if tokens.reconnect is not None:
                raise reconnect_error(account, tokens.reconnect)
            if not tokens.due(now, self._margin):
                return account  # fresh: another replica (or an earlier call here) refreshed it
            if not tokens.leased(now):
                leased = dataclasses.replace(tokens, refreshing_until=now + _LEASE_SECONDS)
                if await self._store.swap_account_secret(account_id, account.secret, leased.dump()):
                    return await self._refresh(account, leased)
                continue  # someone changed the tokens between our read and our swap: look again
            if not counted:
                self.waits, counted = self.waits + 1, True
            if time.monotonic() > deadline:
                raise CredentialUnavailable(
                    f"Account {account_id!r}: another server process has been refreshing its Atlassian token for"
                    f" over {int(_LEASE_SECONDS)} seconds; retry shortly."
                )
            await anyio.sleep(_POLL_SECONDS)  # a wait on another process, which can only be seen in the store

    async def _refresh(self, account: Account, leased: OAuthTokens) -> Account:
        """Call the token endpoint under the lease; store what it gives, or why it refused."""
        grant = {"grant_type": "refresh_token", "refresh_token": leased.refresh_token}
        self.refreshes += 1
        try:
            async with httpx.AsyncClient(trust_env=False, timeout=TIMEOUT_SECONDS) as client:
                new = await token_grant(client, self._atlassian, grant)
        except OAuthGrantRefused as exc:
            reason = str(exc).removeprefix("grant: ")
            marked = dataclasses.replace(leased, refreshing_until=None, reconnect=reason)
            await self._store.swap_account_secret(account.id, leased.dump(), marked.dump())
            raise reconnect_error(account, reason) from exc
        except AtlassianRefused as exc:
            released = dataclasses.replace(leased, refreshing_until=None)
            await self._store.swap_account_secret(account.id, leased.dump(), released.dump())
            if released.expires_at > time.time():  # the old token still works for a while: use it
                return dataclasses.replace(account, secret=released.dump())
            raise CredentialUnavailable(
                f"Account {account.id!r}: its Atlassian access token expired and could not be refreshed now"
                f" ({str(exc).split(': ', 1)[-1]}); retry shortly."
            ) from exc
        rotated = dataclasses.replace(new, state=leased.state)
        if await self._store.swap_account_secret(account.id, leased.dump(), rotated.dump()):
            return dataclasses.replace(account, secret=rotated.dump())
        return await self._store.get_account(account.id)  # our lease ran out and another write won: use it
