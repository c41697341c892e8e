"""An OAuth account's tokens as its stored secret: JSON, encrypted by the store like every account secret.

Keeping access token, refresh token, expiry and status in the one ``secret`` field means one compare-and-set
(``Store.swap_account_secret``) rotates them atomically across replicas, and whatever re-encrypts account secrets
re-encrypts these too. ``refreshing_until`` is the refresh lease: the replica that swapped it in refreshes, the
others wait for its result.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from confluence_mcp.errors import StoreError

__all__ = ["OAuthTokens", "gateway_base"]


def gateway_base(api_url: str, cloud_id: str) -> str:
    """Return the site root scoped and OAuth credentials call: ``{api_url}/ex/confluence/{cloudId}``."""
    return f"{api_url.rstrip('/')}/ex/confluence/{cloud_id}"


@dataclass(frozen=True, slots=True)
class OAuthTokens:
    """What an OAuth account holds: its tokens, when the access token expires, and whether it must reconnect."""

    access_token: str
    refresh_token: str
    expires_at: float
    """When the access token expires, in seconds since the epoch."""
    reconnect: str | None = None
    """Why Atlassian refused the last refresh; set, the account answers every call with a reconnect error."""
    refreshing_until: float | None = None
    """While set and in the future, one replica is refreshing; the others wait for the new tokens."""
    state: str | None = None
    """The nonce of the authorization that produced these tokens, so its callback cannot be replayed."""

    def dump(self) -> str:
        """Return the JSON text stored (encrypted) as the account's secret."""
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def load(cls, secret: str) -> OAuthTokens:
        """Parse a stored secret; a malformed one is a StoreError (the store, not the caller, is wrong)."""
        try:
            data: Any = json.loads(secret)
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise StoreError("an oauth account's secret is not the token record it should be") from exc

    def due(self, now: float, margin: float) -> bool:
        """Whether the access token expires within ``margin`` seconds of ``now`` (time to refresh)."""
        return self.expires_at - margin <= now

    def leased(self, now: float) -> bool:
        """Whether another refresh is under way (its lease not yet run out)."""
        return self.refreshing_until is not None and self.refreshing_until > now

    def __repr__(self) -> str:
        return f"OAuthTokens(expires_at={self.expires_at!r}, reconnect={self.reconnect!r})"  # never the tokens
