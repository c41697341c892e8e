"""Run ASGI apps under real uvicorn on free loopback ports, awaiting readiness under a deadline."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any, Literal

import anyio
import uvicorn

from confluence_mcp.server.listener import uvicorn_config
from confluence_mcp.settings import ServerSettings

__all__ = ["free_port", "serve_asgi"]


def free_port() -> int:
    """Return a port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serve_asgi(
    app: Any, *, lifespan: Literal["on", "off", "auto"] = "on", server: ServerSettings | None = None
) -> AsyncIterator[str]:
    """Serve ``app`` like ``confluence-mcp serve`` (our protocol, ``server``'s limits) on a free port; yield its URL."""
    # Binding the socket ourselves (port 0) means no race with another process for the port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn_config(app, server or ServerSettings(), lifespan=lifespan, log_level="warning", access_log=False)
    uvicorn_server = uvicorn.Server(config)
    failure: list[BaseException] = []

    async def run() -> None:
        try:
            await uvicorn_server.serve(sockets=[sock])
        except SystemExit as exc:  # uvicorn exits when the app's start-up fails
            failure.append(exc)

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(run)
            with anyio.fail_after(15):
                while not uvicorn_server.started and not failure:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                    await anyio.sleep(0.005)
            if failure:
                raise RuntimeError("the app failed to start; see the log above")
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                uvicorn_server.should_exit = True
    finally:
        sock.close()
