"""The benchmark: the simulator and our server on loopback, a direct call vs our tools/call, side by side.

    .venv/bin/python -m bench.run [--requests 3000] [--repeat 3] [--out bench/results/latest.json]
    .venv/bin/python -m bench.run --against GIT_REF [--requests 3000] [--rounds 6]   # two builds: bench/against.py

Prints a table and writes JSON. Ratios are the figures to quote: absolute numbers move with the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import against
from bench.loadgen import free_port, run_load, run_load_httpx
from bench.seed import seed_store
from bench.servers import (
    HERE,
    Process,
    direct_target,
    page_call,
    report_header,
    rpc,
    rss_mb,
    start_server,
    start_simulator,
    stop,
    warm_up,
    write_config,
)
from confluence_mcp.store.cipher import generate_key


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Run every measurement and return the report."""
    tmp = Path(tempfile.mkdtemp(prefix="confluence-mcp-bench-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    sim, sim_port = await start_simulator(env)
    processes: list[Process] = [sim]
    try:
        key = generate_key()
        db = tmp / "bench.db"
        tokens = await seed_store(db, key, f"http://127.0.0.1:{sim_port}", args.servers)
        config = tmp / "config.yaml"
        our_port = free_port()
        write_config(config, our_port, db, key)
        call = page_call(our_port, tokens["all"])
        ours, startup_s = await start_server(sys.executable, config, our_port, call, env)
        processes.append(ours)
        rss_start = rss_mb(ours.pid)

        direct = direct_target(sim_port)
        await warm_up(direct, call)
        load = run_load_httpx if args.client == "httpx" else run_load
        runs: dict[str, list[dict[str, Any]]] = {}
        for _ in range(args.repeat):
            for concurrency in (1, 16):
                d = await load(direct, concurrency=concurrency, requests=args.requests)
                o = await load(call, concurrency=concurrency, requests=args.requests)
                runs.setdefault(f"c{concurrency}", []).append(
                    {
                        "direct": d.summary("direct"),
                        "ours": o.summary("ours"),
                        "ratio": o.throughput / d.throughput,
                        "added_p50_ms": o.percentile(50) - d.percentile(50),
                    }
                )
        listing = {}
        for name in ("all", "filtered"):
            target = rpc(our_port, tokens[name], "tools/list", {})
            await run_load(target, concurrency=1, requests=50)
            result = await run_load(target, concurrency=1, requests=args.list_requests)
            listing[name] = result.summary(f"tools/list ({name})")
        total_calls = sum(args.requests for _ in range(args.repeat) for _ in (1, 16)) + 401
        if total_calls < 10_000:
            await run_load(call, concurrency=8, requests=10_000 - total_calls)
        rss_after = rss_mb(ours.pid)
    finally:
        await stop(processes)

    def median(key: str, field: str) -> float:
        return float(statistics.median(r[field] for r in runs[key]))

    return {
        **report_header(args.client, args.requests),
        "repeat": args.repeat,
        "throughput_ratio_c1": round(median("c1", "ratio"), 3),
        "throughput_ratio_c16": round(median("c16", "ratio"), 3),
        "added_p50_ms_c1": round(median("c1", "added_p50_ms"), 3),
        "tools_list_p50_ms": listing["all"]["p50_ms"],
        "tools_list_filtered_p50_ms": listing["filtered"]["p50_ms"],
        "startup_s": round(startup_s, 3),
        "rss_mb_with_servers": round(rss_start, 1),
        "rss_mb_after_10k_calls": round(rss_after, 1),
        "mcp_servers_in_store": args.servers,
        "runs": runs,
        "tools_list": listing,
    }


def _print(report: dict[str, Any]) -> None:
    machine = report["machine"]
    client = report["load_client"]
    print(f"\nconfluence-mcp benchmark, {machine['cpus']} CPUs, Python {machine['python']}, client {client}")
    print(f"{'':14}{'direct/s':>10}{'ours/s':>10}{'ratio':>8}{'p50 d':>9}{'p50 o':>9}{'p99 o':>9}")
    for key in ("c1", "c16"):
        for run in report["runs"][key]:
            d, o = run["direct"], run["ours"]
            print(
                f"{'concurrency ' + key[1:]:14}{d['calls_per_s']:>10.1f}{o['calls_per_s']:>10.1f}{run['ratio']:>8.2f}"
                f"{d['p50_ms']:>9.2f}{o['p50_ms']:>9.2f}{o['p99_ms']:>9.2f}"
            )
    print()
    targets = [
        ("throughput ratio, C=1 (>= 0.50)", report["throughput_ratio_c1"], report["throughput_ratio_c1"] >= 0.5),
        ("throughput ratio, C=16 (>= 0.60)", report["throughput_ratio_c16"], report["throughput_ratio_c16"] >= 0.6),
        ("added p50 ms, C=1 (<= 1.0)", report["added_p50_ms_c1"], report["added_p50_ms_c1"] <= 1.0),
        ("tools/list p50 ms (<= 2)", report["tools_list_p50_ms"], report["tools_list_p50_ms"] <= 2),
        ("tools/list filtered p50 ms", report["tools_list_filtered_p50_ms"], True),
        ("start-up s (<= 1.5)", report["startup_s"], report["startup_s"] <= 1.5),
        (
            f"RSS MB, {report['mcp_servers_in_store']} servers (<= 120)",
            report["rss_mb_with_servers"],
            report["rss_mb_with_servers"] <= 120,
        ),
        ("RSS MB after 10k calls", report["rss_mb_after_10k_calls"], True),
    ]
    for label, value, ok in targets:
        print(f"  {label:40} {value:>9}  {'ok' if ok else 'MISSED'}")


def main() -> None:
    """Parse options, run, print and write the report."""
    parser = argparse.ArgumentParser(description="confluence-mcp benchmark")
    parser.add_argument(
        "--against",
        metavar="GIT_REF",
        help="compare this tree with GIT_REF's build, both on one simulator, in alternating rounds",
    )
    parser.add_argument("--requests", type=int, default=3000, help="requests per measured run")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of the direct/ours pair")
    parser.add_argument("--rounds", type=int, default=6, help="with --against: rounds of direct, this, other")
    parser.add_argument("--list-requests", type=int, default=500)
    parser.add_argument("--servers", type=int, default=1000, help="MCP servers in the store")
    parser.add_argument(
        "--client",
        choices=["httpx", "raw"],
        default="httpx",
        help="load client: httpx (as the direct call is defined) or a raw keep-alive socket client",
    )
    parser.add_argument(
        "--out", type=Path, help="JSON report (default bench/results/latest.json; against.json with --against)"
    )
    args = parser.parse_args()
    if args.against is not None:
        against.main(args)
        return
    report = asyncio.run(bench(args))
    _print(report)
    out: Path = args.out or HERE / "results" / "latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
