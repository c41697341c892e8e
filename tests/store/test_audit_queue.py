"""The audit queue and its writer: bounded, never blocking, batched, retried, flushed at shutdown."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import anyio
import pytest

from confluence_mcp.errors import StoreError
from confluence_mcp.store.audit_queue import AuditQueue
from confluence_mcp.store.base import AuditFilter, AuditRecord
from confluence_mcp.store.cipher import Cipher
from confluence_mcp.store.memory import MemoryStore

pytestmark = pytest.mark.anyio

DEADLINE = 5.0
"""Seconds any awaited effect may take; an interval of an hour means only a full batch wakes the writer."""
HOUR = 3600.0


def record(queue: AuditQueue, number: int) -> AuditRecord:
    """Return a tool-call record numbered in its target, with an id from ``queue``."""
    return AuditRecord(queue.new_id(), datetime.now(UTC), "mcp_1", "tools/call", f"tool_{number}", (), "ok")


class FlakyStore(MemoryStore):
    """A memory store whose audit writes fail while ``failing``, and can be held on a gate."""

    def __init__(self, cipher: Cipher) -> None:
        super().__init__(cipher=cipher)
        self.failing = False
        self.gate: anyio.Event | None = None
        self.entered = anyio.Event()
        self.batches: list[int] = []

    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Refuse while failing; wait for the gate when there is one; then store the batch."""
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.failing:
            raise StoreError("the store is down")
        self.batches.append(len(records))
        await super().append_audit(records)


async def stored_targets(store: MemoryStore) -> list[str | None]:
    """Return the targets of every stored record, oldest first."""
    page = await store.list_audit(AuditFilter(), None, 500)
    return [r.target for r in reversed(page.records)]


@pytest.fixture
def store(cipher: Cipher) -> FlakyStore:
    """Return a flaky memory store that works until told otherwise."""
    return FlakyStore(cipher)


async def test_a_full_queue_drops_the_oldest_counts_them_and_never_blocks(
    store: FlakyStore, caplog: pytest.LogCaptureFixture
) -> None:
    """Appending past capacity keeps the newest records, counts every drop and logs one warning for them."""
    queue = AuditQueue(capacity=3, batch_size=100, interval=HOUR)
    for number in range(8):
        queue.append(record(queue, number))  # no await: appending cannot block

    assert queue.dropped == 5
    assert [r.target for r in queue] == ["tool_5", "tool_6", "tool_7"]
    with caplog.at_level(logging.WARNING, logger="confluence_mcp.audit"):
        await queue.aclose(store)
        await queue.aclose(store)
    assert await stored_targets(store) == ["tool_5", "tool_6", "tool_7"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "confluence_mcp.audit"]
    assert warnings == ["audit log: the queue was full (3 records); dropped the 5 oldest since the last warning"]


async def test_the_writer_logs_drops_at_most_once_per_interval(
    store: FlakyStore, caplog: pytest.LogCaptureFixture
) -> None:
    """Drops over many writer rounds inside one interval give one warning, not one per round."""
    queue = AuditQueue(capacity=2, batch_size=2, interval=HOUR)
    with caplog.at_level(logging.WARNING, logger="confluence_mcp.audit"):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(queue.run, store)
            for burst in range(3):
                for number in range(5):  # more than capacity before the writer runs: 3 dropped per burst
                    queue.append(record(queue, burst * 10 + number))
                with anyio.fail_after(DEADLINE):
                    await queue.drained()
            tasks.cancel_scope.cancel()
    assert queue.dropped == 9
    assert len([r for r in caplog.records if r.name == "confluence_mcp.audit"]) == 1


async def test_a_full_batch_is_written_without_waiting_for_the_interval(store: FlakyStore) -> None:
    """With an hour-long interval, the batch_size-th record wakes the writer, which writes the batch at once."""
    queue = AuditQueue(batch_size=3, interval=HOUR)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(queue.run, store)
        await anyio.wait_all_tasks_blocked()
        for number in range(3):
            queue.append(record(queue, number))
        with anyio.fail_after(DEADLINE):
            while not store.batches:
                await store.entered.wait()
                await anyio.wait_all_tasks_blocked()
        tasks.cancel_scope.cancel()
    assert store.batches == [3]
    assert queue.written == 3


async def test_a_partial_batch_is_written_after_the_interval(store: FlakyStore) -> None:
    """Fewer records than a batch wait for the interval, then go in one write."""
    queue = AuditQueue(batch_size=100, interval=0.05)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(queue.run, store)
        queue.append(record(queue, 1))
        queue.append(record(queue, 2))
        with anyio.fail_after(DEADLINE):
            await store.entered.wait()
            await queue.drained()
        tasks.cancel_scope.cancel()
    assert store.batches == [2]
    assert await stored_targets(store) == ["tool_1", "tool_2"]


async def test_a_batch_the_store_refuses_is_kept_and_written_once_it_recovers(
    store: FlakyStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed write logs a warning and puts the batch back in front; the next attempt writes it, in order."""
    queue = AuditQueue(batch_size=2, interval=HOUR)
    store.failing = True
    for number in range(3):
        queue.append(record(queue, number))
    with caplog.at_level(logging.WARNING, logger="confluence_mcp.audit"):
        assert await queue.flush(store) is False
    assert [r.target for r in queue] == ["tool_0", "tool_1", "tool_2"]
    assert "writing 2 records failed (StoreError: the store is down); 3 wait" in caplog.text

    store.failing = False
    assert await queue.flush(store) is True
    assert await stored_targets(store) == ["tool_0", "tool_1", "tool_2"]
    assert (len(queue), queue.written, queue.dropped) == (0, 3, 0)


async def test_putting_a_refused_batch_back_into_a_full_queue_drops_the_oldest(store: FlakyStore) -> None:
    """Records that arrived while the write failed keep their place; the oldest of the batch make room."""
    queue = AuditQueue(capacity=3, batch_size=2, interval=HOUR)
    store.failing = True
    store.gate = anyio.Event()
    for number in range(2):
        queue.append(record(queue, number))
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(queue.flush, store)
        await store.entered.wait()
        for number in range(2, 4):  # arrive while the batch is out: the queue holds them alone
            queue.append(record(queue, number))
        store.gate.set()
    assert [r.target for r in queue] == ["tool_1", "tool_2", "tool_3"]
    assert queue.dropped == 1


async def test_cancelling_the_writer_mid_write_still_writes_that_batch_and_aclose_writes_the_rest(
    store: FlakyStore,
) -> None:
    """Shutdown cancels the writer while a batch is out: the batch lands, and aclose writes what waited behind it."""
    queue = AuditQueue(batch_size=2, interval=HOUR)
    store.gate = anyio.Event()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(queue.run, store)
        for number in range(3):
            queue.append(record(queue, number))
        with anyio.fail_after(DEADLINE):
            await store.entered.wait()
        tasks.cancel_scope.cancel()  # the write is shielded: cancelling waits for it
        store.gate.set()
    assert await stored_targets(store) == ["tool_0", "tool_1"]
    await queue.aclose(store)
    assert await stored_targets(store) == ["tool_0", "tool_1", "tool_2"]


async def test_record_ids_are_unique_within_a_queue_and_across_queues() -> None:
    """Two queues (two processes on one store) never hand out the same id."""
    first, second = AuditQueue(), AuditQueue()
    ids = [first.new_id() for _ in range(1000)] + [second.new_id() for _ in range(1000)]
    assert len(set(ids)) == len(ids)
