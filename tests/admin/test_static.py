"""Accounts and MCP servers declared in the settings file pass the same rules as ones created through the API."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from confluence_mcp.admin.models import AccountInput, McpServerInput, parse_input
from confluence_mcp.admin.service import AdminService
from confluence_mcp.admin.static import load_static_config
from confluence_mcp.errors import ConfigError, InvalidInput
from confluence_mcp.openapi import default_documents, generate_tools
from confluence_mcp.server.app import create_app
from confluence_mcp.settings import Settings
from confluence_mcp.store.cipher import generate_key
from confluence_mcp.store.memory import MemoryStore
from confluence_mcp.store.tokens import TokenHasher, hash_token
from tests.support.admin import admin_settings, iso_in
from tests.support.stack import SERVERS, stack_settings

pytestmark = pytest.mark.anyio

TOOLS = generate_tools(default_documents())
TOKEN = "cmcp_" + "y" * 40


def an_account(**overrides: Any) -> dict[str, Any]:
    """Return a YAML account entry the API would accept; ``overrides`` replace its keys."""
    entry: dict[str, Any] = {
        "id": "acme",
        "label": "Acme",
        "instance_url": "https://acme.atlassian.net",
        "auth": {"type": "basic", "username": "john.smith@example.com", "password": "ATATT3x-static"},
    }
    return {**entry, **overrides}


def a_server(**overrides: Any) -> dict[str, Any]:
    """Return a YAML MCP server entry on the account ``acme``; ``overrides`` replace its keys."""
    return {"token": TOKEN, "account": "acme", "name": "docs-bot", **overrides}


async def _load(store: MemoryStore, **sections: Any) -> Settings:
    settings = admin_settings(**sections)
    await load_static_config(settings, store, TOOLS)
    return settings


# Each rule the admin service applies (and the file's own account reference), broken by one YAML entry:
# (accounts, servers, the key named, words of the problem).
BROKEN: list[tuple[list[dict[str, Any]], list[dict[str, Any]], str, str]] = [
    ([an_account(instance_url="http://acme.atlassian.net")], [], "accounts[0].instance_url", "must use https"),
    ([an_account(instance_url="https://acme.atlassian.net/wiki")], [], "accounts[0].instance_url", "site root"),
    ([an_account(instance_url="https://me@acme.atlassian.net")], [], "accounts[0].instance_url", "username"),
    ([an_account(instance_url="https://acme.atlassian.net?x=1")], [], "accounts[0].instance_url", "query"),
    ([an_account(instance_url="https://bad_host!")], [], "accounts[0].instance_url", "not a valid host"),
    ([an_account(auth={"password": "t"})], [], "accounts[0].auth.username", "required for basic auth"),
    ([an_account(auth={"type": "scoped", "password": "t"})], [], "accounts[0].auth.username",
     "required for a scoped API token"),
    ([an_account(auth={"type": "oauth", "password": "t"})], [], "accounts[0].auth.type", "accounts connect"),
    ([an_account(auth={"type": "bearer", "username": "a@b.c", "password": "t"})], [], "accounts[0].auth.username",
     "not used with bearer"),
    ([an_account(auth={"username": "a@b.c", "password": " "})], [], "accounts[0].auth.password", "required"),
    ([an_account(label="x" * 201)], [], "accounts[0].label", "at most 200"),
    ([an_account(api_token_expires_at=iso_in(timedelta(days=400)))], [], "accounts[0].api_token_expires_at",
     "at most 366 days"),
    ([an_account(), an_account(id="b", instance_url="ftp://b")], [], "accounts[1].instance_url", "absolute https"),
    ([an_account()], [a_server(methods=["read", "Bad Method"])], "servers[0].methods[1]", "is not a method"),
    ([an_account()], [a_server(tags=["pages", "no tags!"])], "servers[0].tags[1]", "is not a tag"),
    ([an_account()], [a_server(methods=["remove_member"], tags=["pages"])], "servers[0]",
     "no tool passes methods [remove_member] and tags [pages]"),
    ([an_account()], [a_server(methods=["raed"])], "servers[0].methods[0]", "did you mean 'read'?"),
    ([an_account()], [a_server(expires_at="next tuesday")], "servers[0].expires_at", "valid datetime"),
    ([an_account()], [a_server(tool_exposure="some")], "servers[0].tool_exposure", "'all' or 'discovery'"),
    ([an_account()], [a_server(max_limit=0)], "servers[0].max_limit", "must be 1 to 250"),
    ([an_account()], [a_server(), a_server(token=TOKEN[::-1], max_limit=251)], "servers[1].max_limit",
     "must be 1 to 250: Confluence v2 caps list limits at 250"),
    ([an_account()], [a_server(name=" ")], "servers[0].name", "at least 1 character"),
    ([an_account()], [a_server(account="nobody")], "servers[0].account", "no account with id 'nobody'"),
]  # fmt: skip


@pytest.mark.parametrize(("accounts", "servers", "key", "words"), BROKEN)
async def test_an_entry_that_breaks_a_rule_is_refused_naming_its_key(
    store: MemoryStore, accounts: list[dict[str, Any]], servers: list[dict[str, Any]], key: str, words: str
) -> None:
    """The loader raises ConfigError ``<key>: <problem>`` and writes nothing, not even the entries before it."""
    with pytest.raises(ConfigError) as caught:
        await _load(store, accounts=accounts, servers=servers)
    message = str(caught.value)
    assert message.startswith(f"{key}: "), message
    assert words in message
    assert await store.list_accounts() == []
    assert await store.list_mcp_servers() == []


async def _through_the_api(store: MemoryStore, account: dict[str, Any], server: dict[str, Any]) -> None:
    """Create the account, then the MCP server, through AdminService with the same values as the YAML entries."""
    service = AdminService(store, admin_settings(), lambda: TOOLS)
    body = {key: value for key, value in an_account(**account).items() if key != "id"}
    created = await service.create_account(parse_input(AccountInput, body))
    config = {key: value for key, value in server.items() if key in ("tool_exposure", "max_limit")}
    config.update(methods=server.get("methods", []), tags=server.get("tags", []))
    mcp_body = {"name": "docs-bot", "config": config, "expires_at": server.get("expires_at")}
    await service.create_mcp_server(created.account.id, parse_input(McpServerInput, mcp_body))


@pytest.mark.parametrize(
    ("account", "server"),
    [
        ({"instance_url": "http://acme.atlassian.net"}, {}),
        ({"auth": {"type": "bearer", "username": "a@b.c", "password": "t"}}, {}),
        ({}, {"methods": ["read", "Bad Method"]}),
        ({}, {"methods": ["no_such_method"]}),
        ({}, {"tool_exposure": "everything"}),
        ({}, {"max_limit": 1000}),
    ],
)
async def test_the_settings_file_and_the_api_refuse_alike(
    store: MemoryStore, account: dict[str, Any], server: dict[str, Any]
) -> None:
    """The problem text for a YAML entry is the one AdminService gives for the same values in an API body."""
    settings = admin_settings(accounts=[an_account(**account)], servers=[a_server(**server)])
    with pytest.raises(ConfigError) as from_yaml:
        await load_static_config(settings, store, TOOLS)
    with pytest.raises(InvalidInput) as from_api:
        await _through_the_api(store, account, server)
    field = from_api.value.field or ""
    assert str(from_yaml.value).partition(": ")[2] == str(from_api.value).removeprefix(f"{field}: ")


async def test_an_api_valid_entry_loads_normalized_like_an_api_request(store: MemoryStore) -> None:
    """Loopback http, a trailing slash, upper-case and repeated filter entries load as the API would store them."""
    expires = datetime.now(UTC) + timedelta(hours=1)
    await _load(
        store,
        upstream={"allowed_hosts": ["127.0.0.1"]},
        accounts=[an_account(instance_url="http://127.0.0.1:8089/", api_token_expires_at=iso_in(timedelta(days=30)))],
        servers=[
            a_server(methods=["READ", "read", "custom"], tags=[" pages", "pages"], expires_at=expires.isoformat())
        ],
    )
    (account,) = await store.list_accounts()
    assert (account.id, account.label, account.instance_url) == ("acme", "Acme", "http://127.0.0.1:8089")
    (server,) = await store.list_mcp_servers()
    assert server.id.startswith("static-")
    assert (server.methods, server.tags, server.expires_at) == (("read", "custom"), ("pages",), expires)


async def test_tool_exposure_and_max_limit_load_as_given_or_default_like_the_api(store: MemoryStore) -> None:
    """Declared values reach the record (numeric text from ${ENV} included); absent keys give all and 100."""
    other = "cmcp_" + "z" * 40
    await _load(
        store,
        accounts=[an_account()],
        servers=[a_server(tool_exposure="discovery", max_limit="50"), a_server(token=other, name="plain")],
    )
    declared, plain = sorted(await store.list_mcp_servers(), key=lambda server: server.name)
    assert (declared.name, declared.tool_exposure, declared.max_limit) == ("docs-bot", "discovery", 50)
    assert (plain.name, plain.tool_exposure, plain.max_limit) == ("plain", "all", 100)


async def test_lean_results_loads_as_given_or_defaults_to_on(store: MemoryStore) -> None:
    """A server declared with lean_results: false stores false; one without the key stores true, like the API."""
    other = "cmcp_" + "z" * 40
    await _load(
        store, accounts=[an_account()], servers=[a_server(lean_results=False), a_server(token=other, name="plain")]
    )
    declared, plain = sorted(await store.list_mcp_servers(), key=lambda server: server.name)
    assert (declared.name, declared.lean_results) == ("docs-bot", False)
    assert (plain.name, plain.lean_results) == ("plain", True)


async def test_the_test_stack_declares_a_discovery_server(store: MemoryStore) -> None:
    """tests.support.stack's SERVERS load, and the token behind stack.url("discovery") is a discovery server."""
    tokens = {name: f"cmcp_{name:_<40}" for name in SERVERS}
    await load_static_config(stack_settings("http://127.0.0.1:9", tokens), store, TOOLS)
    found = await store.find_mcp_server_by_token_hash(hash_token(tokens["discovery"]), datetime.now(UTC))
    assert found is not None
    assert (found.name, found.tool_exposure, found.max_limit) == ("discovery", "discovery", 100)


