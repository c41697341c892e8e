"""The admin REST API over real loopback HTTP: MCP servers, their filters and expiry, and settings-file records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from confluence_mcp.openapi import Tool
from confluence_mcp.policy.filters import ToolFilter, describe_filter
from tests.support.admin import (
    ISO_Z_PATTERN,
    AdminApp,
    admin_settings,
    error_body,
    error_fields,
    iso_in,
    iso_text,
    running_admin_app,
)

pytestmark = pytest.mark.anyio


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
    assert server["config"] == {
        "methods": ["read"],
        "tags": [],
        "require_api_token_auth": False,
        "tool_exposure": "all",
        "max_limit": 100,
        "lean_results": True,
        "hide_deprecated": "replaced",
    }

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
    error_body(await admin.client.get(f"/integrated-account/{account['id']}/mcp/{server['id']}"), 404, "not_found")


async def test_an_mcp_server_under_another_account_is_not_found(admin: AdminApp) -> None:
    """Every MCP server route answers 404 when the server belongs to a different account."""
    mine, theirs = await admin.create_account(), await admin.create_account(label="Other")
    server = (await admin.create_mcp_server(mine["id"])).json()
    wrong = f"/integrated-account/{theirs['id']}/mcp/{server['id']}"
    error_body(await admin.client.get(wrong), 404, "not_found")
    error_body(await admin.client.patch(wrong, json={"name": "x"}), 404, "not_found")
    error_body(await admin.client.delete(wrong), 404, "not_found")
    error_body(await admin.client.get("/integrated-account/acc_missing/mcp"), 404, "not_found")
    error_body(await admin.create_mcp_server("acc_missing"), 404, "not_found")
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
    assert patched.json()["config"] == {
        "methods": ["read"],
        "tags": ["spaces"],
        "require_api_token_auth": False,
        "tool_exposure": "all",
        "max_limit": 100,
        "lean_results": True,
        "hide_deprecated": "replaced",
    }
    assert patched.json()["name"] == "renamed"
    after = await admin.tool_names(url)
    assert after
    assert after != before
    assert all("space" in name for name in after)

    widened = await admin.client.patch(path, json={"config": {"methods": None}})
    assert widened.json()["config"]["methods"] == []
    assert widened.json()["config"]["tags"] == ["spaces"]
    locked = await admin.client.patch(path, json={"config": {"require_api_token_auth": True}})
    assert locked.json()["config"]["require_api_token_auth"] is True
    assert (await admin.rpc(url)).status_code == 401
    assert server["token"] not in locked.text


async def test_tool_exposure_and_max_limit_are_set_on_create_shown_in_every_view_and_stored(admin: AdminApp) -> None:
    """config.tool_exposure and config.max_limit given on create appear in the 201, get and list, and the record."""
    account = await admin.create_account()
    created = await admin.create_mcp_server(account["id"], config={"tool_exposure": "discovery", "max_limit": 50})
    assert created.status_code == 201, created.text
    server = created.json()
    path = f"/integrated-account/{account['id']}/mcp/{server['id']}"
    fetched = (await admin.client.get(path)).json()
    (listed,) = (await admin.client.get(f"/integrated-account/{account['id']}/mcp")).json()["result"]
    for view in (server, fetched, listed):
        assert (view["config"]["tool_exposure"], view["config"]["max_limit"]) == ("discovery", 50)
    stored = await admin.store.get_mcp_server(server["id"])
    assert (stored.tool_exposure, stored.max_limit) == ("discovery", 50)


async def test_patching_tool_exposure_or_max_limit_changes_only_that_key(admin: AdminApp) -> None:
    """A PATCH naming one of the two keys replaces it and keeps the other and the filters."""
    account = await admin.create_account()
    server = (await admin.create_mcp_server(account["id"], config={"methods": ["read"]})).json()
    path = f"/integrated-account/{account['id']}/mcp/{server['id']}"

    capped = await admin.client.patch(path, json={"config": {"max_limit": 250}})
    assert capped.status_code == 200, capped.text
    assert capped.json()["config"] == {**server["config"], "max_limit": 250}
    exposed = await admin.client.patch(path, json={"config": {"tool_exposure": "discovery"}})
    assert exposed.json()["config"] == {**server["config"], "max_limit": 250, "tool_exposure": "discovery"}
    renamed = await admin.client.patch(path, json={"name": "renamed"})
    assert (renamed.json()["config"]["tool_exposure"], renamed.json()["config"]["max_limit"]) == ("discovery", 250)
    stored = await admin.store.get_mcp_server(server["id"])
    assert (stored.tool_exposure, stored.max_limit, stored.methods) == ("discovery", 250, ("read",))


async def test_lean_results_is_set_on_create_patched_alone_shown_and_stored(admin: AdminApp) -> None:
    """config.lean_results false on create shows in every view and the record; a PATCH of it alone turns it on."""
    account = await admin.create_account()
    created = await admin.create_mcp_server(account["id"], config={"lean_results": False, "max_limit": 50})
    assert created.status_code == 201, created.text
    server = created.json()
    path = f"/integrated-account/{account['id']}/mcp/{server['id']}"
    (listed,) = (await admin.client.get(f"/integrated-account/{account['id']}/mcp")).json()["result"]
    for view in (server, (await admin.client.get(path)).json(), listed):
        assert view["config"]["lean_results"] is False
    assert (await admin.store.get_mcp_server(server["id"])).lean_results is False

    patched = await admin.client.patch(path, json={"config": {"lean_results": True}})

    assert patched.json()["config"] == {**server["config"], "lean_results": True}
    assert (await admin.store.get_mcp_server(server["id"])).lean_results is True
    schemas = (await admin.client.get("/admin/openapi.json")).json()["components"]["schemas"]
    assert schemas["McpConfigInput"]["properties"]["lean_results"] == {
        "default": True,
        "description": schemas["McpConfigInput"]["properties"]["lean_results"]["description"],
        "title": "Lean Results",
        "type": "boolean",
    }
    assert "lean_results" in schemas["McpConfigView"]["required"]


BAD_CONFIG: list[tuple[dict[str, object], str, str]] = [
    ({"tool_exposure": "some"}, "config.tool_exposure", "'all' or 'discovery'"),
    ({"tool_exposure": None}, "config.tool_exposure", ""),
    ({"max_limit": 0}, "config.max_limit", "must be 1 to 250: Confluence v2 caps list limits at 250"),
    ({"max_limit": 251}, "config.max_limit", "must be 1 to 250"),
    ({"max_limit": True}, "config.max_limit", "valid integer"),
    ({"max_limit": "50"}, "config.max_limit", "valid integer"),
    ({"max_limit": 50.5}, "config.max_limit", "valid integer"),
    ({"max_limit": None}, "config.max_limit", ""),
    ({"lean_results": "no"}, "config.lean_results", "valid boolean"),
    ({"lean_results": 0}, "config.lean_results", "valid boolean"),
    ({"lean_results": None}, "config.lean_results", ""),
]


@pytest.mark.parametrize(("config", "field", "words"), BAD_CONFIG)
async def test_a_wrong_tool_exposure_or_max_limit_answers_422_naming_it_on_create_and_patch(
    admin: AdminApp, config: dict[str, object], field: str, words: str
) -> None:
    """Values outside the two settings' domains answer 422 invalid_body naming the field; nothing changes."""
    account = await admin.create_account()
    created = await admin.create_mcp_server(account["id"], config=config)
    body = error_body(created, 422, "invalid_body")
    assert error_fields(body) == [field]
    assert words in body["details"][0]["message"]

    server = (await admin.create_mcp_server(account["id"])).json()
    path = f"/integrated-account/{account['id']}/mcp/{server['id']}"
    patched = await admin.client.patch(path, json={"config": config})
    assert error_fields(error_body(patched, 422, "invalid_body")) == [field]
    assert (await admin.client.get(path)).json()["config"] == server["config"]


