"""The benchmark: the simulator and our server on loopback, a direct call vs our tools/call, side by side.

    .venv/bin/python -m bench.run [--requests 3000] [--repeat 3] [--out bench/results/latest.json]

Prints a table and writes JSON. Ratios are the figures to quote: absolute numbers move with the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.loadgen import Result, Target, free_port, run_load, run_load_httpx, wait_for_port
from confluence_mcp.simulator import SEED
from confluence_mcp.store.base import Account, McpServer
from confluence_mcp.store.cipher import Cipher, generate_key
from confluence_mcp.store.sqlite import SqliteStore
from confluence_mcp.store.tokens import hash_token, mint_mcp_token, new_id

HERE = Path(__file__).resolve().parent
EMAIL, API_TOKEN = "agent@example.com", "sim-token"
PAGE_ID = SEED.release_checklist_id
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _wait_sdk_ready(port: int, deadline: float) -> None:
    """Wait until the server reports its MCP SDK loaded, so no measurement overlaps the import."""
    health = Target.build("127.0.0.1", port, "GET", "/healthz", {})
    while True:
        result = await run_load(health, concurrency=1, requests=1)
        if b'"sdk":"ready"' in result.last_body:
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the server's MCP SDK did not load")
        await asyncio.sleep(0.05)


async def _seed_store(db: Path, key: str, sim_url: str, servers: int) -> dict[str, str]:
    store = SqliteStore(str(db), cipher=Cipher.from_key(key))
    await store.open()
    now = datetime.now(UTC)
    account = Account(new_id("acc"), "bench", sim_url, "basic", EMAIL, API_TOKEN, None, now, now)
    await store.create_account(account)
    tokens: dict[str, str] = {}
    filters = {"all": ((), ()), "filtered": (("read",), ("pages",))}
    for index in range(servers):
        token = mint_mcp_token()
        name = list(filters)[index] if index < len(filters) else f"s{index}"
        methods, tags = filters.get(name, ((), ()))
        await store.create_mcp_server(
            McpServer(new_id("mcp"), name, account.id, hash_token(token), methods, tags, False, None, now, now)
        )
        if name in filters:
            tokens[name] = token
    await store.close()
    return tokens


def _rpc(port: int, token: str, method: str, params: dict[str, Any]) -> Target:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    return Target.build("127.0.0.1", port, "POST", f"/mcp/{token}", MCP_HEADERS, body)


def _row(label: str, result: Result) -> dict[str, Any]:
    return {
        "label": label,
        "calls_per_s": round(result.throughput, 1),
        "p50_ms": round(result.percentile(50), 3),
        "p99_ms": round(result.percentile(99), 3),
        "errors": result.errors,
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Run every measurement and return the report."""
    tmp = Path(tempfile.mkdtemp(prefix="confluence-mcp-bench-"))
    sim_port, our_port = free_port(), free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    sim = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "serve_simulator.py"), "--port", str(sim_port), env=env
    )
    processes = [sim]
    try:
        await wait_for_port(sim_port, time.monotonic() + 20)
        key = generate_key()
        db = tmp / "bench.db"
        tokens = await _seed_store(db, key, f"http://127.0.0.1:{sim_port}", args.servers)
        config = tmp / "config.yaml"
        config.write_text(
            f"log_level: warning\nserver: {{port: {our_port}}}\nstore: {{url: 'sqlite:///{db}'}}\n"
            f"secrets: {{key: '{key}'}}\n",
            encoding="utf-8",
        )
        call = _rpc(
            our_port,
            tokens["all"],
            "tools/call",
            {"name": "get_single_confluence_page_by_id", "arguments": {"id": PAGE_ID}},
        )
        started = time.monotonic()
        ours = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "confluence_mcp", "serve", "--config", str(config), env=env
        )
        processes.append(ours)
        await wait_for_port(our_port, started + 30)
        first = await run_load(call, concurrency=1, requests=1)
        if first.errors or b'"isError":false' not in first.last_body:
            raise RuntimeError(f"first tools/call failed: {first.last_status} {first.last_body[:300]!r}")
        startup_s = time.monotonic() - started
        await _wait_sdk_ready(our_port, time.monotonic() + 30)
        rss_start = _rss_mb(ours.pid)

        basic = base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
        direct = Target.build(
            "127.0.0.1",
            sim_port,
            "GET",
            f"/wiki/api/v2/pages/{PAGE_ID}",
            {"Authorization": f"Basic {basic}", "Accept": "application/json"},
        )
        await run_load(direct, concurrency=4, requests=400)
        await run_load(call, concurrency=4, requests=400)
        load = run_load_httpx if args.client == "httpx" else run_load
        runs: dict[str, list[dict[str, Any]]] = {}
        for _ in range(args.repeat):
            for concurrency in (1, 16):
                d = await load(direct, concurrency=concurrency, requests=args.requests)
                o = await load(call, concurrency=concurrency, requests=args.requests)
                runs.setdefault(f"c{concurrency}", []).append(
                    {
                        "direct": _row("direct", d),
                        "ours": _row("ours", o),
                        "ratio": o.throughput / d.throughput,
                        "added_p50_ms": o.percentile(50) - d.percentile(50),
                    }
                )
        listing = {}
        for name in ("all", "filtered"):
            target = _rpc(our_port, tokens[name], "tools/list", {})
            await run_load(target, concurrency=1, requests=50)
            result = await run_load(target, concurrency=1, requests=args.list_requests)
            listing[name] = _row(f"tools/list ({name})", result)
        total_calls = sum(args.requests for _ in range(args.repeat) for _ in (1, 16)) + 401
        if total_calls < 10_000:
            await run_load(call, concurrency=8, requests=10_000 - total_calls)
        rss_after = _rss_mb(ours.pid)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            await asyncio.wait_for(process.wait(), timeout=10)

    def median(key: str, field: str) -> float:
        return float(statistics.median(r[field] for r in runs[key]))

    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "load_client": args.client,
        "requests_per_run": args.requests,
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
    parser.add_argument("--requests", type=int, default=3000, help="requests per measured run")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of the direct/ours pair")
    parser.add_argument("--list-requests", type=int, default=500)
    parser.add_argument("--servers", type=int, default=1000, help="MCP servers in the store")
    parser.add_argument(
        "--client",
        choices=["httpx", "raw"],
        default="httpx",
        help="load client: httpx (as the direct call is defined) or a raw keep-alive socket client",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = parser.parse_args()
    report = asyncio.run(bench(args))
    _print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
