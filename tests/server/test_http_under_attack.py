"""Hundreds of idle and slow connections at once: normal requests are still answered, the attackers cut off."""

from __future__ import annotations

import resource
from collections import Counter

import anyio
import pytest

from tests.support.raw_http import RawClients, raw_clients, request_bytes
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.anyio

TIMEOUT = 0.5
"""The server's header, body and idle timeouts in this test."""
DEADLINE = TIMEOUT + 10
"""How long anything may take before the test fails: generous, a condition and not a measurement."""
KINDS = ("idle", "slow head", "slow body")


def _attackers() -> int:
    """Return how many attackers the open-file limit allows, at most 300."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    # An attacker holds two descriptors in this process (its end and the server's), three while it reconnects;
    # 200 stay spare for the simulator, the store and the normal requests.
    return min(300, (soft - 200) // 3)


async def _attack(stack: Stack, raw: RawClients, kind: str) -> int | None:
    """Open one connection of ``kind`` and keep at it until the server closes it; return the status received."""
    client = await raw.connect()
    if kind == "slow head":
        client.send(b"POST /mcp/" + stack.tokens["all"].encode() + b" HTTP/1.1\r\n")
        await client.dribble([b"h"] * 100_000, 0.05)
    elif kind == "slow body":
        head = request_bytes(stack.base_url, f"/mcp/{stack.tokens['all']}", b"")
        client.send(head.replace(b"Content-Length: 0", b"Content-Length: 100000"))
        await client.dribble([b" "] * 100_000, 0.05)
    await client.closed_by_server(DEADLINE)
    assert kind != "idle" or client.received == b"", client.received
    return client.status


async def test_hundreds_of_idle_and_slow_connections_do_not_delay_normal_requests() -> None:
    """With hundreds of idle, slow-head and slow-body connections kept open, tools/list is still answered.

    Each attacker reconnects as soon as the server cuts it off, so the attack holds for as long as the normal
    requests run; the server must close every attacking connection within its timeouts (awaited under a deadline).
    """
    attackers = _attackers()
    if attackers < 30:
        pytest.skip(f"the open-file limit ({resource.getrlimit(resource.RLIMIT_NOFILE)[0]}) is too low")
    timeouts = {"header_timeout_seconds": TIMEOUT, "body_timeout_seconds": TIMEOUT}
    async with (
        running_stack(server={**timeouts, "keep_alive_timeout_seconds": TIMEOUT}) as stack,
        raw_clients(stack.base_url) as raw,
    ):
        stop, connected, all_cut_off = anyio.Event(), anyio.Event(), anyio.Event()
        open_now = cut_off_once = 0
        statuses: Counter[tuple[str, int | None]] = Counter()

        async def attacker(kind: str) -> None:
            nonlocal open_now, cut_off_once
            first = True
            while not stop.is_set():
                open_now += 1
                if first and open_now == attackers:
                    connected.set()
                try:
                    status = await _attack(stack, raw, kind)
                finally:
                    open_now -= 1
                statuses[kind, status] += 1
                if first:
                    first = False
                    cut_off_once += 1
                    if cut_off_once == attackers:
                        all_cut_off.set()

        async with anyio.create_task_group() as tasks:
            for i in range(attackers):
                tasks.start_soon(attacker, KINDS[i % len(KINDS)])
            with anyio.fail_after(DEADLINE):
                await connected.wait()
            for _ in range(5):
                open_when_sent = open_now
                with anyio.fail_after(DEADLINE):
                    response = await stack.rpc("tools/list")
                assert response.status_code == 200
                assert response.json()["result"]["tools"]
                assert open_when_sent >= attackers // 2, f"only {open_when_sent} attackers were connected"
            with anyio.fail_after(DEADLINE):  # every attacker has been cut off by the server at least once
                await all_cut_off.wait()
            stop.set()  # each attacker ends once the server has closed its current connection

    assert set(statuses) <= {("idle", None), ("slow head", 408), ("slow body", 408)}, statuses