async def test_the_openapi_document_gives_both_settings_their_domains(admin: AdminApp) -> None:
    """/admin/openapi.json shows tool_exposure as an enum and max_limit as 1..250 on create, patch and view."""
    schemas = (await admin.client.get("/admin/openapi.json")).json()["components"]["schemas"]
    for name in ("McpConfigInput", "McpConfigPatch", "McpConfigView"):
        properties = schemas[name]["properties"]
        assert properties["tool_exposure"]["enum"] == ["all", "discovery"], name
        assert properties["max_limit"]["type"] == "integer", name
    for name in ("McpConfigInput", "McpConfigPatch"):
        max_limit = schemas[name]["properties"]["max_limit"]
        assert (max_limit["minimum"], max_limit["maximum"]) == (1, 250), name
    assert schemas["McpConfigInput"]["properties"]["tool_exposure"]["default"] == "all"
    assert schemas["McpConfigInput"]["properties"]["max_limit"]["default"] == 100
    assert {"tool_exposure", "max_limit"} <= set(schemas["McpConfigView"]["required"])


async def test_a_filter_no_tool_passes_is_refused_naming_the_filters(admin: AdminApp) -> None:
    """Known entries that together pass no tool answer 400 naming ``config`` with describe_filter's words."""
    account = await admin.create_account()
    nothing = {"methods": ["remove_member"], "tags": ["pages"]}
    created = await admin.create_mcp_server(account["id"], config=nothing)
    body = error_body(created, 400, "invalid_value")
    assert error_fields(body) == ["config"]
    described = describe_filter(ToolFilter(methods=frozenset({"remove_member"}), tags=frozenset({"pages"})))
    assert described in body["message"]


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        ({"methods": ["read", "raed"]}, "config.methods[1]", "'raed' matches no tool; did you mean 'read'?"),
        ({"tags": ["page"]}, "config.tags[0]", "'page' matches no tool; did you mean 'pages'?"),
        ({"methods": ["xyzzy"]}, "config.methods[0]", "valid methods: add_member, bulk_lookup, create"),
    ],
)
async def test_an_entry_no_tool_has_is_refused_with_a_suggestion(
    admin: AdminApp, config: dict[str, list[str]], field: str, words: str
) -> None:
    """A misspelt method or tag is refused (not silently kept) with the nearest valid one and the whole list."""
    account = await admin.create_account()
    body = error_body(await admin.create_mcp_server(account["id"], config=config), 400, "invalid_value")
    assert error_fields(body) == [field]
    assert words in body["message"]
    server = (await admin.create_mcp_server(account["id"], config={"tags": ["pages"]})).json()
    path = f"/integrated-account/{account['id']}/mcp/{server['id']}"
    refused = await admin.client.patch(path, json={"config": {"tags": ["no-such-tag"]}})
    assert "'no-such-tag' matches no tool" in error_body(refused, 400, "invalid_value")["message"]
    unchanged = await admin.client.get(path)
    assert unchanged.json()["config"]["tags"] == ["pages"]


