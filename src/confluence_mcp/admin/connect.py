"""Connect with Atlassian: the admin side of OAuth accounts (start an authorization, finish it at the callback).

``start`` answers ``POST /oauth/connect`` and ``confluence-mcp accounts connect``; ``complete`` answers the
callback (``GET /oauth/callback`` on the app, or the callback URL pasted into the CLI): it checks the state,
exchanges the code, picks the site from accessible-resources and creates or reconnects the account, its tokens
stored through the store's cipher like every account secret.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter

import httpx

from confluence_mcp.admin.audit import Auditor, audited
from confluence_mcp.admin.connect_models import OAuthConnectInput
from confluence_mcp.admin.rules import check_instance_url, invalid
from confluence_mcp.atlassian.connect import Pending, authorize_url, open_state
from confluence_mcp.atlassian.platform import TIMEOUT_SECONDS, Site, accessible_sites, token_grant
from confluence_mcp.atlassian.tokens import OAuthTokens
from confluence_mcp.errors import AtlassianRefused, NotFound, StoreError
from confluence_mcp.settings import Settings
from confluence_mcp.store.base import Account, Store
from confluence_mcp.store.cipher import Cipher

__all__ = ["CALLBACK_PATH", "AccountConnector", "Authorization"]

CALLBACK_PATH = "/oauth/callback"
_USED_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Authorization:
    """A started authorization: the URL for the operator's browser, the callback it returns to, its expiry."""

    authorize_url: str
    redirect_uri: str
    expires_at: datetime


class AccountConnector:
    """Starts and completes OAuth authorizations, creating or reconnecting oauth accounts."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        cipher: Cipher,
        *,
        public_url: str,
        used: set[str] | None = None,
        on_change: Callable[[], None] = lambda: None,
        auditor: Auditor | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._cipher = cipher
        self._redirect_uri = public_url.rstrip("/") + CALLBACK_PATH
        self._used = used if used is not None else set()  # nonces completed by this process
        self._on_change = on_change
        self.auditor = auditor

    async def start(self, body: OAuthConnectInput) -> Authorization:
        """Return the authorize URL for a new account (``label``) or to reconnect ``account_id``."""
        if body.account_id is not None:
            account = await self._store.get_account(body.account_id)
            if account.auth_type != "oauth":
                raise invalid(
                    "account_id",
                    f"{body.account_id!r} is a {account.auth_type} account; only oauth accounts reconnect"
                    " (change a token account's credentials with PATCH /integrated-account/{id})",
                )
        url, pending = authorize_url(
            self._settings.atlassian,
            self._cipher,
            self._redirect_uri,
            label=body.label or "",
            account_id=body.account_id,
        )
        return Authorization(url, self._redirect_uri, datetime.fromtimestamp(pending.expires_at, UTC))

    @audited("account.connect", target=attrgetter("id"))
    async def complete(self, code: str, state: str) -> Account:
        """Finish an authorization: check ``state``, exchange ``code``, store the account with its tokens."""
        pending = open_state(self._cipher, state, time.time())
        if pending.nonce in self._used:
            raise _used_state()
        existing = await self._store.get_account(pending.account_id) if pending.account_id else None
        if existing is not None and _nonce_of(existing) == pending.nonce:
            raise _used_state()
        if existing is None and await self._exists(f"acc_{pending.nonce}"):
            raise _used_state()  # checked before the code is spent, so a replay is named as one
        grant = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.verifier,
        }
        atlassian = self._settings.atlassian
        async with httpx.AsyncClient(trust_env=False, timeout=TIMEOUT_SECONDS) as client:
            tokens = await token_grant(client, atlassian, grant)
            site = _site_for(await accessible_sites(client, atlassian, tokens.access_token), existing)
        account = self._account(pending, site, dataclasses.replace(tokens, state=pending.nonce), existing)
        if len(self._used) >= _USED_LIMIT:
            self._used.clear()  # the states have long expired by then; the store check below still holds
        self._used.add(pending.nonce)
        if existing is None:
            try:
                await self._store.create_account(account)
            except StoreError as exc:  # acc_<nonce> exists: another process completed this state first
                raise _used_state() from exc
        else:
            await self._store.update_account(account)
        self._on_change()
        return account

    async def _exists(self, account_id: str) -> bool:
        try:
            await self._store.get_account(account_id)
        except NotFound:
            return False
        return True

    def _account(self, pending: Pending, site: Site, tokens: OAuthTokens, existing: Account | None) -> Account:
        now = datetime.now(UTC)
        instance_url = check_instance_url(site.url, self._settings.upstream)
        if existing is not None:
            return dataclasses.replace(
                existing, instance_url=instance_url, cloud_id=site.cloud_id, secret=tokens.dump(), updated_at=now
            )
        return Account(
            id=f"acc_{pending.nonce}",
            label=pending.label or site.name or instance_url,
            instance_url=instance_url,
            auth_type="oauth",
            username=None,
            secret=tokens.dump(),
            api_token_expires_at=None,
            created_at=now,
            updated_at=now,
            cloud_id=site.cloud_id,
        )


def _site_for(sites: list[Site], existing: Account | None) -> Site:
    """Return the site to connect: a reconnected account's own, else the first the token opens."""
    if existing is not None and existing.cloud_id:
        for site in sites:
            if site.cloud_id == existing.cloud_id:
                return site
        raise AtlassianRefused(
            f"sites: the Atlassian sign-in does not open this account's site ({existing.instance_url}); sign in"
            " as a user of that site",
            field="sites",
        )
    if not sites:
        raise AtlassianRefused("sites: the Atlassian sign-in opens no Confluence site", field="sites")
    return sites[0]


def _nonce_of(account: Account) -> str | None:
    return OAuthTokens.load(account.secret).state if account.auth_type == "oauth" else None


def _used_state() -> Exception:
    return invalid("state", "was already used to connect an account; start again with a new authorize URL")
