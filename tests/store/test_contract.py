"""One contract body over every store (memory, SQLite, Redis), then what only SQLite or Redis promise."""

from __future__ import annotations

import dataclasses
import json
import socket
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
import redis.asyncio

from confluence_mcp.errors import NotFound, StoreError
from confluence_mcp.store.base import (
    DEFAULT_MAX_LIMIT,
    MAX_LIMIT_CEILING,
    Account,
    ApiToken,
    McpServer,
    Store,
    TokenScope,
    utc_text,
)
from confluence_mcp.store.cipher import Cipher, generate_key
from confluence_mcp.store.redis import RedisStore
from confluence_mcp.store.sqlite import MIGRATIONS, SqliteStore
from confluence_mcp.store.tokens import hash_token

pytestmark = pytest.mark.anyio

RawContents = Callable[[], Awaitable[bytes]]  # the ``raw_contents`` fixture

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SECRET = "ATATT3x-plaintext-canary-7f3c"


def an_account(account_id: str = "acc_1", *, created_at: datetime = T0, secret: str = SECRET) -> Account:
    """Return an account with every field set."""
    return Account(
        id=account_id,
        label=f"Site {account_id}",
        instance_url="https://example.atlassian.net",
        auth_type="basic",
        username="john.smith@example.com",
        secret=secret,
        api_token_expires_at=T0 + timedelta(days=365),
        created_at=created_at,
        updated_at=created_at,
    )


def an_mcp_server(
    server_id: str = "srv_1",
    *,
    account_id: str = "acc_1",
    token_hash: str | None = None,
    expires_at: datetime | None = None,
    created_at: datetime = T0,
) -> McpServer:
    """Return an MCP server whose token hash is derived from its id unless given."""
    return McpServer(
        id=server_id,
        name=f"Server {server_id}",
        account_id=account_id,
        token_hash=token_hash or hash_token(f"cmcp_token-of-{server_id}"),
        methods=("GET", "POST"),
        tags=("pages", "spaces"),
        require_api_token_auth=False,
        expires_at=expires_at,
        created_at=created_at,
        updated_at=created_at,
    )


def an_api_token(
    record_id: str = "tok_1",
    *,
    token_hash: str | None = None,
    expires_at: datetime | None = None,
    created_at: datetime = T0,
    scope: TokenScope = "admin",
    mcp_server_ids: tuple[str, ...] = (),
) -> ApiToken:
    """Return an API token whose hash is derived from its id unless given."""
    return ApiToken(
        id=record_id,
        name=f"Token {record_id}",
        token_hash=token_hash or hash_token(f"cmat_token-of-{record_id}"),
        created_at=created_at,
        expires_at=expires_at,
        scope=scope,
        mcp_server_ids=mcp_server_ids,
    )


def real_now() -> datetime:
    """Return the wall-clock time; Redis expires keys by it, so expiring records must lie after it."""
    return datetime.now(UTC)


# The contract: every test below runs once per store.


async def test_created_account_reads_back_equal_with_its_secret_decrypted(store: Store) -> None:
    """An account reads back field for field, the secret in plaintext."""
    account = an_account()
    await store.create_account(account)

    assert await store.get_account("acc_1") == account
    assert (await store.get_account("acc_1")).secret == SECRET
    assert await store.list_accounts() == [account]


async def test_account_secret_is_never_stored_in_plaintext(store: Store, raw_contents: RawContents) -> None:
    """What the store keeps at rest holds the account but not its secret in plaintext."""
    await store.create_account(an_account())

    stored = await raw_contents()

    assert b"example.atlassian.net" in stored  # the raw view does see the record
    assert SECRET.encode() not in stored


async def test_accounts_list_oldest_first_then_by_id(store: Store) -> None:
    """Accounts list by creation time, ties broken by id, whatever the insertion order."""
    for account_id, created_at in [("acc_c", T0), ("acc_a", T0 + timedelta(seconds=1)), ("acc_b", T0)]:
        await store.create_account(an_account(account_id, created_at=created_at))

    assert [account.id for account in await store.list_accounts()] == ["acc_b", "acc_c", "acc_a"]


async def test_updated_account_replaces_every_field_including_the_secret(store: Store) -> None:
    """Updating an account replaces what was stored, secret included."""
    await store.create_account(an_account())
    changed = dataclasses.replace(
        an_account(secret="rotated-secret"),
        label="Renamed",
        auth_type="bearer",
        username=None,
        api_token_expires_at=None,
        updated_at=T0 + timedelta(hours=1),
    )

    await store.update_account(changed)

    assert await store.get_account("acc_1") == changed


