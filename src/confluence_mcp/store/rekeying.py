"""Moving stored token hashes to the current key: unkeyed SHA-256 digests need no token, so they move in bulk."""

from __future__ import annotations

from confluence_mcp.store.base import ApiToken, McpServer, Store, TokenKind
from confluence_mcp.store.tokens import TokenHasher

__all__ = ["rekey_unkeyed"]


async def rekey_unkeyed(store: Store, hasher: TokenHasher) -> tuple[int, int]:
    """Re-key every unkeyed token hash in ``store``; return how many moved and how many remain under retired keys.

    Safe to run from several processes at once: each move happens only if the record still has the old hash.
    """
    records: list[McpServer | ApiToken] = [*await store.list_mcp_servers(), *await store.list_api_tokens()]
    moved = retired = 0
    for record in records:
        if hasher.is_current(record.token_hash):
            continue
        keyed = hasher.from_unkeyed(record.token_hash)
        if keyed is None:
            retired += 1  # made under a retired key: only the token itself can re-key it, when next used
            continue
        kind: TokenKind = "mcp_server" if isinstance(record, McpServer) else "api_token"
        if await store.rekey_token(kind, record.id, record.token_hash, keyed):
            moved += 1
    return moved, retired
