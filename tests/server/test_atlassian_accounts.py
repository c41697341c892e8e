"""Scoped and OAuth accounts end to end: simulator platform, our server, real loopback HTTP, no doubles."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from confluence_mcp.atlassian import OAuthTokens
from confluence_mcp.simulator import SEED, RecordedRequest
from tests.support.atlassian import (
    SIM_SCOPED_TOKEN,
    admin_client,
    call_tool,
    connect_oauth,
    expire_access_token,
    mcp_url,
)
from tests.support.stack import SIM_EMAIL, Stack, running_stack

pytestmark = pytest.mark.anyio

GET_PAGE = "get_single_confluence_page_by_id"
PAGE_PATH = f"/wiki/api/v2/pages/{SEED.runbook_id}"


def _page_requests(stack: Stack) -> list[RecordedRequest]:
    return [r for r in stack.sim.requests if r.path.endswith(PAGE_PATH)]


def _basic(email: str, token: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()


async def _page(url: str) -> dict[str, Any]:
    result = await call_tool(url, GET_PAGE, {"id": SEED.runbook_id})
    assert result.get("isError") is not True, result
    content: dict[str, Any] = result["structuredContent"]
    return content


async def _add_scoped(admin: httpx.AsyncClient, stack: Stack, label: str) -> httpx.Response:
    """POST a scoped account on the simulator's site with its scoped token."""
    auth = {"type": "scoped", "username": SIM_EMAIL, "password": SIM_SCOPED_TOKEN}
    return await admin.post("/integrated-account", json={"label": label, "instance_url": stack.sim_url, "auth": auth})


@pytest.fixture
async def stack() -> Any:
    """The stack with the simulator as Atlassian's platform too (OAuth server, API gateway, tenant_info)."""
    async with running_stack(platform=True) as running:
        yield running


async def test_the_same_tool_call_succeeds_with_basic_scoped_and_oauth_accounts(stack: Stack) -> None:
    """One page read through each kind: basic on the site, scoped (Basic) and oauth (Bearer) on /ex/confluence."""
    basic = await _page(stack.url())
    async with admin_client(stack) as admin:
        created = await _add_scoped(admin, stack, "Acme scoped")
    assert created.status_code == 201, created.text
    cloud_id = stack.sim.platform.cloud_id
    assert created.json()["auth"] == {
        "type": "scoped",
        "username": SIM_EMAIL,
        "cloud_id": cloud_id,
        "needs_reconnect": False,
    }
    scoped = await _page(await mcp_url(stack, created.json()["id"]))
    oauth = await _page(await mcp_url(stack, await connect_oauth(stack)))

    # The same page; only web_url (from Confluence's _links.base) names the base each kind was called on.
    urls = [page.pop("web_url") for page in (basic, scoped, oauth)]
    assert basic == scoped == oauth
    bases = [f"{stack.sim_url}/wiki", *[f"{stack.sim_url}/ex/confluence/{cloud_id}/wiki"] * 2]
    assert [url.startswith(base + "/spaces/") for url, base in zip(urls, bases, strict=True)] == [True] * 3
    site, via_scoped, via_oauth = _page_requests(stack)
    assert (site.path, site.headers["authorization"]) == (PAGE_PATH, _basic(SIM_EMAIL, "sim-token"))
    assert via_scoped.path == via_oauth.path == f"/ex/confluence/{cloud_id}{PAGE_PATH}"
    assert via_scoped.headers["authorization"] == _basic(SIM_EMAIL, SIM_SCOPED_TOKEN)
    assert via_oauth.headers["authorization"].startswith("Bearer sim-at-")
    # The cloudId was looked up once, when the scoped account was created, not per call.
    assert [r.path for r in stack.sim.requests].count("/_edge/tenant_info") == 1


async def test_a_scoped_account_from_the_settings_file_finds_its_cloud_id_at_start_up() -> None:
    """A YAML scoped account is checked and discovered at start-up; the static MCP servers then call the gateway."""
    auth = {"type": "scoped", "username": SIM_EMAIL, "password": SIM_SCOPED_TOKEN}
    async with running_stack(platform=True, account_auth=auth) as stack:
        account = await stack.app.state.runtime.store.get_account("acme")
        assert (account.auth_type, account.cloud_id) == ("scoped", stack.sim.platform.cloud_id)
        await _page(stack.url())
        (request,) = _page_requests(stack)
    assert request.path.startswith(f"/ex/confluence/{account.cloud_id}/wiki/")