async def test_deleting_an_account_deletes_its_mcp_servers_and_their_urls(store: Store) -> None:
    """Deleting an account removes its MCP servers, whose tokens then resolve to nothing, and spares others."""
    await store.create_account(an_account("acc_1"))
    await store.create_account(an_account("acc_2"))
    doomed = an_mcp_server("srv_1", account_id="acc_1", expires_at=real_now() + timedelta(hours=1))
    await store.create_mcp_server(doomed)
    await store.create_mcp_server(an_mcp_server("srv_2", account_id="acc_1"))
    survivor = an_mcp_server("srv_3", account_id="acc_2")
    await store.create_mcp_server(survivor)

    await store.delete_account("acc_1")

    assert [account.id for account in await store.list_accounts()] == ["acc_2"]
    assert await store.list_mcp_servers() == [survivor]
    assert await store.list_mcp_servers("acc_1") == []
    assert await store.find_mcp_server_by_token_hash(doomed.token_hash, real_now()) is None
    with pytest.raises(NotFound):
        await store.get_mcp_server("srv_1")


async def test_deleting_an_account_amid_concurrent_server_creation_leaves_no_orphans(store: Store) -> None:
    """Creates racing an account's deletion either land before it and are cascaded, or fail with NotFound."""
    await store.create_account(an_account())
    refused: list[str] = []

    async def create(server_id: str) -> None:
        try:
            await store.create_mcp_server(an_mcp_server(server_id))
        except NotFound:
            refused.append(server_id)

    async with anyio.create_task_group() as group:
        for number in range(10):
            group.start_soon(create, f"srv_{number}")
        group.start_soon(store.delete_account, "acc_1")
        for number in range(10, 20):
            group.start_soon(create, f"srv_{number}")

    assert await store.list_mcp_servers() == []
    for number in range(20):
        assert await store.find_mcp_server_by_token_hash(an_mcp_server(f"srv_{number}").token_hash, T0) is None
    with pytest.raises(NotFound):
        await store.get_account("acc_1")


async def test_missing_ids_raise_not_found_naming_the_kind_and_the_id(store: Store) -> None:
    """Every get, update and delete of a missing id raises NotFound whose message names kind and id."""
    with pytest.raises(NotFound, match=r"^account 'acc_x' not found$"):
        await store.get_account("acc_x")
    with pytest.raises(NotFound, match=r"^account 'acc_1' not found$"):
        await store.update_account(an_account("acc_1"))
    with pytest.raises(NotFound, match=r"^account 'acc_x' not found$"):
        await store.delete_account("acc_x")
    with pytest.raises(NotFound, match=r"^MCP server 'srv_x' not found$"):
        await store.get_mcp_server("srv_x")
    with pytest.raises(NotFound, match=r"^MCP server 'srv_1' not found$"):
        await store.update_mcp_server(an_mcp_server("srv_1"))
    with pytest.raises(NotFound, match=r"^MCP server 'srv_x' not found$"):
        await store.delete_mcp_server("srv_x")
    with pytest.raises(NotFound, match=r"^API token 'tok_x' not found$"):
        await store.delete_api_token("tok_x")


async def test_creating_a_record_with_an_existing_id_is_refused(store: Store) -> None:
    """A second record under an id already taken raises StoreError (not NotFound) and changes nothing."""
    await store.create_account(an_account())
    await store.create_mcp_server(an_mcp_server())
    await store.create_api_token(an_api_token())

    with pytest.raises(StoreError, match=r"^account 'acc_1' already exists$"):
        await store.create_account(an_account(secret="other"))
    with pytest.raises(StoreError, match=r"^MCP server 'srv_1' already exists$"):
        await store.create_mcp_server(an_mcp_server(token_hash=hash_token("another token")))
    with pytest.raises(StoreError, match=r"^API token 'tok_1' already exists$"):
        await store.create_api_token(an_api_token(token_hash=hash_token("another token")))

    assert (await store.get_account("acc_1")).secret == SECRET
    assert await store.list_mcp_servers() == [an_mcp_server()]
    assert await store.list_api_tokens() == [an_api_token()]


async def test_creating_a_record_with_a_token_hash_in_use_is_refused(store: Store) -> None:
    """A new MCP server or API token may not reuse a token hash of its own kind."""
    await store.create_account(an_account())
    await store.create_mcp_server(an_mcp_server("srv_1", token_hash=hash_token("shared")))
    await store.create_api_token(an_api_token("tok_1", token_hash=hash_token("shared")))

    with pytest.raises(StoreError, match=r"^MCP server 'srv_2': token hash already in use$"):
        await store.create_mcp_server(an_mcp_server("srv_2", token_hash=hash_token("shared")))
    with pytest.raises(StoreError, match=r"^API token 'tok_2': token hash already in use$"):
        await store.create_api_token(an_api_token("tok_2", token_hash=hash_token("shared")))

    assert [server.id for server in await store.list_mcp_servers()] == ["srv_1"]
    assert [token.id for token in await store.list_api_tokens()] == ["tok_1"]


