"""``confluence-mcp mcp create|list|revoke``: MCP servers, each a secret URL with its own tool filters and exposure.

``create`` prints the new URL alone on the last line, for ``| tail -n 1``; it is never shown again.
"""

from __future__ import annotations

import argparse
from typing import Any

from confluence_mcp.admin.models import McpServerInput, McpServerPatch, parse_input
from confluence_mcp.admin.service import AdminService
from confluence_mcp.cli.context import add_store_command
from confluence_mcp.cli.flags import add_expiry_options, comma_list, expires_at
from confluence_mcp.cli.table import print_table, shown_time
from confluence_mcp.policy.filters import HIDE_DEPRECATED
from confluence_mcp.store.base import DEFAULT_MAX_LIMIT, MAX_LIMIT_CEILING

__all__ = ["add_commands"]

_FLAGS = {
    "name": "--name",
    "config": "--methods/--tags",
    "config.methods": "--methods",
    "config.tags": "--tags",
    "config.tool_exposure": "--tool-exposure",
    "config.max_limit": "--max-limit",
    "config.lean_results": "--lean-results/--no-lean-results",
    "config.hide_deprecated": "--hide-deprecated",
    "expires_at": "--expires-at/--expires-in",
}


_DEPRECATED_HELP = "deprecated tools to hide: replaced (those another tool replaces; the default), all or none"


def add_commands(commands: Any) -> None:
    """Register ``mcp create|list|revoke`` on ``commands``."""
    mcp = commands.add_parser("mcp", help="manage MCP servers (secret URLs)")
    sub = mcp.add_subparsers(title="mcp commands", metavar="COMMAND")
    create = add_store_command(sub, "create", "create an MCP server; prints its secret URL last", _create, _FLAGS)
    create.add_argument("account_id", metavar="ACCOUNT_ID")
    create.add_argument("--name", required=True)
    create.add_argument("--methods", default="", help="comma-separated: read, write, custom, list, get, ...")
    create.add_argument("--tags", default="", help="comma-separated tags: pages, spaces, users, ...")
    add_expiry_options(create)
    create.add_argument("--require-api-token", action="store_true", help="also require an API token on the URL")
    create.add_argument(
        "--tool-exposure",
        choices=("all", "discovery"),
        default="all",
        help="all: tools/list shows every tool; discovery: only search_tools, get_tool_schema, call_tool",
    )
    create.add_argument(
        "--max-limit",
        metavar="N",
        help=f"cap on list tools' limit argument, 1 to {MAX_LIMIT_CEILING} (default {DEFAULT_MAX_LIMIT})",
    )
    _add_lean_flags(create)
    create.add_argument("--hide-deprecated", choices=HIDE_DEPRECATED, help=_DEPRECATED_HELP)
    update = add_store_command(sub, "update", "change an MCP server in place; its URL stays the same", _update, _FLAGS)
    update.add_argument("mcp_id", metavar="MCP_ID")
    update.add_argument("--name")
    update.add_argument("--methods", help="comma-separated; replaces the methods filter ('' = all)")
    update.add_argument("--tags", help="comma-separated; replaces the tags filter ('' = all)")
    update.add_argument("--expires-at", metavar="ISO", help="a new expiry; 'never' clears it")
    update.add_argument("--tool-exposure", choices=("all", "discovery"))
    update.add_argument("--max-limit", metavar="N")
    _add_lean_flags(update)
    update.add_argument("--hide-deprecated", choices=HIDE_DEPRECATED, help=_DEPRECATED_HELP)
    needs = update.add_mutually_exclusive_group()
    needs.add_argument("--require-api-token", dest="require", action="store_const", const=True)
    needs.add_argument("--no-require-api-token", dest="require", action="store_const", const=False)
    listing = add_store_command(sub, "list", "list MCP servers (never their URLs)", _list)
    listing.add_argument("account_id", metavar="ACCOUNT_ID", nargs="?")
    revoke = add_store_command(sub, "revoke", "revoke an MCP server: its URL stops working", _revoke)
    revoke.add_argument("mcp_id", metavar="MCP_ID")


