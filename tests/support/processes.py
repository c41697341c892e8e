"""``confluence-mcp serve`` as a real child process, for tests of what only a process does (signals, replicas)."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
from anyio.abc import Process

__all__ = ["serve_process"]


@asynccontextmanager
async def serve_process(config: Path, port: int) -> AsyncIterator[Process]:
    """Run ``serve --config config`` until it answers /healthz on ``port``; terminate it afterwards."""
    command = [sys.executable, "-m", "confluence_mcp", "serve", "--config", str(config)]
    async with await anyio.open_process(command, env={**os.environ}) as process:
        try:
            with anyio.fail_after(30):
                async with httpx.AsyncClient() as client:
                    while True:
                        try:
                            if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                                break
                        except httpx.TransportError:
                            await anyio.sleep(0.02)
            yield process
        finally:
            if process.returncode is None:
                process.terminate()
                with anyio.move_on_after(10):
                    await process.wait()