async def test_mcp_server_for_a_missing_account_is_refused_as_not_found(store: Store) -> None:
    """An MCP server cannot be bound, on create or update, to an account that does not exist."""
    with pytest.raises(NotFound, match=r"^account 'acc_x' not found$"):
        await store.create_mcp_server(an_mcp_server(account_id="acc_x"))
    await store.create_account(an_account())
    await store.create_mcp_server(an_mcp_server())

    with pytest.raises(NotFound, match=r"^account 'acc_x' not found$"):
        await store.update_mcp_server(an_mcp_server(account_id="acc_x"))

    assert await store.get_mcp_server("srv_1") == an_mcp_server()


async def test_mcp_server_reads_back_equal_by_id_by_account_and_by_token_hash(store: Store) -> None:
    """An MCP server reads back field for field through get, both lists and its token hash."""
    await store.create_account(an_account())
    server = dataclasses.replace(
        an_mcp_server(expires_at=real_now() + timedelta(days=1)),
        methods=("GET",),
        tags=(),
        require_api_token_auth=True,
    )
    await store.create_mcp_server(server)

    assert await store.get_mcp_server("srv_1") == server
    assert await store.list_mcp_servers() == [server]
    assert await store.list_mcp_servers("acc_1") == [server]
    assert await store.find_mcp_server_by_token_hash(server.token_hash, real_now()) == server


async def test_mcp_servers_list_oldest_first_and_filter_by_account(store: Store) -> None:
    """MCP servers list by creation time then id, optionally only those of one account."""
    await store.create_account(an_account("acc_1"))
    await store.create_account(an_account("acc_2"))
    for server_id, account_id, created_at in [
        ("srv_d", "acc_2", T0),
        ("srv_c", "acc_1", T0 + timedelta(minutes=1)),
        ("srv_b", "acc_1", T0),
        ("srv_a", "acc_2", T0 + timedelta(minutes=2)),
    ]:
        await store.create_mcp_server(an_mcp_server(server_id, account_id=account_id, created_at=created_at))

    assert [s.id for s in await store.list_mcp_servers()] == ["srv_b", "srv_d", "srv_c", "srv_a"]
    assert [s.id for s in await store.list_mcp_servers("acc_1")] == ["srv_b", "srv_c"]
    assert [s.id for s in await store.list_mcp_servers("acc_2")] == ["srv_d", "srv_a"]
    assert await store.list_mcp_servers("acc_unknown") == []


async def test_updated_mcp_server_replaces_its_filters_and_expiry(store: Store) -> None:
    """Updating an MCP server replaces its name, filters, flag and expiry."""
    await store.create_account(an_account())
    await store.create_mcp_server(an_mcp_server())
    changed = dataclasses.replace(
        an_mcp_server(),
        name="Read only",
        methods=("GET",),
        tags=("pages",),
        require_api_token_auth=True,
        expires_at=real_now() + timedelta(hours=3),
        updated_at=T0 + timedelta(hours=1),
    )

    await store.update_mcp_server(changed)

    assert await store.get_mcp_server("srv_1") == changed
    assert await store.find_mcp_server_by_token_hash(changed.token_hash, real_now()) == changed


async def test_mcp_server_tool_exposure_and_max_limit_round_trip_through_create_and_update(store: Store) -> None:
    """Both settings read back as written, through get, list and token hash, and an update replaces them."""
    await store.create_account(an_account())
    assert (an_mcp_server().tool_exposure, an_mcp_server().max_limit) == ("all", DEFAULT_MAX_LIMIT)
    server = dataclasses.replace(an_mcp_server(), tool_exposure="discovery", max_limit=1)
    await store.create_mcp_server(server)

    assert await store.get_mcp_server("srv_1") == server
    assert await store.list_mcp_servers("acc_1") == [server]
    assert await store.find_mcp_server_by_token_hash(server.token_hash, real_now()) == server

    changed = dataclasses.replace(server, tool_exposure="all", max_limit=MAX_LIMIT_CEILING)
    await store.update_mcp_server(changed)

    assert await store.get_mcp_server("srv_1") == changed
    assert await store.find_mcp_server_by_token_hash(changed.token_hash, real_now()) == changed


async def test_mcp_server_lean_results_round_trips_through_create_and_update(store: Store) -> None:
    """lean_results defaults to true, reads back false as written, and an update turns it on again."""
    await store.create_account(an_account())
    assert an_mcp_server().lean_results is True
    server = dataclasses.replace(an_mcp_server(), lean_results=False)
    await store.create_mcp_server(server)

    assert await store.get_mcp_server("srv_1") == server
    assert await store.find_mcp_server_by_token_hash(server.token_hash, real_now()) == server

    await store.update_mcp_server(dataclasses.replace(server, lean_results=True))

    assert (await store.get_mcp_server("srv_1")).lean_results is True


async def test_mcp_server_moved_to_another_account_lists_under_the_new_one(store: Store) -> None:
    """Updating an MCP server's account moves it between the per-account lists."""
    await store.create_account(an_account("acc_1"))
    await store.create_account(an_account("acc_2"))
    await store.create_mcp_server(an_mcp_server(account_id="acc_1"))

    await store.update_mcp_server(an_mcp_server(account_id="acc_2"))

    assert await store.list_mcp_servers("acc_1") == []
    assert await store.list_mcp_servers("acc_2") == [an_mcp_server(account_id="acc_2")]
    await store.delete_account("acc_2")
    assert await store.list_mcp_servers() == []


