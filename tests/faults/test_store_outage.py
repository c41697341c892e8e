"""Redis killed under load and started again on the same port: 503 with Retry-After meanwhile, then recovery.

Calls keep coming from several workers throughout. While Redis is down every answer is either a success (a token
resolved a moment before) or 503 with Retry-After and a JSON-RPC error; never a 500 or -32603. Once Redis is back
the same server answers calls, readiness and the admin API again by itself, and its audit writer stores records
again. The admin API answers the outage 503 with Retry-After too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import anyio
import httpx
import pytest

from confluence_mcp.simulator import SEED
from tests.support.redis_server import RestartableRedis, restartable_redis_server
from tests.support.soundness import assert_rpc_answer
from tests.support.stack import JSON_HEADERS, Stack, running_stack
from tests.support.threaded import NO_CAPS

pytestmark = pytest.mark.anyio

DEADLINE = 15
WORKERS = 8
CALL = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {"name": "get_single_confluence_page_by_id", "arguments": {"id": SEED.release_checklist_id}},
}


@pytest.fixture
def redis() -> Iterator[RestartableRedis]:
    """A Redis with an append-only file, restartable on its port."""
    with restartable_redis_server() as server:
        yield server


class Load:
    """Workers calling one tool in a loop; answers are counted per phase of the outage."""

    def __init__(self, stack: Stack, client: httpx.AsyncClient) -> None:
        self.stack = stack
        self.client = client
        self.phase = "before"
        self.seen: Counter[tuple[str, int]] = Counter()
        self.stopping = False
        self._answered = anyio.Event()

    def count(self, phase: str, status: int) -> int:
        """How many answers with ``status`` arrived during ``phase``."""
        return self.seen[phase, status]

    async def worker(self) -> None:
        """Call until told to stop; check every answer's shape."""
        while not self.stopping:
            phase = self.phase
            response = await self.client.post(self.stack.url(), json=CALL, headers=JSON_HEADERS)
            (message,) = assert_rpc_answer(response, busy_ok=True)
            if response.status_code == 503:
                assert response.headers["retry-after"] == "1"
                assert message["error"]["code"] == -31503, message
                assert "redis" not in response.text.lower()  # the store's address is not the caller's business
            else:
                assert response.status_code == 200, response.text
                assert message["result"]["isError"] is False, message
            self.seen[phase, response.status_code] += 1
            self._answered.set()
            self._answered = anyio.Event()

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Wait under the deadline until ``predicate()`` holds, checking after each answer."""
        with anyio.fail_after(DEADLINE):
            while not predicate():
                await self._answered.wait()


def _admin(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.api_token}"}


async def _audited_calls_since(client: httpx.AsyncClient, stack: Stack, since: datetime) -> int:
    """How many tools/call records the audit log holds from ``since`` on."""
    response = await client.get(
        f"{stack.base_url}/audit-log",
        params={"action": "tools/call", "since": since.isoformat()},
        headers=_admin(stack),
    )
    if response.status_code != 200:
        return 0
    return len(response.json()["result"])


async def test_redis_killed_mid_load_answers_503_then_the_server_recovers_by_itself(redis: RestartableRedis) -> None:
    """Kill Redis under load: 503 + Retry-After meanwhile; start it on the same port: calls, readiness, audit resume."""
    async with (
        running_stack(store={"url": redis.url}, limits=NO_CAPS, audit={"flush_interval_seconds": 0.05}) as stack,
        httpx.AsyncClient(timeout=30) as client,
    ):
        load = Load(stack, client)
        async with anyio.create_task_group() as workers:
            for _ in range(WORKERS):
                workers.start_soon(load.worker)
            await load.until(lambda: load.count("before", 200) >= 20)

            load.phase = "down"
            redis.kill()
            await load.until(lambda: load.count("down", 503) >= 10)
            ready = await client.get(f"{stack.base_url}/readyz")
            assert ready.status_code == 503
            assert ready.headers["retry-after"] == "1"
            assert ready.json()["store"] == "unreachable"
            admin = await client.get(f"{stack.base_url}/integrated-account", headers=_admin(stack))
            assert admin.status_code == 503, admin.text  # was a 500 store_error naming the store's address
            assert admin.headers["retry-after"] == "1"
            assert admin.json() == {
                "error": "store_unavailable",
                "message": "the store cannot be reached; retry shortly",
                "details": None,
            }

            await anyio.to_thread.run_sync(redis.start)
            back = datetime.now(UTC)
            load.phase = "back"
            await load.until(lambda: load.count("back", 200) >= 20)
            load.phase = "after"
            await load.until(lambda: load.count("after", 200) >= 30)
            assert load.count("after", 503) == 0  # once recovered, it stays recovered
            load.stopping = True

        assert (await client.get(f"{stack.base_url}/readyz")).status_code == 200
        assert (await client.get(f"{stack.base_url}/integrated-account", headers=_admin(stack))).status_code == 200
        with anyio.fail_after(DEADLINE):  # the audit writer outlived the outage: records of calls after it arrive
            while await _audited_calls_since(client, stack, back) == 0:  # noqa: ASYNC110 - a store has no event
                await anyio.sleep(0.05)


async def test_a_frozen_redis_answers_503_once_the_store_times_out_and_recovers_when_it_thaws(
    redis: RestartableRedis,
) -> None:
    """A hung Redis (SIGSTOP: connections open, no answers) is a 503 with Retry-After, not a hang; then it recovers."""
    async with (
        running_stack(store={"url": redis.url}, limits=NO_CAPS) as stack,
        httpx.AsyncClient(timeout=60) as client,
    ):
        assert (await client.post(stack.url(), json=CALL, headers=JSON_HEADERS)).status_code == 200
        redis.freeze()
        try:
            stack.app.state.runtime.resolver.invalidate()  # the next call must ask the store
            with anyio.fail_after(DEADLINE):  # the store client's socket timeout (5 s) ends the wait
                frozen = await client.post(stack.url(), json=CALL, headers=JSON_HEADERS)
            (message,) = assert_rpc_answer(frozen, busy_ok=True)
            assert frozen.status_code == 503, frozen.text
            assert frozen.headers["retry-after"] == "1"
            assert message["error"]["code"] == -31503
        finally:
            redis.thaw()
        with anyio.fail_after(DEADLINE):
            while (await client.post(stack.url(), json=CALL, headers=JSON_HEADERS)).status_code != 200:
                pass  # each refused call is an answer: the loop ends on the first good one