async def test_an_unknown_method_name_is_refused_even_beside_entries_that_yield_tools(admin: AdminApp) -> None:
    """A well-formed but unknown method is no longer kept silently next to good ones; a custom one still passes."""
    account = await admin.create_account()
    refused = await admin.create_mcp_server(account["id"], config={"methods": ["read", "frobnicate"]})
    assert error_fields(error_body(refused, 400, "invalid_value")) == ["config.methods[1]"]
    created = await admin.create_mcp_server(account["id"], config={"methods": ["read", "remove_member"]})
    assert created.status_code == 201, created.text
    assert created.json()["config"]["methods"] == ["read", "remove_member"]


async def test_a_malformed_method_or_tag_entry_is_named_by_index(admin: AdminApp) -> None:
    """A method or tag that is not a name answers 400 naming config.methods[i] or config.tags[i]."""
    account = await admin.create_account()
    bad_method = await admin.create_mcp_server(account["id"], config={"methods": ["read", "Not A Method!"]})
    assert error_fields(error_body(bad_method, 400, "invalid_value")) == ["config.methods[1]"]
    bad_tag = await admin.create_mcp_server(account["id"], config={"tags": ["pages", "spaces", "bad tag"]})
    assert error_fields(error_body(bad_tag, 400, "invalid_value")) == ["config.tags[2]"]


async def test_expires_at_under_60_seconds_ahead_is_refused(admin: AdminApp) -> None:
    """An expiry less than a minute away (or past) answers 400 on create and on PATCH."""
    account = await admin.create_account()
    for delta in (timedelta(seconds=30), timedelta(hours=-1)):
        created = await admin.create_mcp_server(account["id"], expires_at=iso_in(delta))
        assert error_fields(error_body(created, 400, "invalid_value")) == ["expires_at"]
    server = (await admin.create_mcp_server(account["id"])).json()
    patched = await admin.client.patch(
        f"/integrated-account/{account['id']}/mcp/{server['id']}", json={"expires_at": iso_in(timedelta(seconds=10))}
    )
    assert "60 seconds" in error_body(patched, 400, "invalid_value")["message"]


async def test_patching_expires_at_to_null_clears_it(admin: AdminApp) -> None:
    """expires_at: null removes the expiry; leaving the key out keeps it."""
    account = await admin.create_account()
    expires = datetime.now(UTC) + timedelta(hours=1)
    server = (await admin.create_mcp_server(account["id"], expires_at=iso_text(expires))).json()
    assert ISO_Z_PATTERN.match(server["expires_at"])
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
        error_body(await admin.client.patch(path, json={"name": "x"}), 409, "conflict")
        error_body(await admin.client.delete(path), 409, "conflict")
        error_body(await admin.client.patch("/integrated-account/static-acme", json={"label": "x"}), 409, "conflict")
        body = error_body(await admin.client.delete("/integrated-account/static-acme"), 409, "conflict")
        assert "accounts[0]" in body["message"]
        added = await admin.create_mcp_server("static-acme")
        assert added.status_code == 201, added.text


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
