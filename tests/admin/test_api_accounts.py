"""The admin REST API over real loopback HTTP: authentication, its OpenAPI document and integrated accounts."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from confluence_mcp.admin.service import AdminService
from tests.support.admin import (
    ACCOUNTS_UNCHECKED,
    ISO_Z_PATTERN,
    SECRET,
    AdminApp,
    admin_settings,
    an_account_body,
    error_body,
    error_fields,
    iso_in,
    running_admin_app,
)

pytestmark = pytest.mark.anyio

ROUTES = {
    ("POST", "/integrated-account"),
    ("GET", "/integrated-account"),
    ("GET", "/integrated-account/{account_id}"),
    ("PATCH", "/integrated-account/{account_id}"),
    ("DELETE", "/integrated-account/{account_id}"),
    ("POST", "/integrated-account/{account_id}/mcp"),
    ("GET", "/integrated-account/{account_id}/mcp"),
    ("GET", "/integrated-account/{account_id}/mcp/{mcp_id}"),
    ("PATCH", "/integrated-account/{account_id}/mcp/{mcp_id}"),
    ("DELETE", "/integrated-account/{account_id}/mcp/{mcp_id}"),
    ("GET", "/integrated-account/{account_id}/mcp/{mcp_id}/logs"),
    ("GET", "/audit-log"),
    ("POST", "/oauth/connect"),
}


def _concrete(path: str) -> str:
    return path.replace("{account_id}", "acc_x").replace("{mcp_id}", "mcp_x")


# Authentication


async def test_every_route_without_a_bearer_token_answers_401_with_a_challenge(admin: AdminApp) -> None:
    """Each admin route refuses a request without a token with 401, a JSON error and WWW-Authenticate."""
    async with httpx.AsyncClient(base_url=admin.base_url) as anonymous:
        for method, path in sorted(ROUTES):
            response = await anonymous.request(method, _concrete(path), json={})
            error_body(response, 401, "unauthorized")
            assert response.headers["www-authenticate"] == 'Bearer realm="confluence-mcp"'


async def test_a_bad_or_malformed_bearer_token_answers_401_invalid_token(admin: AdminApp) -> None:
    """An unknown token, an MCP URL token or a non-bearer scheme never passes the admin check."""
    async with httpx.AsyncClient(base_url=admin.base_url) as other:
        unknown = await other.get("/integrated-account", headers={"Authorization": "Bearer cmat_not-a-real-token"})
        basic = await other.get("/integrated-account", headers={"Authorization": f"Basic {admin.api_token}"})
    error_body(unknown, 401, "unauthorized")
    assert unknown.headers["www-authenticate"] == 'Bearer realm="confluence-mcp", error="invalid_token"'
    error_body(basic, 401, "unauthorized")


async def test_every_route_refuses_an_mcp_client_token_as_not_an_admin_token(admin: AdminApp) -> None:
    """An MCP client token, bound or not, gets 401 on each admin route, saying an admin token is needed."""
    account = await admin.create_account()
    server = (await admin.create_mcp_server(account["id"])).json()
    service = AdminService(admin.store, admin.runtime.settings, lambda: admin.runtime.catalog.tools)
    unbound = await service.create_api_token("agent", scope="mcp")
    bound = await service.create_api_token("pinned", scope="mcp", mcp_server_ids=[server["id"]])
    async with httpx.AsyncClient(base_url=admin.base_url) as other:
        for token in (unbound.token, bound.token):
            for method, path in sorted(ROUTES):
                headers = {"Authorization": f"Bearer {token}"}
                response = await other.request(method, _concrete(path), json={}, headers=headers)
                body = error_body(response, 401, "unauthorized")
                assert body["message"].startswith("this is an MCP client token (scope mcp)")
                assert "the admin API needs an admin token" in body["message"]
                assert response.headers["www-authenticate"] == 'Bearer realm="confluence-mcp", error="invalid_token"'
    assert [a.id for a in await admin.store.list_accounts()] == [account["id"]]  # no POST or DELETE got through


async def test_a_revoked_api_token_is_refused_at_once(admin: AdminApp) -> None:
    """Deleting the API token from the store and invalidating the cache locks its holder out."""
    assert (await admin.client.get("/integrated-account")).status_code == 200
    for token in await admin.store.list_api_tokens():
        await admin.store.delete_api_token(token.id)
    admin.runtime.resolver.invalidate()
    error_body(await admin.client.get("/integrated-account"), 401, "unauthorized")


# OpenAPI document


async def test_the_openapi_document_needs_no_token_and_describes_every_route(admin: AdminApp) -> None:
    """GET /admin/openapi.json is public, OpenAPI 3.1, and has every route with request schemas that resolve."""
    async with httpx.AsyncClient(base_url=admin.base_url) as anonymous:
        response = await anonymous.get("/admin/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, item in document["paths"].items() for m in item if m != "parameters"}
    assert documented == {*ROUTES, ("GET", "/admin/openapi.json")}
    schemas = document["components"]["schemas"]
    for method, path in ROUTES:
        operation = document["paths"][path][method.lower()]
        assert "401" in operation["responses"]
        if method in ("POST", "PATCH"):
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in schemas
    for ref in re.findall(r'"\$ref": "#/components/(\w+)/([\w-]+)"', response.text):
        assert ref[1] in document["components"][ref[0]], ref
    for name, schema in schemas.items():
        Draft202012Validator.check_schema(schema)  # OpenAPI 3.1 schemas are JSON Schema 2020-12
        assert schema.get("description") or name.endswith("List"), name
    assert schemas["AccountInput"]["additionalProperties"] is False
    assert document["paths"]["/admin/openapi.json"]["get"]["security"] == []


# Integrated accounts


async def test_an_account_can_be_created_read_listed_changed_and_deleted(admin: AdminApp) -> None:
    """The account CRUD round trip answers 201, 200, 200, 200 and 204, then 404."""
    expires = iso_in(timedelta(days=300))
    created = await admin.create_account(instance_url="https://acme.atlassian.net/", api_token_expires_at=expires)
    account_id = created["id"]
    assert created.pop("check") is None  # skipped: no test serves acme.atlassian.net
    assert created["instance_url"] == "https://acme.atlassian.net"  # trailing slash stripped
    assert created["auth"] == {
        "type": "basic",
        "username": "john.smith@example.com",
        "cloud_id": None,
        "needs_reconnect": False,
    }
    assert created["api_token_expires_at"].startswith(expires[:19])
    for key in ("api_token_expires_at", "created_at", "updated_at"):
        assert ISO_Z_PATTERN.match(created[key]), created[key]

    fetched = await admin.client.get(f"/integrated-account/{account_id}")
    assert fetched.json() == created
    listed = await admin.client.get("/integrated-account")
    assert listed.json() == {"result": [created]}

    patched = await admin.client.patch(f"/integrated-account/{account_id}", json={"label": "Acme Corp"})
    assert patched.status_code == 200
    assert patched.json()["label"] == "Acme Corp"
    assert patched.json()["instance_url"] == created["instance_url"]

    cleared = await admin.client.patch(f"/integrated-account/{account_id}", json={"api_token_expires_at": None})
    assert cleared.json()["api_token_expires_at"] is None

    deleted = await admin.client.delete(f"/integrated-account/{account_id}")
    assert deleted.status_code == 204
    error_body(await admin.client.get(f"/integrated-account/{account_id}"), 404, "not_found")
    error_body(await admin.client.delete(f"/integrated-account/{account_id}"), 404, "not_found")


async def test_patching_auth_replaces_the_credentials_and_keeps_them_secret(admin: AdminApp) -> None:
    """A PATCH with a new auth object switches credentials in the store; the answer shows only type and username."""
    account = await admin.create_account()
    response = await admin.client.patch(
        f"/integrated-account/{account['id']}?check=false",
        json={"auth": {"type": "bearer", "password": "oauth-token-xyz"}},
    )
    assert response.status_code == 200
    assert response.json()["auth"] == {"type": "bearer", "username": None, "cloud_id": None, "needs_reconnect": False}
    assert "oauth-token-xyz" not in response.text
    stored = await admin.store.get_account(account["id"])
    assert (stored.auth_type, stored.username, stored.secret) == ("bearer", None, "oauth-token-xyz")


async def test_account_secrets_never_appear_in_any_response(admin: AdminApp) -> None:
    """No answer of any route carries the Atlassian API token, whatever happens to the account."""
    texts: list[str] = []
    created = await admin.client.post(ACCOUNTS_UNCHECKED, json=an_account_body())
    account_id = created.json()["id"]
    texts.append(created.text)
    for response in (
        await admin.client.get("/integrated-account"),
        await admin.client.get(f"/integrated-account/{account_id}"),
        await admin.client.patch(f"/integrated-account/{account_id}", json={"label": "Renamed"}),
        await admin.create_mcp_server(account_id),
        await admin.client.get(f"/integrated-account/{account_id}/mcp"),
        await admin.client.post("/integrated-account", json=an_account_body(instance_url="http://example.com")),
        await admin.client.post("/integrated-account", json=an_account_body(label=7)),
        await admin.client.get("/admin/openapi.json"),
    ):
        texts.append(response.text)
    assert all(SECRET not in text for text in texts)
    assert "password" not in created.json()["auth"]


@pytest.mark.parametrize(
    ("instance_url", "problem"),
    [
        ("http://acme.atlassian.net", "must use https"),
        ("https://user:pass@acme.atlassian.net", "username or password"),
        ("https://acme.atlassian.net?x=1", "query"),
        ("https://acme.atlassian.net#top", "fragment"),
        ("https://acme.atlassian.net/wiki", "site root"),
        ("https://acme.atlassian.net/../admin", "site root"),
        ("ftp://acme.atlassian.net", "absolute https URL"),
        ("acme.atlassian.net", "absolute https URL"),
        ("https://acme .atlassian.net", "spaces"),
        ("https://acme.atlassian.net:99999", "not a valid URL"),
    ],
)
async def test_an_unsafe_instance_url_is_refused_naming_the_field(
    admin: AdminApp, instance_url: str, problem: str
) -> None:
    """Plain http to a public host, userinfo, queries, fragments, paths and other schemes answer 400."""
    response = await admin.client.post("/integrated-account", json=an_account_body(instance_url=instance_url))
    body = error_body(response, 400, "invalid_value")
    assert error_fields(body) == ["instance_url"]
    assert body["message"].startswith("instance_url: ")
    assert problem in body["message"]


@pytest.mark.parametrize("instance_url", ["http://127.0.0.1:8089", "http://localhost:3000/", "http://[::1]:8080"])
async def test_plain_http_is_accepted_for_loopback_hosts_named_exactly(instance_url: str) -> None:
    """A loopback instance (a local simulator) listed exactly in upstream.allowed_hosts may use http."""
    settings = admin_settings(upstream={"allowed_hosts": ["127.0.0.1", "localhost", "[::1]"]})
    async with running_admin_app(settings) as admin:
        account = await admin.create_account(instance_url=instance_url)
    assert account["instance_url"] == instance_url.rstrip("/")


async def test_upstream_settings_allow_http_and_restrict_hosts() -> None:
    """upstream.allow_http admits http to any host; upstream.allowed_hosts refuses hosts outside its globs."""
    settings = admin_settings(upstream={"allow_http": True, "allowed_hosts": ["*.atlassian.net"]})
    async with running_admin_app(settings) as admin:
        allowed = await admin.client.post(
            ACCOUNTS_UNCHECKED, json=an_account_body(instance_url="http://acme.atlassian.net")
        )
        assert allowed.status_code == 201, allowed.text
        refused = await admin.client.post(
            "/integrated-account", json=an_account_body(instance_url="https://confluence.example.com")
        )
        body = error_body(refused, 400, "invalid_value")
        assert "upstream.allowed_hosts" in body["message"]


@pytest.mark.parametrize(
    ("delta", "problem"),
    [(timedelta(days=367), "at most 366 days"), (timedelta(seconds=-5), "in the future")],
)
async def test_an_atlassian_token_expiry_past_a_year_or_already_gone_is_refused(
    admin: AdminApp, delta: timedelta, problem: str
) -> None:
    """api_token_expires_at must lie in the future and at most 366 days out, on create and on PATCH."""
    created = await admin.client.post("/integrated-account", json=an_account_body(api_token_expires_at=iso_in(delta)))
    assert problem in error_body(created, 400, "invalid_value")["message"]
    account = await admin.create_account()
    patched = await admin.client.patch(
        f"/integrated-account/{account['id']}", json={"api_token_expires_at": iso_in(delta)}
    )
    assert error_fields(error_body(patched, 400, "invalid_value")) == ["api_token_expires_at"]


@pytest.mark.parametrize(
    ("auth", "field"),
    [
        ({"type": "basic", "password": "t"}, "auth.username"),
        ({"type": "bearer", "username": "a@b.c", "password": "t"}, "auth.username"),
        ({"type": "basic", "username": "a@b.c", "password": " "}, "auth.password"),
    ],
)
async def test_incomplete_or_mismatched_credentials_are_refused(
    admin: AdminApp, auth: dict[str, Any], field: str
) -> None:
    """Basic auth needs the account email, bearer auth takes none, and both need a token."""
    response = await admin.client.post("/integrated-account", json=an_account_body(auth=auth))
    assert error_fields(error_body(response, 400, "invalid_value")) == [field]
