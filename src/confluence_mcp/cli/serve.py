"""``confluence-mcp serve``: run the MCP server under uvicorn with our logging, HTTP protocol and limits."""

from __future__ import annotations

import argparse
import contextlib
import logging.config
from typing import Any

from confluence_mcp.cli.context import add_settings_options, settings_from
from confluence_mcp.settings import Settings

__all__ = ["add_commands"]

_STARTUP_FAILED = 3
"""uvicorn's exit status when the server never started (the port was taken, the app's start-up failed)."""


def add_commands(commands: Any) -> None:
    """Register ``serve`` on ``commands``."""
    serve = commands.add_parser("serve", help="run the MCP server")
    add_settings_options(serve)
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument(
        "--demo", action="store_true", help="also run a simulated Confluence site, connected, and print a ready URL"
    )
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from confluence_mcp.logs import log_config
    from confluence_mcp.server.app import create_app, wrap
    from confluence_mcp.server.listener import GracefulServer, reserve_descriptors, uvicorn_config

    settings = settings_from(args)
    config = log_config(settings.log_level, settings.logging.format)
    logging.config.dictConfig(config)
    # Relative paths are relative to where the command runs: say where the data really is.
    logging.getLogger("confluence_mcp").info(
        "data directory %s; store %s", settings.data_dir.resolve(), settings.store_url.split("@")[-1]
    )
    reserve_descriptors(settings)
    options: dict[str, Any] = {"log_config": config, "loop": "auto", "lifespan": "on"}
    options["access_log"] = settings.logging.format != "json"  # the endpoint writes the richer line itself
    # On SIGTERM: stop accepting, let calls in flight finish for at most this long, then close the store and pool.
    options["timeout_graceful_shutdown"] = settings.server.shutdown_timeout_seconds
    if args.demo:
        from confluence_mcp.cli.demo import run_demo

        return run_demo(settings, options)
    app = wrap(create_app(settings))
    _note_running_url(settings)
    server = GracefulServer(uvicorn_config(app, settings.server, **options))
    try:
        server.run()
    finally:
        with contextlib.suppress(OSError):
            settings.running_url_file.unlink()
    return 0 if server.started else _STARTUP_FAILED


def _note_running_url(settings: Settings) -> None:
    """Note the base URL this server answers on, so ``mcp create`` in another shell prints the right port."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.running_url_file.write_text(settings.public_url + "\n", encoding="utf-8")
    except OSError:  # a read-only data dir only costs the CLI its hint
        logging.getLogger("confluence_mcp").warning("could not note the server URL in %s", settings.data_dir)
