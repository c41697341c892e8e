"""hide_deprecated on MCP server records: every store round-trips it; older SQLite files and Redis records default."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest
import redis.asyncio

from confluence_mcp.store.base import Store, utc_text
from confluence_mcp.store.cipher import Cipher
from confluence_mcp.store.redis import RedisStore
from confluence_mcp.store.sqlite import MIGRATIONS
from tests.store.test_contract import (
    _old_schema_file,
    _opened_mcp_server,
    _sqlite_scalar,
    _without,
    an_account,
    an_mcp_server,
)

pytestmark = pytest.mark.anyio


async def test_hide_deprecated_round_trips_through_create_and_update(store: Store) -> None:
    """The setting reads back as written through get, list and token hash, and an update replaces it."""
    await store.create_account(an_account())
    assert an_mcp_server().hide_deprecated == "replaced"
    server = dataclasses.replace(an_mcp_server(), hide_deprecated="none")
    await store.create_mcp_server(server)
    assert await store.get_mcp_server("srv_1") == server
    assert await store.list_mcp_servers("acc_1") == [server]

    changed = dataclasses.replace(server, hide_deprecated="all")
    await store.update_mcp_server(changed)

    assert await store.get_mcp_server("srv_1") == changed
    assert await store.find_mcp_server_by_token_hash(changed.token_hash, changed.created_at) == changed


async def test_sqlite_file_of_schema_version_4_upgrades_and_its_servers_hide_replaced_deprecated_tools(
    sqlite_path: Path, cipher: Cipher
) -> None:
    """A version-4 file migrates on open: its server reads hide_deprecated replaced, and the column is CHECKed."""
    server = an_mcp_server()
    at = utc_text(server.created_at)
    account = ("acc_1", "Site", "https://example.atlassian.net", "basic", "a@b.c", cipher.encrypt("t"), None, at, at)
    # The server row as version 4 wrote it: every column it had, in its order.
    row = (server.id, server.name, "acc_1", server.token_hash, '["GET", "POST"]', '["pages", "spaces"]', 0, None)
    await _old_schema_file(
        sqlite_path,
        4,
        [
            ("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", account),
            ("INSERT INTO mcp_servers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*row, at, at, "all", 100)),
        ],
    )
    upgraded = await _opened_mcp_server(sqlite_path, cipher, server.id)

    assert upgraded == server
    assert upgraded.hide_deprecated == "replaced"
    assert await _sqlite_scalar(sqlite_path, "PRAGMA user_version") == len(MIGRATIONS)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        await _sqlite_scalar(sqlite_path, "UPDATE mcp_servers SET hide_deprecated = 'some'")


async def test_redis_server_record_written_before_hide_deprecated_reads_the_default(
    redis_client: redis.asyncio.Redis, redis_url: str, cipher: Cipher
) -> None:
    """A stored MCP server JSON without hide_deprecated (an older release wrote it) loads with replaced."""
    store = RedisStore(redis_url, cipher=cipher)
    await store.open()
    try:
        await store.create_account(an_account())
        await store.create_mcp_server(dataclasses.replace(an_mcp_server(), hide_deprecated="all"))
        assert await _without(redis_client, "cmcp:server:srv_1", "hide_deprecated") == ["all"]
        assert await store.get_mcp_server("srv_1") == an_mcp_server()
    finally:
        await store.close()
