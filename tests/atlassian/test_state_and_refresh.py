"""The authorize state (ours, expiring) and a refresh that cannot reach Atlassian (not marked, old token kept)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest

from confluence_mcp.atlassian import OAuthRefresher, OAuthTokens
from confluence_mcp.atlassian.connect import STATE_LIFETIME_SECONDS, authorize_url, open_state
from confluence_mcp.errors import CredentialUnavailable, InvalidInput
from confluence_mcp.settings import AtlassianSettings
from confluence_mcp.store.base import Account
from confluence_mcp.store.cipher import Cipher, generate_key
from confluence_mcp.store.memory import MemoryStore
from tests.support.servers import free_port

pytestmark = pytest.mark.anyio

APP = AtlassianSettings(oauth_client_id="client", oauth_client_secret="secret")


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


def test_a_state_opens_to_its_authorization_until_it_expires() -> None:
    """The state carries the verifier and what to connect; past its lifetime, or under another key, it is refused."""
    cipher = Cipher.from_key(generate_key())
    url, pending = authorize_url(APP, cipher, "https://mcp.example/oauth/callback", label="Acme", account_id=None)
    state = dict(parse_qsl(url.split("?", 1)[1]))["state"]

    assert open_state(cipher, state, time.time()) == pending
    assert pending.verifier not in url  # only its S256 challenge travels in the clear
    with pytest.raises(InvalidInput, match=r"^state: has expired \(authorize URLs last 10 minutes\)"):
        open_state(cipher, state, time.time() + STATE_LIFETIME_SECONDS + 1)
    with pytest.raises(InvalidInput, match=r"^state: is not one this server issued"):
        open_state(Cipher.from_key(generate_key()), state, time.time())


def test_without_an_oauth_app_the_authorize_url_names_the_settings() -> None:
    """No client id or secret configured: a precise error naming atlassian.oauth_client_id."""
    with pytest.raises(InvalidInput, match=r"^atlassian\.oauth_client_id: .*atlassian\.oauth_client_secret"):
        authorize_url(AtlassianSettings(), Cipher.from_key(generate_key()), "https://x/cb", label="", account_id=None)


def _account(tokens: OAuthTokens) -> Account:
    now = datetime.now(UTC)
    return Account("acc_1", "Acme", "https://acme.atlassian.net", "oauth", None, tokens.dump(), None, now, now, "c-1")


async def test_an_unreachable_auth_server_keeps_a_still_valid_token_and_marks_nothing() -> None:
    """Due but not expired: the call goes on with the old token; expired: a retry-later error; never a reconnect."""
    store = MemoryStore(cipher=Cipher.from_key(generate_key()))
    dead = AtlassianSettings(
        auth_url=f"http://127.0.0.1:{free_port()}",
        oauth_client_id="client",
        oauth_client_secret="secret",
    )
    refresher = OAuthRefresher(store, dead)
    due = OAuthTokens("at-old", "rt-old", expires_at=time.time() + 60)  # inside the 300 s margin
    await store.create_account(_account(due))

    kept = await refresher.fresh(await store.get_account("acc_1"))
    assert OAuthTokens.load(kept.secret).access_token == "at-old"
    stored = OAuthTokens.load((await store.get_account("acc_1")).secret)
    assert (stored.reconnect, stored.refreshing_until, stored.refresh_token) == (None, None, "rt-old")

    expired = OAuthTokens("at-old", "rt-old", expires_at=time.time() - 1)
    await store.update_account(_account(expired))
    with pytest.raises(CredentialUnavailable, match=r"could not be refreshed now .*retry shortly") as failure:
        await refresher.fresh(await store.get_account("acc_1"))
    assert type(failure.value) is CredentialUnavailable  # not AccountNeedsReconnect
    assert OAuthTokens.load((await store.get_account("acc_1")).secret).reconnect is None
