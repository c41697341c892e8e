"""The HTTP listener: uvicorn's Config from ``server.*`` settings, built once for ``serve`` and the tests alike."""

from __future__ import annotations

from typing import Any

import uvicorn

from confluence_mcp.server.coalescing import CoalescingHttpToolsProtocol
from confluence_mcp.settings import ServerSettings

__all__ = ["uvicorn_config"]


def uvicorn_config(app: Any, server: ServerSettings, **options: Any) -> uvicorn.Config:
    """Return uvicorn's Config for ``app``: our HTTP protocol on ``server``'s address, plus ``options``."""
    return uvicorn.Config(
        app,
        host=server.host,
        port=server.port,
        http=CoalescingHttpToolsProtocol,
        ws="none",  # we serve no WebSockets; an Upgrade header is ignored
        server_header=False,
        **options,
    )
