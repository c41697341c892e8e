"""A store on Redis for several processes: JSON records, index keys, and key expiry for expiring records.

Key layout (``P`` is the key prefix, ``cmcp:`` by default)::

    P account:{id}                  JSON account; its secret field holds Fernet text
    P accounts                      set of account ids
    P account-servers:{account_id}  set of the account's MCP server ids
    P server:{id}                   JSON MCP server              } both expire at expires_at
    P server-token:{token_hash}     MCP server id                }
    P api-token:{id}                JSON API token               } both expire at expires_at
    P api-token-hash:{token_hash}   API token id                 }
    P api-tokens                    set of API token ids
    P audit...                      the audit log (see ``store.redis_audit``)

Expiring records vanish by themselves; the ids they leave in the sets are skipped on reads and
removed by ``delete_expired``. Multi-key writes run in MULTI/EXEC under WATCH, retried on conflict.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import redis.asyncio
from redis.asyncio.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from confluence_mcp.errors import NotFound, StoreError, StoreUnavailable
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
from confluence_mcp.store.records_json import dump_record, load_record
from confluence_mcp.store.redis_audit import RedisAuditLog
from confluence_mcp.store.redis_values import expire_at, multi, redacted, text

__all__ = ["RedisStore"]

_ATTEMPTS = 20  # optimistic transactions retried this often before giving up under contention


class RedisStore:
    """Keeps records in one Redis database, shared by every process that points at it."""

    def __init__(self, url: str, *, cipher: Cipher, key_prefix: str = "cmcp:") -> None:
        self._url = url
        self._cipher = cipher
        self._prefix = key_prefix
        self._client: redis.asyncio.Redis | None = None
        self._audit = RedisAuditLog(key_prefix)

    async def open(self) -> None:
        """Connect and check the server answers."""
        client = redis.asyncio.Redis.from_url(self._url, decode_responses=True)
        try:
            await client.ping()
        except RedisError as exc:
            await client.aclose()
            raise StoreError(f"redis store {redacted(self._url)}: cannot connect: {exc}") from exc
        self._client = client

    async def close(self) -> None:
        """Close the connection pool."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # Accounts

    async def create_account(self, account: Account) -> None:
        """Insert a new account."""
        key, payload = self._key("account", account.id), self._account_json(account)

        async def write(pipe: Pipeline) -> None:
            if await pipe.exists(key):
                raise StoreError(f"account {account.id!r} already exists")
            multi(pipe)
            pipe.set(key, payload)
            pipe.sadd(self._key("accounts"), account.id)

        await self._transaction([key], write)

    async def get_account(self, account_id: str) -> Account:
        """Return one account."""
        with self._translated():
            payload = await self._redis.get(self._key("account", account_id))
        if payload is None:
            raise NotFound(f"account {account_id!r} not found")
        return self._account_from_json(payload)

    async def list_accounts(self) -> list[Account]:
        """Return every account, oldest first."""
        payloads = await self._members_records(self._key("accounts"), "account")
        return oldest_first([self._account_from_json(payload) for payload in payloads])

    async def update_account(self, account: Account) -> None:
        """Replace an existing account."""
        with self._translated():
            replaced = await self._redis.set(self._key("account", account.id), self._account_json(account), xx=True)
        if not replaced:
            raise NotFound(f"account {account.id!r} not found")

    async def swap_account_secret(self, account_id: str, expected: str, secret: str) -> bool:
        """Replace the secret only if it is still ``expected``: WATCH the record, compare, write in MULTI/EXEC."""
        key = self._key("account", account_id)
        swapped = False

        async def write(pipe: Pipeline) -> None:
            nonlocal swapped
            payload = await pipe.get(key)
            if payload is None:
                raise NotFound(f"account {account_id!r} not found")
            current = self._account_from_json(payload)
            swapped = current.secret == expected
            if swapped:
                multi(pipe)
                pipe.set(key, self._account_json(dataclasses.replace(current, secret=secret)))

        await self._transaction([key], write)
        return swapped

    async def delete_account(self, account_id: str) -> None:
        """Delete an account and every MCP server bound to it."""
        key, servers_key = self._key("account", account_id), self._key("account-servers", account_id)

        async def write(pipe: Pipeline) -> None:
            if not await pipe.exists(key):
                raise NotFound(f"account {account_id!r} not found")
            server_ids = sorted(map(text, await pipe.smembers(servers_key)))
            server_keys = [self._key("server", server_id) for server_id in server_ids]
            payloads = await pipe.mget(server_keys) if server_keys else []
            multi(pipe)
            pipe.delete(key, servers_key, *server_keys)
            pipe.srem(self._key("accounts"), account_id)
            for payload in payloads:
                if payload is not None:
                    pipe.delete(self._key("server-token", load_record(McpServer, payload).token_hash))

        await self._transaction([key, servers_key], write)

    # MCP servers

    async def create_mcp_server(self, server: McpServer) -> None:
        """Insert a new MCP server."""
        key, token_key = self._key("server", server.id), self._key("server-token", server.token_hash)
        account_key = self._key("account", server.account_id)

        async def write(pipe: Pipeline) -> None:
            if not await pipe.exists(account_key):
                raise NotFound(f"account {server.account_id!r} not found")
            if await pipe.exists(key):
                raise StoreError(f"MCP server {server.id!r} already exists")
            if await pipe.exists(token_key):
                raise StoreError(f"MCP server {server.id!r}: token hash already in use")
            multi(pipe)
            pipe.set(key, dump_record(server))
            pipe.set(token_key, server.id)
            expire_at(pipe, (key, token_key), server.expires_at)
            pipe.sadd(self._key("account-servers", server.account_id), server.id)

        await self._transaction([account_key, key, token_key], write)

    async def get_mcp_server(self, server_id: str) -> McpServer:
        """Return one MCP server, expired or not (until Redis evicts it at its expiry)."""
        with self._translated():
            payload = await self._redis.get(self._key("server", server_id))
        if payload is None:
            raise NotFound(f"MCP server {server_id!r} not found")
        return load_record(McpServer, payload)

    async def list_mcp_servers(self, account_id: str | None = None) -> list[McpServer]:
        """Return MCP servers (of one account when given), oldest first."""
        if account_id is not None:
            payloads = await self._members_records(self._key("account-servers", account_id), "server")
        else:
            with self._translated():
                account_ids = await self._redis.smembers(self._key("accounts"))
                sets = [self._key("account-servers", text(each)) for each in account_ids]
                server_ids = await self._redis.sunion(sets) if sets else set()
                payloads = await self._records("server", server_ids)
        servers = [load_record(McpServer, payload) for payload in payloads]
        return oldest_first([s for s in servers if account_id is None or s.account_id == account_id])

    async def update_mcp_server(self, server: McpServer) -> None:
        """Replace an existing MCP server (its token hash never changes); a cleared expiry persists the keys."""
        key, token_key = self._key("server", server.id), self._key("server-token", server.token_hash)
        account_key = self._key("account", server.account_id)

        async def write(pipe: Pipeline) -> None:
            payload = await pipe.get(key)
            if payload is None:
                raise NotFound(f"MCP server {server.id!r} not found")
            current = load_record(McpServer, payload)
            if current.token_hash != server.token_hash:
                raise StoreError(f"MCP server {server.id!r}: the token hash cannot change")
            if not await pipe.exists(account_key):
                raise NotFound(f"account {server.account_id!r} not found")
            multi(pipe)
            pipe.set(key, dump_record(server))
            expire_at(pipe, (key, token_key), server.expires_at)
            if current.account_id != server.account_id:
                pipe.srem(self._key("account-servers", current.account_id), server.id)
                pipe.sadd(self._key("account-servers", server.account_id), server.id)

        await self._transaction([key, account_key], write)

    async def delete_mcp_server(self, server_id: str) -> None:
        """Delete (revoke) an MCP server; its URL dies at once."""
        key = self._key("server", server_id)

        async def write(pipe: Pipeline) -> None:
            payload = await pipe.get(key)
            if payload is None:
                raise NotFound(f"MCP server {server_id!r} not found")
            self._queue_server_delete(pipe, load_record(McpServer, payload))

        await self._transaction([key], write)

    async def find_mcp_server_by_token_hash(self, token_hash: str, now: datetime) -> McpServer | None:
        """Return the live MCP server with this token hash, or None if missing or expired at ``now``."""
        with self._translated():
            server_id = await self._redis.get(self._key("server-token", token_hash))
            payload = None if server_id is None else await self._redis.get(self._key("server", text(server_id)))
        server = None if payload is None else load_record(McpServer, payload)
        # Redis evicts at its own clock and lazily; ``now`` decides, so an expired record is never served.
        if server is None or server.token_hash != token_hash or is_expired(server.expires_at, now):
            return None
        return server

    async def delete_expired(self, now: datetime) -> int:
        """Delete records expired at ``now`` and forget ids Redis evicted; return how many went."""
        gone = 0
        with self._translated():
            account_ids = sorted(map(text, await self._redis.smembers(self._key("accounts"))))
        for account_id in account_ids:
            gone += await self._sweep(self._key("account-servers", account_id), "server", now)
        return gone + await self._sweep(self._key("api-tokens"), "api-token", now)

    # API tokens

    async def create_api_token(self, token: ApiToken) -> None:
        """Insert a new API token."""
        key, hash_key = self._key("api-token", token.id), self._key("api-token-hash", token.token_hash)

        async def write(pipe: Pipeline) -> None:
            if await pipe.exists(key):
                raise StoreError(f"API token {token.id!r} already exists")
            if await pipe.exists(hash_key):
                raise StoreError(f"API token {token.id!r}: token hash already in use")
            multi(pipe)
            pipe.set(key, dump_record(token))
            pipe.set(hash_key, token.id)
            expire_at(pipe, (key, hash_key), token.expires_at)
            pipe.sadd(self._key("api-tokens"), token.id)

        await self._transaction([key, hash_key], write)

    async def list_api_tokens(self) -> list[ApiToken]:
        """Return every API token, oldest first."""
        payloads = await self._members_records(self._key("api-tokens"), "api-token")
        return oldest_first([load_record(ApiToken, payload) for payload in payloads])

    async def delete_api_token(self, token_id: str) -> None:
        """Delete an API token."""
        key = self._key("api-token", token_id)

        async def write(pipe: Pipeline) -> None:
            payload = await pipe.get(key)
            if payload is None:
                raise NotFound(f"API token {token_id!r} not found")
            self._queue_api_token_delete(pipe, load_record(ApiToken, payload))

        await self._transaction([key], write)

    async def find_api_token_by_hash(self, token_hash: str, now: datetime) -> ApiToken | None:
        """Return the live API token with this hash, or None if missing or expired at ``now``."""
        with self._translated():
            token_id = await self._redis.get(self._key("api-token-hash", token_hash))
            payload = None if token_id is None else await self._redis.get(self._key("api-token", text(token_id)))
        token = None if payload is None else load_record(ApiToken, payload)
        if token is None or token.token_hash != token_hash or is_expired(token.expires_at, now):
            return None
        return token

    async def rekey_token(self, kind: TokenKind, record_id: str, old_hash: str, new_hash: str) -> bool:
        """Replace a record's token hash (after a key change); False when it no longer has ``old_hash``."""
        record_kind, index_kind = (
            ("server", "server-token") if kind == "mcp_server" else ("api-token", "api-token-hash")
        )
        key, old_key, new_key = (
            self._key(record_kind, record_id),
            self._key(index_kind, old_hash),
            self._key(index_kind, new_hash),
        )
        changed: list[bool] = []

        async def write(pipe: Pipeline) -> None:
            changed.clear()
            payload = await pipe.get(key)
            record: McpServer | ApiToken | None = None
            if payload is not None:
                record = load_record(McpServer, payload) if kind == "mcp_server" else load_record(ApiToken, payload)
            if record is None or record.token_hash != old_hash:
                return
            if await pipe.exists(new_key):
                raise StoreError(f"{record_id!r}: token hash already in use")
            multi(pipe)
            pipe.set(key, dump_record(dataclasses.replace(record, token_hash=new_hash)))
            pipe.set(new_key, record_id)
            expire_at(pipe, (key, new_key), record.expires_at)
            pipe.delete(old_key)
            changed.append(True)

        await self._transaction([key, old_key, new_key], write)
        return bool(changed)

    # Audit log

    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Store audit records in one MULTI/EXEC; a record whose id is stored already is written again, unchanged."""
        with self._translated():
            await self._audit.append(self._redis, records)

    async def list_audit(self, filters: AuditFilter, cursor: str | None, limit: int) -> AuditPage:
        """Return audit records newest first (see ``store.audit``); InvalidInput for a cursor not ours."""
        with self._translated():
            return await self._audit.page(self._redis, filters, cursor, limit)

    async def delete_audit_before(self, before: datetime) -> int:
        """Delete audit records older than ``before``; return how many went."""
        with self._translated():
            return await self._audit.delete_before(self._redis, before)

    # Internals

    @property
    def _redis(self) -> redis.asyncio.Redis:
        if self._client is None:
            raise RuntimeError(f"redis store {redacted(self._url)}: not open")
        return self._client

    def _key(self, kind: str, ident: str | None = None) -> str:
        return f"{self._prefix}{kind}" if ident is None else f"{self._prefix}{kind}:{ident}"

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise StoreUnavailable(f"redis store {redacted(self._url)}: {exc}") from exc
        except RedisError as exc:
            raise StoreError(f"redis store {redacted(self._url)}: {exc}") from exc

    async def _transaction(self, watch: list[str], write: Callable[[Pipeline], Awaitable[None]]) -> None:
        """Run ``write`` (reads, then ``multi()`` and queued writes) under WATCH; retry when a key changed."""
        with self._translated():
            async with self._redis.pipeline(transaction=True) as pipe:
                for _ in range(_ATTEMPTS):
                    try:
                        await pipe.watch(*watch)
                        await write(pipe)
                        await pipe.execute()
                    except WatchError:
                        continue  # another writer touched a watched key between our reads and EXEC
                    return
        raise StoreError(f"redis store {redacted(self._url)}: gave up after {_ATTEMPTS} conflicting writes")

    async def _records(self, kind: str, ids: Iterable[str | bytes]) -> list[str | bytes]:
        ordered = sorted(map(text, ids))
        payloads = await self._redis.mget([self._key(kind, each) for each in ordered]) if ordered else []
        return [payload for payload in payloads if payload is not None]

    async def _members_records(self, set_key: str, kind: str) -> list[str | bytes]:
        with self._translated():
            return await self._records(kind, await self._redis.smembers(set_key))

    async def _sweep(self, set_key: str, kind: str, now: datetime) -> int:
        """Delete the set's records expired at ``now`` and drop ids whose record Redis already evicted."""
        with self._translated():
            ids = sorted(map(text, await self._redis.smembers(set_key)))
            payloads = await self._redis.mget([self._key(kind, each) for each in ids]) if ids else []
        evicted = [each for each, payload in zip(ids, payloads, strict=True) if payload is None]
        if evicted:
            with self._translated():
                await self._redis.srem(set_key, *evicted)
        expired = 0
        for payload in payloads:
            if payload is None:
                continue
            record: McpServer | ApiToken = (
                load_record(McpServer, payload) if kind == "server" else load_record(ApiToken, payload)
            )
            if is_expired(record.expires_at, now):
                try:
                    if isinstance(record, McpServer):
                        await self.delete_mcp_server(record.id)
                    else:
                        await self.delete_api_token(record.id)
                except NotFound:
                    continue  # deleted by someone else meanwhile
                expired += 1
        return len(evicted) + expired

    def _queue_server_delete(self, pipe: Pipeline, server: McpServer) -> None:
        multi(pipe)
        pipe.delete(self._key("server", server.id), self._key("server-token", server.token_hash))
        pipe.srem(self._key("account-servers", server.account_id), server.id)

    def _queue_api_token_delete(self, pipe: Pipeline, token: ApiToken) -> None:
        multi(pipe)
        pipe.delete(self._key("api-token", token.id), self._key("api-token-hash", token.token_hash))
        pipe.srem(self._key("api-tokens"), token.id)

    def _account_json(self, account: Account) -> str:
        return dump_record(self._cipher.sealed(account))

    def _account_from_json(self, payload: str | bytes) -> Account:
        return self._cipher.opened(load_record(Account, payload))
