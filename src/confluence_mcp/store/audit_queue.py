"""The audit queue: calls append records in memory, and one writer task moves them to the store in batches.

Appending costs a deque append and two length checks, so recording never slows a call. The queue is bounded:
when it is full the oldest record is dropped and counted, and the writer logs a warning at most once per
interval. The writer wakes every ``interval`` seconds, or as soon as a batch is full. A batch it has taken
from the queue is written under a shield (with a deadline), so cancelling the writer at shutdown never loses
it, and ``aclose`` then writes what still waits. A batch the store refuses goes back to the front of the queue
and is tried again one interval later; stores ignore a record whose id they hold already.
"""

from __future__ import annotations

import itertools
import logging
import math
import secrets
import time
from collections import deque
from collections.abc import Iterator

import anyio
import anyio.lowlevel

from confluence_mcp.store.base import AuditRecord, Store

__all__ = ["AuditQueue"]

log = logging.getLogger("confluence_mcp.audit")

WRITE_TIMEOUT = 10.0
"""Seconds one batch write may take, at shutdown too, before it counts as failed."""


class AuditQueue:
    """A bounded queue of audit records and the writer that empties it into the store."""

    def __init__(self, *, capacity: int = 10_000, batch_size: int = 200, interval: float = 0.5) -> None:
        self._records: deque[AuditRecord] = deque(maxlen=capacity)
        self._capacity = capacity
        self._batch_size = batch_size
        self._interval = interval
        # Ids unique across processes sharing a store: a random prefix per queue, then a counter.
        self._id_prefix = f"aud_{secrets.token_hex(8)}"
        self._counter = itertools.count()
        self._batch_ready: anyio.Event | None = None  # made by the running writer; set when a batch waits
        self._progress: anyio.Event | None = None  # made by ``drained``; set after each write attempt
        self._in_flight = 0
        self._reported_drops = 0
        self._reported_at = -math.inf
        self.dropped = 0
        """Records dropped since start because the queue was full."""
        self.written = 0
        """Records written to the store since start."""

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[AuditRecord]:
        """Iterate over the waiting records, oldest first (for tests and diagnostics)."""
        return iter(tuple(self._records))

    def new_id(self) -> str:
        """Return a new audit record id."""
        return f"{self._id_prefix}{next(self._counter):010x}"

    def append(self, record: AuditRecord) -> None:
        """Queue ``record`` at once, dropping the oldest one when the queue is full; never blocks."""
        records = self._records
        if len(records) == self._capacity:
            self.dropped += 1  # the deque's maxlen drops the oldest as this one goes in
        records.append(record)
        if len(records) >= self._batch_size and self._batch_ready is not None:
            self._batch_ready.set()

    async def run(self, store: Store) -> None:
        """Write what waits every interval, or as soon as a batch is full, until cancelled."""
        while True:
            self._batch_ready = anyio.Event()
            if len(self._records) < self._batch_size:
                with anyio.move_on_after(self._interval):
                    await self._batch_ready.wait()
            written = await self.flush(store)
            self._report_drops()
            if not written:
                await anyio.sleep(self._interval)  # the store refused: retry later, not in a tight loop

    async def flush(self, store: Store) -> bool:
        """Write every waiting record, a batch at a time; return False when the store refused a batch."""
        records = self._records
        while records:
            batch = [records.popleft() for _ in range(min(self._batch_size, len(records)))]
            self._in_flight = len(batch)
            try:
                with anyio.move_on_after(WRITE_TIMEOUT, shield=True) as scope:
                    await store.append_audit(batch)
                if scope.cancelled_caught:
                    raise TimeoutError(f"no answer within {WRITE_TIMEOUT:g} s")
            except Exception as exc:  # whatever failed, the records stay queued for the next attempt
                self._put_back(batch)
                log.warning(
                    "audit log: writing %d records failed (%s: %s); %d wait for the next attempt",
                    len(batch),
                    type(exc).__name__,
                    exc,
                    len(records),
                )
                return False
            finally:
                self._in_flight = 0
                self._progressed()
            self.written += len(batch)
            await anyio.lowlevel.checkpoint_if_cancelled()  # a cancelled writer stops here; aclose writes the rest
        return True

    async def aclose(self, store: Store) -> None:
        """Write what still waits once the writer has stopped; log how many records could not be written."""
        with anyio.move_on_after(WRITE_TIMEOUT, shield=True):  # shutdown may be a cancellation already
            await self.flush(store)
        if self._records:
            log.warning("audit log: %d records were not written at shutdown", len(self._records))
        self._report_drops(force=True)

    async def drained(self) -> None:
        """Return once no record waits or is being written; the writer is asked not to wait for its interval."""
        while self._records or self._in_flight:
            if self._batch_ready is not None:
                self._batch_ready.set()
            if self._progress is None:
                self._progress = anyio.Event()
            await self._progress.wait()

    def _put_back(self, batch: list[AuditRecord]) -> None:
        waiting = list(self._records)
        self._records.clear()
        self._records.extend(batch)
        self._records.extend(waiting)  # over capacity, the deque drops the oldest: the batch's first
        self.dropped += max(0, len(batch) + len(waiting) - self._capacity)

    def _progressed(self) -> None:
        progress, self._progress = self._progress, None
        if progress is not None:
            progress.set()

    def _report_drops(self, *, force: bool = False) -> None:
        dropped = self.dropped - self._reported_drops
        now = time.monotonic()
        if dropped and (force or now - self._reported_at >= self._interval):
            log.warning(
                "audit log: the queue was full (%d records); dropped the %d oldest since the last warning",
                self._capacity,
                dropped,
            )
            self._reported_drops = self.dropped
            self._reported_at = now
