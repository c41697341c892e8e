"""CLI commands that need settings and the store: serve, accounts, mcp, api-tokens."""

from __future__ import annotations

import argparse
import logging.config
from pathlib import Path
from typing import Any

from confluence_mcp.settings import Settings, load_settings


def add_admin_commands(commands: Any) -> None:
    """Register the server and administration subcommands on ``commands``."""
    serve = commands.add_parser("serve", help="run the MCP server")
    _settings_options(serve)
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.set_defaults(handler=_serve)


def _settings_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML settings file (default: embedded defaults)")
    parser.add_argument("--data-dir", type=Path, help="data directory (default ./data)")


def settings_from(args: argparse.Namespace) -> Settings:
    """Load settings from the --config/--data-dir (and --host/--port) options."""
    return load_settings(
        args.config,
        data_dir=args.data_dir,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
    )


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from confluence_mcp.logs import log_config
    from confluence_mcp.server.app import create_app, wrap

    settings = settings_from(args)
    config = log_config(settings.log_level)
    logging.config.dictConfig(config)
    app = wrap(create_app(settings))
    uvicorn.run(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_config=config,
        loop="auto",
        http="auto",
        lifespan="on",
        server_header=False,
    )
    return 0
