"""The full stack on an event loop of its own thread, for synchronous callers such as hypothesis tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
from anyio.from_thread import start_blocking_portal

from tests.support.stack import Stack, running_stack

__all__ = ["NO_CAPS", "stack_in_thread"]

NO_CAPS = {
    "per_server_concurrent": 0,
    "per_server_per_minute": 0,
    "per_account_concurrent": 0,
    "per_account_per_minute": 0,
}
"""Fair-share caps off: a fuzzer or a soak is one client on purpose, and throttling would hide what it sends."""

_READY_SECONDS = 30


@contextlib.contextmanager
def stack_in_thread(**overrides: Any) -> Iterator[Stack]:
    """Run ``running_stack(**overrides)`` in a thread; yield it once its MCP SDK has loaded (health says so)."""
    with (
        start_blocking_portal(backend="asyncio") as portal,
        portal.wrap_async_context_manager(running_stack(**overrides)) as stack,
    ):
        portal.call(_sdk_ready, stack.base_url)
        yield stack


async def _sdk_ready(base_url: str) -> None:
    """Wait under a deadline until /healthz reports the SDK ready, so no answer is a 503 'starting'."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        with anyio.fail_after(_READY_SECONDS):
            while (await client.get("/healthz")).json().get("sdk") != "ready":  # noqa: ASYNC110 - health has no event
                await anyio.sleep(0.02)
