"""Fair share: per-server and per-account caps on calls in flight and per minute, refused before anything runs."""

from __future__ import annotations

import pytest

from confluence_mcp.errors import CallsThrottled
from confluence_mcp.pipeline import Call
from confluence_mcp.pipeline.steps.fair_share import FairShare
from confluence_mcp.settings import LimitSettings
from tests.pipeline.doubles import World

pytestmark = pytest.mark.anyio


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _call(world: World, token: str) -> Call:
    resolved = await world.resolver.resolve(token)
    assert resolved is not None
    return Call(token=token, name="list_all_confluence_spaces", arguments={}, resolved=resolved)


async def test_calls_in_flight_are_capped_per_server_and_slots_come_back(world: World) -> None:
    """A third concurrent call of one server is refused with Retry-After 1; a finished call frees its slot."""
    share = FairShare(LimitSettings(per_server_concurrent=2, per_server_per_minute=0, per_account_per_minute=0))
    first, second, third = [await _call(world, world.open_token) for _ in range(3)]
    await share.run(first)
    await share.run(second)
    with pytest.raises(CallsThrottled) as refused:
        await share.run(third)
    assert refused.value.retry_after == 1
    assert refused.value.headers == {"retry-after": "1"}
    assert "at most 2 run together" in str(refused.value)
    share.observe(third)  # a refused call gives back nothing it did not take
    share.observe(first)
    await share.run(third)


async def test_another_server_is_not_starved_by_a_busy_one(world: World) -> None:
    """One server at its cap leaves other servers of the account free, up to the account's own cap."""
    share = FairShare(
        LimitSettings(
            per_server_concurrent=1, per_account_concurrent=2, per_server_per_minute=0, per_account_per_minute=0
        )
    )
    await share.run(await _call(world, world.open_token))
    with pytest.raises(CallsThrottled):
        await share.run(await _call(world, world.open_token))
    await share.run(await _call(world, world.read_token))
    with pytest.raises(CallsThrottled) as refused:
        await share.run(await _call(world, world.spaces_token))
    assert "this Confluence account" in str(refused.value)


async def test_calls_per_minute_refill_evenly_and_say_when_to_retry(world: World) -> None:
    """A burst spends the minute's budget; the refusal says the seconds until one call is allowed again."""
    clock = Clock()
    share = FairShare(LimitSettings(per_server_per_minute=3, per_server_concurrent=0), clock=clock)
    for _ in range(3):
        call = await _call(world, world.open_token)
        await share.run(call)
        share.observe(call)
    with pytest.raises(CallsThrottled) as refused:
        await share.run(await _call(world, world.open_token))
    assert refused.value.retry_after == 20  # 60 s / 3 calls
    assert "at most 3 per minute. Retry after 20 seconds." in str(refused.value)
    clock.now += 20
    await share.run(await _call(world, world.open_token))


async def test_zero_means_no_cap(world: World) -> None:
    """With every cap at 0 nothing is ever refused."""
    share = FairShare(LimitSettings(per_server_concurrent=0, per_server_per_minute=0, per_account_concurrent=0,
                                    per_account_per_minute=0))  # fmt: skip
    for _ in range(1000):
        await share.run(await _call(world, world.open_token))
