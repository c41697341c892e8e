"""Fixtures for the store tests: a real redis-server, one ``store`` per backend, and raw views of data at rest."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Literal, cast

import anyio
import pytest
import redis.asyncio

from confluence_mcp.store.base import Store
from confluence_mcp.store.cipher import Cipher, generate_key
from confluence_mcp.store.memory import MemoryStore
from confluence_mcp.store.redis import RedisStore
from confluence_mcp.store.sqlite import SqliteStore
from tests.support.redis_server import run_redis_server

StoreKind = Literal["memory", "sqlite", "redis"]
RawContents = Callable[[], Awaitable[bytes]]


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio, the loop uvicorn serves on."""
    return "asyncio"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """Start one throwaway redis-server for the session and return its URL."""
    with run_redis_server() as url:
        yield url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """Return a client on an emptied database, for tests that look at raw keys."""
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def cipher() -> Cipher:
    """Return a cipher under a fresh random key."""
    return Cipher.from_key(generate_key())


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """Return a database path whose directory does not exist yet (the store creates it)."""
    return tmp_path / "data" / "confluence-mcp.db"


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store_kind(request: pytest.FixtureRequest) -> StoreKind:
    """Name the backend the contract runs over."""
    return cast(StoreKind, request.param)


@pytest.fixture
async def store(
    store_kind: StoreKind, cipher: Cipher, sqlite_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Store]:
    """Return an open, empty store of each kind, closed after the test."""
    backend: Store
    if store_kind == "memory":
        backend = MemoryStore(cipher=cipher)
    elif store_kind == "sqlite":
        backend = SqliteStore(str(sqlite_path), cipher=cipher)
    else:
        # Asked for only here, so the memory and SQLite runs work where no redis-server can start.
        url: str = request.getfixturevalue("redis_url")
        async with redis.asyncio.Redis.from_url(url) as client:
            await client.flushdb()
        backend = RedisStore(url, cipher=cipher)
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
def raw_contents(store: Store, sqlite_path: Path, request: pytest.FixtureRequest) -> RawContents:
    """Return a function giving everything the store holds at rest, as bytes, bypassing the store."""

    async def memory() -> bytes:
        assert isinstance(store, MemoryStore)
        return repr([dataclasses.astuple(account) for account in store._accounts.values()]).encode()

    async def sqlite() -> bytes:
        # With WAL, fresh writes sit in the -wal file until a checkpoint; read both.
        files = [anyio.Path(sqlite_path), anyio.Path(f"{sqlite_path}-wal")]
        return b"".join([await file.read_bytes() for file in files if await file.exists()])

    async def redis_keys(url: str) -> bytes:
        chunks: list[str | bytes] = []
        async with redis.asyncio.Redis.from_url(url, decode_responses=True) as client:
            async for key in client.scan_iter():
                kind = await client.type(key)
                if kind == "string":
                    chunks += [key, await client.get(key) or ""]
                elif kind == "set":
                    chunks += [key, *await client.smembers(key)]
        return "\n".join(chunk if isinstance(chunk, str) else chunk.decode() for chunk in chunks).encode()

    if isinstance(store, MemoryStore):
        return memory
    if isinstance(store, SqliteStore):
        return sqlite
    return functools.partial(redis_keys, request.getfixturevalue("redis_url"))
