"""The HTTP listener: uvicorn's Config from ``server.*`` settings, built once for ``serve`` and the tests alike."""

from __future__ import annotations

from typing import Any

import uvicorn

from confluence_mcp.server.coalescing import BoundedConfig, CoalescingHttpToolsProtocol
from confluence_mcp.settings import ServerSettings

__all__ = ["uvicorn_config"]


def uvicorn_config(app: Any, server: ServerSettings, **options: Any) -> uvicorn.Config:
    """Return uvicorn's Config for ``app``: our HTTP protocol and the limits in ``server``, plus ``options``.

    uvicorn's own ``limit_concurrency`` is not used: it counts idle connections too and then answers 503 to every
    request on every connection, so a few hundred idle sockets would lock out the clients already connected. Our
    protocol refuses the connection beyond ``server.max_connections`` instead.
    """
    return BoundedConfig(
        app,
        server,
        host=server.host,
        port=server.port,
        http=CoalescingHttpToolsProtocol,
        ws="none",  # we serve no WebSockets; an Upgrade header is ignored
        server_header=False,
        backlog=server.backlog,
        timeout_keep_alive=server.keep_alive_timeout_seconds,  # uvicorn says int; it only reaches call_later
        **options,
    )
