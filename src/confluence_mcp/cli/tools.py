"""``confluence-mcp tools list|show``: inspect the generated tools, filtered as an MCP server would filter them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from confluence_mcp.cli.flags import comma_list
from confluence_mcp.cli.table import print_table
from confluence_mcp.openapi import Tool, default_documents, generate_tools
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.policy.filters import HIDE_DEPRECATED, ToolFilter, normalize_methods, normalize_tags, visible_tools

__all__ = ["add_commands"]


def add_commands(commands: Any) -> None:
    """Register ``tools list`` and ``tools show`` on ``commands``."""
    tools = commands.add_parser("tools", help="inspect the generated tools")
    tool_commands = tools.add_subparsers(title="tools commands", metavar="COMMAND")
    listing = tool_commands.add_parser("list", help="list tools (a table, or JSON with --json)")
    _spec_option(listing)
    listing.add_argument("--methods", default="", help="comma-separated: read, write, custom, list, get, ...")
    listing.add_argument("--tags", default="", help="comma-separated tags: pages, spaces, users, ...")
    listing.add_argument(
        "--hide-deprecated",
        choices=HIDE_DEPRECATED,
        default="replaced",
        help="deprecated tools to hide, as an MCP server would: replaced (default), all or none",
    )
    listing.add_argument("--json", action="store_true", help="print a JSON array of full tool definitions")
    listing.set_defaults(handler=_tools_list)
    show = tool_commands.add_parser("show", help="print one tool's full definition as JSON")
    _spec_option(show)
    show.add_argument("name")
    show.set_defaults(handler=_tools_show)


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
    # The catalog's tools are what agents see (paginated lists take our cursor, not Confluence's).
    return Catalog(generate_tools(specs)).tools


def _tools_list(args: argparse.Namespace) -> int:
    tools = _load(args)
    tool_filter = ToolFilter(
        methods=frozenset(normalize_methods(comma_list(args.methods))),
        tags=frozenset(normalize_tags(comma_list(args.tags))),
        hide_deprecated=args.hide_deprecated,
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
