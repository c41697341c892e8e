"""The soak: mixed reads and writes at concurrency N through our server, upstream faults injected, for a while.

    python -m bench.soak [--seconds 180] [--concurrency 32] [--fault-share 0.05] [--out bench/results/soak.json]

Our server runs as its own process (``confluence-mcp serve``, SQLite store, fair-share caps off, upstream retry
off as by default); the simulator runs in this process behind a write counter, so that its state can be read at
the end. A fault injector keeps about ``--fault-share`` of the simulator's page and search requests answered with
a 500/502/503, a dropped connection, a 429 or cut-off JSON. Agents create and update their own pages (each write
carrying a unique marker) and get, list and search. At the end it reports:

- writes: lost (answered success but not applied exactly once) and duplicated (a marker the simulator received
  or applied twice): both must be 0;
- the server's RSS, sampled every second: growth from the end of warm-up (the first fifth, at least 5 s) to the
  end, which must stay under 10%;
- latency p50/p99 per operation and overall, and every outcome counted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import uvicorn

from bench.loadgen import free_port
from bench.seed import API_TOKEN, EMAIL, seed_store
from bench.servers import HERE, page_call, report_header, rss_mb, start_server, stop, write_config
from bench.soak_load import Agent, Tally, WriteCounter, inject_faults, write_verdict
from confluence_mcp.simulator import create_simulator
from confluence_mcp.simulator.faults import SimulatedDrop
from confluence_mcp.store.cipher import generate_key

RSS_LIMIT = 0.10
"""Largest RSS growth after warm-up that passes."""


class _NoSimulatedDrops(logging.Filter):
    """Keep uvicorn from logging a traceback for every connection the fault plan drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], SimulatedDrop))


@contextlib.asynccontextmanager
async def _serve(app: Any) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn in this process on a free loopback port; yield its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve, [sock])
        with anyio.fail_after(15):
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
    sock.close()


async def _sample_rss(pid: int, samples: list[tuple[float, float]], started: float, until: float) -> None:
    """Append (seconds since start, RSS MB) of process ``pid`` every second until ``until``."""
    while time.monotonic() < until:
        samples.append((time.monotonic() - started, rss_mb(pid)))
        await anyio.sleep(1.0)  # the sampling interval
    samples.append((time.monotonic() - started, rss_mb(pid)))


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _memory(samples: list[tuple[float, float]], warm_up: float) -> dict[str, Any]:
    after = [mb for at, mb in samples if at >= warm_up]
    baseline = after[0]
    end = statistics.mean(after[-3:])
    return {
        "warm_up_seconds": round(warm_up, 1),
        "rss_mb_at_warm_up": round(baseline, 1),
        "rss_mb_at_end": round(end, 1),
        "rss_mb_peak": round(max(after), 1),
        "growth": round(end / baseline - 1, 4),
        "growth_limit": RSS_LIMIT,
        "samples": [[round(at, 1), round(mb, 1)] for at, mb in samples],
    }


def _latency(tally: Tally) -> dict[str, Any]:
    every = [ms for values in tally.latencies_ms.values() for ms in values]
    table = {"all": every, **tally.latencies_ms}
    return {
        name: {"calls": len(v), "p50_ms": round(_percentile(v, 0.50), 2), "p99_ms": round(_percentile(v, 0.99), 2)}
        for name, v in table.items()
    }


_PLAIN_UPSTREAM = "upstream: {allowed_hosts: ['127.0.0.1']}"
_RETRYING_WRITES = (
    "upstream: {allowed_hosts: ['127.0.0.1'], retry: {enabled: true, methods: [POST, PUT], budget_seconds: 5}}"
)