async def test_connect_with_atlassian_stores_the_account_with_its_tokens_encrypted_at_rest(tmp_path: Path) -> None:
    """authorize URL -> simulator consent -> our callback: an oauth account whose tokens never sit in clear."""
    database = tmp_path / "store.db"
    async with running_stack(platform=True, store={"url": f"sqlite:///{database}"}) as stack:
        account_id = await connect_oauth(stack, label="Acme via OAuth")
        account = await stack.app.state.runtime.store.get_account(account_id)
        tokens = OAuthTokens.load(account.secret)
        async with admin_client(stack) as admin:
            shown = (await admin.get(f"/integrated-account/{account_id}")).json()
        files = [anyio.Path(tmp_path / name) for name in ("store.db", "store.db-wal")]
        raw = b"".join([await file.read_bytes() for file in files if await file.exists()])

    assert stack.sim.platform.grants == {"authorization_code": 1}
    assert (account.auth_type, account.label, account.instance_url) == ("oauth", "Acme via OAuth", stack.sim_url)
    assert account.cloud_id == stack.sim.platform.cloud_id
    assert tokens.access_token.startswith("sim-at-")
    assert tokens.refresh_token.startswith("sim-rt-")
    assert shown["auth"] == {
        "type": "oauth",
        "username": None,
        "cloud_id": stack.sim.platform.cloud_id,
        "needs_reconnect": False,
    }
    assert account_id.encode() in raw  # the file does hold the account ...
    assert tokens.access_token.encode() not in raw  # ... but neither token in clear
    assert tokens.refresh_token.encode() not in raw


async def test_an_authorize_url_asks_for_pkce_s256_offline_access_and_confluence_scopes(stack: Stack) -> None:
    """The URL we hand out carries our client id, a state, an S256 challenge and the scopes a refresh needs."""
    async with admin_client(stack) as admin:
        started = (await admin.post("/oauth/connect", json={})).json()
    query = dict(httpx.URL(started["authorize_url"]).params)
    assert started["authorize_url"].startswith(f"{stack.sim_url}/authorize?")
    assert started["redirect_uri"] == f"{stack.base_url}/oauth/callback" == query["redirect_uri"]
    assert query["client_id"] == "sim-client"
    assert (query["response_type"], query["code_challenge_method"]) == ("code", "S256")
    scopes = query["scope"].split()
    assert {"offline_access", "read:confluence-content.all", "write:confluence-content", "read:page:confluence"} <= set(
        scopes
    )
    assert len(query["code_challenge"]) == 43  # base64url of a SHA-256 digest, unpadded
    assert query["state"]


async def test_a_callback_state_is_one_time_and_must_be_ours(stack: Stack) -> None:
    """Replaying a completed callback, or a forged state, is refused by name; no second account appears."""
    async with admin_client(stack) as admin:
        started = (await admin.post("/oauth/connect", json={"label": "once"})).json()
        location = (await admin.get(started["authorize_url"])).headers["location"]
        async with httpx.AsyncClient() as browser:
            first = await browser.get(location)
            replay = await browser.get(location)
            forged = await browser.get(f"{stack.base_url}/oauth/callback", params={"code": "c", "state": "forged"})
            denied = await browser.get(f"{stack.base_url}/oauth/callback", params={"error": "access_denied"})
        listed = (await admin.get("/integrated-account")).json()["result"]

    assert first.status_code == 200
    assert (replay.status_code, replay.json()["details"][0]["field"]) == (400, "state")
    assert "already used" in replay.json()["message"]
    assert (forged.status_code, forged.json()["message"]) == (
        400,
        "state: is not one this server issued (or the secret key changed since)",
    )
    assert denied.status_code == 400
    assert "access_denied" in denied.json()["message"]
    assert [a["label"] for a in listed].count("once") == 1


async def test_an_expiring_token_is_refreshed_and_the_rotated_refresh_token_replaces_the_old(stack: Stack) -> None:
    """A call on an expired access token refreshes first; the new pair is stored, the old refresh token is dead."""
    account_id = await connect_oauth(stack)
    url = await mcp_url(stack, account_id)
    store = stack.app.state.runtime.store
    old = await expire_access_token(store, account_id)
    stack.app.state.runtime.resolver.invalidate()

    await _page(url)
    new = OAuthTokens.load((await store.get_account(account_id)).secret)
    async with httpx.AsyncClient() as client:
        reused = await client.post(
            f"{stack.sim_url}/oauth/token",
            json={
                "grant_type": "refresh_token",
                "refresh_token": old.refresh_token,
                "client_id": "sim-client",
                "client_secret": "sim-client-secret",
            },
        )

    assert stack.sim.platform.grants == {"authorization_code": 1, "refresh_token": 1}
    assert new.refresh_token != old.refresh_token
    assert new.access_token != old.access_token
    assert new.refreshing_until is None
    assert new.reconnect is None
    assert _page_requests(stack)[-1].headers["authorization"] == f"Bearer {new.access_token}"
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")


