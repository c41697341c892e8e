"""The soak's moving parts: agents making mixed calls, the simulator's write counter, and the fault injector.

Every write carries a unique marker (``soak-<16 hex>``): in the title of a page it creates, in the version
message of an update. The simulator counts each marker it receives; its state shows each one it applied.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from bench.servers import MCP_HEADERS
from confluence_mcp.simulator import SEED, Simulator
from confluence_mcp.simulator.faults import Fault

MARKER = re.compile(rb"soak-[0-9a-f]{16}")
TITLE_PREFIX = "Soak "
OPERATIONS = ("create", "update", "get", "list", "search")
WEIGHTS = (20, 20, 25, 20, 15)
FAULTED_PATHS = r"^/wiki/(api/v2/pages|rest/api/search)"


class WriteCounter:
    """ASGI middleware before the simulator: counts every request, and the marker of each write it receives.

    A create's marker is the one in its title; an update's, the one in its version message (its title carries
    the create's marker too, which must not count again).
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0
        self.received: Counter[str] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__sim/"):
            await self.app(scope, receive, send)
            return
        self.requests += 1
        if scope["method"] not in ("POST", "PUT"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def counting_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._count(scope["method"], b"".join(chunks))
            return message

        await self.app(scope, counting_receive, send)

    def _count(self, method: str, body: bytes) -> None:
        try:
            data = json.loads(body)
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        version = data.get("version")
        own = data.get("title") if method == "POST" else version.get("message") if isinstance(version, dict) else None
        if isinstance(own, str) and (found := MARKER.search(own.encode())):
            self.received[found.group().decode()] += 1


@dataclass
class Write:
    """One write an agent made and what it was told."""

    kind: str
    ok: bool


@dataclass
class Tally:
    """Everything the agents saw."""

    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPERATIONS})
    outcomes: Counter[str] = field(default_factory=Counter)
    writes: dict[str, Write] = field(default_factory=dict)


@dataclass
class _Page:
    id: str
    title: str
    version: int | None
    """The version number last seen; None after an update whose answer was an error (it may have applied)."""


