"""Where an account may point, on every surface: allowed hosts, no SSRF targets, credentials that follow the site."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from confluence_mcp.admin.static import load_static_config
from confluence_mcp.cli import main
from confluence_mcp.errors import ConfigError
from confluence_mcp.openapi import default_documents, generate_tools
from confluence_mcp.server.app import secret_cipher
from confluence_mcp.settings import ALLOWED_HOSTS_ENV, load_settings
from confluence_mcp.store.base import Account
from confluence_mcp.store.memory import MemoryStore
from confluence_mcp.store.opening import open_store
from tests.support.admin import SECRET, AdminApp, admin_settings, an_account_body, error_body, error_fields

pytestmark = pytest.mark.anyio

TOOLS = generate_tools(default_documents())

# instance_url -> a fragment of the refusal, under the default upstream.allowed_hosts
ATTACKS = [
    ("https://127.0.0.1", "is an IP address"),
    ("http://127.0.0.1:8089", "is an IP address"),
    ("https://2130706433", "is an IP address"),
    ("https://0x7f.1", "is an IP address"),
    ("https://0177.0.0.1", "is an IP address"),
    ("https://127.1", "is an IP address"),
    ("https://[::1]", "is an IP address"),
    ("https://[::ffff:127.0.0.1]", "is an IP address"),
    ("https://[::ffff:a9fe:a9fe]", "is an IP address"),
    ("https://[fe80::1%25eth0]", "is an IP address"),
    ("https://169.254.169.254", "is an IP address"),
    ("https://10.0.0.5", "is an IP address"),
    ("https://0.0.0.0", "is an IP address"),
    ("https://8.8.8.8", "is an IP address"),
    ("https://localhost", "is a loopback name"),
    ("http://localhost:3000", "is a loopback name"),
    ("https://metadata.localhost", "is a loopback name"),
    ("https://confluence.example.com", "is not allowed by upstream.allowed_hosts"),
    ("https://acme.atlassian.net.evil.example", "is not allowed by upstream.allowed_hosts"),
    ("https://1.2.3.999", "neither a valid host name nor an IPv4 address"),
]


def _stored_view(account: Account) -> tuple[str, str, str | None, str]:
    return account.instance_url, account.auth_type, account.username, account.secret


@pytest.mark.parametrize(("instance_url", "fragment"), ATTACKS)
async def test_an_ssrf_target_or_a_host_outside_the_allow_list_is_refused_at_creation(
    admin: AdminApp, instance_url: str, fragment: str
) -> None:
    """POST refuses IP literals in any spelling, loopback names and unlisted hosts, naming the setting to widen."""
    response = await admin.client.post("/integrated-account", json=an_account_body(instance_url=instance_url))
    body = error_body(response, 400, "invalid_value")
    assert error_fields(body) == ["instance_url"]
    assert fragment in body["message"]
    if "neither" not in fragment:
        assert "upstream.allowed_hosts" in body["message"]
    assert await admin.store.list_accounts() == []


@pytest.mark.parametrize(("instance_url", "fragment"), ATTACKS)
async def test_an_ssrf_target_is_refused_on_update_and_the_record_stays(
    admin: AdminApp, instance_url: str, fragment: str
) -> None:
    """PATCH with a refused instance_url (and fresh credentials) answers 400 and leaves the record as it was."""
    account = await admin.create_account()
    before = _stored_view(await admin.store.get_account(account["id"]))
    auth = {"type": "basic", "username": "john.smith@example.com", "password": "another-token"}
    response = await admin.client.patch(
        f"/integrated-account/{account['id']}", json={"instance_url": instance_url, "auth": auth}
    )
    assert fragment in error_body(response, 400, "invalid_value")["message"]
    assert _stored_view(await admin.store.get_account(account["id"])) == before


async def test_moving_an_account_to_another_site_without_credentials_is_refused(admin: AdminApp) -> None:
    """The stored Atlassian token is never re-pointed at a new host: 422 naming auth, and nothing changes."""
    account = await admin.create_account()
    before = _stored_view(await admin.store.get_account(account["id"]))
    response = await admin.client.patch(
        f"/integrated-account/{account['id']}", json={"instance_url": "https://other.atlassian.net"}
    )
    body = error_body(response, 422, "invalid_body")
    assert error_fields(body) == ["auth"]
    assert "instance_url changes" in body["message"]
    assert SECRET not in response.text
    assert _stored_view(await admin.store.get_account(account["id"])) == before


async def test_moving_an_account_with_new_credentials_replaces_both(admin: AdminApp) -> None:
    """instance_url and auth in the same PATCH move the account and its credentials together."""
    account = await admin.create_account()
    auth = {"type": "bearer", "password": "other-site-token"}
    response = await admin.client.patch(
        f"/integrated-account/{account['id']}?check=false",
        json={"instance_url": "https://other.atlassian.net", "auth": auth},
    )
    assert response.status_code == 200, response.text
    stored = await admin.store.get_account(account["id"])
    assert _stored_view(stored) == ("https://other.atlassian.net", "bearer", None, "other-site-token")


@pytest.mark.parametrize(
    "same", ["https://acme.atlassian.net/", "https://ACME.atlassian.net", "https://acme.atlassian.net:443"]
)
async def test_restating_the_same_site_needs_no_credentials(admin: AdminApp, same: str) -> None:
    """A PATCH whose instance_url names the stored site (slash, case, default port) keeps the credentials."""
    account = await admin.create_account()
    response = await admin.client.patch(f"/integrated-account/{account['id']}", json={"instance_url": same})
    assert response.status_code == 200, response.text
    assert (await admin.store.get_account(account["id"])).secret == SECRET


# The settings file


def _entry(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": "acme",
        "instance_url": "https://acme.atlassian.net",
        "auth": {"type": "basic", "username": "john.smith@example.com", "password": "ATATT3x-yaml"},
    }
    return {**entry, **overrides}


async def _load(store: MemoryStore, *entries: dict[str, Any], **sections: Any) -> None:
    await load_static_config(admin_settings(accounts=list(entries), **sections), store, TOOLS)


async def test_a_declared_account_that_moves_site_with_the_stored_credentials_stops_start_up(
    store: MemoryStore,
) -> None:
    """Editing only instance_url in the file is refused naming accounts[N].auth; the stored record is untouched."""
    await _load(store, _entry(id="first"), _entry())
    before = _stored_view(await store.get_account("acme"))
    with pytest.raises(ConfigError, match=r"^accounts\[1\]\.auth: required when instance_url changes") as caught:
        await _load(store, _entry(id="first"), _entry(instance_url="https://evil.atlassian.net"))
    assert "ATATT3x-yaml" not in str(caught.value)
    assert _stored_view(await store.get_account("acme")) == before


async def test_a_declared_account_that_moves_site_with_new_credentials_loads(store: MemoryStore) -> None:
    """A new site with a new token in the file replaces the stored record."""
    await _load(store, _entry())
    auth = {"type": "basic", "username": "john.smith@example.com", "password": "ATATT3x-other"}
    await _load(store, _entry(instance_url="https://other.atlassian.net", auth=auth))
    assert _stored_view(await store.get_account("acme")) == (
        "https://other.atlassian.net",
        "basic",
        "john.smith@example.com",
        "ATATT3x-other",
    )


@pytest.mark.parametrize(("instance_url", "fragment"), ATTACKS)
async def test_a_declared_ssrf_target_stops_start_up_naming_its_key(
    store: MemoryStore, instance_url: str, fragment: str
) -> None:
    """The settings file goes through the same host rules as the API."""
    with pytest.raises(ConfigError, match=r"^accounts\[0\]\.instance_url: ") as caught:
        await _load(store, _entry(instance_url=instance_url))
    assert fragment in str(caught.value)
    assert await store.list_accounts() == []


async def test_a_declared_account_on_a_host_named_exactly_loads(store: MemoryStore) -> None:
    """The operator's exact entry admits an internal host over http; any spelling is stored as the address."""
    await _load(store, _entry(instance_url="http://2130706433:8090"), upstream={"allowed_hosts": ["127.0.0.1"]})
    assert (await store.get_account("acme")).instance_url == "http://127.0.0.1:8090"


