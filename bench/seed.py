"""Seed a benchmark SQLite store with the build that imports this module: one account on the simulator, N MCP servers.

    python -m bench.seed --db PATH --sim-url URL [--servers 1000]

Prints JSON: the store key, the tokens of the servers named ``all`` and ``filtered``, and the file of the
``confluence_mcp`` package that wrote the store. ``bench.run --against`` runs it with each build's own interpreter,
so each server reads a store its own code wrote. Imports nothing else from ``bench`` for that reason.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import confluence_mcp
from confluence_mcp.store.base import Account, McpServer
from confluence_mcp.store.cipher import Cipher, generate_key
from confluence_mcp.store.sqlite import SqliteStore
from confluence_mcp.store.tokens import hash_token, mint_mcp_token, new_id

EMAIL, API_TOKEN = "agent@example.com", "sim-token"


async def seed_store(db: Path, key: str, sim_url: str, servers: int) -> dict[str, str]:
    """Write the account and ``servers`` MCP servers; return the tokens of ``all`` and ``filtered``."""
    store = SqliteStore(str(db), cipher=Cipher.from_key(key))
    await store.open()
    now = datetime.now(UTC)
    account = Account(new_id("acc"), "bench", sim_url, "basic", EMAIL, API_TOKEN, None, now, now)
    await store.create_account(account)
    tokens: dict[str, str] = {}
    filters = {"all": ((), ()), "filtered": (("read",), ("pages",))}
    for index in range(servers):
        token = mint_mcp_token()
        name = list(filters)[index] if index < len(filters) else f"s{index}"
        methods, tags = filters.get(name, ((), ()))
        await store.create_mcp_server(
            McpServer(new_id("mcp"), name, account.id, hash_token(token), methods, tags, False, None, now, now)
        )
        if name in filters:
            tokens[name] = token
    await store.close()
    return tokens


def main() -> None:
    """Seed a new store with a fresh key and print what a server and the load client need to use it."""
    parser = argparse.ArgumentParser(description="seed a benchmark store")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--sim-url", required=True)
    parser.add_argument("--servers", type=int, default=1000)
    args = parser.parse_args()
    key = generate_key()
    tokens = asyncio.run(seed_store(args.db, key, args.sim_url, args.servers))
    print(json.dumps({"key": key, "tokens": tokens, "module": confluence_mcp.__file__}))


if __name__ == "__main__":
    main()