async def run_soak(
    seconds: float, concurrency: int, fault_share: float = 0.05, seed: int = 1, *, retry_writes: bool = False
) -> dict[str, Any]:
    """Run the soak and return its report (see the module docstring).

    ``retry_writes`` makes the server retry POST and PUT after a 429 or 503, which an operator may opt into: the
    duplicates it causes show that the count sees them.
    """
    logging.getLogger("uvicorn.error").addFilter(_NoSimulatedDrops())
    rng = random.Random(seed)
    sim = create_simulator(email=EMAIL, api_token=API_TOKEN, log_limit=1000)
    counter = WriteCounter(sim.app)
    tally = Tally()
    samples: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="confluence-mcp-soak-") as tmp:
        async with _serve(counter) as sim_url:
            key, db, config, port = generate_key(), Path(tmp) / "soak.db", Path(tmp) / "config.yaml", free_port()
            tokens = await seed_store(db, key, sim_url, servers=1)
            write_config(config, port, db, key)
            if retry_writes:
                text = config.read_text(encoding="utf-8")
                assert _PLAIN_UPSTREAM in text, text
                config.write_text(text.replace(_PLAIN_UPSTREAM, _RETRYING_WRITES), encoding="utf-8")
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            server, _ = await start_server(sys.executable, config, port, page_call(port, tokens["all"]), env)
            try:
                started = time.monotonic()
                until = started + seconds
                url = f"http://127.0.0.1:{port}/mcp/{tokens['all']}"
                limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
                injected: list[int] = []
                async with httpx.AsyncClient(limits=limits, timeout=120) as client, anyio.create_task_group() as tasks:
                    tasks.start_soon(_sample_rss, server.pid, samples, started, until)

                    async def faults() -> None:
                        injected.append(await inject_faults(sim, counter, fault_share, until, rng))

                    tasks.start_soon(faults)
                    for index in range(concurrency):
                        agent = Agent(client, url, tally, random.Random(seed * 1000 + index))
                        tasks.start_soon(agent.run, until)
                elapsed = time.monotonic() - started
            finally:
                await stop([server])
        faults_left = len(sim.faults)  # injected but never met by a request before the end
        sim.faults.clear()
    calls = sum(len(v) for v in tally.latencies_ms.values())
    return {
        **report_header("httpx, one AsyncClient, one connection per agent", calls),
        "seconds": round(elapsed, 1),
        "concurrency": concurrency,
        "fault_share": fault_share,
        "faults_injected": injected[0] if injected else 0,
        "faults_left_unused": faults_left,
        "upstream_requests": counter.requests,
        "calls": calls,
        "calls_per_second": round(calls / elapsed, 1),
        "writes": write_verdict(tally, counter, sim),
        "memory": _memory(samples, warm_up=max(5.0, seconds / 5)),
        "latency": _latency(tally),
        "outcomes": dict(sorted(tally.outcomes.items())),
    }


def passed(report: dict[str, Any]) -> bool:
    """Return whether the soak held: no write lost or duplicated, RSS growth under the limit."""
    writes = report["writes"]
    return bool(writes["lost"] == 0 and writes["duplicated"] == 0 and report["memory"]["growth"] < RSS_LIMIT)


def main() -> None:
    """Run the soak, print the headline figures, write the JSON report; exit 1 when it did not hold."""
    parser = argparse.ArgumentParser(description="soak our server with mixed calls and upstream faults")
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--fault-share", type=float, default=0.05)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "soak.json")
    args = parser.parse_args()
    report = asyncio.run(run_soak(args.seconds, args.concurrency, args.fault_share))
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    writes, memory, latency = report["writes"], report["memory"], report["latency"]["all"]
    print(
        f"{report['calls']} calls in {report['seconds']} s at C={report['concurrency']} "
        f"({report['calls_per_second']}/s), {report['faults_injected']} upstream faults injected\n"
        f"writes: {writes['writes']} ({writes['answered_ok']} ok, {writes['answered_error']} errors, "
        f"{writes['answered_error_but_applied_once']} of those applied once); "
        f"lost {writes['lost']}, duplicated {writes['duplicated']}\n"
        f"RSS {memory['rss_mb_at_warm_up']} MB after warm-up -> {memory['rss_mb_at_end']} MB "
        f"({memory['growth']:+.1%}, peak {memory['rss_mb_peak']} MB)\n"
        f"latency p50 {latency['p50_ms']} ms, p99 {latency['p99_ms']} ms; report in {args.out}"
    )
    sys.exit(0 if passed(report) else 1)


if __name__ == "__main__":
    main()
