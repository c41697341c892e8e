"""The command line: serve, tools, accounts, mcp, api-tokens."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from confluence_mcp import __version__
from confluence_mcp.errors import ConfluenceMcpError
from confluence_mcp.openapi import Tool, default_documents, generate_tools
from confluence_mcp.policy.filters import ToolFilter, normalize_methods, normalize_tags, visible_tools


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
    except ConfluenceMcpError as exc:
        print(f"confluence-mcp: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"confluence-mcp: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="confluence-mcp", description="Confluence Cloud as MCP tools.")
    parser.add_argument("--version", action="version", version=f"confluence-mcp {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    tools = commands.add_parser("tools", help="inspect the generated tools")
    tool_commands = tools.add_subparsers(title="tools commands", metavar="COMMAND")
    listing = tool_commands.add_parser("list", help="list tools (a table, or JSON with --json)")
    _spec_option(listing)
    listing.add_argument("--methods", default="", help="comma-separated: read, write, custom, list, get, ...")
    listing.add_argument("--tags", default="", help="comma-separated tags: pages, spaces, users, ...")
    listing.add_argument("--json", action="store_true", help="print a JSON array of full tool definitions")
    listing.set_defaults(handler=_tools_list)
    show = tool_commands.add_parser("show", help="print one tool's full definition as JSON")
    _spec_option(show)
    show.add_argument("name")
    show.set_defaults(handler=_tools_show)

    from confluence_mcp.admin_cli import add_admin_commands  # keeps this module small

    add_admin_commands(commands)
    return parser


def _spec_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec",
        action="append",
        type=Path,
        metavar="PATH",
        help="OpenAPI document (JSON or YAML); repeatable; replaces the default documents",
    )


def _load(args: argparse.Namespace) -> tuple[Tool, ...]:
    specs: list[Path] = args.spec or default_documents()
    return generate_tools(specs)


def _split(value: str) -> list[str]:
    return [v for v in (part.strip() for part in value.split(",")) if v]


def _tools_list(args: argparse.Namespace) -> int:
    tools = _load(args)
    tool_filter = ToolFilter(
        methods=frozenset(normalize_methods(_split(args.methods))),
        tags=frozenset(normalize_tags(_split(args.tags))),
    )
    shown = visible_tools(tools, tool_filter)
    if args.json:
        json.dump([t.as_dict() for t in shown], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    rows = [(t.name, t.method, f"{t.binding.method} {t.binding.path}", ",".join(t.tags)) for t in shown]
    print_table(("NAME", "METHOD", "HTTP", "TAGS"), rows)
    print(f"\n{len(shown)} of {len(tools)} tools")
    return 0


def _tools_show(args: argparse.Namespace) -> int:
    tools = {t.name: t for t in _load(args)}
    tool = tools.get(args.name)
    if tool is None:
        close = sorted(n for n in tools if args.name in n or n in args.name)[:5]
        hint = f"; did you mean {', '.join(close)}?" if close else "; see 'confluence-mcp tools list'"
        raise ValueError(f"no tool named {args.name!r}{hint}")
    json.dump(tool.as_dict(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def print_table(header: Sequence[str], rows: Sequence[Sequence[Any]], empty: str = "") -> None:
    """Print rows as aligned columns under ``header``; ``empty`` instead when there are none."""
    if not rows and empty:
        print(empty)
        return
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
