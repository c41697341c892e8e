"""The admin REST API over real loopback HTTP: auth, accounts, MCP servers, errors and its OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from confluence_mcp.errors import StoreError
from confluence_mcp.openapi import Tool
from confluence_mcp.policy.filters import ToolFilter, describe_filter
from tests.support.admin import (
    SECRET,
    AdminApp,
    admin_settings,
    an_account_body,
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
}
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture
async def admin() -> AsyncIterator[AdminApp]:
    """A running app with default settings and an authenticated admin client."""
    async with running_admin_app() as running:
        yield running


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _in(delta: timedelta) -> str:
    return _iso(datetime.now(UTC) + delta)


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    assert set(body) == {"error", "message", "details"}
    return body


def _fields(body: dict[str, Any]) -> list[str]:
    return [problem["field"] for problem in body["details"]]


def _concrete(path: str) -> str:
    return path.replace("{account_id}", "acc_x").replace("{mcp_id}", "mcp_x")


# Authentication


async def test_every_route_without_a_bearer_token_answers_401_with_a_challenge(admin: AdminApp) -> None:
    """Each admin route refuses a request without a token with 401, a JSON error and WWW-Authenticate."""
    async with httpx.AsyncClient(base_url=admin.base_url) as anonymous:
        for method, path in sorted(ROUTES):
            response = await anonymous.request(method, _concrete(path), json={})
            _error(response, 401, "unauthorized")
            assert response.headers["www-authenticate"] == 'Bearer realm="confluence-mcp"'


async def test_a_bad_or_malformed_bearer_token_answers_401_invalid_token(admin: AdminApp) -> None:
    """An unknown token, an MCP URL token or a non-bearer scheme never passes the admin check."""
    async with httpx.AsyncClient(base_url=admin.base_url) as other:
        unknown = await other.get("/integrated-account", headers={"Authorization": "Bearer cmat_not-a-real-token"})
        basic = await other.get("/integrated-account", headers={"Authorization": f"Basic {admin.api_token}"})
    _error(unknown, 401, "unauthorized")
    assert unknown.headers["www-authenticate"] == 'Bearer realm="confluence-mcp", error="invalid_token"'
    _error(basic, 401, "unauthorized")


async def test_a_revoked_api_token_is_refused_at_once(admin: AdminApp) -> None:
    """Deleting the API token from the store and invalidating the cache locks its holder out."""
    assert (await admin.client.get("/integrated-account")).status_code == 200
    for token in await admin.store.list_api_tokens():
        await admin.store.delete_api_token(token.id)
    admin.runtime.resolver.invalidate()
    _error(await admin.client.get("/integrated-account"), 401, "unauthorized")


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
    expires = _in(timedelta(days=300))
    created = await admin.create_account(instance_url="https://acme.atlassian.net/", api_token_expires_at=expires)
    account_id = created["id"]
    assert created["instance_url"] == "https://acme.atlassian.net"  # trailing slash stripped
    assert created["auth"] == {"type": "basic", "username": "john.smith@example.com"}
    assert created["api_token_expires_at"].startswith(expires[:19])
    for key in ("api_token_expires_at", "created_at", "updated_at"):
        assert ISO_Z.match(created[key]), created[key]

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
    _error(await admin.client.get(f"/integrated-account/{account_id}"), 404, "not_found")
    _error(await admin.client.delete(f"/integrated-account/{account_id}"), 404, "not_found")


async def test_patching_auth_replaces_the_credentials_and_keeps_them_secret(admin: AdminApp) -> None:
    """A PATCH with a new auth object switches credentials in the store; the answer shows only type and username."""
    account = await admin.create_account()
    response = await admin.client.patch(
        f"/integrated-account/{account['id']}", json={"auth": {"type": "bearer", "password": "oauth-token-xyz"}}
    )
    assert response.status_code == 200
    assert response.json()["auth"] == {"type": "bearer", "username": None}
    assert "oauth-token-xyz" not in response.text
    stored = await admin.store.get_account(account["id"])
    assert (stored.auth_type, stored.username, stored.secret) == ("bearer", None, "oauth-token-xyz")


async def test_account_secrets_never_appear_in_any_response(admin: AdminApp) -> None:
    """No answer of any route carries the Atlassian API token, whatever happens to the account."""
    texts: list[str] = []
    created = await admin.client.post("/integrated-account", json=an_account_body())
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
    body = _error(response, 400, "invalid_value")
    assert _fields(body) == ["instance_url"]
    assert body["message"].startswith("instance_url: ")
    assert problem in body["message"]


@pytest.mark.parametrize("instance_url", ["http://127.0.0.1:8089", "http://localhost:3000/", "http://[::1]:8080"])
async def test_plain_http_is_accepted_for_loopback_hosts(admin: AdminApp, instance_url: str) -> None:
    """A loopback instance (a local simulator) may use http; the trailing slash is stripped."""
    account = await admin.create_account(instance_url=instance_url)
    assert account["instance_url"] == instance_url.rstrip("/")


async def test_upstream_settings_allow_http_and_restrict_hosts() -> None:
    """upstream.allow_http admits http to any host; upstream.allowed_hosts refuses hosts outside its globs."""
    settings = admin_settings(upstream={"allow_http": True, "allowed_hosts": ["*.atlassian.net"]})
    async with running_admin_app(settings) as admin:
        allowed = await admin.client.post(
            "/integrated-account", json=an_account_body(instance_url="http://acme.atlassian.net")
        )
        assert allowed.status_code == 201, allowed.text
        refused = await admin.client.post(
            "/integrated-account", json=an_account_body(instance_url="https://confluence.example.com")
        )
        body = _error(refused, 400, "invalid_value")
        assert "upstream.allowed_hosts" in body["message"]


@pytest.mark.parametrize(
    ("delta", "problem"),
    [(timedelta(days=367), "at most 366 days"), (timedelta(seconds=-5), "in the future")],
)
async def test_an_atlassian_token_expiry_past_a_year_or_already_gone_is_refused(
    admin: AdminApp, delta: timedelta, problem: str
) -> None:
    """api_token_expires_at must lie in the future and at most 366 days out, on create and on PATCH."""
    created = await admin.client.post("/integrated-account", json=an_account_body(api_token_expires_at=_in(delta)))
    assert problem in _error(created, 400, "invalid_value")["message"]
    account = await admin.create_account()
    patched = await admin.client.patch(
        f"/integrated-account/{account['id']}", json={"api_token_expires_at": _in(delta)}
    )
    assert _fields(_error(patched, 400, "invalid_value")) == ["api_token_expires_at"]


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
    assert _fields(_error(response, 400, "invalid_value")) == [field]


# MCP servers


async def test_creating_an_mcp_server_returns_its_url_and_token_once_and_the_url_works(admin: AdminApp) -> None:
    """The 201 answer holds url and token; list and get never show them; the URL answers initialize."""
    account = await admin.create_account()
    created = await admin.create_mcp_server(account["id"], config={"methods": ["read"]})
    assert created.status_code == 201, created.text
    server = created.json()
    token = server["token"]
    assert token.startswith("cmcp_")
    assert server["url"] == f"{admin.runtime.settings.public_url}/mcp/{token}"
    assert server["integrated_account_id"] == account["id"]
    assert server["config"] == {"methods": ["read"], "tags": [], "require_api_token_auth": False}

    listed = await admin.client.get(f"/integrated-account/{account['id']}/mcp")
    fetched = await admin.client.get(f"/integrated-account/{account['id']}/mcp/{server['id']}")
    for response in (listed, fetched):
        assert response.status_code == 200
        assert token not in response.text
        assert "url" not in response.text
    assert listed.json()["result"] == [fetched.json()]
    assert {k: v for k, v in server.items() if k not in ("url", "token")} == fetched.json()

    url = f"{admin.base_url}/mcp/{token}"
    handshake = await admin.rpc(
        url,
        "initialize",
        {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "tests", "version": "1"}},
    )
    assert handshake.status_code == 200, handshake.text
    assert handshake.json()["result"]["serverInfo"]["name"] == "confluence-mcp"


async def test_revoking_an_mcp_server_makes_its_url_answer_404_at_once(admin: AdminApp) -> None:
    """After DELETE, the very next request to the URL answers 404, cache or no cache."""
    account = await admin.create_account()
    server = (await admin.create_mcp_server(account["id"])).json()
    url = f"{admin.base_url}/mcp/{server['token']}"
    assert (await admin.rpc(url)).status_code == 200  # now cached in the resolver
    deleted = await admin.client.delete(f"/integrated-account/{account['id']}/mcp/{server['id']}")
    assert deleted.status_code == 204
    assert (await admin.rpc(url)).status_code == 404
    _error(await admin.client.get(f"/integrated-account/{account['id']}/mcp/{server['id']}"), 404, "not_found")


async def test_an_mcp_server_under_another_account_is_not_found(admin: AdminApp) -> None:
    """Every MCP server route answers 404 when the server belongs to a different account."""
    mine, theirs = await admin.create_account(), await admin.create_account(label="Other")
    server = (await admin.create_mcp_server(mine["id"])).json()
    wrong = f"/integrated-account/{theirs['id']}/mcp/{server['id']}"
    _error(await admin.client.get(wrong), 404, "not_found")
    _error(await admin.client.patch(wrong, json={"name": "x"}), 404, "not_found")
    _error(await admin.client.delete(wrong), 404, "not_found")
    _error(await admin.client.get("/integrated-account/acc_missing/mcp"), 404, "not_found")
    _error(await admin.create_mcp_server("acc_missing"), 404, "not_found")
    assert (await admin.rpc(f"{admin.base_url}/mcp/{server['token']}")).status_code == 200


async def test_patching_config_merges_shallowly_and_takes_effect_on_the_url(admin: AdminApp) -> None:
    """Keys given in config replace, keys absent stay; the URL's tools/list follows the change at once."""
    account = await admin.create_account()
    created = await admin.create_mcp_server(
        account["id"], config={"methods": ["read"], "tags": ["pages"], "require_api_token_auth": False}
    )
    server = created.json()
    url = f"{admin.base_url}/mcp/{server['token']}"
    path = f"/integrated-account/{account['id']}/mcp/{server['id']}"
    before = await admin.tool_names(url)

    patched = await admin.client.patch(path, json={"config": {"tags": ["spaces"]}, "name": "renamed"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["config"] == {"methods": ["read"], "tags": ["spaces"], "require_api_token_auth": False}
    assert patched.json()["name"] == "renamed"
    after = await admin.tool_names(url)
    assert after
    assert after != before
    assert all("space" in name for name in after)

    widened = await admin.client.patch(path, json={"config": {"methods": None}})
    assert widened.json()["config"] == {"methods": [], "tags": ["spaces"], "require_api_token_auth": False}
    locked = await admin.client.patch(path, json={"config": {"require_api_token_auth": True}})
    assert locked.json()["config"]["require_api_token_auth"] is True
    assert (await admin.rpc(url)).status_code == 401
    assert server["token"] not in locked.text


async def test_a_filter_no_tool_passes_is_refused_naming_the_filters(admin: AdminApp) -> None:
    """Creating or patching an MCP server so that no tool passes answers 400 with describe_filter's words."""
    account = await admin.create_account()
    nothing = {"methods": ["no_such_method"], "tags": ["pages"]}
    created = await admin.create_mcp_server(account["id"], config=nothing)
    body = _error(created, 400, "invalid_value")
    assert _fields(body) == ["config"]
    described = describe_filter(ToolFilter(methods=frozenset({"no_such_method"}), tags=frozenset({"pages"})))
    assert described in body["message"]

    server = (await admin.create_mcp_server(account["id"], config={"tags": ["pages"]})).json()
    path = f"/integrated-account/{account['id']}/mcp/{server['id']}"
    refused = await admin.client.patch(path, json={"config": {"tags": ["no-such-tag"]}})
    assert "tags [no-such-tag]" in _error(refused, 400, "invalid_value")["message"]
    unchanged = await admin.client.get(path)
    assert unchanged.json()["config"]["tags"] == ["pages"]


async def test_an_unknown_method_name_passes_when_other_entries_yield_tools(admin: AdminApp) -> None:
    """A well-formed but unknown method is allowed alongside entries that yield tools."""
    account = await admin.create_account()
    created = await admin.create_mcp_server(account["id"], config={"methods": ["read", "frobnicate"]})
    assert created.status_code == 201, created.text
    assert created.json()["config"]["methods"] == ["read", "frobnicate"]


async def test_a_malformed_method_or_tag_entry_is_named_by_index(admin: AdminApp) -> None:
    """A method or tag that is not a name answers 400 naming config.methods[i] or config.tags[i]."""
    account = await admin.create_account()
    bad_method = await admin.create_mcp_server(account["id"], config={"methods": ["read", "Not A Method!"]})
    assert _fields(_error(bad_method, 400, "invalid_value")) == ["config.methods[1]"]
    bad_tag = await admin.create_mcp_server(account["id"], config={"tags": ["pages", "spaces", "bad tag"]})
    assert _fields(_error(bad_tag, 400, "invalid_value")) == ["config.tags[2]"]


async def test_expires_at_under_60_seconds_ahead_is_refused(admin: AdminApp) -> None:
    """An expiry less than a minute away (or past) answers 400 on create and on PATCH."""
    account = await admin.create_account()
    for delta in (timedelta(seconds=30), timedelta(hours=-1)):
        created = await admin.create_mcp_server(account["id"], expires_at=_in(delta))
        assert _fields(_error(created, 400, "invalid_value")) == ["expires_at"]
    server = (await admin.create_mcp_server(account["id"])).json()
    patched = await admin.client.patch(
        f"/integrated-account/{account['id']}/mcp/{server['id']}", json={"expires_at": _in(timedelta(seconds=10))}
    )
    assert "60 seconds" in _error(patched, 400, "invalid_value")["message"]


async def test_patching_expires_at_to_null_clears_it(admin: AdminApp) -> None:
    """expires_at: null removes the expiry; leaving the key out keeps it."""
    account = await admin.create_account()
    expires = datetime.now(UTC) + timedelta(hours=1)
    server = (await admin.create_mcp_server(account["id"], expires_at=_iso(expires))).json()
    assert ISO_Z.match(server["expires_at"])
    assert abs(datetime.fromisoformat(server["expires_at"]) - expires) < timedelta(seconds=1)
    path = f"/integrated-account/{account['id']}/mcp/{server['id']}"
    kept = await admin.client.patch(path, json={"name": "still expiring"})
    assert kept.json()["expires_at"] == server["expires_at"]
    cleared = await admin.client.patch(path, json={"expires_at": None})
    assert cleared.json()["expires_at"] is None
    assert (await admin.store.get_mcp_server(server["id"])).expires_at is None


async def test_deleting_an_account_deletes_its_mcp_servers_and_their_urls_die(admin: AdminApp) -> None:
    """DELETE of an account removes every MCP server bound to it; their URLs answer 404 at once."""
    account, other = await admin.create_account(), await admin.create_account(label="Other")
    servers = [(await admin.create_mcp_server(account["id"], name=f"s{i}")).json() for i in range(2)]
    survivor = (await admin.create_mcp_server(other["id"])).json()
    urls = [f"{admin.base_url}/mcp/{s['token']}" for s in servers]
    for url in urls:
        assert (await admin.rpc(url)).status_code == 200
    assert (await admin.client.delete(f"/integrated-account/{account['id']}")).status_code == 204
    for url in urls:
        assert (await admin.rpc(url)).status_code == 404
    assert await admin.store.list_mcp_servers() == [await admin.store.get_mcp_server(survivor["id"])]
    assert (await admin.rpc(f"{admin.base_url}/mcp/{survivor['token']}")).status_code == 200


async def test_records_declared_in_the_settings_file_answer_409_to_changes() -> None:
    """A static account or MCP server cannot be patched or deleted through the API: change the file instead."""
    token = "cmcp_" + "s" * 40
    settings = admin_settings(
        accounts=[
            {
                "id": "static-acme",
                "instance_url": "https://acme.atlassian.net",
                "auth": {"username": "a@b.c", "password": "t"},
            }
        ],
        servers=[{"token": token, "account": "static-acme"}],
    )
    async with running_admin_app(settings) as admin:
        servers = (await admin.client.get("/integrated-account/static-acme/mcp")).json()["result"]
        path = f"/integrated-account/static-acme/mcp/{servers[0]['id']}"
        _error(await admin.client.patch(path, json={"name": "x"}), 409, "conflict")
        _error(await admin.client.delete(path), 409, "conflict")
        _error(await admin.client.patch("/integrated-account/static-acme", json={"label": "x"}), 409, "conflict")
        body = _error(await admin.client.delete("/integrated-account/static-acme"), 409, "conflict")
        assert "accounts[0]" in body["message"]
        added = await admin.create_mcp_server("static-acme")
        assert added.status_code == 201, added.text


# Request bodies


async def test_a_body_that_is_not_json_answers_400_invalid_json(admin: AdminApp) -> None:
    """Unparseable, empty and non-UTF-8 bodies answer 400 with a JSON error naming the problem."""
    for content in (b'{"label": ', b"", b"\xff\xfe\x00{", b"[" * 100_000):
        response = await admin.client.post(
            "/integrated-account", content=content, headers={"Content-Type": "application/json"}
        )
        body = _error(response, 400, "invalid_json")
        assert body["message"].startswith("the request body is")


async def test_wrong_types_and_missing_fields_answer_422_naming_each_field(admin: AdminApp) -> None:
    """A body against the schema answers 422 listing every bad field as a path."""
    response = await admin.client.post(
        "/integrated-account",
        json={"label": 5, "auth": {"type": "digest", "password": "x"}, "api_token_expires_at": "soon"},
    )
    body = _error(response, 422, "invalid_body")
    assert set(_fields(body)) == {"label", "instance_url", "auth.type", "api_token_expires_at"}
    account = await admin.create_account()
    nested = await admin.create_mcp_server(account["id"], config={"methods": ["read", 7]})
    assert _fields(_error(nested, 422, "invalid_body")) == ["config.methods[1]"]
    not_object = await admin.client.post("/integrated-account", json=["label"])
    assert _fields(_error(not_object, 422, "invalid_body")) == ["(body)"]


async def test_an_unknown_field_is_named(admin: AdminApp) -> None:
    """extra='forbid': an unknown key, top-level or nested, answers 422 naming it."""
    response = await admin.client.post("/integrated-account", json=an_account_body(color="blue"))
    body = _error(response, 422, "invalid_body")
    assert body["details"] == [{"field": "color", "message": "unknown field"}]
    account = await admin.create_account()
    nested = await admin.create_mcp_server(account["id"], config={"method": ["read"]})
    assert _fields(_error(nested, 422, "invalid_body")) == ["config.method"]


async def test_null_for_a_key_that_cannot_be_cleared_answers_422(admin: AdminApp) -> None:
    """PATCH with name: null or config: null is refused rather than silently ignored."""
    account = await admin.create_account()
    server = (await admin.create_mcp_server(account["id"])).json()
    path = f"/integrated-account/{account['id']}/mcp/{server['id']}"
    assert _fields(_error(await admin.client.patch(path, json={"name": None}), 422, "invalid_body")) == ["name"]
    label = await admin.client.patch(f"/integrated-account/{account['id']}", json={"label": None})
    assert _fields(_error(label, 422, "invalid_body")) == ["label"]


async def test_a_body_over_the_limit_answers_413() -> None:
    """A body larger than server.max_body_bytes answers 413 with a JSON error, before it is parsed."""
    async with running_admin_app(admin_settings(server={"max_body_bytes": 2048})) as admin:
        response = await admin.client.post("/integrated-account", json=an_account_body(label="x" * 4096))
        _error(response, 413, "payload_too_large")

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(8):
                yield b" " * 512  # no Content-Length: the limit holds for streamed bodies too

        streamed = await admin.client.post("/integrated-account", content=chunks())
        _error(streamed, 413, "payload_too_large")


async def test_an_unsupported_method_answers_405_with_allow(admin: AdminApp) -> None:
    """PUT on an admin path answers a JSON 405 naming the methods it takes."""
    response = await admin.client.put("/integrated-account", json={})
    _error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, POST"


@pytest.mark.parametrize(
    ("failure", "code", "message"),
    [
        (RuntimeError("boom: internal detail"), "internal_error", "internal error; see the server log"),
        (StoreError("database is locked"), "store_error", "database is locked"),
    ],
)
async def test_a_failure_inside_answers_500_json_without_a_traceback(
    admin: AdminApp, monkeypatch: pytest.MonkeyPatch, failure: Exception, code: str, message: str
) -> None:
    """A store failure answers its message, a bug a fixed one; neither answers a traceback."""

    async def fail(*args: object) -> None:
        raise failure

    monkeypatch.setattr(admin.store, "list_accounts", fail)
    response = await admin.client.get("/integrated-account")
    assert _error(response, 500, code)["message"] == message
    assert "Traceback" not in response.text


# Filter semantics through the API


def _expected(tools: tuple[Tool, ...], methods: list[str], tags: list[str]) -> set[str]:
    """Compute the visible tool names from the spec's words, independently of policy.filters."""
    read, write = {"list", "get"}, {"create", "update", "delete"}

    def method_ok(method: str) -> bool:
        if not methods or method in methods:
            return True
        group = "read" if method in read else "write" if method in write else "custom"
        return group in methods

    return {t.name for t in tools if method_ok(t.method) and (not tags or set(tags) & set(t.tags))}


METHOD_CHOICES: list[list[str]] = [[], ["read"], ["write"], ["custom"], ["get"], ["read", "custom"], ["list", "delete"]]
TAG_CHOICES: list[list[str]] = [[], ["pages"], ["groups"], ["pages", "spaces"], ["users"]]


async def test_tools_list_on_each_url_matches_methods_and_tags_computed_independently(admin: AdminApp) -> None:
    """For methods x tags combinations, the URL lists exactly the expected tools, or creation answers 400."""
    account = await admin.create_account()
    tools = admin.runtime.catalog.tools
    assert {t.method for t in tools} - {"list", "get", "create", "update", "delete"}, "the table needs custom methods"
    mismatches: list[str] = []
    empty = 0
    for methods in METHOD_CHOICES:
        for tags in TAG_CHOICES:
            expected = _expected(tools, methods, tags)
            response = await admin.create_mcp_server(account["id"], config={"methods": methods, "tags": tags})
            if not expected:
                empty += 1
                if response.status_code != 400 or "no tool passes" not in response.json()["message"]:
                    mismatches.append(f"{methods} x {tags}: expected 400, got {response.status_code}")
                continue
            assert response.status_code == 201, response.text
            seen = await admin.tool_names(f"{admin.base_url}/mcp/{response.json()['token']}")
            if seen != expected:
                mismatches.append(f"{methods} x {tags}: extra {seen - expected}, missing {expected - seen}")
    assert not mismatches, "\n".join(mismatches)
    assert 0 < empty < len(METHOD_CHOICES) * len(TAG_CHOICES)  # the table covers both outcomes