class Agent:
    """One agent: a loop of weighted operations over the pages it created itself (so versions never race)."""

    def __init__(self, client: httpx.AsyncClient, url: str, tally: Tally, rng: random.Random) -> None:
        self.client = client
        self.url = url
        self.tally = tally
        self.rng = rng
        self.pages: list[_Page] = []

    async def run(self, deadline: float) -> None:
        """Work until ``deadline`` (monotonic); the call in flight then finishes."""
        while time.monotonic() < deadline:
            operation = self.rng.choices(OPERATIONS, WEIGHTS)[0]
            if operation in ("update", "get") and not self.pages:
                operation = "create"
            await getattr(self, f"_{operation}")()

    async def _call(self, operation: str, name: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """Send one tools/call; return the tool result when the call succeeded, else count how it failed."""
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
        started = time.perf_counter()
        try:
            response = await self.client.post(self.url, json=body, headers=MCP_HEADERS)
        except httpx.HTTPError as exc:
            self.tally.outcomes[f"{operation}: {type(exc).__name__}"] += 1
            return None
        self.tally.latencies_ms[operation].append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            self.tally.outcomes[f"{operation}: HTTP {response.status_code}"] += 1
            return None
        message = response.json()
        if "error" in message:
            self.tally.outcomes[f"{operation}: JSON-RPC {message['error'].get('code')}"] += 1
            return None
        result: dict[str, Any] = message["result"]
        self.tally.outcomes[f"{operation}: {'tool error' if result.get('isError') else 'ok'}"] += 1
        return None if result.get("isError") else result

    async def _create(self) -> None:
        marker = f"soak-{secrets.token_hex(8)}"
        title = f"{TITLE_PREFIX}{marker}"
        arguments = {
            "spaceId": SEED.ops_space_id,
            "title": title,
            "status": "current",
            "body": {"representation": "storage", "value": f"<p>{marker}</p>"},
        }
        result = await self._call("create", "create_a_confluence_page", arguments)
        self.tally.writes[marker] = Write("create", result is not None)
        if result is not None:
            page = result["structuredContent"]
            self.pages.append(_Page(str(page["id"]), title, int(page["version"]["number"])))

    async def _update(self) -> None:
        page = self.rng.choice(self.pages)
        if page.version is None:
            await self._get(page)
            if page.version is None:
                return
        marker = f"soak-{secrets.token_hex(8)}"
        arguments = {
            "id": page.id,
            "status": "current",
            "title": page.title,
            "body": {"representation": "storage", "value": f"<p>{marker}</p>"},
            "version": {"number": page.version + 1, "message": marker},
        }
        result = await self._call("update", "update_a_confluence_page_by_id", arguments)
        self.tally.writes[marker] = Write("update", result is not None)
        page.version = page.version + 1 if result is not None else None

    async def _get(self, page: _Page | None = None) -> None:
        page = page or self.rng.choice(self.pages)
        result = await self._call("get", "get_single_confluence_page_by_id", {"id": page.id})
        if result is not None:
            page.version = int(result["structuredContent"]["version"]["number"])

    async def _list(self) -> None:
        await self._call("list", "list_all_confluence_pages", {"limit": 10, "space-id": [SEED.ops_space_id]})

    async def _search(self) -> None:
        await self._call("search", "list_all_confluence_search", {"cql": 'title ~ "Soak"', "limit": 5})


async def inject_faults(sim: Simulator, counter: WriteCounter, share: float, until: float, rng: random.Random) -> int:
    """Keep about ``share`` of the simulator's requests faulted (5xx, drops, 429s, cut JSON); return how many."""
    injected = 0
    kinds: list[dict[str, Any]] = [
        {"status": 500},
        {"status": 502},
        {"status": 503},
        {"drop": True},
        {"rate_limit": "burst", "retry_after": 1},
        {"malformed_json": True},
    ]
    while time.monotonic() < until:
        if injected < counter.requests * share and len(sim.faults) < 3:
            kind = rng.choice(kinds)
            method = rng.choice(["GET", "POST", "PUT"])
            sim.faults.add(Fault(method=method, path=FAULTED_PATHS, count=1, **kind))
            injected += 1
        await anyio.sleep(0.005)  # a pacing interval for the injector, not a wait for a condition
    return injected


def applied_markers(sim: Simulator) -> tuple[Counter[str], Counter[str]]:
    """Count the markers the simulator's state holds: page titles (creates) and version messages (updates)."""
    creates: Counter[str] = Counter()
    updates: Counter[str] = Counter()
    for item in sim.state.content.values():
        if item.title.startswith(TITLE_PREFIX + "soak-"):
            creates[item.title.removeprefix(TITLE_PREFIX)] += 1
        for version in item.versions:
            if version.message.startswith("soak-"):
                updates[version.message] += 1
    return creates, updates


def write_verdict(tally: Tally, counter: WriteCounter, sim: Simulator) -> dict[str, Any]:
    """Lost (answered success, not applied once), duplicated (received or applied twice), and the rest."""
    creates, updates = applied_markers(sim)
    applied = creates + updates
    lost = [m for m, w in tally.writes.items() if w.ok and applied[m] != 1]
    duplicated = sorted({m for m, n in counter.received.items() if n > 1} | {m for m, n in applied.items() if n > 1})
    unknown = sorted(set(applied) - set(tally.writes))
    failed = [m for m, w in tally.writes.items() if not w.ok]
    return {
        "writes": len(tally.writes),
        "answered_ok": sum(w.ok for w in tally.writes.values()),
        "answered_error": len(failed),
        "answered_error_but_applied_once": sum(applied[m] == 1 for m in failed),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "applied_without_being_sent": len(unknown),
        "examples": {"lost": lost[:5], "duplicated": duplicated[:5], "unknown": unknown[:5]},
    }
