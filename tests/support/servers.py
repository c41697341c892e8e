"""Run ASGI apps under real uvicorn on free loopback ports, awaiting readiness under a deadline."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any, Literal

import anyio
import uvicorn

__all__ = ["free_port", "serve_asgi"]


def free_port() -> int:
    """Return a port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serve_asgi(
    app: Any, *, lifespan: Literal["on", "off", "auto"] = "on", http: Any = "auto"
) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free port in this event loop; yield its base URL."""
    # Binding the socket ourselves (port 0) means no race with another process for the port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan=lifespan, log_level="warning", access_log=False, http=http)
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    async def run() -> None:
        try:
            await server.serve(sockets=[sock])
        except SystemExit as exc:  # uvicorn exits when the app's start-up fails
            failure.append(exc)

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(run)
            with anyio.fail_after(15):
                while not server.started and not failure:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                    await anyio.sleep(0.005)
            if failure:
                raise RuntimeError("the app failed to start; see the log above")
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                server.should_exit = True
    finally:
        sock.close()
