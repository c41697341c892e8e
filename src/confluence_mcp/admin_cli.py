"""CLI commands that need settings and the store: serve, accounts, mcp, api-tokens."""

from __future__ import annotations

import argparse
from typing import Any


def add_admin_commands(commands: Any) -> None:
    """Register the server and administration subcommands on ``commands``."""
    serve = commands.add_parser("serve", help="run the MCP server")
    serve.add_argument("--config", help="YAML settings file (default: embedded defaults)")
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--data-dir", help="data directory (default ./data)")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    raise NotImplementedError("serve arrives with the server")
