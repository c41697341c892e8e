"""An in-process store in plain dicts: the test double that behaves like the real stores, encryption included."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from confluence_mcp.errors import NotFound, StoreError
from confluence_mcp.store.audit import page_of
from confluence_mcp.store.base import (
    Account,
    ApiToken,
    AuditFilter,
    AuditPage,
    AuditRecord,
    McpServer,
    TokenKind,
    is_expired,
    oldest_first,
)
from confluence_mcp.store.cipher import Cipher

__all__ = ["MemoryStore"]


class MemoryStore:
    """Keeps records in dicts for the life of the process; account secrets are held encrypted as at rest."""

    def __init__(self, *, cipher: Cipher) -> None:
        self._cipher = cipher
        # Secrets go through the cipher both ways, so a wrong key or a decrypt bug shows up here too.
        self._accounts: dict[str, Account] = {}
        self._servers: dict[str, McpServer] = {}
        self._server_ids_by_hash: dict[str, str] = {}
        self._api_tokens: dict[str, ApiToken] = {}
        self._api_token_ids_by_hash: dict[str, str] = {}
        self._audit: dict[str, AuditRecord] = {}

    async def open(self) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        """Forget every record."""
        self._accounts.clear()
        self._servers.clear()
        self._server_ids_by_hash.clear()
        self._api_tokens.clear()
        self._api_token_ids_by_hash.clear()
        self._audit.clear()

    # Accounts

    async def create_account(self, account: Account) -> None:
        """Insert a new account."""
        if account.id in self._accounts:
            raise StoreError(f"account {account.id!r} already exists")
        self._accounts[account.id] = self._sealed(account)

    async def get_account(self, account_id: str) -> Account:
        """Return one account."""
        return self._opened(self._account(account_id))

    async def list_accounts(self) -> list[Account]:
        """Return every account, oldest first."""
        return [self._opened(account) for account in oldest_first(self._accounts.values())]

    async def update_account(self, account: Account) -> None:
        """Replace an existing account."""
        self._account(account.id)
        self._accounts[account.id] = self._sealed(account)

    async def swap_account_secret(self, account_id: str, expected: str, secret: str) -> bool:
        """Replace the secret only if it is still ``expected``; no await in between, so the check and set are one."""
        current = self._opened(self._account(account_id))
        if current.secret != expected:
            return False
        self._accounts[account_id] = self._sealed(dataclasses.replace(current, secret=secret))
        return True

    async def delete_account(self, account_id: str) -> None:
        """Delete an account and every MCP server bound to it."""
        self._account(account_id)
        for server in [s for s in self._servers.values() if s.account_id == account_id]:
            self._drop_server(server)
        del self._accounts[account_id]

    # MCP servers

    async def create_mcp_server(self, server: McpServer) -> None:
        """Insert a new MCP server."""
        self._account(server.account_id)
        if server.id in self._servers:
            raise StoreError(f"MCP server {server.id!r} already exists")
        if server.token_hash in self._server_ids_by_hash:
            raise StoreError(f"MCP server {server.id!r}: token hash already in use")
        self._servers[server.id] = server
        self._server_ids_by_hash[server.token_hash] = server.id

    async def get_mcp_server(self, server_id: str) -> McpServer:
        """Return one MCP server, expired or not."""
        return self._server(server_id)

    async def list_mcp_servers(self, account_id: str | None = None) -> list[McpServer]:
        """Return MCP servers (of one account when given), oldest first."""
        servers = self._servers.values()
        return oldest_first(s for s in servers if account_id is None or s.account_id == account_id)

    async def update_mcp_server(self, server: McpServer) -> None:
        """Replace an existing MCP server (its token hash never changes)."""
        current = self._server(server.id)
        if server.token_hash != current.token_hash:
            raise StoreError(f"MCP server {server.id!r}: the token hash cannot change")
        self._account(server.account_id)
        self._servers[server.id] = server

    async def delete_mcp_server(self, server_id: str) -> None:
        """Delete (revoke) an MCP server; its URL dies at once."""
        self._drop_server(self._server(server_id))

    async def find_mcp_server_by_token_hash(self, token_hash: str, now: datetime) -> McpServer | None:
        """Return the live MCP server with this token hash, or None if missing or expired at ``now``."""
        server_id = self._server_ids_by_hash.get(token_hash)
        server = None if server_id is None else self._servers[server_id]
        return None if server is None or is_expired(server.expires_at, now) else server

    async def delete_expired(self, now: datetime) -> int:
        """Delete MCP servers and API tokens expired at ``now``; return how many went."""
        servers = [s for s in self._servers.values() if is_expired(s.expires_at, now)]
        tokens = [t for t in self._api_tokens.values() if is_expired(t.expires_at, now)]
        for server in servers:
            self._drop_server(server)
        for token in tokens:
            self._drop_api_token(token)
        return len(servers) + len(tokens)

    # API tokens

    async def create_api_token(self, token: ApiToken) -> None:
        """Insert a new API token."""
        if token.id in self._api_tokens:
            raise StoreError(f"API token {token.id!r} already exists")
        if token.token_hash in self._api_token_ids_by_hash:
            raise StoreError(f"API token {token.id!r}: token hash already in use")
        self._api_tokens[token.id] = token
        self._api_token_ids_by_hash[token.token_hash] = token.id

    async def list_api_tokens(self) -> list[ApiToken]:
        """Return every API token, oldest first."""
        return oldest_first(self._api_tokens.values())

    async def delete_api_token(self, token_id: str) -> None:
        """Delete an API token."""
        token = self._api_tokens.get(token_id)
        if token is None:
            raise NotFound(f"API token {token_id!r} not found")
        self._drop_api_token(token)

    async def find_api_token_by_hash(self, token_hash: str, now: datetime) -> ApiToken | None:
        """Return the live API token with this hash, or None if missing or expired at ``now``."""
        token_id = self._api_token_ids_by_hash.get(token_hash)
        token = None if token_id is None else self._api_tokens[token_id]
        return None if token is None or is_expired(token.expires_at, now) else token

    async def rekey_token(self, kind: TokenKind, record_id: str, old_hash: str, new_hash: str) -> bool:
        """Replace a record's token hash (after a key change); False when it no longer has ``old_hash``."""
        records: dict[str, McpServer] | dict[str, ApiToken]
        records, index = (
            (self._servers, self._server_ids_by_hash)
            if kind == "mcp_server"
            else (self._api_tokens, self._api_token_ids_by_hash)
        )
        record = records.get(record_id)
        if record is None or record.token_hash != old_hash:
            return False
        if new_hash in index:
            raise StoreError(f"{record_id!r}: token hash already in use")
        records[record_id] = dataclasses.replace(record, token_hash=new_hash)  # type: ignore[assignment]
        del index[old_hash]
        index[new_hash] = record_id
        return True

    # Audit log

    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Store audit records."""
        self._audit.update((record.id, record) for record in records)

    async def list_audit(self, filters: AuditFilter, cursor: str | None, limit: int) -> AuditPage:
        """Return audit records newest first (see ``store.audit``); InvalidInput for a cursor not ours."""
        return page_of(self._audit.values(), filters, cursor, limit)

    async def delete_audit_before(self, before: datetime) -> int:
        """Delete audit records older than ``before``; return how many went."""
        old = [record.id for record in self._audit.values() if record.at < before]
        for record_id in old:
            del self._audit[record_id]
        return len(old)

    # Internals

    def _account(self, account_id: str) -> Account:
        account = self._accounts.get(account_id)
        if account is None:
            raise NotFound(f"account {account_id!r} not found")
        return account

    def _server(self, server_id: str) -> McpServer:
        server = self._servers.get(server_id)
        if server is None:
            raise NotFound(f"MCP server {server_id!r} not found")
        return server

    def _drop_server(self, server: McpServer) -> None:
        del self._servers[server.id]
        del self._server_ids_by_hash[server.token_hash]

    def _drop_api_token(self, token: ApiToken) -> None:
        del self._api_tokens[token.id]
        del self._api_token_ids_by_hash[token.token_hash]

    def _sealed(self, account: Account) -> Account:
        return self._cipher.sealed(account)

    def _opened(self, account: Account) -> Account:
        return self._cipher.opened(account)