async def test_mcp_server_token_hash_cannot_change_on_update(store: Store) -> None:
    """An update carrying a different token hash is refused and the old token keeps working."""
    await store.create_account(an_account())
    original = an_mcp_server()
    await store.create_mcp_server(original)

    with pytest.raises(StoreError, match=r"^MCP server 'srv_1': the token hash cannot change$"):
        await store.update_mcp_server(an_mcp_server(token_hash=hash_token("new token")))

    assert await store.find_mcp_server_by_token_hash(original.token_hash, real_now()) == original
    assert await store.find_mcp_server_by_token_hash(hash_token("new token"), real_now()) is None


async def test_rekeyed_token_hashes_find_the_same_records_and_the_old_hashes_nothing(store: Store) -> None:
    """rekey_token moves an MCP server's and an API token's hash, keeping every other field and the expiry."""
    await store.create_account(an_account())
    expiry = real_now() + timedelta(hours=1)
    server = an_mcp_server(expires_at=expiry)
    token = an_api_token(expires_at=expiry)
    await store.create_mcp_server(server)
    await store.create_api_token(token)

    assert await store.rekey_token("mcp_server", server.id, server.token_hash, hash_token("rekeyed server"))
    assert await store.rekey_token("api_token", token.id, token.token_hash, hash_token("rekeyed token"))

    now = real_now()
    assert await store.find_mcp_server_by_token_hash(hash_token("rekeyed server"), now) == dataclasses.replace(
        server, token_hash=hash_token("rekeyed server")
    )
    assert await store.find_api_token_by_hash(hash_token("rekeyed token"), now) == dataclasses.replace(
        token, token_hash=hash_token("rekeyed token")
    )
    assert await store.find_mcp_server_by_token_hash(server.token_hash, now) is None
    assert await store.find_api_token_by_hash(token.token_hash, now) is None
    # A second rekey from the old hash (another replica got there first) changes nothing.
    assert not await store.rekey_token("mcp_server", server.id, server.token_hash, hash_token("third"))
    assert not await store.rekey_token("api_token", "tok_missing", token.token_hash, hash_token("third"))
    assert await store.find_mcp_server_by_token_hash(hash_token("third"), now) is None


async def test_rekey_to_a_hash_in_use_is_refused(store: Store) -> None:
    """Two MCP servers never end up under one token hash."""
    await store.create_account(an_account())
    await store.create_mcp_server(an_mcp_server("srv_1"))
    await store.create_mcp_server(an_mcp_server("srv_2"))
    taken = an_mcp_server("srv_2").token_hash
    with pytest.raises(StoreError, match="token hash already in use"):
        await store.rekey_token("mcp_server", "srv_1", an_mcp_server("srv_1").token_hash, taken)
    assert (await store.get_mcp_server("srv_1")).token_hash == an_mcp_server("srv_1").token_hash


async def test_deleted_mcp_server_is_gone_and_its_token_resolves_to_nothing(store: Store) -> None:
    """Deleting an MCP server revokes its URL at once and leaves the account in place."""
    await store.create_account(an_account())
    server = an_mcp_server()
    await store.create_mcp_server(server)

    await store.delete_mcp_server("srv_1")

    assert await store.find_mcp_server_by_token_hash(server.token_hash, real_now()) is None
    assert await store.list_mcp_servers() == []
    assert await store.get_account("acc_1") == an_account()
    await store.create_mcp_server(server)  # the id and token hash are free again


async def test_unknown_token_hashes_find_nothing(store: Store) -> None:
    """Looking up a hash no record has returns None for both kinds of token."""
    assert await store.find_mcp_server_by_token_hash(hash_token("cmcp_nope"), real_now()) is None
    assert await store.find_api_token_by_hash(hash_token("cmat_nope"), real_now()) is None


async def test_mcp_server_stops_resolving_once_expired_at_now_but_stays_readable(store: Store) -> None:
    """From its expires_at on, an MCP server's token finds nothing, though get still returns it."""
    now = real_now()
    expires_at = now + timedelta(hours=1)
    await store.create_account(an_account())
    server = an_mcp_server(expires_at=expires_at)
    await store.create_mcp_server(server)

    assert (
        await store.find_mcp_server_by_token_hash(server.token_hash, expires_at - timedelta(microseconds=1)) == server
    )
    assert await store.find_mcp_server_by_token_hash(server.token_hash, expires_at) is None
    assert await store.find_mcp_server_by_token_hash(server.token_hash, now + timedelta(hours=2)) is None
    assert await store.get_mcp_server("srv_1") == server


