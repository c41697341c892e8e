"""The default store: one SQLite file in WAL mode, migrated by ``PRAGMA user_version``, run off the event loop.

Every statement runs on one dedicated worker thread that owns the only connection, so the event loop
never blocks on disk and SQLite never sees two threads. Times are stored as fixed-width UTC ISO-8601
text (which sorts and compares like the instants it names); account secrets as Fernet text.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TypeVar, TypeVarTuple, cast

from confluence_mcp.errors import NotFound, StoreError
from confluence_mcp.store.audit import cursor_after
from confluence_mcp.store.base import (
    Account,
    ApiToken,
    AuditFilter,
    AuditPage,
    AuditRecord,
    AuthType,
    McpServer,
    TokenKind,
)
from confluence_mcp.store.cipher import Cipher
from confluence_mcp.store.sqlite_audit import AUDIT_DELETE_BATCH, DELETE_AUDIT_BATCH, audit_query
from confluence_mcp.store.sqlite_schema import (
    INSERT_ACCOUNT,
    INSERT_API_TOKEN,
    INSERT_AUDIT,
    INSERT_MCP_SERVER,
    MIGRATIONS,
    api_token_from_row,
    api_token_row,
    audit_from_row,
    audit_row,
    migrate,
    opt_datetime,
    opt_text,
    server_from_row,
    server_row,
    to_datetime,
    to_text,
    transaction,
)

__all__ = ["MIGRATIONS", "SqliteStore"]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

_Params = Sequence[object]


class SqliteStore:
    """Keeps records in one SQLite file; safe to share between processes on one host."""

    def __init__(self, path: str, *, cipher: Cipher) -> None:
        self._path = path
        self._cipher = cipher
        self._executor: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None  # touched only on the worker thread

    async def open(self) -> None:
        """Create the file and its directory if needed, switch to WAL and apply pending migrations."""
        if self._executor is not None:
            raise RuntimeError(f"sqlite store {self._path}: already open")
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="confluence-mcp-sqlite")
        try:
            await asyncio.get_running_loop().run_in_executor(executor, self._connect)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        self._executor = executor

    async def close(self) -> None:
        """Close the connection and let the worker thread end."""
        executor = self._executor
        if executor is None:
            return
        try:
            await self._run(self._disconnect)
        finally:
            self._executor = None
            executor.shutdown(wait=False)  # its queue is empty now, so the thread ends by itself

    # Accounts

    async def create_account(self, account: Account) -> None:
        """Insert a new account."""
        row = self._account_row(account)
        try:
            await self._run(_execute, INSERT_ACCOUNT, row)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"account {account.id!r} already exists") from exc

    async def get_account(self, account_id: str) -> Account:
        """Return one account."""
        row = await self._run(_fetch_one, "SELECT * FROM accounts WHERE id = ?", (account_id,))
        if row is None:
            raise NotFound(f"account {account_id!r} not found")
        return self._account_from_row(row)

    async def list_accounts(self) -> list[Account]:
        """Return every account, oldest first."""
        rows = await self._run(_fetch_all, "SELECT * FROM accounts ORDER BY created_at, id", ())
        return [self._account_from_row(row) for row in rows]

    async def update_account(self, account: Account) -> None:
        """Replace an existing account."""
        row = self._account_row(account)
        sql = (
            "UPDATE accounts SET label = ?, instance_url = ?, auth_type = ?, username = ?, secret_encrypted = ?,"
            " api_token_expires_at = ?, created_at = ?, updated_at = ?, cloud_id = ? WHERE id = ?"
        )
        if await self._run(_execute, sql, (*row[1:], account.id)) == 0:
            raise NotFound(f"account {account.id!r} not found")

    async def swap_account_secret(self, account_id: str, expected: str, secret: str) -> bool:
        """Replace the secret only if it is still ``expected``: read, compare and write under one write lock."""
        return await self._run(self._swap_secret, account_id, expected, secret)

    def _swap_secret(self, db: sqlite3.Connection, account_id: str, expected: str, secret: str) -> bool:
        with transaction(db):  # BEGIN IMMEDIATE: another process's swap waits until this one committed
            row = db.execute("SELECT secret_encrypted FROM accounts WHERE id = ?", (account_id,)).fetchone()
            if row is None:
                raise NotFound(f"account {account_id!r} not found")
            if self._cipher.decrypt(row["secret_encrypted"]) != expected:
                return False
            sql = "UPDATE accounts SET secret_encrypted = ? WHERE id = ?"
            db.execute(sql, (self._cipher.encrypt(secret), account_id))
        return True

    async def delete_account(self, account_id: str) -> None:
        """Delete an account and every MCP server bound to it (by ``ON DELETE CASCADE``)."""
        if await self._run(_execute, "DELETE FROM accounts WHERE id = ?", (account_id,)) == 0:
            raise NotFound(f"account {account_id!r} not found")

    # MCP servers

    async def create_mcp_server(self, server: McpServer) -> None:
        """Insert a new MCP server."""
        row = server_row(server)
        try:
            await self._run(_execute, INSERT_MCP_SERVER, row)
        except sqlite3.IntegrityError as exc:
            raise _refusal(exc, "MCP server", server) from exc

    async def get_mcp_server(self, server_id: str) -> McpServer:
        """Return one MCP server, expired or not."""
        row = await self._run(_fetch_one, "SELECT * FROM mcp_servers WHERE id = ?", (server_id,))
        if row is None:
            raise NotFound(f"MCP server {server_id!r} not found")
        return server_from_row(row)

    async def list_mcp_servers(self, account_id: str | None = None) -> list[McpServer]:
        """Return MCP servers (of one account when given), oldest first."""
        if account_id is None:
            rows = await self._run(_fetch_all, "SELECT * FROM mcp_servers ORDER BY created_at, id", ())
        else:
            sql = "SELECT * FROM mcp_servers WHERE account_id = ? ORDER BY created_at, id"
            rows = await self._run(_fetch_all, sql, (account_id,))
        return [server_from_row(row) for row in rows]

    async def update_mcp_server(self, server: McpServer) -> None:
        """Replace an existing MCP server (its token hash never changes)."""
        row = server_row(server)

        def update(db: sqlite3.Connection) -> None:
            with transaction(db):
                current = db.execute("SELECT token_hash FROM mcp_servers WHERE id = ?", (server.id,)).fetchone()
                if current is None:
                    raise NotFound(f"MCP server {server.id!r} not found")
                if current["token_hash"] != server.token_hash:
                    raise StoreError(f"MCP server {server.id!r}: the token hash cannot change")
                db.execute(
                    "UPDATE mcp_servers SET name = ?, account_id = ?, methods = ?, tags = ?,"
                    " require_api_token_auth = ?, expires_at = ?, created_at = ?, updated_at = ?,"
                    " tool_exposure = ?, max_limit = ?, lean_results = ?, hide_deprecated = ? WHERE id = ?",
                    (row[1], row[2], *row[4:], server.id),
                )

        try:
            await self._run(update)
        except sqlite3.IntegrityError as exc:
            raise _refusal(exc, "MCP server", server) from exc

    async def delete_mcp_server(self, server_id: str) -> None:
        """Delete (revoke) an MCP server; its URL dies at once."""
        if await self._run(_execute, "DELETE FROM mcp_servers WHERE id = ?", (server_id,)) == 0:
            raise NotFound(f"MCP server {server_id!r} not found")

    async def find_mcp_server_by_token_hash(self, token_hash: str, now: datetime) -> McpServer | None:
        """Return the live MCP server with this token hash, or None if missing or expired at ``now``."""
        sql = "SELECT * FROM mcp_servers WHERE token_hash = ? AND (expires_at IS NULL OR expires_at > ?)"
        row = await self._run(_fetch_one, sql, (token_hash, to_text(now)))
        return None if row is None else server_from_row(row)

    async def delete_expired(self, now: datetime) -> int:
        """Delete MCP servers and API tokens expired at ``now``; return how many went."""
        params = (to_text(now),)

        def delete(db: sqlite3.Connection) -> int:
            with transaction(db):
                servers = db.execute("DELETE FROM mcp_servers WHERE expires_at <= ?", params).rowcount
                tokens = db.execute("DELETE FROM api_tokens WHERE expires_at <= ?", params).rowcount
            return servers + tokens

        return await self._run(delete)

    # API tokens

    async def create_api_token(self, token: ApiToken) -> None:
        """Insert a new API token."""
        try:
            await self._run(_execute, INSERT_API_TOKEN, api_token_row(token))
        except sqlite3.IntegrityError as exc:
            raise _refusal(exc, "API token", token) from exc

    async def list_api_tokens(self) -> list[ApiToken]:
        """Return every API token, oldest first."""
        rows = await self._run(_fetch_all, "SELECT * FROM api_tokens ORDER BY created_at, id", ())
        return [api_token_from_row(row) for row in rows]

    async def delete_api_token(self, token_id: str) -> None:
        """Delete an API token."""
        if await self._run(_execute, "DELETE FROM api_tokens WHERE id = ?", (token_id,)) == 0:
            raise NotFound(f"API token {token_id!r} not found")

    async def find_api_token_by_hash(self, token_hash: str, now: datetime) -> ApiToken | None:
        """Return the live API token with this hash, or None if missing or expired at ``now``."""
        sql = "SELECT * FROM api_tokens WHERE token_hash = ? AND (expires_at IS NULL OR expires_at > ?)"
        row = await self._run(_fetch_one, sql, (token_hash, to_text(now)))
        return None if row is None else api_token_from_row(row)

    async def rekey_token(self, kind: TokenKind, record_id: str, old_hash: str, new_hash: str) -> bool:
        """Replace a record's token hash (after a key change); False when it no longer has ``old_hash``."""
        table = "mcp_servers" if kind == "mcp_server" else "api_tokens"
        sql = f"UPDATE {table} SET token_hash = ? WHERE id = ? AND token_hash = ?"  # noqa: S608 - one of two names
        try:
            changed = await self._run(_execute, sql, (new_hash, record_id, old_hash))
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"{record_id!r}: token hash already in use") from exc
        return changed == 1

    # Audit log

    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Store audit records in one transaction; a record whose id is stored already is left as it is."""
        rows = [audit_row(record) for record in records]
        if not rows:
            return

        def insert(db: sqlite3.Connection) -> None:
            with transaction(db):
                db.executemany(INSERT_AUDIT, rows)

        await self._run(insert)

    async def list_audit(self, filters: AuditFilter, cursor: str | None, limit: int) -> AuditPage:
        """Return audit records newest first (see ``store.audit``); InvalidInput for a cursor not ours."""
        sql, params, limit = audit_query(filters, cursor, limit)
        rows = await self._run(_fetch_all, sql, params)
        records = tuple(audit_from_row(row) for row in rows[:limit])
        return AuditPage(records, cursor_after(records[-1]) if len(rows) > limit else None)

    async def delete_audit_before(self, before: datetime) -> int:
        """Delete audit records older than ``before``, a batch per statement; return how many went."""
        params = (to_text(before), AUDIT_DELETE_BATCH)
        total = 0
        while True:
            gone = await self._run(_execute, DELETE_AUDIT_BATCH, params)
            total += gone
            if gone < AUDIT_DELETE_BATCH:
                return total

    # The worker thread

    async def _run(self, function: Callable[[sqlite3.Connection, *_Ts], _T], *args: *_Ts) -> _T:
        """Run ``function(connection, *args)`` on the worker thread and return its result."""
        if self._executor is None:
            raise RuntimeError(f"sqlite store {self._path}: not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, function, args)

    def _call(self, function: Callable[[sqlite3.Connection, *_Ts], _T], args: tuple[*_Ts]) -> _T:
        if self._connection is None:
            raise RuntimeError(f"sqlite store {self._path}: not open")
        try:
            return function(self._connection, *args)
        except sqlite3.IntegrityError:
            raise  # a refused write; the caller knows which record to name
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite store {self._path}: {exc}") from exc

    def _connect(self) -> None:
        try:
            if self._path != ":memory:":
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
                # The file holds token hashes and encrypted secrets: readable by its owner only.
                os.close(os.open(self._path, os.O_CREAT | os.O_RDWR, 0o600))
            # isolation_level=None: no implicit transactions; writes spanning statements use transaction.
            db = sqlite3.connect(self._path, timeout=10.0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"sqlite store {self._path}: cannot open: {exc}") from exc
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # still crash-safe in WAL mode, with fewer fsyncs
            db.execute("PRAGMA foreign_keys = ON")  # off by default, and ON DELETE CASCADE needs it
            migrate(db, self._path)
        except sqlite3.Error as exc:
            db.close()
            raise StoreError(f"sqlite store {self._path}: cannot open: {exc}") from exc
        except BaseException:
            db.close()
            raise
        self._connection = db

    def _disconnect(self, db: sqlite3.Connection) -> None:
        self._connection = None
        db.close()

    # Rows

    def _account_row(self, account: Account) -> tuple[object, ...]:
        return (
            account.id,
            account.label,
            account.instance_url,
            account.auth_type,
            account.username,
            self._cipher.sealed(account).secret,
            opt_text(account.api_token_expires_at),
            to_text(account.created_at),
            to_text(account.updated_at),
            account.cloud_id,
        )

    def _account_from_row(self, row: sqlite3.Row) -> Account:
        sealed = Account(
            id=row["id"],
            label=row["label"],
            instance_url=row["instance_url"],
            auth_type=cast(AuthType, row["auth_type"]),
            username=row["username"],
            secret=row["secret_encrypted"],
            api_token_expires_at=opt_datetime(row["api_token_expires_at"]),
            created_at=to_datetime(row["created_at"]),
            updated_at=to_datetime(row["updated_at"]),
            cloud_id=row["cloud_id"],
        )
        return self._cipher.opened(sealed)


def _execute(db: sqlite3.Connection, sql: str, params: _Params) -> int:
    return db.execute(sql, params).rowcount


def _fetch_one(db: sqlite3.Connection, sql: str, params: _Params) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(sql, params).fetchone()
    return row


def _fetch_all(db: sqlite3.Connection, sql: str, params: _Params) -> list[sqlite3.Row]:
    return db.execute(sql, params).fetchall()


def _refusal(exc: sqlite3.IntegrityError, kind: str, record: McpServer | ApiToken) -> StoreError:
    message = str(exc)
    if "FOREIGN KEY" in message and isinstance(record, McpServer):
        return NotFound(f"account {record.account_id!r} not found")
    if message.endswith(".token_hash"):
        return StoreError(f"{kind} {record.id!r}: token hash already in use")
    return StoreError(f"{kind} {record.id!r} already exists")