async def test_a_refused_refresh_marks_the_account_and_calls_say_how_to_reconnect(stack: Stack) -> None:
    """A dead refresh token: the call is a tool error naming the reconnect command; reconnecting heals it."""
    account_id = await connect_oauth(stack)
    url = await mcp_url(stack, account_id)
    store = stack.app.state.runtime.store
    await expire_access_token(store, account_id, refresh_token="sim-rt-revoked")
    stack.app.state.runtime.resolver.invalidate()
    stack.sim.requests.clear()

    failed = await call_tool(url, GET_PAGE, {"id": SEED.runbook_id})
    again = await call_tool(url, GET_PAGE, {"id": SEED.runbook_id})
    async with admin_client(stack) as admin:
        shown = (await admin.get(f"/integrated-account/{account_id}")).json()

    assert failed["isError"] is True
    text = failed["content"][0]["text"]
    assert f"account '{account_id}'" in text
    assert "must be reconnected" in text
    assert f"confluence-mcp accounts connect --account {account_id}" in text
    assert again["content"][0]["text"] == text  # marked: no second refresh attempt, the same answer
    assert stack.sim.platform.grants.get("refresh_token") is None
    assert [r.path for r in stack.sim.requests] == ["/oauth/token"]  # nothing reached Confluence
    assert shown["auth"]["needs_reconnect"] is True

    assert await connect_oauth(stack, account_id=account_id) == account_id
    stack.app.state.runtime.resolver.invalidate()
    await _page(url)  # the same MCP URL works again


async def test_reconnecting_is_only_for_oauth_accounts_and_token_accounts_reject_oauth(stack: Stack) -> None:
    """Wrong shapes get precise errors: oauth through the token route, scoped without email, reconnecting basic."""
    async with admin_client(stack) as admin:
        oauth = await admin.post(
            "/integrated-account",
            json={"label": "x", "instance_url": stack.sim_url, "auth": {"type": "oauth", "password": "t"}},
        )
        no_email = await admin.post(
            "/integrated-account",
            json={"label": "x", "instance_url": stack.sim_url, "auth": {"type": "scoped", "password": "t"}},
        )
        basic = await admin.post("/oauth/connect", json={"account_id": "acme"})
        unknown = await admin.post("/oauth/connect", json={"nope": 1})

    assert (oauth.status_code, oauth.json()["details"][0]["field"]) == (400, "auth.type")
    assert "POST /oauth/connect" in oauth.json()["message"]
    assert no_email.json()["message"] == ("auth.username: required for a scoped API token: the Atlassian account email")
    assert (basic.status_code, basic.json()["details"][0]["field"]) == (400, "account_id")
    assert "is a basic account" in basic.json()["message"]
    assert (unknown.status_code, unknown.json()["details"][0]["field"]) == (422, "nope")


async def test_a_scoped_account_on_a_site_without_tenant_info_is_refused_by_name(stack: Stack) -> None:
    """When the cloudId cannot be found, the account is not created and the error names instance_url."""
    stack.sim.platform.cloud_id = ""  # the simulator's tenant_info now answers no usable cloudId
    async with admin_client(stack) as admin:
        refused = await _add_scoped(admin, stack, "x")
        listed = (await admin.get("/integrated-account")).json()["result"]
    assert (refused.status_code, refused.json()["error"]) == (502, "atlassian_refused")
    assert refused.json()["message"].startswith("instance_url: ")
    assert "without a cloudId" in refused.json()["message"]
    assert [a["id"] for a in listed] == ["acme"]


async def test_changing_an_account_to_a_scoped_token_finds_the_cloud_id_and_back_to_basic_drops_it(
    stack: Stack,
) -> None:
    """PATCH auth to scoped: the cloudId is looked up then and calls move to the gateway; basic again: the site."""
    async with admin_client(stack) as admin:
        scoped_auth = {"type": "scoped", "username": SIM_EMAIL, "password": SIM_SCOPED_TOKEN}
        created = await _add_scoped(admin, stack, "patched")
        account_id = created.json()["id"]
        basic_auth = {"type": "basic", "username": SIM_EMAIL, "password": "sim-token"}
        to_basic = await admin.patch(f"/integrated-account/{account_id}", json={"auth": basic_auth})
        url = await mcp_url(stack, account_id)
        await _page(url)
        back = await admin.patch(f"/integrated-account/{account_id}", json={"auth": scoped_auth})
        stack.app.state.runtime.resolver.invalidate()
        await _page(url)

    assert to_basic.json()["auth"]["cloud_id"] is None
    assert back.json()["auth"]["cloud_id"] == stack.sim.platform.cloud_id
    on_site, on_gateway = _page_requests(stack)
    assert on_site.path == PAGE_PATH
    assert on_gateway.path == f"/ex/confluence/{stack.sim.platform.cloud_id}{PAGE_PATH}"
    assert [r.path for r in stack.sim.requests].count("/_edge/tenant_info") == 2  # on create, and on the change


async def test_a_connect_at_the_callback_is_audited_without_its_code_or_state(stack: Stack) -> None:
    """The callback records account.connect by oauth-callback on the new account: argument names, never values."""
    account_id = await connect_oauth(stack)
    async with admin_client(stack) as admin:
        with anyio.fail_after(10):
            while True:  # the audit writer stores batches on its own interval: await the record
                entries = (await admin.get("/audit-log", params={"action": "account.connect"})).json()["result"]
                if entries:
                    break
                await anyio.sleep(0.02)
    (entry,) = entries
    assert (entry["actor"], entry["target"], entry["outcome"]) == ("oauth-callback", account_id, "ok")
    assert entry["argument_keys"] == ["code", "state"]
