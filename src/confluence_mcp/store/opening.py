"""``open_store(url)``: the store named by a URL, importing only the backend that URL chooses."""

from __future__ import annotations

from confluence_mcp.errors import ConfigError
from confluence_mcp.store.base import Store
from confluence_mcp.store.cipher import Cipher


def open_store(url: str, *, cipher: Cipher) -> Store:
    """Build (not yet open) the store for ``url``: ``memory://``, ``sqlite:///path`` or ``redis://…``."""
    if url.startswith("memory://"):
        from confluence_mcp.store.memory import MemoryStore

        return MemoryStore(cipher=cipher)
    if url.startswith("sqlite://"):
        from confluence_mcp.store.sqlite import SqliteStore

        # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy spells them.
        return SqliteStore(url.removeprefix("sqlite:///"), cipher=cipher)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from confluence_mcp.store.redis import RedisStore  # imported only when chosen

        return RedisStore(url, cipher=cipher)
    raise ConfigError(
        f"store.url: unsupported scheme in {url!r}; use memory://, sqlite:///PATH or redis://HOST:PORT/DB"
    )
