"""``confluence-mcp accounts add|update|connect|list|remove``: the Confluence sites MCP servers are bound to.

The new account's id is alone on the last line of ``add``'s output, for ``| tail -n 1``. The Atlassian API
token is read from a variable or stdin, so it stays out of argv and shell history (``--api-token`` exists too).
``add`` and ``update`` test new credentials against Confluence's current-user endpoint and refuse them when
it does not accept them; ``--no-check`` skips that (a site not reachable from here yet, say).

``connect`` starts an OAuth (3LO) account: it prints the authorize URL, and the running server's
``/oauth/callback`` finishes it when Atlassian sends the browser back. When the browser cannot reach the server,
copy the callback URL from its address bar and finish here: ``accounts connect --callback-url URL``.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from confluence_mcp.admin.connect_models import OAuthConnectInput
from confluence_mcp.admin.connection_check import ConnectionReport
from confluence_mcp.admin.models import AccountInput, AccountPatch, parse_input
from confluence_mcp.admin.outcomes import CheckedAccount
from confluence_mcp.admin.service import AdminService
from confluence_mcp.admin.views import auth_view
from confluence_mcp.atlassian.connect import callback_parts
from confluence_mcp.cli.context import add_store_command
from confluence_mcp.cli.table import print_table, shown_time
from confluence_mcp.store.base import Account

__all__ = ["add_commands"]

_FLAGS = {  # the flag the user typed for each body field that AdminService names in an error
    "label": "--label",
    "instance_url": "--instance-url",
    "auth": "--email/--api-token",
    "auth.type": "--auth",
    "auth.username": "--email",
    "auth.password": "--api-token",
    "api_token_expires_at": "--token-expires-at",
}


def add_commands(commands: Any) -> None:
    """Register ``accounts add|update|list|remove`` on ``commands``."""
    accounts = commands.add_parser("accounts", help="manage integrated accounts (Confluence sites)")
    sub = accounts.add_subparsers(title="accounts commands", metavar="COMMAND")
    add = add_store_command(sub, "add", "connect a Confluence site; prints the new account id last", _add, _FLAGS)
    add.add_argument("--label", required=True, help="a name for people")
    add.add_argument("--instance-url", required=True, help="the site root, https://your-site.atlassian.net")
    add.add_argument(
        "--auth",
        choices=("basic", "scoped", "bearer"),
        default="basic",
        help="basic (email + classic API token; the default), scoped (email + scoped API token, via"
        " api.atlassian.com) or bearer (an access token); OAuth accounts: 'accounts connect'",
    )
    _credential_options(add)
    add.add_argument(
        "--token-expires-at", "--token-expires", metavar="ISO", help="when the Atlassian API token expires"
    )
    update = add_store_command(
        sub, "update", "change an account in place (new credentials are tested)", _update, _FLAGS
    )
    update.add_argument("account_id", metavar="ID")
    update.add_argument("--label", help="a new name for people")
    update.add_argument("--instance-url", help="a new site root (needs new credentials too)")
    update.add_argument("--auth", choices=("basic", "scoped", "bearer"), help="with new credentials: default basic")
    _credential_options(update)
    update.add_argument(
        "--token-expires-at", "--token-expires", metavar="ISO", help="when the API token expires; 'never' clears it"
    )
    connect = add_store_command(
        sub, "connect", "connect an OAuth account: prints the Atlassian authorize URL", _connect, _CONNECT_FLAGS
    )
    connect.add_argument("--label", help="a name for people (default: the site's name)")
    connect.add_argument("--account", metavar="ID", help="reconnect this oauth account instead of adding one")
    connect.add_argument(
        "--callback-url", metavar="URL", help="finish here with the URL Atlassian sent the browser back to"
    )
    add_store_command(sub, "list", "list accounts (never their secrets)", _list)
    remove = add_store_command(sub, "remove", "delete an account and revoke its MCP servers", _remove)
    remove.add_argument("account_id", metavar="ID")


def _credential_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", help="the Atlassian account email (basic auth)")
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--api-token-env", metavar="VAR", help="read the Atlassian API token from this variable")
    secret.add_argument("--api-token-stdin", action="store_true", help="read the Atlassian API token from stdin")
    secret.add_argument("--api-token", metavar="TOKEN", help="the token itself (stays in shell history; avoid)")
    parser.add_argument(
        "--no-check", action="store_true", help="do not test the credentials against Confluence before saving"
    )


def _print_check(report: ConnectionReport | None) -> None:
    if report is not None:
        print(f"Connection check: {report.message}")


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
    saved = await service.create_account(body, check=not args.no_check)
    account = saved.account
    _print_check(saved.check)
    print(f"Added account {account.label!r}: {account.instance_url}, {_who(saved)}")
    print(account.id)
    return 0


def _who(saved: CheckedAccount) -> str:
    account = saved.account
    who = f"{account.auth_type} auth as {account.username}" if account.username else f"{account.auth_type} auth"
    return f"{who}, cloudId {account.cloud_id}" if account.cloud_id else who


async def _update(service: AdminService, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {}
    if args.label is not None:
        body["label"] = args.label
    if args.instance_url is not None:
        body["instance_url"] = args.instance_url
    if args.email is not None or args.api_token_env or args.api_token_stdin or args.api_token:
        body["auth"] = {"type": args.auth or "basic", "username": args.email, "password": _atlassian_token(args)}
    elif args.auth is not None:
        raise ValueError("--auth: give new credentials with it (--email and the API token)")
    expires = args.token_expires_at
    if expires is not None:
        body["api_token_expires_at"] = None if expires == "never" else expires
    if not body:
        raise ValueError(
            "nothing to change: give at least one of --label, --instance-url, --email with an API token,"
            " --token-expires-at"
        )
    saved = await service.update_account(args.account_id, parse_input(AccountPatch, body), check=not args.no_check)
    account = saved.account
    _print_check(saved.check)
    print(f"Updated account {account.label!r}: {account.instance_url}, {_who(saved)}")
    print(f"Token expires: {shown_time(account.api_token_expires_at)}")
    return 0


_CONNECT_FLAGS = {"label": "--label", "account_id": "--account", "state": "--callback-url", "code": "--callback-url"}


async def _connect(service: AdminService, args: argparse.Namespace) -> int:
    connector = service.connector()
    if args.callback_url:
        query = dict(parse_qsl(urlsplit(args.callback_url.strip()).query))
        account = await connector.complete(*callback_parts(query))
        print(f"Connected {account.instance_url} as oauth account {account.label!r}")
        print(account.id)
        return 0
    body = parse_input(OAuthConnectInput, {"label": args.label, "account_id": args.account})
    started = await connector.start(body)
    minutes = max(1, round((started.expires_at - datetime.now(UTC)).total_seconds() / 60))
    print(f"Open this URL in a browser, sign in to Atlassian and approve (valid for {minutes} minutes):\n")
    print(started.authorize_url + "\n")
    print(f"Atlassian then sends the browser to {started.redirect_uri}, where the running server finishes.")
    print("If that page cannot load, copy its URL and run: confluence-mcp accounts connect --callback-url 'URL'")
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
        (a.id, a.label, a.instance_url, _auth_shown(a), a.username or "-", shown_time(a.api_token_expires_at))
        for a in accounts
    ]
    print_table(("ID", "LABEL", "INSTANCE", "AUTH", "USERNAME", "TOKEN EXPIRES"), rows, "no accounts")
    return 0


def _auth_shown(account: Account) -> str:
    if auth_view(account).needs_reconnect:
        return "oauth (reconnect: accounts connect --account ID)"
    return account.auth_type


async def _remove(service: AdminService, args: argparse.Namespace) -> int:
    removed = await service.delete_account(args.account_id)
    print(f"Removed account {args.account_id} and revoked its {removed} MCP server(s)")
    return 0