async def test_clearing_expires_at_makes_an_mcp_server_live_for_good(store: Store) -> None:
    """An update with expires_at None lifts the expiry, so the token resolves at any later time."""
    now = real_now()
    await store.create_account(an_account())
    server = an_mcp_server(expires_at=now + timedelta(hours=1))
    await store.create_mcp_server(server)

    await store.update_mcp_server(dataclasses.replace(server, expires_at=None))

    found = await store.find_mcp_server_by_token_hash(server.token_hash, now + timedelta(days=3650))
    assert found == dataclasses.replace(server, expires_at=None)


async def test_delete_expired_removes_exactly_the_records_expired_at_now(store: Store) -> None:
    """delete_expired deletes the MCP servers and API tokens expired at ``now``, counts them and keeps the rest."""
    now = real_now()
    later = now + timedelta(hours=2)
    await store.create_account(an_account())
    await store.create_mcp_server(an_mcp_server("srv_expired", expires_at=now + timedelta(hours=1)))
    await store.create_mcp_server(an_mcp_server("srv_at_boundary", expires_at=later))
    await store.create_mcp_server(an_mcp_server("srv_later", expires_at=now + timedelta(hours=3)))
    await store.create_mcp_server(an_mcp_server("srv_forever"))
    await store.create_api_token(an_api_token("tok_expired", expires_at=now + timedelta(hours=1)))
    await store.create_api_token(an_api_token("tok_forever"))

    assert await store.delete_expired(later) == 3

    assert [s.id for s in await store.list_mcp_servers()] == ["srv_forever", "srv_later"]
    assert [t.id for t in await store.list_api_tokens()] == ["tok_forever"]
    assert await store.delete_expired(later) == 0


async def test_api_token_is_created_listed_found_by_hash_and_deleted(store: Store) -> None:
    """An API token reads back through list and its hash until it is deleted."""
    token = an_api_token(expires_at=real_now() + timedelta(days=30))
    older = an_api_token("tok_0", created_at=T0 - timedelta(days=1))
    await store.create_api_token(token)
    await store.create_api_token(older)

    assert await store.list_api_tokens() == [older, token]
    assert await store.find_api_token_by_hash(token.token_hash, real_now()) == token

    await store.delete_api_token("tok_1")

    assert await store.list_api_tokens() == [older]
    assert await store.find_api_token_by_hash(token.token_hash, real_now()) is None


async def test_api_token_scope_and_mcp_server_bindings_read_back_through_list_and_hash(store: Store) -> None:
    """An admin token, an unbound MCP client token and one bound to two servers read back field for field."""
    admin = an_api_token("tok_admin")
    unbound = an_api_token("tok_any", scope="mcp")
    bound = an_api_token("tok_bound", scope="mcp", mcp_server_ids=("srv_2", "srv_1"), created_at=T0 + timedelta(1))
    for token in (admin, unbound, bound):
        await store.create_api_token(token)

    assert await store.list_api_tokens() == [admin, unbound, bound]
    for token in (admin, unbound, bound):
        assert await store.find_api_token_by_hash(token.token_hash, real_now()) == token
    found = await store.find_api_token_by_hash(bound.token_hash, real_now())
    assert found is not None
    assert (found.scope, found.mcp_server_ids) == ("mcp", ("srv_2", "srv_1"))
    assert (admin.scope, admin.mcp_server_ids) == ("admin", ())


async def test_expired_api_token_is_not_found_by_hash(store: Store) -> None:
    """From its expires_at on, an API token's hash finds nothing, though it still lists until swept."""
    now = real_now()
    token = an_api_token(expires_at=now + timedelta(hours=1))
    await store.create_api_token(token)

    assert await store.find_api_token_by_hash(token.token_hash, now) == token
    assert await store.find_api_token_by_hash(token.token_hash, now + timedelta(hours=1)) is None
    assert await store.list_api_tokens() == [token]


# SQLite only.


async def test_sqlite_store_creates_its_directory_and_uses_wal(sqlite_path: Path, cipher: Cipher) -> None:
    """Opening a SQLite store creates the missing directory and the file, in WAL journal mode."""
    store = SqliteStore(str(sqlite_path), cipher=cipher)
    await store.open()
    await store.close()

    assert await anyio.Path(sqlite_path).is_file()
    assert await _sqlite_scalar(sqlite_path, "PRAGMA journal_mode") == "wal"


async def test_sqlite_store_runs_every_statement_on_one_worker_thread(sqlite_path: Path, cipher: Cipher) -> None:
    """Concurrent SQLite calls all run on the same dedicated thread, never on the event loop's."""
    store = SqliteStore(str(sqlite_path), cipher=cipher)
    await store.open()
    names: list[str] = []

    async def record_thread() -> None:
        names.append(await store._run(lambda _db: threading.current_thread().name))

    try:
        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(record_thread)
    finally:
        await store.close()

    assert len(names) == 20
    assert len(set(names)) == 1
    assert names[0].startswith("confluence-mcp-sqlite")


