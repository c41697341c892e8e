"""The pages over plain HTTP: sessions, CSRF, security headers, errors beside their field, the preview endpoint."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import httpx
import pytest

from confluence_mcp.server.app import create_app, wrap
from confluence_mcp.simulator import create_simulator
from confluence_mcp.ui.sessions import SESSION_COOKIE
from tests.support.admin import MCP_HEADERS
from tests.support.atlassian import SIM_SCOPED_TOKEN
from tests.support.servers import serve_asgi
from tests.support.stack import platform_settings
from tests.ui.conftest import SIM_EMAIL, SIM_TOKEN, Site, add_admin_token, csrf_of, running_site, signed_in, ui_settings

pytestmark = pytest.mark.anyio


async def test_every_answer_carries_the_security_headers(site: Site, client: httpx.AsyncClient) -> None:
    """Pages, the script and errors all send a CSP without inline script, frame-ancestors 'none' and nosniff."""
    for path in ("/ui/sign-in", "/ui/static/app.js", "/ui/accounts/new", "/ui/static/missing.js"):
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self';" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    script = await client.get("/ui/static/app.js")
    assert script.headers["content-type"].startswith("text/javascript")
    page = await client.get("/ui/sign-in")
    assert "<script>" not in page.text
    assert " on" + "click=" not in page.text


async def test_sign_in_sets_a_sealed_strict_httponly_cookie_that_holds_no_token(
    site: Site, client: httpx.AsyncClient
) -> None:
    """The session cookie is HttpOnly, SameSite=Strict, scoped to /ui, expiring, and shows neither token nor id."""
    form = await client.get("/ui/sign-in")
    answer = await client.post("/ui/sign-in", data={"csrf": csrf_of(form.text), "token": site.admin_token})
    assert (answer.status_code, answer.headers["location"]) == (303, "/ui/accounts")
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "max-age", "path"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert "secure" not in attributes  # plain http here; https sets it (next test)
    (record,) = await site.runtime.store.list_api_tokens()
    assert site.admin_token not in cookie
    assert record.id not in cookie


@pytest.mark.parametrize(
    ("base_url", "public_url"), [("https://ui.example", None), ("http://127.0.0.1", "https://mcp.example.com")]
)
async def test_over_https_the_cookie_is_secure(base_url: str, public_url: str | None) -> None:
    """Served over https, or behind a TLS proxy that server.public_url names, the session cookie carries Secure."""
    settings = ui_settings(server={"public_url": public_url})
    app = create_app(settings)
    await app.state.runtime.store.open()
    token, _ = await add_admin_token(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
        form = await http.get("/ui/sign-in")
        # Sent by hand: over plain http (the proxy's side) the client itself would hold back a Secure cookie.
        pre = form.headers["set-cookie"].split(";")[0]
        answer = await http.post(
            "/ui/sign-in", data={"csrf": csrf_of(form.text), "token": token}, headers={"Cookie": pre}
        )
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


async def test_a_wrong_or_mcp_scoped_token_is_refused_and_no_session_is_made(
    site: Site, client: httpx.AsyncClient
) -> None:
    """Unknown tokens and MCP client tokens both get 401 and the same words; no session cookie is set."""
    for token in ("cmcp_api_not-a-real-token", "x"):
        form = await client.get("/ui/sign-in")
        answer = await client.post("/ui/sign-in", data={"csrf": csrf_of(form.text), "token": token})
        assert answer.status_code == 401
        assert "not a valid admin API token" in answer.text
        assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    assert (await client.get("/ui/accounts")).status_code == 303


async def test_forms_without_the_csrf_token_are_refused_403(site: Site, client: httpx.AsyncClient) -> None:
    """Sign-in and every page form refuse a post without (or with another session's) CSRF token; nothing changes."""
    assert (await client.post("/ui/sign-in", data={"token": site.admin_token})).status_code == 403
    csrf = await signed_in(client, site.admin_token)
    body = {"label": "Sim", "instance_url": site.sim_url, "auth.username": SIM_EMAIL, "auth.password": SIM_TOKEN}
    assert (await client.post("/ui/accounts", data=body)).status_code == 403
    assert (await client.post("/ui/accounts", data={**body, "csrf": csrf[::-1]})).status_code == 403
    assert (await client.post("/ui/sign-out", data={})).status_code == 403
    assert await site.runtime.store.list_accounts() == []
    created = await client.post("/ui/accounts", data={**body, "csrf": csrf})
    assert created.status_code == 303, created.text


async def test_signing_out_or_revoking_the_token_ends_the_session(site: Site, client: httpx.AsyncClient) -> None:
    """After sign-out the old cookie no longer opens a page; revoking the admin token ends its sessions too."""
    csrf = await signed_in(client, site.admin_token)
    old = client.cookies.get(SESSION_COOKIE, path="/ui")
    assert old
    out = await client.post("/ui/sign-out", data={"csrf": csrf})
    assert (out.status_code, out.headers["location"]) == (303, "/ui/sign-in")
    client.cookies.set(SESSION_COOKIE, old, path="/ui")
    assert (await client.get("/ui/accounts")).status_code == 303
    client.cookies.clear()
    await signed_in(client, site.admin_token)
    (record,) = await site.runtime.store.list_api_tokens()
    await site.runtime.store.delete_api_token(record.id)
    site.runtime.resolver.invalidate()
    assert (await client.get("/ui/accounts")).headers["location"] == "/ui/sign-in"
    client.cookies.set(SESSION_COOKIE, "forged" + old[6:], path="/ui")
    assert (await client.get("/ui/accounts")).status_code == 303


async def test_the_service_s_errors_show_beside_their_field(site: Site, client: httpx.AsyncClient) -> None:
    """A plain-http public site is refused next to the site URL; a wrong token next to the token; the input stays."""
    csrf = await signed_in(client, site.admin_token)
    body = {"csrf": csrf, "label": "Acme", "instance_url": "http://example.com", "auth.username": SIM_EMAIL}
    bad_url = await client.post("/ui/accounts", data={**body, "auth.password": "t"})
    assert bad_url.status_code == 422
    assert 'id="f-instance_url-error"' in bad_url.text
    assert 'value="Acme"' in bad_url.text
    wrong = await client.post("/ui/accounts", data={**body, "instance_url": site.sim_url, "auth.password": "wrong"})
    assert wrong.status_code == 422
    assert 'id="f-auth-password-error"' in wrong.text
    assert "401" in wrong.text
    assert 'value="wrong"' not in wrong.text
    test = await client.post(
        "/ui/accounts/test", data={**body, "instance_url": site.sim_url, "auth.password": SIM_TOKEN}
    )
    assert (test.status_code, test.json()["ok"], test.json()["display_name"]) == (200, True, "Agent Smith")


async def test_the_preview_matches_what_the_created_server_lists(site: Site, client: httpx.AsyncClient) -> None:
    """The preview's names and count are exactly the tools/list of a server made with the same filters."""
    await signed_in(client, site.admin_token)
    headers = {"Authorization": f"Bearer {site.admin_token}"}
    account = {"label": "Sim", "instance_url": site.sim_url, "auth": {"username": SIM_EMAIL, "password": SIM_TOKEN}}
    account_id = (await client.post("/integrated-account", json=account, headers=headers)).json()["id"]
    query: list[tuple[str, str | int | float | bool | None]] = [
        ("config.methods", "read"),
        ("config.tags", "pages"),
        ("config.tags", "spaces"),
    ]
    shown = (await client.get(f"/ui/accounts/{account_id}/mcp/preview", params=query)).json()
    config = {"methods": ["read"], "tags": ["pages", "spaces"]}
    made = await client.post(
        f"/integrated-account/{account_id}/mcp", json={"name": "p", "config": config}, headers=headers
    )
    path = urlsplit(made.json()["url"]).path  # the URL names the configured public_url; the path is ours
    listed = await client.post(path, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=MCP_HEADERS)
    tools = listed.json()["result"]["tools"]
    assert shown["names"] == [t["name"] for t in tools]
    assert shown["count"] == len(tools)
    assert shown["bytes"] > 1000
    misspelt = await client.get(f"/ui/accounts/{account_id}/mcp/preview", params=[("config.tags", "page")])
    assert misspelt.status_code == 422
    assert "did you mean 'pages'" in misspelt.json()["errors"]["config.tags"]
    hiding = await client.get(f"/ui/accounts/{account_id}/mcp/preview", params=[("config.hide_deprecated", "some")])
    assert hiding.status_code == 422
    assert "replaced, all, none" in hiding.json()["errors"]["config.hide_deprecated"]
    async with httpx.AsyncClient(base_url=site.base_url) as stranger:
        refused = await stranger.get(f"/ui/accounts/{account_id}/mcp/preview")
    assert (refused.status_code, refused.json()["error"]) == (401, "unauthorized")


async def test_pages_of_a_missing_record_answer_404_and_the_pages_can_be_turned_off(
    site: Site, client: httpx.AsyncClient
) -> None:
    """An unknown account id is a 404 page; with ui.enabled false nothing is served under /ui."""
    await signed_in(client, site.admin_token)
    missing = await client.get("/ui/accounts/acc_missing")
    assert missing.status_code == 404
    assert "acc_missing" in missing.text
    async with (
        running_site(ui_settings(ui={"enabled": False})) as off,
        httpx.AsyncClient(base_url=off.base_url) as http,
    ):
        assert (await http.get("/ui/sign-in")).status_code == 404


async def test_a_scoped_token_is_tested_through_the_gateway_from_the_account_form() -> None:
    """The form offers scoped tokens; Test connection finds the cloudId and asks the gateway, as calls will."""
    sim = create_simulator(email=SIM_EMAIL, api_token=SIM_TOKEN)
    async with serve_asgi(sim.app) as sim_url:
        settings = ui_settings(atlassian=platform_settings(sim_url))
        app = create_app(settings)
        async with (
            serve_asgi(wrap(app), server=settings.server) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=30) as client,
        ):
            token, _ = await add_admin_token(app)
            csrf = await signed_in(client, token)
            form = await client.get("/ui/accounts/new")
            assert '<option value="scoped"' in form.text
            body = {
                "csrf": csrf,
                "label": "Scoped",
                "instance_url": sim_url,
                "auth.type": "scoped",
                "auth.username": SIM_EMAIL,
            }
            test = await client.post("/ui/accounts/test", data={**body, "auth.password": SIM_SCOPED_TOKEN})

    assert test.status_code == 200, test.text
    assert test.json().get("ok") is True, test.text
    assert f"/ex/confluence/{sim.platform.cloud_id}/wiki/rest/api/user/current" in [r.path for r in sim.requests]


