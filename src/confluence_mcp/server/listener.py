"""The HTTP listener: uvicorn's Config from ``server.*`` settings, built once for ``serve`` and the tests alike."""

from __future__ import annotations

import logging
import socket
from typing import Any

import uvicorn

from confluence_mcp.server.coalescing import BoundedConfig, CoalescingHttpToolsProtocol
from confluence_mcp.settings import ServerSettings, Settings

__all__ = ["GracefulServer", "reserve_descriptors", "uvicorn_config"]

log = logging.getLogger("confluence_mcp.server")

SPARE_DESCRIPTORS = 64
"""Descriptors needed besides client and upstream connections: the listener, the store, logs, the SDK's threads."""


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


class GracefulServer(uvicorn.Server):
    """uvicorn's Server that, as shutdown begins, ends open ``subscriptions/listen`` streams with their closing frame.

    A stream never finishes by itself, so without this each would hold the stop for all of
    ``server.shutdown_timeout_seconds`` and then be cut without one.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Close the streams of the app (when it has any), then shut down as uvicorn does."""
        close = getattr(self.config.app, "close_streams", None)
        if callable(close):
            close()
        await super().shutdown(sockets)


def reserve_descriptors(settings: Settings) -> None:
    """Raise the soft open-file limit to what the connection caps need (never past the hard limit); else warn.

    Past the limit, accept() fails and asyncio stops accepting for a second, and upstream connections fail:
    ``server.max_connections`` must be reached first for its 503 to be the answer.
    """
    try:
        import resource
    except ImportError:  # no such limit on this platform (Windows)
        return
    needed = settings.server.max_connections + settings.upstream.max_connections + SPARE_DESCRIPTORS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            target = soft
    if target < needed:
        log.warning(
            "The open-file limit (%d) is below server.max_connections + upstream.max_connections + %d (%d): "
            "lower server.max_connections or raise the limit (ulimit -n).",
            target,
            SPARE_DESCRIPTORS,
            needed,
        )
