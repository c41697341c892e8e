"""Fixtures shared by the server tests: the asyncio backend and a running simulator + server stack."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.stack import Stack, running_stack


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio, the loop uvicorn serves on."""
    return "asyncio"


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    """A simulator and our server with the default settings, both on loopback."""
    async with running_stack() as running:
        yield running