def _add_lean_flags(command: argparse.ArgumentParser) -> None:
    lean = command.add_mutually_exclusive_group()
    help_on = "results without _links, _expandable and empty fields, with web_url (the default)"
    lean.add_argument("--lean-results", dest="lean", action="store_const", const=True, help=help_on)
    lean.add_argument("--no-lean-results", dest="lean", action="store_const", const=False, help="results as is")


async def _update(service: AdminService, args: argparse.Namespace) -> int:
    config: dict[str, object] = {}
    for key, value in (("methods", args.methods), ("tags", args.tags)):
        if value is not None:
            config[key] = comma_list(value)
    if args.tool_exposure is not None:
        config["tool_exposure"] = args.tool_exposure
    if args.max_limit is not None:
        config["max_limit"] = _whole_number(args.max_limit, "--max-limit")
    if args.hide_deprecated is not None:
        config["hide_deprecated"] = args.hide_deprecated
    if args.require is not None:
        config["require_api_token_auth"] = args.require
    if args.lean is not None:
        config["lean_results"] = args.lean
    body: dict[str, object] = {}
    if args.name is not None:
        body["name"] = args.name
    if config:
        body["config"] = config
    if args.expires_at is not None:
        body["expires_at"] = None if args.expires_at == "never" else args.expires_at
    if not body:
        raise ValueError("nothing to change: give at least one of --name, --methods, --tags, --expires-at, ...")
    server = await service.update_mcp_server(args.mcp_id, parse_input(McpServerPatch, body))
    methods = ", ".join(server.methods) or "any"
    tags = ", ".join(server.tags) or "any"
    print(f"Updated MCP server {server.id} ({server.name}): methods [{methods}], tags [{tags}]")
    print(f"Expires: {shown_time(server.expires_at)}; tool exposure: {server.tool_exposure}")
    print(f"Deprecated tools hidden: {server.hide_deprecated}")
    return 0


async def _create(service: AdminService, args: argparse.Namespace) -> int:
    config: dict[str, object] = {
        "methods": comma_list(args.methods),
        "tags": comma_list(args.tags),
        "require_api_token_auth": args.require_api_token,
        "tool_exposure": args.tool_exposure,
    }
    if args.max_limit is not None:
        config["max_limit"] = _whole_number(args.max_limit, "--max-limit")
    if args.lean is not None:
        config["lean_results"] = args.lean
    if args.hide_deprecated is not None:
        config["hide_deprecated"] = args.hide_deprecated
    body = parse_input(McpServerInput, {"name": args.name, "config": config, "expires_at": expires_at(args)})
    created = await service.create_mcp_server(args.account_id, body)
    server = created.server
    methods = ", ".join(server.methods) or "any"
    tags = ", ".join(server.tags) or "any"
    print(f"Created MCP server {server.id} ({server.name}): methods [{methods}], tags [{tags}]")
    required = "yes" if server.require_api_token_auth else "no"
    print(f"Expires: {shown_time(server.expires_at)}; API token required: {required}")
    print(f"Tool exposure: {server.tool_exposure}; list limit at most {server.max_limit}")
    print(f"Lean results: {'yes' if server.lean_results else 'no'}")
    print(f"Deprecated tools hidden: {server.hide_deprecated}")
    print("The URL below is the secret: anyone holding it can use these tools. It is not shown again.")
    print(created.url)
    return 0


async def _list(service: AdminService, args: argparse.Namespace) -> int:
    servers = await service.list_mcp_servers(args.account_id)
    rows = [
        (
            s.id,
            s.name,
            s.account_id,
            ",".join(s.methods) or "any",
            ",".join(s.tags) or "any",
            "yes" if s.require_api_token_auth else "no",
            s.tool_exposure,
            s.max_limit,
            shown_time(s.expires_at),
            "yes" if s.lean_results else "no",
        )
        for s in servers
    ]
    header = ("ID", "NAME", "ACCOUNT", "METHODS", "TAGS", "API TOKEN", "EXPOSURE", "LIMIT", "EXPIRES", "LEAN")
    print_table(header, rows, "no MCP servers")
    return 0


def _whole_number(text: str, flag: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{flag}: {text!r} is not a whole number") from None


async def _revoke(service: AdminService, args: argparse.Namespace) -> int:
    await service.delete_mcp_server(args.mcp_id)
    print(f"Revoked MCP server {args.mcp_id}; its URL no longer works")
    return 0
