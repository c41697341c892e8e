"""The benchmark's processes (the simulator, a build's server), the requests that exercise them, report basics."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.loadgen import Target, free_port, run_load, wait_for_port
from bench.seed import API_TOKEN, EMAIL
from confluence_mcp.simulator import SEED

HERE = Path(__file__).resolve().parent
PAGE_ID = SEED.release_checklist_id
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
Process = asyncio.subprocess.Process


def report_header(client: str, requests: int) -> dict[str, Any]:
    """Return the fields every report opens with: when, on what machine, with which load client, how many requests."""
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "load_client": client,
        "requests_per_run": requests,
    }


def rss_mb(pid: int) -> float:
    """Return the resident memory of process ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rpc(port: int, token: str, method: str, params: dict[str, Any]) -> Target:
    """Return a JSON-RPC request to our server's ``/mcp/<token>``."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    return Target.build("127.0.0.1", port, "POST", f"/mcp/{token}", MCP_HEADERS, body)


def page_call(port: int, token: str) -> Target:
    """Return the measured ``tools/call``: one page by id, which makes the direct call's request upstream."""
    arguments = {"name": "get_single_confluence_page_by_id", "arguments": {"id": PAGE_ID}}
    return rpc(port, token, "tools/call", arguments)


def direct_target(sim_port: int) -> Target:
    """Return the direct call: the same page straight from the simulator with basic auth."""
    basic = base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
    return Target.build("127.0.0.1", sim_port, "GET", f"/wiki/api/v2/pages/{PAGE_ID}", headers)


# The load is one client hammering one MCP server on purpose: fair-share caps would measure themselves.
_NO_CAPS = (
    "limits: {per_server_concurrent: 0, per_server_per_minute: 0, per_account_concurrent: 0,"
    " per_account_per_minute: 0}\n"
)


def write_config(path: Path, port: int, db: Path, key: str, tree: Path | None = None) -> None:
    """Write a server config: quiet logs, ``port`` on loopback, the SQLite store ``db`` sealed with ``key``.

    The simulator on 127.0.0.1 is named exactly in ``upstream.allowed_hosts``, which lets accounts reach it.
    ``tree`` is the source tree of the build that reads it; builds from before fair share get no ``limits``.
    """
    settings = (tree or Path(__file__).resolve().parents[1]) / "src" / "confluence_mcp" / "settings.py"
    caps = _NO_CAPS if "class LimitSettings" in settings.read_text(encoding="utf-8") else ""
    path.write_text(
        f"log_level: warning\nserver: {{port: {port}}}\nstore: {{url: 'sqlite:///{db}'}}\nsecrets: {{key: '{key}'}}\n"
        + "upstream: {allowed_hosts: ['127.0.0.1']}\n"
        + caps,
        encoding="utf-8",
    )


async def warm_up(*targets: Target) -> None:
    """Send a few hundred requests to each target so no measurement pays for first connections and caches."""
    for target in targets:
        await run_load(target, concurrency=4, requests=400)


async def wait_sdk_ready(port: int, deadline: float) -> None:
    """Wait until the server reports its MCP SDK loaded, so no measurement overlaps the import."""
    health = Target.build("127.0.0.1", port, "GET", "/healthz", {})
    while True:
        result = await run_load(health, concurrency=1, requests=1)
        if b'"sdk":"ready"' in result.last_body:
            return
        if result.last_status == 200 and b'"sdk"' not in result.last_body:
            return  # a build from before health reported the SDK (an --against ref): nothing to wait for
        if time.monotonic() > deadline:
            raise RuntimeError("the server's MCP SDK did not load")
        await asyncio.sleep(0.05)


async def stop(processes: Iterable[Process]) -> None:
    """Terminate the processes that still run and wait for each; kill one that ignores that for 10 s."""
    processes = list(processes)
    for process in processes:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # it may exit in between: Ctrl-C reaches it too
                process.terminate()
    for process in processes:
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


async def start_simulator(env: Mapping[str, str]) -> tuple[Process, int]:
    """Start the Confluence simulator with this interpreter; return it and its port once it listens."""
    port = free_port()
    sim = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "serve_simulator.py"), "--port", str(port), env=env
    )
    try:
        await _listening(sim, port, time.monotonic() + 20)
    except BaseException:
        await stop([sim])
        raise
    return sim, port


async def start_server(
    python: str, config: Path, port: int, call: Target, env: Mapping[str, str], cwd: Path | None = None
) -> tuple[Process, float]:
    """Start ``python -m confluence_mcp serve``; return it and the seconds to its first good ``call``, SDK loaded."""
    started = time.monotonic()
    server = await asyncio.create_subprocess_exec(
        python, "-m", "confluence_mcp", "serve", "--config", str(config), env=env, cwd=cwd
    )
    try:
        await _listening(server, port, started + 30)
        first = await run_load(call, concurrency=1, requests=1)
        if first.errors or b'"isError":false' not in first.last_body:
            raise RuntimeError(f"first tools/call failed: {first.last_status} {first.last_body[:300]!r}")
        startup_s = time.monotonic() - started
        await wait_sdk_ready(port, time.monotonic() + 30)
    except BaseException:
        await stop([server])
        raise
    return server, startup_s


async def _listening(process: Process, port: int, deadline: float) -> None:
    # A process that fails at start (a bad config, another build's CLI) should fail the run now, not at the deadline.
    listening = asyncio.ensure_future(wait_for_port(port, deadline))
    exited = asyncio.ensure_future(process.wait())
    try:
        done, _ = await asyncio.wait({listening, exited}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (listening, exited):
            task.cancel()
        await asyncio.gather(listening, exited, return_exceptions=True)
    if listening not in done:
        raise RuntimeError(f"process {process.pid} exited with {process.returncode} before listening on port {port}")
    listening.result()
