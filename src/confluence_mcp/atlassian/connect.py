"""Connect with Atlassian (OAuth 2.0 3LO): the authorize URL with state and PKCE, then the callback's checks.

The ``state`` is the pending authorization itself, encrypted under the store's secret key: the PKCE verifier,
a nonce, the label or account to connect, the redirect URI and an expiry. So any replica (or the CLI, which
shares the key) can finish what another started, and nothing pending needs storing. The nonce makes a state
one-time: a new account's id derives from it (a second create of that id fails), and a reconnected account
keeps it in its tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from confluence_mcp.errors import InvalidInput, StoreError
from confluence_mcp.settings import AtlassianSettings
from confluence_mcp.store.cipher import Cipher

__all__ = ["OAUTH_SCOPES", "STATE_LIFETIME_SECONDS", "Pending", "authorize_url", "callback_parts", "open_state"]

OAUTH_SCOPES = (
    # Classic scopes, which the v1 tools (search, labels, attachments, groups, users) need ...
    "read:confluence-content.all",
    "write:confluence-content",
    "read:confluence-space.summary",
    "write:confluence-space",
    "write:confluence-file",
    "read:confluence-props",
    "write:confluence-props",
    "read:confluence-user",
    "read:confluence-groups",
    "write:confluence-groups",
    "search:confluence",
    # ... granular ones, which v2 operations list ...
    "read:page:confluence",
    "write:page:confluence",
    "read:space:confluence",
    "read:comment:confluence",
    "write:comment:confluence",
    "read:attachment:confluence",
    "read:label:confluence",
    # ... and a refresh token.
    "offline_access",
)
STATE_LIFETIME_SECONDS = 600
"""How long an authorize URL can be completed: long enough to sign in, short enough to bound a leak."""


@dataclass(frozen=True, slots=True)
class Pending:
    """An authorization under way, as its state carries it."""

    verifier: str
    nonce: str
    label: str
    account_id: str | None
    """The account to reconnect, or None for a new account."""
    redirect_uri: str
    expires_at: float


def authorize_url(
    atlassian: AtlassianSettings, cipher: Cipher, redirect_uri: str, *, label: str, account_id: str | None
) -> tuple[str, Pending]:
    """Return the URL to send the operator to and the authorization it starts."""
    if not atlassian.oauth_client_id or atlassian.oauth_client_secret is None:
        raise InvalidInput(
            "atlassian.oauth_client_id: OAuth accounts need the operator's Atlassian OAuth app: set"
            " atlassian.oauth_client_id and atlassian.oauth_client_secret",
            field="atlassian.oauth_client_id",
        )
    pending = Pending(
        verifier=secrets.token_urlsafe(48),  # 64 characters, within RFC 7636's 43..128
        nonce=secrets.token_hex(16),  # a new account's id is acc_<nonce>, shaped like new_id's
        label=label,
        account_id=account_id,
        redirect_uri=redirect_uri,
        expires_at=time.time() + STATE_LIFETIME_SECONDS,
    )
    fields = {"v": pending.verifier, "n": pending.nonce, "l": label, "a": account_id, "r": redirect_uri}
    state = cipher.encrypt(json.dumps({**fields, "e": pending.expires_at}))
    query = {
        "audience": urlsplit(atlassian.api_url).hostname or "api.atlassian.com",
        "client_id": atlassian.oauth_client_id,
        "scope": " ".join(OAUTH_SCOPES),
        "redirect_uri": redirect_uri,
        "state": state,
        "response_type": "code",
        "prompt": "consent",
        "code_challenge": _challenge(pending.verifier),
        "code_challenge_method": "S256",
    }
    return f"{atlassian.auth_url}/authorize?{urlencode(query)}", pending


def open_state(cipher: Cipher, state: str, now: float) -> Pending:
    """Return the authorization a callback's ``state`` names; InvalidInput naming ``state`` if not ours or expired."""
    try:
        data: Any = json.loads(cipher.decrypt(state.strip()))
        pending = Pending(data["v"], data["n"], data["l"], data["a"], data["r"], float(data["e"]))
    except (StoreError, ValueError, KeyError, TypeError, UnicodeError):
        raise _invalid_state("is not one this server issued (or the secret key changed since)") from None
    if pending.expires_at <= now:
        raise _invalid_state(f"has expired (authorize URLs last {STATE_LIFETIME_SECONDS // 60} minutes); start again")
    return pending


def callback_parts(query: dict[str, str]) -> tuple[str, str]:
    """Return (code, state) of a callback's query; InvalidInput naming what is missing or what Atlassian said."""
    if "error" in query:
        said = query.get("error_description") or query["error"]
        raise InvalidInput(f"callback: Atlassian did not authorize the app: {said}", field="callback")
    code, state = query.get("code", "").strip(), query.get("state", "").strip()
    if not state:
        raise _invalid_state("is missing from the callback")
    if not code:
        raise InvalidInput("code: is missing from the callback", field="code")
    return code, state


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _invalid_state(problem: str) -> InvalidInput:
    return InvalidInput(f"state: {problem}", field="state", details=[{"field": "state", "message": problem}])