async def test_a_stored_account_whose_site_a_narrower_list_refuses_is_not_rewritten(store: MemoryStore) -> None:
    """Narrowing upstream.allowed_hosts refuses a declared account at start-up before anything is written."""
    await _load(store, _entry())
    before = await store.get_account("acme")
    with pytest.raises(ConfigError, match=r"upstream\.allowed_hosts"):
        await _load(store, _entry(label="renamed"), upstream={"allowed_hosts": ["*.example.com"]})
    assert await store.get_account("acme") == before


# The command line and the environment


def test_without_a_config_file_the_environment_widens_the_allow_list_for_the_cli(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On embedded defaults `accounts add` refuses a loopback simulator until the environment variable names it."""
    argv = [
        "accounts", "add", "--data-dir", str(tmp_path), "--label", "Sim", "--instance-url", "http://127.0.0.1:8089",
        "--email", "agent@example.com", "--api-token", "sim-token", "--no-check",
    ]  # fmt: skip
    monkeypatch.delenv(ALLOWED_HOSTS_ENV, raising=False)
    assert main(argv) != 0
    assert "upstream.allowed_hosts" in capsys.readouterr().err
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, json.dumps(["127.0.0.1"]))
    assert main(argv) == 0
    account_id = capsys.readouterr().out.splitlines()[-1]

    async def stored() -> Account:
        settings = load_settings(None, data_dir=tmp_path)
        opened = open_store(settings.store_url, cipher=secret_cipher(settings))
        await opened.open()
        try:
            return await opened.get_account(account_id)
        finally:
            await opened.close()

    assert anyio.run(stored).instance_url == "http://127.0.0.1:8089"
