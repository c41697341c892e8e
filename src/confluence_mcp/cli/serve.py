"""``confluence-mcp serve``: run the MCP server under uvicorn with our logging and HTTP protocol."""

from __future__ import annotations

import argparse
import contextlib
import logging.config
from typing import Any

from confluence_mcp.cli.context import add_settings_options, settings_from
from confluence_mcp.settings import Settings

__all__ = ["add_commands"]


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

    settings = settings_from(args)
    config = log_config(settings.log_level, settings.logging.format)
    logging.config.dictConfig(config)
    # Relative paths are relative to where the command runs: say where the data really is.
    logging.getLogger("confluence_mcp").info(
        "data directory %s; store %s", settings.data_dir.resolve(), settings.store_url.split("@")[-1]
    )
    app = wrap(create_app(settings))
    _note_running_url(settings)
    http: Any = "auto"
    try:
        from confluence_mcp.server.coalescing import CoalescingHttpToolsProtocol
    except ImportError:  # httptools missing: uvicorn's pure-Python h11 protocol still works
        pass
    else:
        http = CoalescingHttpToolsProtocol
    uvicorn.run(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_config=config,
        loop="auto",
        http=http,
        lifespan="on",
        server_header=False,
        access_log=settings.logging.format != "json",  # the endpoint writes the richer line itself
    )
    with contextlib.suppress(OSError):
        settings.running_url_file.unlink()
    return 0


def _note_running_url(settings: Settings) -> None:
    """Note the base URL this server answers on, so ``mcp create`` in another shell prints the right port."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.running_url_file.write_text(settings.public_url + "\n", encoding="utf-8")
    except OSError:  # a read-only data dir only costs the CLI its hint
        logging.getLogger("confluence_mcp").warning("could not note the server URL in %s", settings.data_dir)
