"""Micro-benchmark: CPU and wall time per request, httpx's default transport vs ``LeanTransport``.

    .venv/bin/python -m bench.transport [--requests 3000] [--repeat 5] [--concurrency 1 8] [--loop uvloop] [--out F]

Both sides are an ``httpx.AsyncClient`` with basic auth GETting one simulator page over loopback keep-alive. The
simulator runs in a subprocess, so CPU (``time.process_time``, user plus system) is this process's alone: the
client-side cost of each request. Runs alternate between the two clients; the figures are medians over repeats.
Wall time per request is the latency at concurrency 1 and the inverse of throughput above it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.loadgen import free_port, wait_for_port
from confluence_mcp.simulator import SEED
from confluence_mcp.upstream.transport import LeanTransport

HERE = Path(__file__).resolve().parent
AUTH = ("agent@example.com", "sim-token")
PATH = f"/wiki/api/v2/pages/{SEED.release_checklist_id}"


class Variant:
    """One way of sending the GET: through an AsyncClient, or straight into a bare transport."""

    def __init__(self, url: str, client: httpx.AsyncClient | None = None, bare: LeanTransport | None = None) -> None:
        self.url = url
        self.client = client
        self.bare = bare
        basic = base64.b64encode(":".join(AUTH).encode()).decode()
        self.headers = {"Authorization": f"Basic {basic}", "Accept": "*/*"}

    async def get(self) -> int:
        """Send the GET, read the body, and return the status."""
        if self.client is not None:
            return (await self.client.get(self.url)).status_code
        assert self.bare is not None
        answer = await self.bare.handle_async_request(httpx.Request("GET", self.url, headers=self.headers))
        await answer.aread()
        return answer.status_code

    async def aclose(self) -> None:
        """Close whatever this variant opened."""
        if self.client is not None:
            await self.client.aclose()
        if self.bare is not None:
            await self.bare.aclose()


def _variants(url: str) -> dict[str, Variant]:
    return {
        "default": Variant(url, client=httpx.AsyncClient(auth=AUTH)),
        "lean": Variant(url, client=httpx.AsyncClient(auth=AUTH, transport=LeanTransport())),
        # The transport alone: what remains of "lean" above is the AsyncClient layer (auth, cookies, hooks).
        "lean, no client": Variant(url, bare=LeanTransport()),
    }


async def _measure(variant: Variant, requests: int, concurrency: int) -> tuple[float, float]:
    """Send ``requests`` GETs from ``concurrency`` workers; return (CPU µs, wall µs) per request."""
    per_worker = requests // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            status = await variant.get()
            if status != 200:
                raise RuntimeError(f"the simulator answered {status}")

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    sent = per_worker * concurrency
    return (time.process_time() - cpu) / sent * 1e6, (time.perf_counter() - wall) / sent * 1e6


async def bench(args: argparse.Namespace, port: int) -> dict[str, Any]:
    """Run every measurement against the simulator on ``port`` and return the report."""
    url = f"http://127.0.0.1:{port}{PATH}"
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {}
    await wait_for_port(port, time.monotonic() + 20)
    variants = _variants(url)
    try:
        for variant in variants.values():
            await _measure(variant, 500, max(args.concurrency))  # warm up: connections, caches
        for _ in range(args.repeat):
            for concurrency in args.concurrency:
                for name, variant in variants.items():
                    sample = await _measure(variant, args.requests, concurrency)
                    samples.setdefault(f"c{concurrency}", {}).setdefault(name, []).append(sample)
    finally:
        for variant in variants.values():
            await variant.aclose()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for key, by_client in samples.items():
        results[key] = {
            name: {
                "cpu_us": round(statistics.median(cpu for cpu, _ in runs), 1),
                "wall_us": round(statistics.median(wall for _, wall in runs), 1),
            }
            for name, runs in by_client.items()
        }
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "loop": args.loop,
        "httpx": httpx.__version__,
        "requests_per_run": args.requests,
        "repeat": args.repeat,
        "results": results,
    }


def _print(report: dict[str, Any]) -> None:
    machine = report["machine"]
    print(f"\nhttpx {report['httpx']} transports, {machine['cpus']} CPUs, Python {machine['python']}, {report['loop']}")
    print(f"{'':26}{'CPU µs/req':>12}{'wall µs/req':>13}")
    for key, by_client in report["results"].items():
        for name, row in by_client.items():
            print(f"{'C=' + key[1:] + ' ' + name:26}{row['cpu_us']:>12.1f}{row['wall_us']:>13.1f}")
        default, lean = by_client["default"], by_client["lean"]
        saved = default["cpu_us"] - lean["cpu_us"]
        print(f"{'':26}lean uses {lean['cpu_us'] / default['cpu_us']:.2f}x the CPU ({saved:.0f} µs less per request)")


def main() -> None:
    """Parse options, run, print, and write JSON when asked."""
    parser = argparse.ArgumentParser(description="httpx default transport vs LeanTransport")
    parser.add_argument("--requests", type=int, default=3000, help="requests per measured run")
    parser.add_argument("--repeat", type=int, default=5, help="measured runs per client and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--out", type=Path, help="write the report as JSON here")
    args = parser.parse_args()
    port = free_port()
    simulator = subprocess.Popen([sys.executable, str(HERE / "serve_simulator.py"), "--port", str(port)])
    try:
        if args.loop == "uvloop":
            import uvloop  # optional: imported only when asked for

            report = uvloop.run(bench(args, port))
        else:
            report = asyncio.run(bench(args, port))
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)
    _print(report)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
