"""The compare-and-set of account secrets (OAuth refresh across replicas) and the accounts of schema 5."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import anyio
import pytest

from confluence_mcp.errors import NotFound
from confluence_mcp.store.base import AuthType, Store
from confluence_mcp.store.cipher import Cipher
from confluence_mcp.store.redis import RedisStore
from confluence_mcp.store.sqlite import MIGRATIONS, SqliteStore
from confluence_mcp.store.sqlite_schema import to_text
from tests.store.conftest import RawContents, StoreKind
from tests.store.test_contract import T0, an_account, an_mcp_server

pytestmark = pytest.mark.anyio

NEW_SECRET = '{"access_token": "at-canary-91b2", "refresh_token": "rt-canary-5d0e"}'


async def test_swap_replaces_the_secret_only_when_it_is_still_the_expected_one(store: Store) -> None:
    """A swap from the current secret wins and reads back; a swap from a stale one changes nothing."""
    await store.create_account(an_account())

    assert await store.swap_account_secret("acc_1", "not the secret", "x") is False
    assert (await store.get_account("acc_1")).secret == an_account().secret
    assert await store.swap_account_secret("acc_1", an_account().secret, NEW_SECRET) is True
    assert await store.get_account("acc_1") == dataclasses.replace(an_account(), secret=NEW_SECRET)
    assert await store.swap_account_secret("acc_1", an_account().secret, "y") is False
    with pytest.raises(NotFound):
        await store.swap_account_secret("acc_404", "a", "b")


async def test_swapped_secret_is_encrypted_at_rest(store: Store, raw_contents: RawContents) -> None:
    """The tokens a swap writes go through the same cipher as every account secret."""
    await store.create_account(an_account())
    await store.swap_account_secret("acc_1", an_account().secret, NEW_SECRET)

    raw = await raw_contents()
    assert b"at-canary-91b2" not in raw
    assert b"rt-canary-5d0e" not in raw


async def test_oauth_account_with_cloud_id_reads_back_equal(store: Store) -> None:
    """The new auth types and the cloudId round-trip through every store."""
    kinds: tuple[AuthType, ...] = ("scoped", "oauth")
    for index, kind in enumerate(kinds):
        account = dataclasses.replace(an_account(f"acc_{index}"), auth_type=kind, cloud_id=f"cloud-{index}")
        await store.create_account(account)
        assert await store.get_account(account.id) == account
        await store.update_account(dataclasses.replace(account, cloud_id="moved"))
        assert (await store.get_account(account.id)).cloud_id == "moved"


async def test_of_many_concurrent_swaps_from_one_secret_exactly_one_wins_across_two_store_instances(
    store_kind: StoreKind, store: Store, cipher: Cipher, sqlite_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two processes' stores (two connections) racing to rotate the same secret: one swap wins, the rest lose."""
    if store_kind == "memory":
        other: Store = store  # one process: the same store, racing tasks
    elif store_kind == "sqlite":
        other = SqliteStore(str(sqlite_path), cipher=cipher)
    else:
        other = RedisStore(request.getfixturevalue("redis_url"), cipher=cipher)
    if other is not store:
        await other.open()
    try:
        await store.create_account(an_account())
        wins: list[str] = []

        async def swap(backend: Store, value: str) -> None:
            if await backend.swap_account_secret("acc_1", an_account().secret, value):
                wins.append(value)

        async with anyio.create_task_group() as group:
            for index in range(10):
                group.start_soon(swap, store if index % 2 else other, f"secret-{index}")
    finally:
        if other is not store:
            await other.close()

    assert len(wins) == 1
    assert (await store.get_account("acc_1")).secret == wins[0]


async def test_sqlite_file_of_schema_version_4_upgrades_keeping_accounts_and_their_servers(
    sqlite_path: Path, cipher: Cipher
) -> None:
    """Rebuilding the accounts table keeps each account and its MCP servers; the new kinds are allowed, others not."""
    account, server = an_account(), an_mcp_server()
    first = SqliteStore(str(sqlite_path), cipher=cipher)
    # Write version 4 by hand: the migrations up to it, then a row in its column order.
    sqlite_path.parent.mkdir(parents=True)
    db = sqlite3.connect(sqlite_path)
    for statements in MIGRATIONS[:4]:
        for statement in statements:
            db.execute(statement)
    db.execute("PRAGMA user_version = 4")
    db.execute(
        "INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            account.id,
            account.label,
            account.instance_url,
            "basic",
            account.username,
            cipher.encrypt(account.secret),
            to_text(T0.replace(year=2031)),
            to_text(T0),
            to_text(T0),
        ),
    )
    db.execute(
        "INSERT INTO mcp_servers (id, name, account_id, token_hash, methods, tags, require_api_token_auth,"
        ' created_at, updated_at) VALUES (?, ?, ?, ?, \'["GET", "POST"]\', \'["pages", "spaces"]\', 0, ?, ?)',
        (server.id, server.name, account.id, server.token_hash, to_text(T0), to_text(T0)),
    )
    db.commit()
    db.close()
    await first.open()
    try:
        assert await first.get_mcp_server(server.id) == server  # dropping the old table cascaded to nothing
        assert await first.get_account(account.id) == dataclasses.replace(
            account, api_token_expires_at=T0.replace(year=2031)
        )
        oauth = dataclasses.replace(an_account("acc_2"), auth_type="oauth", cloud_id="c-1")
        await first.create_account(oauth)
        await first.delete_account(account.id)
        with pytest.raises(NotFound):
            await first.get_mcp_server(server.id)  # ON DELETE CASCADE still holds on the new table
    finally:
        await first.close()
    check = sqlite3.connect(sqlite_path)
    try:
        assert check.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            check.execute("UPDATE accounts SET auth_type = 'kerberos'")
    finally:
        check.close()
