"""``confluence-mcp secrets rotate``: every account re-encrypted under a new key, tokens re-keyed, nothing lost."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import anyio
import httpx
import pytest

from confluence_mcp.errors import StoreError
from confluence_mcp.server.app import create_app, wrap
from confluence_mcp.settings import SECRET_KEY_ENV, load_settings
from confluence_mcp.store.base import ApiToken, McpServer
from confluence_mcp.store.cipher import Cipher, generate_key
from confluence_mcp.store.opening import open_store
from confluence_mcp.store.tokens import TokenHasher, hash_token, mint_api_token, new_id
from tests.cli.test_admin_commands import ATLASSIAN_TOKEN, add_account, run
from tests.support.admin import MCP_HEADERS
from tests.support.servers import serve_asgi


def _sealed_secrets(data_dir: Path) -> list[str]:
    """The account secrets exactly as the SQLite file holds them."""
    with sqlite3.connect(data_dir / "confluence-mcp.db") as db:
        return [row[0] for row in db.execute("SELECT secret_encrypted FROM accounts")]


def _add_unkeyed_api_token(data_dir: Path) -> tuple[str, str]:
    """Store an API token as a version before keyed hashes did; return its id and secret."""
    token = mint_api_token()
    record = ApiToken(new_id("tok"), "old", hash_token(token), datetime.now(UTC), None, "admin")

    async def write() -> None:
        store = open_store(load_settings(None, data_dir=data_dir).store_url, cipher=Cipher.from_key(generate_key()))
        await store.open()
        try:
            await store.create_api_token(record)
        finally:
            await store.close()

    anyio.run(write)
    return record.id, token


def _statuses(data_dir: Path, mcp_url_token: str, api_token: str) -> tuple[int, int]:
    """Serve the data dir (a restarted server) and return the MCP URL's and the API token's statuses."""
    settings = load_settings(None, data_dir=data_dir)

    async def ask() -> tuple[int, int]:
        body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        async with serve_asgi(wrap(create_app(settings))) as base_url, httpx.AsyncClient(base_url=base_url) as http:
            mcp = await http.post(f"/mcp/{mcp_url_token}", json=body, headers=MCP_HEADERS)
            admin = await http.get("/integrated-account", headers={"Authorization": f"Bearer {api_token}"})
            return mcp.status_code, admin.status_code

    return anyio.run(ask)


def test_rotating_the_key_file_reencrypts_accounts_and_keeps_every_token_working(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A new key file, the old key retired beside it; secrets open under the new key alone; URLs and tokens work."""
    account_id = add_account(capsys, tmp_path)
    url = run(capsys, "mcp", "create", account_id, "--name", "bot", "--data-dir", str(tmp_path))[1][-1]
    mcp_token = url.rsplit("/mcp/", 1)[1]
    unkeyed_id, unkeyed_token = _add_unkeyed_api_token(tmp_path)
    old_key = (tmp_path / "secret.key").read_text().strip()
    (before,) = _sealed_secrets(tmp_path)

    code, out, err = run(capsys, "secrets", "rotate", "--data-dir", str(tmp_path))

    assert code == 0, err
    new_key = (tmp_path / "secret.key").read_text().strip()
    assert new_key != old_key
    assert (tmp_path / "secret.previous-keys").read_text().split() == [old_key]
    assert (tmp_path / "secret.previous-keys").stat().st_mode & 0o077 == 0
    (after,) = _sealed_secrets(tmp_path)
    assert after != before
    assert Cipher.from_key(new_key).decrypt(after) == ATLASSIAN_TOKEN
    with pytest.raises(StoreError):
        Cipher.from_key(old_key).decrypt(after)
    assert "re-encrypted 1 account(s) under the current secret key" in out
    assert "re-keyed 1 unkeyed token hash(es)" in out
    assert any(line.startswith("1 token(s) still hashed under a retired key") for line in out)  # the MCP URL
    assert all(str(tmp_path) not in line for line in out)

    assert _statuses(tmp_path, mcp_token, unkeyed_token) == (200, 200)
    settings = load_settings(None, data_dir=tmp_path)

    async def hashes() -> dict[str, str]:
        store = open_store(settings.store_url, cipher=Cipher.from_key(new_key))
        await store.open()
        try:
            servers, tokens = await store.list_mcp_servers(), await store.list_api_tokens()
        finally:
            await store.close()
        records: list[McpServer | ApiToken] = [*servers, *tokens]
        return {record.id: record.token_hash for record in records}

    new_hasher = TokenHasher([new_key])
    stored = anyio.run(hashes)
    assert stored[unkeyed_id] == new_hasher.hash(unkeyed_token)
    assert set(stored.values()) == {new_hasher.hash(unkeyed_token), new_hasher.hash(mcp_token)}  # the URL, once used

    code, out, err = run(capsys, "secrets", "rotate", "--data-dir", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "secret.previous-keys").read_text().split() == [new_key, old_key]
    assert "2 token(s) still hashed under a retired key: each moves to the current key when next used" in out


def test_a_configured_key_rotates_once_the_old_key_is_in_previous_keys(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the key in the environment: without previous_keys rotate explains the steps; with them it re-encrypts."""
    old, new = generate_key(), generate_key()
    monkeypatch.setenv(SECRET_KEY_ENV, old)
    add_account(capsys, tmp_path)
    (before,) = _sealed_secrets(tmp_path)

    code, _, err = run(capsys, "secrets", "rotate", "--data-dir", str(tmp_path))
    assert code == 2
    assert err == [
        f"confluence-mcp: error: secrets.previous_keys: empty; set the new key in {SECRET_KEY_ENV}, move the old one "
        "to secrets.previous_keys, restart the servers, then run this again"
    ]
    assert _sealed_secrets(tmp_path) == [before]

    monkeypatch.setenv(SECRET_KEY_ENV, new)
    monkeypatch.setenv("CONFLUENCE_MCP_SECRETS__PREVIOUS_KEYS", f'["{old}"]')
    code, out, err = run(capsys, "secrets", "rotate", "--data-dir", str(tmp_path))
    assert code == 0, err
    (after,) = _sealed_secrets(tmp_path)
    assert Cipher.from_key(new).decrypt(after) == ATLASSIAN_TOKEN
    assert not (tmp_path / "secret.key").exists()
    assert out == [
        "re-encrypted 1 account(s) under the current secret key",
        "re-keyed 0 unkeyed token hash(es)",
        "no token is hashed under a retired key: the retired keys may be removed",
    ]
