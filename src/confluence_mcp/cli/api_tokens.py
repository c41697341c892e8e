"""``confluence-mcp api-tokens create|list|revoke``: the bearer tokens of the admin REST API.

``create`` prints the new token alone on the last line, for ``| tail -n 1``; it is never shown again.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from confluence_mcp.admin.service import AdminService
from confluence_mcp.cli.context import add_store_command
from confluence_mcp.cli.flags import add_expiry_options, expires_at
from confluence_mcp.cli.table import print_table, shown_time

__all__ = ["add_commands"]

_FLAGS = {"name": "NAME", "expires_at": "--expires-in/--expires-at"}


def add_commands(commands: Any) -> None:
    """Register ``api-tokens create|list|revoke`` on ``commands``."""
    tokens = commands.add_parser("api-tokens", help="manage API tokens for the admin API")
    sub = tokens.add_subparsers(title="api-tokens commands", metavar="COMMAND")
    create = add_store_command(sub, "create", "create an API token; prints it alone on the last line", _create, _FLAGS)
    create.add_argument("name", metavar="NAME")
    add_expiry_options(create)
    add_store_command(sub, "list", "list API tokens (never the tokens)", _list)
    add_store_command(sub, "revoke", "revoke an API token", _revoke).add_argument("token_id", metavar="ID")


async def _create(service: AdminService, args: argparse.Namespace) -> int:
    expires = expires_at(args)
    created = await service.create_api_token(args.name, datetime.fromisoformat(expires) if expires else None)
    record = created.record
    print(f"Created API token {record.id} ({record.name}); expires: {shown_time(record.expires_at)}")
    print("Copy it now, it is not shown again. Use it as 'Authorization: Bearer <token>':")
    print(created.token)
    return 0


async def _list(service: AdminService, args: argparse.Namespace) -> int:
    tokens = await service.list_api_tokens()
    rows = [(t.id, t.name, shown_time(t.created_at), shown_time(t.expires_at)) for t in tokens]
    print_table(("ID", "NAME", "CREATED", "EXPIRES"), rows, "no API tokens")
    return 0


async def _revoke(service: AdminService, args: argparse.Namespace) -> int:
    await service.delete_api_token(args.token_id)
    print(f"Revoked API token {args.token_id}")
    return 0
