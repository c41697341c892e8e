"""``confluence-mcp accounts add|list|remove``: the Confluence sites MCP servers are bound to.

The new account's id is alone on the last line of ``add``'s output, for ``| tail -n 1``. The Atlassian API
token is read from a variable or stdin, so it stays out of argv and shell history (``--api-token`` exists too).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from confluence_mcp.admin.models import AccountInput, parse_input
from confluence_mcp.admin.service import AdminService
from confluence_mcp.cli.context import add_store_command
from confluence_mcp.cli.table import print_table, shown_time

__all__ = ["add_commands"]

_FLAGS = {  # the flag the user typed for each body field that AdminService names in an error
    "label": "--label",
    "instance_url": "--instance-url",
    "auth.type": "--auth",
    "auth.username": "--email",
    "auth.password": "--api-token",
    "api_token_expires_at": "--token-expires-at",
}


def add_commands(commands: Any) -> None:
    """Register ``accounts add|list|remove`` on ``commands``."""
    accounts = commands.add_parser("accounts", help="manage integrated accounts (Confluence sites)")
    sub = accounts.add_subparsers(title="accounts commands", metavar="COMMAND")
    add = add_store_command(sub, "add", "connect a Confluence site; prints the new account id last", _add, _FLAGS)
    add.add_argument("--label", required=True, help="a name for people")
    add.add_argument("--instance-url", required=True, help="the site root, https://your-site.atlassian.net")
    add.add_argument("--auth", choices=("basic", "bearer"), default="basic", help="default basic (email + API token)")
    add.add_argument("--email", help="the Atlassian account email (basic auth)")
    secret = add.add_mutually_exclusive_group()
    secret.add_argument("--api-token-env", metavar="VAR", help="read the Atlassian API token from this variable")
    secret.add_argument("--api-token-stdin", action="store_true", help="read the Atlassian API token from stdin")
    secret.add_argument("--api-token", metavar="TOKEN", help="the token itself (stays in shell history; avoid)")
    add.add_argument("--token-expires-at", metavar="ISO", help="when the Atlassian API token expires")
    add_store_command(sub, "list", "list accounts (never their secrets)", _list)
    remove = add_store_command(sub, "remove", "delete an account and revoke its MCP servers", _remove)
    remove.add_argument("account_id", metavar="ID")


async def _add(service: AdminService, args: argparse.Namespace) -> int:
    body = parse_input(
        AccountInput,
        {
            "label": args.label,
            "instance_url": args.instance_url,
            "auth": {"type": args.auth, "username": args.email, "password": _atlassian_token(args)},
            "api_token_expires_at": args.token_expires_at,
        },
    )
    account = await service.create_account(body)
    who = f"{account.auth_type} auth as {account.username}" if account.username else f"{account.auth_type} auth"
    print(f"Added account {account.label!r}: {account.instance_url}, {who}")
    print(account.id)
    return 0


def _atlassian_token(args: argparse.Namespace) -> str:
    if args.api_token_env:
        value = os.environ.get(args.api_token_env)
        if not value:
            raise ValueError(f"--api-token-env: environment variable {args.api_token_env} is not set or empty")
        return value.strip()
    if args.api_token_stdin:
        value = sys.stdin.read().strip()
        if not value:
            raise ValueError("--api-token-stdin: nothing was read from stdin")
        return value
    if args.api_token:
        return str(args.api_token)
    raise ValueError("give the Atlassian API token with --api-token-env VAR, --api-token-stdin or --api-token")


async def _list(service: AdminService, args: argparse.Namespace) -> int:
    accounts = await service.list_accounts()
    rows = [
        (a.id, a.label, a.instance_url, a.auth_type, a.username or "-", shown_time(a.api_token_expires_at))
        for a in accounts
    ]
    print_table(("ID", "LABEL", "INSTANCE", "AUTH", "USERNAME", "TOKEN EXPIRES"), rows, "no accounts")
    return 0


async def _remove(service: AdminService, args: argparse.Namespace) -> int:
    removed = await service.delete_account(args.account_id)
    print(f"Removed account {args.account_id} and revoked its {removed} MCP server(s)")
    return 0
