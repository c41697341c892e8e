"""The command line: serve, tools, accounts, mcp, api-tokens, audit, convert, secrets; one module per command group.

Each group module adds its subcommands with ``add_commands``; a handler returns the exit code. Our errors,
and ``ValueError`` from flag parsing, print one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from confluence_mcp import __version__
from confluence_mcp.cli import accounts, api_tokens, audit, convert, mcp, secret_key, serve, tools
from confluence_mcp.errors import ConfluenceMcpError
from confluence_mcp.logs import without_file_paths

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code (errors are one line on stderr, exit 2)."""
    parser = _parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        result: int = handler(args)
    except (ConfluenceMcpError, ValueError) as exc:
        print(f"confluence-mcp: error: {without_file_paths(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="confluence-mcp", description="Confluence Cloud as MCP tools.")
    parser.add_argument("--version", action="version", version=f"confluence-mcp {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for group in (tools, serve, accounts, mcp, api_tokens, audit, convert, secret_key):
        group.add_commands(commands)
    return parser