async def test_connect_with_atlassian_starts_at_the_accounts_page_and_ends_in_a_stored_oauth_account() -> None:
    """The button's page links to Atlassian's authorize URL; following it through the callback stores the account."""
    sim = create_simulator(email=SIM_EMAIL, api_token=SIM_TOKEN)
    async with serve_asgi(sim.app) as sim_url:
        settings = ui_settings(atlassian=platform_settings(sim_url))
        app = create_app(settings)
        async with (
            serve_asgi(wrap(app), server=settings.server) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=30) as client,
        ):
            token, _ = await add_admin_token(app)
            csrf = await signed_in(client, token)
            listed = await client.get("/ui/accounts")
            assert 'action="/ui/accounts/connect"' in listed.text
            started = await client.post("/ui/accounts/connect", data={"csrf": csrf, "label": "Via OAuth"})
            assert started.status_code == 200, started.text
            match = re.search(r'id="continue-to-atlassian" href="([^"]+)"', started.text)
            assert match is not None, started.text
            authorize = html.unescape(match.group(1))
            assert authorize.startswith(f"{sim_url}/authorize?")
            consent = await client.get(authorize)  # the simulator approves and sends the browser back
            assert consent.status_code in (302, 303), consent.text
            callback = consent.headers["location"]
            assert callback.startswith(f"{base_url}/oauth/callback?")
            done = await client.get(callback)
            accounts = await app.state.runtime.store.list_accounts()

    assert done.status_code == 200, done.text
    assert [(a.label, a.auth_type) for a in accounts] == [("Via OAuth", "oauth")]


async def test_connect_with_atlassian_without_an_oauth_app_says_which_settings_to_set(
    site: Site, client: httpx.AsyncClient
) -> None:
    """No atlassian.oauth_client_id: the accounts page comes back with the settings named, and no account."""
    csrf = await signed_in(client, site.admin_token)
    refused = await client.post("/ui/accounts/connect", data={"csrf": csrf})
    assert refused.status_code == 422
    assert "atlassian.oauth_client_id" in refused.text
    assert await site.runtime.store.list_accounts() == []