async def test_sqlite_store_reopens_its_file_with_data_and_schema_version_intact(
    sqlite_path: Path, cipher: Cipher
) -> None:
    """Closing and reopening keeps every record, and user_version stays the number of migrations."""
    first = SqliteStore(str(sqlite_path), cipher=cipher)
    await first.open()
    await first.create_account(an_account())
    await first.create_mcp_server(an_mcp_server())
    await first.create_api_token(an_api_token())
    await first.close()
    assert await _sqlite_scalar(sqlite_path, "PRAGMA user_version") == len(MIGRATIONS)

    second = SqliteStore(str(sqlite_path), cipher=cipher)
    await second.open()
    try:
        assert await second.list_accounts() == [an_account()]
        assert await second.list_mcp_servers() == [an_mcp_server()]
        assert await second.list_api_tokens() == [an_api_token()]
    finally:
        await second.close()
    assert await _sqlite_scalar(sqlite_path, "PRAGMA user_version") == len(MIGRATIONS)


async def test_sqlite_file_of_the_first_schema_upgrades_and_its_servers_read_the_new_defaults(
    sqlite_path: Path, cipher: Cipher
) -> None:
    """A file written by schema version 1 migrates on open: its server reads tool_exposure all, max_limit 100."""
    server = an_mcp_server()
    at = utc_text(T0)
    # Rows as version 1 wrote them: every column it had, in its order.
    account_row = (
        "acc_1",
        "Site",
        "https://example.atlassian.net",
        "basic",
        "a@b.c",
        cipher.encrypt("t"),
        None,
        at,
        at,
    )
    server_row = (server.id, server.name, "acc_1", server.token_hash, '["GET", "POST"]', '["pages", "spaces"]', 0)
    await _old_schema_file(
        sqlite_path,
        1,
        [
            ("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", account_row),
            ("INSERT INTO mcp_servers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*server_row, None, at, at)),
        ],
    )
    upgraded = await _opened_mcp_server(sqlite_path, cipher, server.id)

    assert upgraded == server
    assert (upgraded.tool_exposure, upgraded.max_limit) == ("all", 100)
    assert await _sqlite_scalar(sqlite_path, "PRAGMA user_version") == len(MIGRATIONS)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        await _sqlite_scalar(sqlite_path, "UPDATE mcp_servers SET tool_exposure = 'some'")


async def test_sqlite_file_of_schema_version_4_upgrades_and_its_servers_read_lean_results_on(
    sqlite_path: Path, cipher: Cipher
) -> None:
    """A version-4 file migrates on open: a server it held reads lean_results true, and false can be written."""
    server = dataclasses.replace(an_mcp_server(), tool_exposure="discovery", max_limit=7)
    at = utc_text(T0)
    account_row = (
        "acc_1",
        "Site",
        "https://example.atlassian.net",
        "basic",
        "a@b.c",
        cipher.encrypt("t"),
        None,
        at,
        at,
    )
    server_row = (server.id, server.name, "acc_1", server.token_hash, '["GET", "POST"]', '["pages", "spaces"]', 0)
    await _old_schema_file(
        sqlite_path,
        4,
        [
            ("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", account_row),
            (
                "INSERT INTO mcp_servers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*server_row, None, at, at, "discovery", 7),
            ),
        ],
    )
    store = SqliteStore(str(sqlite_path), cipher=cipher)
    await store.open()
    try:
        assert await store.get_mcp_server(server.id) == server
        await store.update_mcp_server(dataclasses.replace(server, lean_results=False))
        assert (await store.get_mcp_server(server.id)).lean_results is False
    finally:
        await store.close()


async def test_sqlite_file_of_schema_version_2_upgrades_and_its_api_tokens_become_admin_tokens(
    sqlite_path: Path, cipher: Cipher
) -> None:
    """A version-2 file migrates on open: its API tokens read scope admin and no servers; scope is CHECKed."""
    token = an_api_token(expires_at=T0 + timedelta(days=30))
    row = (token.id, token.name, token.token_hash, utc_text(T0), utc_text(T0 + timedelta(days=30)))
    await _old_schema_file(sqlite_path, 2, [("INSERT INTO api_tokens VALUES (?, ?, ?, ?, ?)", row)])
    store = SqliteStore(str(sqlite_path), cipher=cipher)
    await store.open()
    try:
        (upgraded,) = await store.list_api_tokens()
        by_hash = await store.find_api_token_by_hash(token.token_hash, T0)
    finally:
        await store.close()

    assert upgraded == by_hash == token
    assert (upgraded.scope, upgraded.mcp_server_ids) == ("admin", ())
    assert upgraded.opens_admin_api()
    assert await _sqlite_scalar(sqlite_path, "PRAGMA user_version") == len(MIGRATIONS)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        await _sqlite_scalar(sqlite_path, "UPDATE api_tokens SET scope = 'root'")


async def test_sqlite_store_refuses_a_schema_newer_than_it_knows(sqlite_path: Path, cipher: Cipher) -> None:
    """A file migrated by a later release is refused with a StoreError naming the file and both versions."""
    sqlite_path.parent.mkdir(parents=True)
    await _sqlite_scalar(sqlite_path, f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    store = SqliteStore(str(sqlite_path), cipher=cipher)

    with pytest.raises(StoreError, match=rf"{sqlite_path}: schema version {len(MIGRATIONS) + 1} is newer"):
        await store.open()


async def test_sqlite_store_under_another_secret_key_cannot_read_account_secrets(
    sqlite_path: Path, cipher: Cipher
) -> None:
    """Reading accounts with the wrong secret key raises a StoreError that suggests the key."""
    first = SqliteStore(str(sqlite_path), cipher=cipher)
    await first.open()
    await first.create_account(an_account())
    await first.close()
    second = SqliteStore(str(sqlite_path), cipher=Cipher.from_key(generate_key()))
    await second.open()
    try:
        with pytest.raises(StoreError, match="cannot decrypt account secret: wrong secret key"):
            await second.get_account("acc_1")
    finally:
        await second.close()


async def _old_schema_file(path: Path, version: int, inserts: list[tuple[str, tuple[object, ...]]]) -> None:
    """Write a SQLite file as schema ``version`` left it: its migrations, then ``inserts`` (rows as it wrote them)."""

    def write() -> None:
        path.parent.mkdir(parents=True)
        db = sqlite3.connect(path)
        try:
            for statements in MIGRATIONS[:version]:
                for statement in statements:
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {version}")
            for sql, params in inserts:
                db.execute(sql, params)
            db.commit()
        finally:
            db.close()

    await anyio.to_thread.run_sync(write)


async def _opened_mcp_server(path: Path, cipher: Cipher, server_id: str) -> McpServer:
    """Open the SQLite file at ``path`` (migrating it), read one MCP server, and close it again."""
    store = SqliteStore(str(path), cipher=cipher)
    await store.open()
    try:
        return await store.get_mcp_server(server_id)
    finally:
        await store.close()


async def _sqlite_scalar(path: Path, sql: str) -> object:
    """Run one statement with the standard library, off the event loop, and return the first column."""

    def query() -> object:
        db = sqlite3.connect(path)
        try:
            row = db.execute(sql).fetchone()
            return None if row is None else row[0]
        finally:
            db.close()

    return await anyio.to_thread.run_sync(query)


# Redis only.


async def test_redis_expiring_records_set_key_expiry_on_the_record_and_its_index(
    redis_client: redis.asyncio.Redis, redis_url: str, cipher: Cipher
) -> None:
    """Expiring MCP servers and API tokens carry a TTL on record and hash keys; the others carry none."""
    store = RedisStore(redis_url, cipher=cipher)
    await store.open()
    try:
        expires_at = real_now() + timedelta(hours=1)
        await store.create_account(an_account())
        server = an_mcp_server(expires_at=expires_at)
        await store.create_mcp_server(server)
        token = an_api_token(expires_at=expires_at)
        await store.create_api_token(token)
        await store.create_mcp_server(an_mcp_server("srv_forever"))

        hour_ms = 3_600_000
        for key in [
            "cmcp:server:srv_1",
            f"cmcp:server-token:{server.token_hash}",
            "cmcp:api-token:tok_1",
            f"cmcp:api-token-hash:{token.token_hash}",
        ]:
            assert hour_ms - 60_000 < await redis_client.pttl(key) <= hour_ms
        assert await redis_client.pttl("cmcp:server:srv_forever") == -1
        assert await redis_client.pttl("cmcp:account:acc_1") == -1
    finally:
        await store.close()


async def test_redis_clearing_expires_at_persists_both_keys(
    redis_client: redis.asyncio.Redis, redis_url: str, cipher: Cipher
) -> None:
    """An update that clears expires_at removes the TTL from the record and its token-hash key."""
    store = RedisStore(redis_url, cipher=cipher)
    await store.open()
    try:
        await store.create_account(an_account())
        server = an_mcp_server(expires_at=real_now() + timedelta(hours=1))
        await store.create_mcp_server(server)

        await store.update_mcp_server(dataclasses.replace(server, expires_at=None))

        assert await redis_client.pttl("cmcp:server:srv_1") == -1
        assert await redis_client.pttl(f"cmcp:server-token:{server.token_hash}") == -1
    finally:
        await store.close()


async def test_redis_expired_mcp_server_vanishes_by_itself(
    redis_client: redis.asyncio.Redis, redis_url: str, cipher: Cipher
) -> None:
    """Redis drops an expired MCP server's keys unaided; delete_expired then only forgets its id."""
    store = RedisStore(redis_url, cipher=cipher)
    await store.open()
    try:
        await store.create_account(an_account())
        server = an_mcp_server(expires_at=real_now() + timedelta(milliseconds=300))
        await store.create_mcp_server(server)
        keys = ["cmcp:server:srv_1", f"cmcp:server-token:{server.token_hash}"]

        with anyio.fail_after(5):
            # Polling is the only way to watch a key expire short of keyspace notifications.
            while await redis_client.exists(*keys):  # noqa: ASYNC110
                await anyio.sleep(0.02)

        assert await store.list_mcp_servers() == []
        assert await redis_client.smembers("cmcp:account-servers:acc_1") == {"srv_1"}
        assert await store.delete_expired(real_now()) == 1
        assert await redis_client.smembers("cmcp:account-servers:acc_1") == set()
    finally:
        await store.close()


async def test_redis_server_record_written_before_tool_exposure_and_max_limit_reads_the_defaults(
    redis_client: redis.asyncio.Redis, redis_url: str, cipher: Cipher
) -> None:
    """A stored MCP server JSON without the two keys (an older release wrote it) loads with all and 100."""
    store = RedisStore(redis_url, cipher=cipher)
    await store.open()
    try:
        await store.create_account(an_account())
        server = dataclasses.replace(an_mcp_server(), tool_exposure="discovery", max_limit=7)
        await store.create_mcp_server(server)
        assert await _without(redis_client, "cmcp:server:srv_1", "tool_exposure", "max_limit") == ["discovery", 7]

        assert await store.get_mcp_server("srv_1") == an_mcp_server()
        assert await store.find_mcp_server_by_token_hash(server.token_hash, real_now()) == an_mcp_server()
    finally:
        await store.close()


async def test_redis_server_record_written_before_lean_results_reads_lean(
    redis_client: redis.asyncio.Redis, redis_url: str, cipher: Cipher
) -> None:
    """A stored MCP server JSON without lean_results (an older release wrote it) loads with lean results on."""
    store = RedisStore(redis_url, cipher=cipher)
    await store.open()
    try:
        await store.create_account(an_account())
        await store.create_mcp_server(dataclasses.replace(an_mcp_server(), lean_results=False))
        assert await _without(redis_client, "cmcp:server:srv_1", "lean_results") == [False]

        assert await store.get_mcp_server("srv_1") == an_mcp_server()
    finally:
        await store.close()


async def test_redis_api_token_written_before_scopes_reads_as_an_admin_token(
    redis_client: redis.asyncio.Redis, redis_url: str, cipher: Cipher
) -> None:
    """A stored API token JSON without scope and mcp_server_ids (an older release wrote it) loads as admin."""
    store = RedisStore(redis_url, cipher=cipher)
    await store.open()
    try:
        token = an_api_token(scope="mcp", mcp_server_ids=("srv_1",))
        await store.create_api_token(token)
        assert await _without(redis_client, "cmcp:api-token:tok_1", "scope", "mcp_server_ids") == ["mcp", ["srv_1"]]

        assert await store.list_api_tokens() == [an_api_token()]
        assert await store.find_api_token_by_hash(token.token_hash, real_now()) == an_api_token()
    finally:
        await store.close()


async def _without(client: redis.asyncio.Redis, key: str, *fields: str) -> list[object]:
    """Rewrite the JSON record at ``key`` without ``fields``, as a release before them wrote it; return their values."""
    record = json.loads(await client.get(key) or "{}")
    values = [record.pop(field) for field in fields]
    await client.set(key, json.dumps(record))
    return values


async def test_two_redis_stores_on_one_url_see_each_others_writes_and_deletes(
    redis_client: redis.asyncio.Redis, redis_url: str, cipher: Cipher
) -> None:
    """What one process writes or deletes, another process on the same Redis sees at once."""
    writer, reader = RedisStore(redis_url, cipher=cipher), RedisStore(redis_url, cipher=cipher)
    await writer.open()
    await reader.open()
    try:
        server = an_mcp_server()
        await writer.create_account(an_account())
        await writer.create_mcp_server(server)
        assert await reader.find_mcp_server_by_token_hash(server.token_hash, real_now()) == server
        assert await reader.get_account("acc_1") == an_account()

        await reader.delete_mcp_server("srv_1")
        assert await writer.find_mcp_server_by_token_hash(server.token_hash, real_now()) is None

        await reader.delete_account("acc_1")
        assert await writer.list_accounts() == []
    finally:
        await reader.close()
        await writer.close()


async def test_redis_store_that_cannot_connect_raises_store_error_without_the_password(cipher: Cipher) -> None:
    """Opening a Redis store on a dead port raises StoreError whose message hides the URL's password."""
    with anyio.fail_after(10):
        port = _closed_port()
        store = RedisStore(f"redis://:hunter2@127.0.0.1:{port}/0", cipher=cipher)

        with pytest.raises(StoreError, match=rf"redis://:\*\*\*@127\.0\.0\.1:{port}/0: cannot connect") as caught:
            await store.open()

    assert "hunter2" not in str(caught.value)


def _closed_port() -> int:
    """Return a loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_sqlite_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """The SQLite file (token hashes, encrypted secrets) is created with mode 0600."""
    from confluence_mcp.store.cipher import Cipher, generate_key
    from confluence_mcp.store.sqlite import SqliteStore

    path = tmp_path / "data" / "store.db"
    store = SqliteStore(str(path), cipher=Cipher.from_key(generate_key()))
    await store.open()
    try:
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        await store.close()
