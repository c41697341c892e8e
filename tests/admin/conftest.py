"""Fixtures of the admin tests: the asyncio backend and a running app with an authenticated admin client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from confluence_mcp.store.cipher import Cipher, generate_key
from confluence_mcp.store.memory import MemoryStore
from tests.support.admin import AdminApp, running_admin_app


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio, the loop uvicorn serves on."""
    return "asyncio"


@pytest.fixture
async def admin() -> AsyncIterator[AdminApp]:
    """A running app with default settings and an authenticated admin client."""
    async with running_admin_app() as running:
        yield running


@pytest.fixture
async def store() -> AsyncIterator[MemoryStore]:
    """An open, empty memory store."""
    opened = MemoryStore(cipher=Cipher.from_key(generate_key()))
    await opened.open()
    yield opened
    await opened.close()
