"""Step 2 (with its observer), fair share: no MCP server or account may run more than its share of calls.

Two caps each, from ``limits.*``: calls in flight at once, and calls started per minute (a token bucket that
refills evenly, so a burst spends the minute's budget and then one call per 60/N seconds gets through). A
call over a cap is refused before anything runs, with a JSON-RPC error saying when to retry, so one runaway
agent cannot starve the others or spend the site's Atlassian rate limit. The same object is the step that
takes a slot and the observer that gives it back, so every finished call, refused or not, returns its slot.
Counts are per process: with N replicas the effective caps are N times these.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from confluence_mcp.errors import CallsThrottled
from confluence_mcp.pipeline.context import Call
from confluence_mcp.settings import LimitSettings


@dataclass(slots=True)
class _Budget:
    """One key's calls in flight and its token bucket."""

    in_flight: int = 0
    tokens: float = 0.0
    stamp: float = 0.0


class FairShare:
    """Takes a slot per call for its MCP server and its account; refuses a call over either cap."""

    name = "fair_share"

    def __init__(self, limits: LimitSettings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._now = clock
        self._servers: dict[str, _Budget] = {}
        self._accounts: dict[str, _Budget] = {}
        self._held: dict[int, tuple[_Budget, _Budget]] = {}

    async def run(self, call: Call) -> None:
        """Take one slot of the server's and the account's budgets, or raise CallsThrottled."""
        assert call.resolved is not None  # resolve runs first
        server = call.resolved.server
        limits = self._limits
        now = self._now()
        mine = self._budget(self._servers, server.id, limits.per_server_per_minute, now)
        shared = self._budget(self._accounts, server.account_id, limits.per_account_per_minute, now)
        _check(mine, limits.per_server_concurrent, limits.per_server_per_minute, "this MCP server")
        _check(shared, limits.per_account_concurrent, limits.per_account_per_minute, "this Confluence account")
        for budget, per_minute in ((mine, limits.per_server_per_minute), (shared, limits.per_account_per_minute)):
            budget.in_flight += 1
            if per_minute:
                budget.tokens -= 1.0
        self._held[id(call)] = (mine, shared)

    def observe(self, call: Call) -> None:
        """Give back the slots ``call`` took (nothing when it was refused before taking any)."""
        held = self._held.pop(id(call), None)
        if held is not None:
            for budget in held:
                budget.in_flight -= 1

    @staticmethod
    def _budget(budgets: dict[str, _Budget], key: str, per_minute: int, now: float) -> _Budget:
        budget = budgets.get(key)
        if budget is None:
            budget = budgets[key] = _Budget(tokens=float(per_minute), stamp=now)
        elif per_minute:
            budget.tokens = min(float(per_minute), budget.tokens + (now - budget.stamp) * per_minute / 60.0)
            budget.stamp = now
        return budget


def _check(budget: _Budget, concurrent: int, per_minute: int, whose: str) -> None:
    if concurrent and budget.in_flight >= concurrent:
        raise CallsThrottled(
            f"Too many calls at once for {whose}: at most {concurrent} run together. "
            "Wait for one to finish, then retry (retry after 1 second).",
            1,
        )
    if per_minute and budget.tokens < 1.0:
        wait = max(1, math.ceil((1.0 - budget.tokens) * 60.0 / per_minute))
        raise CallsThrottled(
            f"Too many calls for {whose}: at most {per_minute} per minute. Retry after {wait} seconds.", wait
        )