async def test_upstream_settings_widen_and_narrow_yaml_accounts_as_they_do_api_ones(store: MemoryStore) -> None:
    """An exact upstream.allowed_hosts entry admits a plain-http site; a host outside the list is refused."""
    wiki = an_account(instance_url="http://wiki.example.com")
    await _load(store, upstream={"allowed_hosts": ["wiki.example.com"]}, accounts=[wiki])
    assert [a.instance_url for a in await store.list_accounts()] == ["http://wiki.example.com"]
    with pytest.raises(ConfigError, match=r"^accounts\[0\]\.instance_url: host 'acme.atlassian.net' is not allowed"):
        await _load(store, upstream={"allowed_hosts": ["*.example.com"]}, accounts=[an_account()])


async def test_reloading_the_same_entries_replaces_them_and_keeps_the_account_creation_time(
    store: MemoryStore,
) -> None:
    """A restart over the same store updates declared records in place rather than duplicating them."""
    await _load(store, accounts=[an_account()], servers=[a_server()])
    (first,) = await store.list_accounts()
    await _load(store, accounts=[an_account(label="Acme Corp")], servers=[a_server(methods=["read"])])
    (account,) = await store.list_accounts()
    (server,) = await store.list_mcp_servers()
    assert (account.label, account.created_at) == ("Acme Corp", first.created_at)
    assert server.methods == ("read",)


