"""``confluence-mcp api-tokens create|list|revoke``: admin tokens (the admin API) and MCP client tokens.

An admin token (``--scope admin``, the default) opens the admin REST API and nothing else. An MCP client
token (``--scope mcp``) is the bearer of MCP servers with ``require_api_token_auth`` and nothing else,
on the servers ``--servers`` names or, without it, on every one.

``create`` prints the new token alone on the last line, for ``| tail -n 1``; it is never shown again.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from confluence_mcp.admin.service import AdminService
from confluence_mcp.cli.context import add_store_command
from confluence_mcp.cli.flags import add_expiry_options, comma_list, expires_at
from confluence_mcp.cli.table import print_table, shown_time
from confluence_mcp.store.base import ApiToken

__all__ = ["add_commands"]

_FLAGS = {
    "name": "NAME",
    "expires_at": "--expires-in/--expires-at",
    "scope": "--scope",
    "mcp_server_ids": "--servers",
}


def add_commands(commands: Any) -> None:
    """Register ``api-tokens create|list|revoke`` on ``commands``."""
    tokens = commands.add_parser("api-tokens", help="manage API tokens: admin tokens and MCP client tokens")
    sub = tokens.add_subparsers(title="api-tokens commands", metavar="COMMAND")
    create = add_store_command(sub, "create", "create an API token; prints it alone on the last line", _create, _FLAGS)
    create.add_argument("name", metavar="NAME")
    create.add_argument(
        "--scope",
        choices=("admin", "mcp"),
        default="admin",
        help="admin: the admin API only (default); mcp: MCP servers that require API-token auth, nothing else",
    )
    create.add_argument(
        "--servers",
        metavar="ID,...",
        help="with --scope mcp: the MCP server ids it opens (see 'mcp list'); left out: every MCP server",
    )
    add_expiry_options(create)
    add_store_command(sub, "list", "list API tokens with their scope and servers (never the tokens)", _list)
    add_store_command(sub, "revoke", "revoke an API token", _revoke).add_argument("token_id", metavar="ID")


async def _create(service: AdminService, args: argparse.Namespace) -> int:
    expires = expires_at(args)
    server_ids = [] if args.servers is None else comma_list(args.servers)
    if args.servers is not None and not server_ids:
        # An empty value (an unset shell variable, say) must not quietly make a token for every server.
        raise ValueError("--servers: give at least one MCP server id, or leave --servers out for every MCP server")
    created = await service.create_api_token(
        args.name,
        datetime.fromisoformat(expires) if expires else None,
        scope=args.scope,
        mcp_server_ids=server_ids,
    )
    record = created.record
    if record.scope == "admin":
        print(f"Created admin token {record.id} ({record.name}); expires: {shown_time(record.expires_at)}")
        where = "on the admin API"
    else:
        print(f"Created MCP client token {record.id} ({record.name}); expires: {shown_time(record.expires_at)}")
        print(f"MCP servers: {_servers(record)} (only those requiring API-token auth check it)")
        where = "on those MCP URLs"
    print(f"Copy it now, it is not shown again. Use it as 'Authorization: Bearer <token>' {where}:")
    print(created.token)
    return 0


async def _list(service: AdminService, args: argparse.Namespace) -> int:
    tokens = await service.list_api_tokens()
    rows = [(t.id, t.name, t.scope, _servers(t), shown_time(t.created_at), shown_time(t.expires_at)) for t in tokens]
    print_table(("ID", "NAME", "SCOPE", "SERVERS", "CREATED", "EXPIRES"), rows, "no API tokens")
    return 0


def _servers(token: ApiToken) -> str:
    """Return the MCP servers a token opens as the commands print them."""
    if token.scope == "admin":
        return "-"
    return ",".join(token.mcp_server_ids) or "any"


async def _revoke(service: AdminService, args: argparse.Namespace) -> int:
    await service.delete_api_token(args.token_id)
    print(f"Revoked API token {args.token_id}")
    return 0
