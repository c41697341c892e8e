"""The SQLite schema: its migrations, its INSERT statements, and the mapping between rows and records.

Times are stored as fixed-width UTC ISO-8601 text, which sorts and compares like the instants it names.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import cast

from confluence_mcp.errors import StoreError
from confluence_mcp.policy.filters import HideDeprecated
from confluence_mcp.store.base import (
    ApiToken,
    AuditOutcome,
    AuditRecord,
    McpServer,
    TokenScope,
    ToolExposure,
    utc_text,
)

__all__ = [
    "INSERT_ACCOUNT",
    "INSERT_API_TOKEN",
    "INSERT_AUDIT",
    "INSERT_MCP_SERVER",
    "MIGRATIONS",
    "api_token_from_row",
    "api_token_row",
    "audit_from_row",
    "audit_row",
    "migrate",
    "opt_datetime",
    "opt_text",
    "server_from_row",
    "server_row",
    "to_datetime",
    "to_text",
    "transaction",
]


# Each entry moves the schema up one version; append, never edit one that has shipped.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            label TEXT NOT NULL,
            instance_url TEXT NOT NULL,
            auth_type TEXT NOT NULL CHECK (auth_type IN ('basic', 'bearer')),
            username TEXT,
            secret_encrypted TEXT NOT NULL,
            api_token_expires_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE mcp_servers (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            token_hash TEXT NOT NULL,
            methods TEXT NOT NULL,
            tags TEXT NOT NULL,
            require_api_token_auth INTEGER NOT NULL,
            expires_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE UNIQUE INDEX mcp_servers_token_hash ON mcp_servers (token_hash)",
        "CREATE INDEX mcp_servers_account_id ON mcp_servers (account_id)",
        "CREATE INDEX mcp_servers_expires_at ON mcp_servers (expires_at) WHERE expires_at IS NOT NULL",
        """CREATE TABLE api_tokens (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT
        )""",
        "CREATE UNIQUE INDEX api_tokens_token_hash ON api_tokens (token_hash)",
        "CREATE INDEX api_tokens_expires_at ON api_tokens (expires_at) WHERE expires_at IS NOT NULL",
    ),
    # 2: per-server tool exposure and list-limit cap. The defaults are spelled out, not taken from
    # store.base, so a later change of default cannot rewrite what this migration gave existing rows.
    (
        "ALTER TABLE mcp_servers ADD COLUMN tool_exposure TEXT NOT NULL DEFAULT 'all'"
        " CHECK (tool_exposure IN ('all', 'discovery'))",
        "ALTER TABLE mcp_servers ADD COLUMN max_limit INTEGER NOT NULL DEFAULT 100",
    ),
    # 3: API token scopes. Every token written before opened the admin API, so existing rows become 'admin'
    # (spelled out here for the same reason as above). mcp_server_ids is a JSON array, as mcp_servers.methods.
    (
        "ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin' CHECK (scope IN ('admin', 'mcp'))",
        "ALTER TABLE api_tokens ADD COLUMN mcp_server_ids TEXT NOT NULL DEFAULT '[]'",
    ),
    # 4: the audit log. Lists run newest first by (at, id), optionally of one actor or one action, so each
    # index ends in (at, id); the retention sweep deletes by at alone. argument_keys is a JSON array.
    (
        """CREATE TABLE audit_log (
            id TEXT PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT,
            argument_keys TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'error', 'refused')),
            reason TEXT,
            upstream_status INTEGER,
            duration_ms REAL
        )""",
        "CREATE INDEX audit_log_at ON audit_log (at, id)",
        "CREATE INDEX audit_log_actor ON audit_log (actor, at, id)",
        "CREATE INDEX audit_log_action ON audit_log (action, at, id)",
    ),
    # 5: lean results per server; existing rows get 1 (on), spelled out as in 2.
    ("ALTER TABLE mcp_servers ADD COLUMN lean_results INTEGER NOT NULL DEFAULT 1",),
    # 6: which deprecated tools a server hides; existing rows get the default, spelled out as in 2.
    (
        "ALTER TABLE mcp_servers ADD COLUMN hide_deprecated TEXT NOT NULL DEFAULT 'replaced'"
        " CHECK (hide_deprecated IN ('replaced', 'all', 'none'))",
    ),
    # 7: scoped and oauth accounts, and their cloudId. SQLite cannot widen a CHECK in place, so the table is
    # rebuilt (``migrate`` holds foreign keys off meanwhile, or dropping it would cascade to mcp_servers).
    (
        """CREATE TABLE accounts_v5 (
            id TEXT PRIMARY KEY,
            label TEXT NOT NULL,
            instance_url TEXT NOT NULL,
            auth_type TEXT NOT NULL CHECK (auth_type IN ('basic', 'bearer', 'scoped', 'oauth')),
            username TEXT,
            secret_encrypted TEXT NOT NULL,
            api_token_expires_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            cloud_id TEXT
        )""",
        "INSERT INTO accounts_v5 (id, label, instance_url, auth_type, username, secret_encrypted,"
        " api_token_expires_at, created_at, updated_at) SELECT id, label, instance_url, auth_type, username,"
        " secret_encrypted, api_token_expires_at, created_at, updated_at FROM accounts",
        "DROP TABLE accounts",
        "ALTER TABLE accounts_v5 RENAME TO accounts",
    ),
)

# Column lists spelled out, so a later ALTER TABLE ... ADD COLUMN cannot shift the values.
INSERT_ACCOUNT = (
    "INSERT INTO accounts (id, label, instance_url, auth_type, username, secret_encrypted, api_token_expires_at,"
    " created_at, updated_at, cloud_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_MCP_SERVER = (
    "INSERT INTO mcp_servers (id, name, account_id, token_hash, methods, tags, require_api_token_auth, expires_at,"
    " created_at, updated_at, tool_exposure, max_limit, lean_results, hide_deprecated)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

INSERT_API_TOKEN = (
    "INSERT INTO api_tokens (id, name, token_hash, created_at, expires_at,"  # noqa: S105  # SQL, not a secret
    " scope, mcp_server_ids) VALUES (?, ?, ?, ?, ?, ?, ?)"
)

INSERT_AUDIT = (
    # OR IGNORE: a batch retried after a write that did land changes nothing (ids are unique per record).
    "INSERT OR IGNORE INTO audit_log (id, at, actor, action, target, argument_keys, outcome, reason, upstream_status,"
    " duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def migrate(db: sqlite3.Connection, path: str) -> None:
    # BEGIN IMMEDIATE takes the write lock before reading the version, so two processes starting
    # together cannot both apply the same migration. DDL and user_version are transactional in SQLite.
    # Foreign keys stay off while tables are rebuilt (SQLite's own recipe; the pragma is a no-op inside a
    # transaction), and foreign_key_check proves the rebuilt tables still line up before the commit.
    db.execute("PRAGMA foreign_keys = OFF")
    try:
        _migrate(db, path)
    finally:
        db.execute("PRAGMA foreign_keys = ON")


def _migrate(db: sqlite3.Connection, path: str) -> None:
    with transaction(db):
        version: int = db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"sqlite store {path}: schema version {version} is newer than this release knows"
                f" ({len(MIGRATIONS)}); upgrade confluence-mcp"
            )
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                db.execute(statement)
        if db.execute("PRAGMA foreign_key_check").fetchone() is not None:
            raise StoreError(f"sqlite store {path}: a migration broke a foreign key; nothing was changed")
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """Hold the write lock from the first read (BEGIN IMMEDIATE); commit on success, roll back otherwise."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.in_transaction:  # some errors (SQLITE_FULL, ...) have rolled back already
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def server_row(server: McpServer) -> tuple[object, ...]:
    return (
        server.id,
        server.name,
        server.account_id,
        server.token_hash,
        json.dumps(list(server.methods)),
        json.dumps(list(server.tags)),
        int(server.require_api_token_auth),
        opt_text(server.expires_at),
        to_text(server.created_at),
        to_text(server.updated_at),
        server.tool_exposure,
        server.max_limit,
        int(server.lean_results),
        server.hide_deprecated,
    )


