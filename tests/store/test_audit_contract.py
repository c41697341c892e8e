"""The audit-log contract over every store (memory, SQLite, Redis), then what only SQLite or Redis promise."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
import redis.asyncio

from confluence_mcp.errors import InvalidInput
from confluence_mcp.store import redis_audit
from confluence_mcp.store.audit import cursor_for
from confluence_mcp.store.base import AUDIT_PAGE_MAX, AuditFilter, AuditRecord, Store
from confluence_mcp.store.cipher import Cipher
from confluence_mcp.store.redis import RedisStore
from confluence_mcp.store.sqlite import MIGRATIONS, SqliteStore
from tests.store.test_contract import _old_schema_file, _sqlite_scalar

pytestmark = pytest.mark.anyio

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def a_record(
    number: int,
    *,
    at: datetime | None = None,
    actor: str = "mcp_1",
    action: str = "tools/call",
    target: str | None = "list_all_confluence_spaces",
    outcome: str = "ok",
    upstream_status: int | None = 200,
) -> AuditRecord:
    """Return record ``number``, one second after the previous number unless ``at`` is given."""
    return AuditRecord(
        id=f"aud_{number:04d}",
        at=at or T0 + timedelta(seconds=number),
        actor=actor,
        action=action,
        target=target,
        argument_keys=("limit", "cursor"),
        outcome=outcome,  # type: ignore[arg-type]  # the tests pass the three outcomes as text
        reason=None if outcome == "ok" else "InvalidArguments",
        upstream_status=upstream_status,
        duration_ms=1.25,
    )


def a_mix() -> list[AuditRecord]:
    """Return twelve records over two actors, three actions, two tools, every outcome and a tie in time."""
    return [
        a_record(1),
        a_record(2, actor="mcp_2"),
        a_record(3, outcome="error", upstream_status=404),
        a_record(4, target="get_single_confluence_page_by_id"),
        a_record(5, actor="tok_1", action="account.create", target="acc_1", upstream_status=None),
        a_record(6, outcome="refused", upstream_status=None),
        a_record(7, actor="cli", action="api_token.create", target="tok_2", upstream_status=None),
        a_record(8, at=T0 + timedelta(seconds=7)),  # the same instant as 7: the id breaks the tie
        a_record(9, actor="mcp_2", outcome="error", upstream_status=500),
        a_record(10, actor="tok_1", action="account.update", target="acc_1", upstream_status=None),
        a_record(11),
        a_record(12, actor="mcp_2", target="get_single_confluence_page_by_id"),
    ]


EVERYTHING = AuditFilter()


def newest_first(records: list[AuditRecord], filters: AuditFilter = EVERYTHING) -> list[AuditRecord]:
    """Return what a list should answer: the matching records, newest first, ties by id descending."""
    return sorted((r for r in records if filters.matches(r)), key=lambda r: (r.at, r.id), reverse=True)


async def walk(store: Store, filters: AuditFilter, limit: int) -> tuple[list[AuditRecord], int]:
    """Follow next_cursor to the end; return every record seen and how many pages it took."""
    seen: list[AuditRecord] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await store.list_audit(filters, cursor, limit)
        pages += 1
        assert len(page.records) <= limit
        seen.extend(page.records)
        cursor = page.next_cursor
        if cursor is None:
            return seen, pages
        assert pages < 100, "the walk does not end"


# The contract: every test below runs once per store.


async def test_audit_records_read_back_field_for_field_newest_first_ties_by_id(store: Store) -> None:
    """Every field round-trips (None and empty keys too); the list runs newest first, equal times by id."""
    bare = dataclasses.replace(
        a_record(20), target=None, argument_keys=(), reason=None, upstream_status=None, duration_ms=None
    )
    records = [*a_mix(), bare]
    await store.append_audit(records[:5])
    await store.append_audit(records[5:])

    page = await store.list_audit(AuditFilter(), None, 100)

    assert list(page.records) == newest_first(records)
    assert page.next_cursor is None
    assert page.records[0] == bare
    assert [r.id for r in page.records if r.at == T0 + timedelta(seconds=7)] == ["aud_0008", "aud_0007"]


async def test_an_empty_audit_log_lists_nothing_and_an_empty_batch_writes_nothing(store: Store) -> None:
    """Listing an empty log gives no records and no cursor; appending no records is allowed."""
    await store.append_audit([])
    page = await store.list_audit(AuditFilter(), None, 10)
    assert (page.records, page.next_cursor) == ((), None)


@pytest.mark.parametrize(
    "filters",
    [
        AuditFilter(actor="mcp_2"),
        AuditFilter(action="account.create"),
        AuditFilter(actor="mcp_1", action="tools/call", target="get_single_confluence_page_by_id"),
        AuditFilter(outcome="error"),
        AuditFilter(outcome="refused"),
        AuditFilter(upstream_status=404),
        AuditFilter(actor="tok_1", action="account.update"),
        AuditFilter(actor="nobody"),
        AuditFilter(since=T0 + timedelta(seconds=7)),
        AuditFilter(actor="mcp_2", since=T0 + timedelta(seconds=9), outcome="error"),
    ],
    ids=repr,
)
async def test_each_filter_keeps_exactly_the_matching_records(store: Store, filters: AuditFilter) -> None:
    """Actor, action, target, outcome, upstream status and since (inclusive) all narrow the list, and combine."""
    records = a_mix()
    await store.append_audit(records)
    seen, _ = await walk(store, filters, AUDIT_PAGE_MAX)
    assert seen == newest_first(records, filters)


@pytest.mark.parametrize("filters", [AuditFilter(), AuditFilter(actor="mcp_1"), AuditFilter(outcome="ok")], ids=repr)
async def test_following_next_cursor_visits_every_record_once_in_order(store: Store, filters: AuditFilter) -> None:
    """Pages of 2 (and of 1) concatenate into the whole list, tie included; only the last has no cursor."""
    records = a_mix()
    await store.append_audit(records)
    for limit in (1, 2):
        seen, pages = await walk(store, filters, limit)
        assert seen == newest_first(records, filters)
        assert pages >= len(seen) // limit


async def test_records_appended_during_a_walk_do_not_shift_it(store: Store) -> None:
    """A walk that started goes on where it was: newer records appended meanwhile neither repeat nor hide others."""
    records = a_mix()
    await store.append_audit(records)
    first = await store.list_audit(AuditFilter(), None, 4)
    await store.append_audit([a_record(number) for number in range(13, 20)])
    rest: list[AuditRecord] = []
    cursor = first.next_cursor
    while cursor is not None:
        page = await store.list_audit(AuditFilter(), cursor, 4)
        rest.extend(page.records)
        cursor = page.next_cursor
    assert [*first.records, *rest] == newest_first(records)


async def test_appending_a_record_again_changes_nothing(store: Store) -> None:
    """A batch retried after a write that landed leaves one copy of each record."""
    records = a_mix()
    await store.append_audit(records)
    await store.append_audit(records[:3])
    page = await store.list_audit(AuditFilter(), None, AUDIT_PAGE_MAX)
    assert list(page.records) == newest_first(records)


async def test_a_limit_beyond_the_maximum_is_lowered_to_it(store: Store) -> None:
    """Asking for more than AUDIT_PAGE_MAX records gives AUDIT_PAGE_MAX and a cursor to the rest."""
    records = [a_record(number) for number in range(AUDIT_PAGE_MAX + 3)]
    await store.append_audit(records)
    page = await store.list_audit(AuditFilter(), None, AUDIT_PAGE_MAX + 100)
    assert len(page.records) == AUDIT_PAGE_MAX
    assert page.next_cursor is not None
    rest = await store.list_audit(AuditFilter(), page.next_cursor, AUDIT_PAGE_MAX)
    assert [r.id for r in rest.records] == ["aud_0002", "aud_0001", "aud_0000"]


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor", "eyJ4IjoxfQ", cursor_for(("2030-01-01T12:00:00Z", "aud_1")), "A" * 600],
    ids=["text", "other-json", "not-fixed-width-time", "too-long"],
)
async def test_a_cursor_that_is_not_ours_is_invalid_input_naming_cursor(store: Store, cursor: str) -> None:
    """A made-up, foreign or overlong cursor raises InvalidInput with field cursor, and no record leaks."""
    await store.append_audit(a_mix())
    with pytest.raises(InvalidInput, match="cursor") as caught:
        await store.list_audit(AuditFilter(), cursor, 10)
    assert caught.value.field == "cursor"


async def test_delete_audit_before_deletes_exactly_the_older_records_from_every_view(store: Store) -> None:
    """Records strictly older than the cutoff go, from the whole list and from per-actor and per-action lists."""
    records = a_mix()
    await store.append_audit(records)
    cutoff = T0 + timedelta(seconds=7)

    assert await store.delete_audit_before(cutoff) == 6
    assert await store.delete_audit_before(cutoff) == 0

    kept = [r for r in records if r.at >= cutoff]
    for filters in (AuditFilter(), AuditFilter(actor="mcp_2"), AuditFilter(action="tools/call")):
        seen, _ = await walk(store, filters, 3)
        assert seen == newest_first(kept, filters)
    assert await store.delete_audit_before(T0 + timedelta(days=1)) == len(kept)
    assert (await store.list_audit(AuditFilter(actor="tok_1"), None, 10)).records == ()


# SQLite only.


async def test_sqlite_file_of_schema_version_3_upgrades_with_an_empty_audit_log(
    sqlite_path: Path, cipher: Cipher
) -> None:
    """A version-3 file migrates on open to the audit table (outcome CHECKed) and takes records."""
    await _old_schema_file(sqlite_path, 3, [])
    store = SqliteStore(str(sqlite_path), cipher=cipher)
    await store.open()
    try:
        assert (await store.list_audit(AuditFilter(), None, 10)).records == ()
        await store.append_audit([a_record(1)])
        assert (await store.list_audit(AuditFilter(), None, 10)).records == (a_record(1),)
    finally:
        await store.close()

    assert await _sqlite_scalar(sqlite_path, "PRAGMA user_version") == len(MIGRATIONS)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        await _sqlite_scalar(sqlite_path, "UPDATE audit_log SET outcome = 'fine'")


@pytest.mark.parametrize(
    "where",
    ["", "WHERE actor = 'mcp_1' AND (at, id) < ('x', 'y')", "WHERE action = 'tools/call' AND at >= 'x'"],
    ids=["all", "one-actor-after-a-cursor", "one-action-since"],
)
async def test_sqlite_audit_lists_walk_an_index_without_sorting(sqlite_path: Path, cipher: Cipher, where: str) -> None:
    """The newest-first list, whole or of one actor or action, reads an index in order: no scan, no sort."""
    store = SqliteStore(str(sqlite_path), cipher=cipher)
    await store.open()
    await store.close()

    def plan() -> str:
        db = sqlite3.connect(sqlite_path)
        try:
            sql = f"EXPLAIN QUERY PLAN SELECT * FROM audit_log {where} ORDER BY at DESC, id DESC LIMIT 5"  # noqa: S608
            return " | ".join(str(row[3]) for row in db.execute(sql).fetchall())
        finally:
            db.close()

    detail = await anyio.to_thread.run_sync(plan)
    assert "USING INDEX audit_log_" in detail
    assert "TEMP B-TREE" not in detail


# Redis only.


async def test_redis_list_stops_after_its_scan_budget_and_resumes_from_its_cursor(
    redis_client: redis.asyncio.Redis, redis_url: str, cipher: Cipher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filter matching little answers short pages with a cursor once the budget is spent; the walk is complete."""
    monkeypatch.setattr(redis_audit, "_SCAN_BUDGET", 5)
    monkeypatch.setattr(redis_audit, "_CHUNK", 3)
    store = RedisStore(redis_url, cipher=cipher)
    await store.open()
    try:
        records = [a_record(n, outcome="error" if n % 7 == 0 else "ok") for n in range(1, 30)]
        await store.append_audit(records)
        first = await store.list_audit(AuditFilter(outcome="error"), None, 10)
        assert [r.id for r in first.records] == ["aud_0028"]  # 29 to 24 examined: the budget is spent
        assert first.next_cursor is not None
        seen, pages = await walk(store, AuditFilter(outcome="error"), 10)
        assert seen == newest_first(records, AuditFilter(outcome="error"))
        assert pages > 1
    finally:
        await store.close()


async def test_redis_list_reads_through_a_run_of_equal_times_wider_than_a_chunk(
    redis_client: redis.asyncio.Redis, redis_url: str, cipher: Cipher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten records of one instant page by id, even when a chunk holds fewer than the run."""
    monkeypatch.setattr(redis_audit, "_CHUNK", 3)
    store = RedisStore(redis_url, cipher=cipher)
    await store.open()
    try:
        records = [a_record(n, at=T0) for n in range(10)]
        await store.append_audit(records)
        seen, _ = await walk(store, AuditFilter(), 2)
        assert seen == newest_first(records)
    finally:
        await store.close()
