"""A short soak (bench/soak.py for ~15 s): mixed calls at concurrency 32 with upstream faults, through the server.

No timing is asserted: only that no write is lost or duplicated (counted in the simulator) and that the server's
memory stays flat after warm-up.
"""

from __future__ import annotations

import pytest

from bench.soak import RSS_LIMIT, run_soak

pytestmark = pytest.mark.anyio

SECONDS = 15


async def test_a_short_soak_with_faults_loses_and_duplicates_no_write_and_memory_stays_flat() -> None:
    """Creates and updates under 5xx, drops, 429s and cut JSON: 0 lost, 0 duplicated, RSS growth under 10%."""
    report = await run_soak(SECONDS, concurrency=32, fault_share=0.05)
    writes, outcomes = report["writes"], report["outcomes"]
    assert report["faults_injected"] > 0, report
    assert writes["answered_ok"] > 50, writes  # enough writes succeeded for the count to mean something
    assert writes["answered_error"] > 0, writes  # and some met a fault
    assert writes["lost"] == 0, writes
    assert writes["duplicated"] == 0, writes
    assert writes["applied_without_being_sent"] == 0, writes
    assert not [outcome for outcome in outcomes if "HTTP" in outcome or "JSON-RPC" in outcome], outcomes
    assert report["memory"]["growth"] < RSS_LIMIT, report["memory"]


async def test_the_soak_counts_the_duplicates_of_an_operator_who_retries_writes() -> None:
    """With retries of POST and PUT opted into, 503s and 429s make the server send writes twice: the soak sees it."""
    report = await run_soak(6, concurrency=16, fault_share=0.1, retry_writes=True)
    assert report["faults_injected"] > 0, report
    assert report["writes"]["duplicated"] > 0, report["writes"]