def server_from_row(row: sqlite3.Row) -> McpServer:
    return McpServer(
        id=row["id"],
        name=row["name"],
        account_id=row["account_id"],
        token_hash=row["token_hash"],
        methods=tuple(json.loads(row["methods"])),
        tags=tuple(json.loads(row["tags"])),
        require_api_token_auth=bool(row["require_api_token_auth"]),
        expires_at=opt_datetime(row["expires_at"]),
        created_at=to_datetime(row["created_at"]),
        updated_at=to_datetime(row["updated_at"]),
        tool_exposure=cast(ToolExposure, row["tool_exposure"]),  # the CHECK constraint keeps it to the two
        max_limit=row["max_limit"],
        lean_results=bool(row["lean_results"]),
        hide_deprecated=cast(HideDeprecated, row["hide_deprecated"]),  # the CHECK constraint keeps it to the three
    )


def api_token_row(token: ApiToken) -> tuple[object, ...]:
    return (
        token.id,
        token.name,
        token.token_hash,
        to_text(token.created_at),
        opt_text(token.expires_at),
        token.scope,
        json.dumps(list(token.mcp_server_ids)),
    )


def api_token_from_row(row: sqlite3.Row) -> ApiToken:
    return ApiToken(
        id=row["id"],
        name=row["name"],
        token_hash=row["token_hash"],
        created_at=to_datetime(row["created_at"]),
        expires_at=opt_datetime(row["expires_at"]),
        scope=cast(TokenScope, row["scope"]),  # the CHECK constraint keeps it to the two
        mcp_server_ids=tuple(json.loads(row["mcp_server_ids"])),
    )


def audit_row(record: AuditRecord) -> tuple[object, ...]:
    return (
        record.id,
        to_text(record.at),
        record.actor,
        record.action,
        record.target,
        json.dumps(list(record.argument_keys)),
        record.outcome,
        record.reason,
        record.upstream_status,
        record.duration_ms,
    )


def audit_from_row(row: sqlite3.Row) -> AuditRecord:
    return AuditRecord(
        id=row["id"],
        at=to_datetime(row["at"]),
        actor=row["actor"],
        action=row["action"],
        target=row["target"],
        argument_keys=tuple(json.loads(row["argument_keys"])),
        outcome=cast(AuditOutcome, row["outcome"]),  # the CHECK constraint keeps it to the three
        reason=row["reason"],
        upstream_status=row["upstream_status"],
        duration_ms=row["duration_ms"],
    )


def to_text(moment: datetime) -> str:
    """Return ``moment`` as stored: fixed-width UTC text."""
    return utc_text(moment)


def opt_text(moment: datetime | None) -> str | None:
    return None if moment is None else to_text(moment)


def to_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text)


def opt_datetime(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
