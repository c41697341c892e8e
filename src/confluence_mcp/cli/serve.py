"""``confluence-mcp serve``: run the MCP server under uvicorn with our logging, HTTP protocol and limits."""

from __future__ import annotations

import argparse
import logging.config
from typing import Any

from confluence_mcp.cli.context import add_settings_options, settings_from

__all__ = ["add_commands"]

_STARTUP_FAILED = 3
"""uvicorn's exit status when the server never started (the port was taken, the app's start-up failed)."""


def add_commands(commands: Any) -> None:
    """Register ``serve`` on ``commands``."""
    serve = commands.add_parser("serve", help="run the MCP server")
    add_settings_options(serve)
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from confluence_mcp.logs import log_config
    from confluence_mcp.server.app import create_app, wrap
    from confluence_mcp.server.listener import reserve_descriptors, uvicorn_config

    settings = settings_from(args)
    config = log_config(settings.log_level)
    logging.config.dictConfig(config)
    reserve_descriptors(settings)
    app = wrap(create_app(settings))
    server = uvicorn.Server(uvicorn_config(app, settings.server, log_config=config, loop="auto", lifespan="on"))
    server.run()
    return 0 if server.started else _STARTUP_FAILED
