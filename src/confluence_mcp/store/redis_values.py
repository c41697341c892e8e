"""Small pieces both Redis modules use: reply text, MULTI, key expiry at an instant, a URL fit for messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio.client import Pipeline

__all__ = ["expire_at", "multi", "redacted", "text"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def multi(pipe: Pipeline) -> None:
    """End the WATCH phase: the commands that follow are queued and run atomically by ``execute``."""
    pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves multi() unannotated


def text(value: str | bytes) -> str:
    """Return a reply as text: clients are made with decode_responses=True, which redis-py's types cannot know."""
    return value if isinstance(value, str) else value.decode("utf-8")


def expire_at(pipe: Pipeline, keys: tuple[str, ...], expires_at: datetime | None) -> None:
    """Queue PEXPIREAT for ``keys`` at ``expires_at`` (rounded up to the millisecond), or PERSIST when None."""
    for key in keys:
        if expires_at is None:
            pipe.persist(key)
        else:
            pipe.pexpireat(key, -((_EPOCH - expires_at) // _MILLISECOND))


def redacted(url: str) -> str:
    """Return ``url`` without its password, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))
