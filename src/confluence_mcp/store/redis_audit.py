"""The Redis store's audit log: records in one hash, their ids in sorted sets scored by time.

Key layout (``P`` is the store's key prefix)::

    P audit-records             hash: record id -> JSON record
    P audit                     sorted set of every record id, scored by its time in epoch microseconds
    P audit-actor:{actor}       sorted set of one actor's record ids, scored alike
    P audit-action:{action}     sorted set of one action's record ids, scored alike
    P audit-indexes             set of the per-actor and per-action key names, for the retention sweep

Redis orders equal scores by member, so a sorted set's reverse order is the list order (``at``, then ``id``,
descending). A list reads the narrowest index its filter allows (actor, else action, else all) newest first and
checks the other fields on each record; it stops after examining ``_SCAN_BUDGET`` records, which bounds the
work of a filter that matches little, and then says where to resume.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

import redis.asyncio

from confluence_mcp.store.audit import Position, cursor_after, cursor_for, cursor_position
from confluence_mcp.store.base import AUDIT_PAGE_MAX, AuditFilter, AuditPage, AuditRecord, utc_text
from confluence_mcp.store.records_json import dump_audit, load_audit
from confluence_mcp.store.redis_values import text

__all__ = ["RedisAuditLog"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SCAN_BUDGET = 5000
"""Records one list call examines at most before it answers with what it found and a cursor."""
_CHUNK = 500
_DELETE_BATCH = 1000


class RedisAuditLog:
    """Appends, lists and deletes audit records under one key prefix; the store passes its client in."""

    def __init__(self, key_prefix: str) -> None:
        self._prefix = key_prefix
        self._records = f"{key_prefix}audit-records"
        self._all = f"{key_prefix}audit"
        self._indexes = f"{key_prefix}audit-indexes"

    async def append(self, client: redis.asyncio.Redis, records: Sequence[AuditRecord]) -> None:
        """Write a batch in one MULTI/EXEC: the records and every index they belong to."""
        if not records:
            return
        by_index: dict[str, dict[str, int]] = {self._all: {}}
        for record in records:
            score = _micros(record.at)
            by_index[self._all][record.id] = score
            by_index.setdefault(self._actor_key(record.actor), {})[record.id] = score
            by_index.setdefault(self._action_key(record.action), {})[record.id] = score
        async with client.pipeline(transaction=True) as pipe:
            pipe.hset(self._records, mapping={record.id: dump_audit(record) for record in records})
            for key, members in by_index.items():
                pipe.zadd(key, members)
            pipe.sadd(self._indexes, *(key for key in by_index if key != self._all))
            await pipe.execute()

    async def page(
        self, client: redis.asyncio.Redis, filters: AuditFilter, cursor: str | None, limit: int
    ) -> AuditPage:
        """Return the records ``filters`` keeps, newest first, after ``cursor``."""
        limit = max(1, min(limit, AUDIT_PAGE_MAX))
        position: Position | None = cursor_position(cursor) if cursor is not None else None
        if filters.actor is not None:
            index = self._actor_key(filters.actor)
        elif filters.action is not None:
            index = self._action_key(filters.action)
        else:
            index = self._all
        floor: int | str = "-inf" if filters.since is None else _micros(filters.since)
        chunk = min(_CHUNK, limit + 1)
        found: list[AuditRecord] = []
        examined = skip = 0
        while True:
            ceiling: int | str = "+inf" if position is None else _micros(datetime.fromisoformat(position[0]))
            entries = cast(
                list[tuple[str, float]],
                await client.zrevrangebyscore(index, ceiling, floor, start=skip, num=chunk, withscores=True),
            )
            fresh = [(text(member), int(score)) for member, score in entries]
            if position is not None:
                at_micros = _micros(datetime.fromisoformat(position[0]))
                fresh = [(m, s) for m, s in fresh if (s, m) < (at_micros, position[1])]
            if entries and not fresh:  # a run of equal times wider than one chunk: read further into it
                skip += len(entries)
                continue
            skip = 0
            payloads = await client.hmget(self._records, [member for member, _ in fresh]) if fresh else []
            for (member, score), payload in zip(fresh, payloads, strict=True):
                examined += 1
                position = (utc_text(_EPOCH + score * _MICROSECOND), member)
                if payload is None:  # deleted by the retention sweep since the index was read
                    continue
                record = load_audit(payload)
                if filters.matches(record):
                    found.append(record)
                    if len(found) > limit:
                        return AuditPage(tuple(found[:limit]), cursor_after(found[limit - 1]))
            if len(entries) < chunk:
                return AuditPage(tuple(found), None)
            if examined >= _SCAN_BUDGET:
                assert position is not None  # something was examined
                return AuditPage(tuple(found), cursor_for(position))
            chunk = _CHUNK

    async def delete_before(self, client: redis.asyncio.Redis, before: datetime) -> int:
        """Delete records older than ``before`` from the hash and every index; return how many went."""
        below = f"({_micros(before)}"
        total = 0
        while True:
            ids = await client.zrangebyscore(self._all, "-inf", below, start=0, num=_DELETE_BATCH)
            if not ids:
                break
            async with client.pipeline(transaction=True) as pipe:
                pipe.hdel(self._records, *ids)
                pipe.zrem(self._all, *ids)
                await pipe.execute()
            total += len(ids)
        indexes = await client.smembers(self._indexes)
        if indexes:
            async with client.pipeline(transaction=False) as pipe:
                for key in indexes:
                    pipe.zremrangebyscore(text(key), "-inf", below)
                await pipe.execute()
        return total

    def _actor_key(self, actor: str) -> str:
        return f"{self._prefix}audit-actor:{actor}"

    def _action_key(self, action: str) -> str:
        return f"{self._prefix}audit-action:{action}"


def _micros(moment: datetime) -> int:
    """Return ``moment`` in epoch microseconds: exact as a Redis score (a double) for the next 250 years."""
    return (moment - _EPOCH) // _MICROSECOND
