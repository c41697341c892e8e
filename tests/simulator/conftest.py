"""Fixtures for the simulator tests: a fresh simulator, in-process clients, and a real uvicorn server."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel
import httpx
import pytest
import uvicorn

from confluence_mcp.simulator import Simulator, create_simulator

SITE = "https://example.atlassian.net"


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio, the loop uvicorn serves on."""
    return "asyncio"


@pytest.fixture
def sim() -> Simulator:
    """Return a freshly seeded simulator."""
    return create_simulator()


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    """Return an in-process client authenticated as the seeded agent."""
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url=SITE, auth=sim.auth) as http:
        yield http


@pytest.fixture
async def anonymous(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    """Return an in-process client that sends no credentials."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url=SITE) as http:
        yield http


@pytest.fixture
async def server_url(sim: Simulator) -> AsyncIterator[str]:
    """Serve ``sim`` with uvicorn on a free loopback port and return its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    # log_config=None leaves the test run's logging alone; ws="none" avoids importing websockets.
    config = uvicorn.Config(sim.app, lifespan="off", ws="none", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(server.serve, [listener])
            with anyio.fail_after(10):
                while not server.started:
                    await anyio.lowlevel.checkpoint()
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                server.should_exit = True
    finally:
        listener.close()