async def test_the_app_refuses_to_start_on_a_server_no_tool_would_pass(store: MemoryStore) -> None:
    """create_app's lifespan runs the loader, so a bad YAML server stops start-up with its key in the message."""
    settings = admin_settings(accounts=[an_account()], servers=[a_server(methods=["remove_member"], tags=["pages"])])
    app = create_app(settings, store=store)
    with pytest.raises(
        ConfigError, match=r"^servers\[0\]: no tool passes methods \[remove_member\] and tags \[pages\]"
    ):
        async with app.router.lifespan_context(app):
            pass  # pragma: no cover - start-up fails before the app serves


async def test_a_declared_server_whose_expiry_passed_is_not_loaded_and_is_removed(
    store: MemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    """Time passing never stops start-up: an expired YAML server is skipped with a warning, and dropped if stored."""
    soon = iso_in(timedelta(seconds=10))  # inside the API's 60 s window, still fine in a file read at start-up
    await _load(store, accounts=[an_account()], servers=[a_server(expires_at=soon)])
    [loaded] = await store.list_mcp_servers()
    assert loaded.expires_at is not None

    caplog.set_level(logging.WARNING, logger="confluence_mcp.admin")
    await _load(store, accounts=[an_account()], servers=[a_server(expires_at="2000-01-01T00:00:00Z")])
    assert await store.list_mcp_servers() == []
    assert "servers[0] (docs-bot) expired at 2000-01-01T00:00:00+00:00: not loaded" in caplog.text


async def test_an_account_whose_atlassian_token_expired_still_loads_with_a_warning(
    store: MemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    """An expired Atlassian token is the operator's to renew; other accounts and servers keep working meanwhile."""
    caplog.set_level(logging.WARNING, logger="confluence_mcp.admin")
    await _load(store, accounts=[an_account(api_token_expires_at="2000-01-01T00:00:00Z")], servers=[a_server()])
    [account] = await store.list_accounts()
    assert account.api_token_expires_at == datetime(2000, 1, 1, tzinfo=UTC)
    assert len(await store.list_mcp_servers()) == 1
    assert (
        "accounts[0].api_token_expires_at: the Atlassian API token expired at 2000-01-01T00:00:00+00:00" in caplog.text
    )


async def test_a_declared_server_stored_unkeyed_is_rekeyed_at_start_and_keeps_its_id(store: MemoryStore) -> None:
    """Upgrading to keyed hashes (or rotating the key) rewrites a declared server's hash in place, same id."""
    tokens = {name: f"cmcp_{name:_<40}" for name in SERVERS}
    settings = stack_settings("http://127.0.0.1:9", tokens)
    await load_static_config(settings, store, TOOLS)  # as before keyed hashes: unkeyed
    before = {server.id for server in await store.list_mcp_servers()}
    hasher = TokenHasher([generate_key()])

    await load_static_config(settings, store, TOOLS, hasher)

    after = await store.list_mcp_servers()
    assert {server.id for server in after} == before
    now = datetime.now(UTC)
    assert await store.find_mcp_server_by_token_hash(hash_token(tokens["all"]), now) is None
    found = await store.find_mcp_server_by_token_hash(hasher.hash(tokens["all"]), now)
    assert found is not None
    assert found.name == "all"
