"""CLI commands that need settings and the store: serve, accounts, mcp, api-tokens.

The administration commands open the store named by the settings directly (no server needs to run) and go
through ``AdminService``, so they apply the same rules as the admin REST API. Secrets printed by a command
(a new MCP URL, a new API token) are alone on the last line of stdout, for ``| tail -n 1``.
"""

from __future__ import annotations

import argparse
import functools
import logging.config
import os
import re
import sys
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio

from confluence_mcp.admin.models import AccountInput, McpServerInput, iso_z, parse_input
from confluence_mcp.admin.service import AdminService
from confluence_mcp.cli import print_table
from confluence_mcp.errors import ConfigError, InvalidInput
from confluence_mcp.openapi import Tool
from confluence_mcp.settings import Settings, load_settings

_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

# Service errors name body fields; on the command line the flags are what the user typed.
_ACCOUNT_FLAGS = {
    "label": "--label",
    "instance_url": "--instance-url",
    "auth.type": "--auth",
    "auth.username": "--email",
    "auth.password": "--api-token",
    "api_token_expires_at": "--token-expires-at",
}
_MCP_FLAGS = {
    "name": "--name",
    "config": "--methods/--tags",
    "config.methods": "--methods",
    "config.tags": "--tags",
    "expires_at": "--expires-at/--expires-in",
}
_API_TOKEN_FLAGS = {"name": "NAME", "expires_at": "--expires-in/--expires-at"}

Command = Callable[[AdminService, argparse.Namespace], Awaitable[int]]


def add_admin_commands(commands: Any) -> None:
    """Register the server and administration subcommands on ``commands``."""
    serve = commands.add_parser("serve", help="run the MCP server")
    _settings_options(serve)
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.set_defaults(handler=_serve)
    _add_account_commands(commands)
    _add_mcp_commands(commands)
    _add_api_token_commands(commands)


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
    http: Any = "auto"
    try:
        from confluence_mcp.server.protocol import CoalescingHttpToolsProtocol
    except ImportError:  # httptools missing: uvicorn's pure-Python h11 protocol still works
        pass
    else:
        http = CoalescingHttpToolsProtocol
    uvicorn.run(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_config=config,
        loop="auto",
        http=http,
        lifespan="on",
        server_header=False,
    )
    return 0


# Parsers


def _add_account_commands(commands: Any) -> None:
    accounts = commands.add_parser("accounts", help="manage integrated accounts (Confluence sites)")
    sub = accounts.add_subparsers(title="accounts commands", metavar="COMMAND")
    add = sub.add_parser("add", help="connect a Confluence site; prints the new account id last")
    _settings_options(add)
    add.add_argument("--label", required=True, help="a name for people")
    add.add_argument("--instance-url", required=True, help="the site root, https://your-site.atlassian.net")
    add.add_argument("--auth", choices=("basic", "bearer"), default="basic", help="default basic (email + API token)")
    add.add_argument("--email", help="the Atlassian account email (basic auth)")
    secret = add.add_mutually_exclusive_group()
    secret.add_argument("--api-token-env", metavar="VAR", help="read the Atlassian API token from this variable")
    secret.add_argument("--api-token-stdin", action="store_true", help="read the Atlassian API token from stdin")
    secret.add_argument("--api-token", metavar="TOKEN", help="the token itself (stays in shell history; avoid)")
    add.add_argument("--token-expires-at", metavar="ISO", help="when the Atlassian API token expires")
    add.set_defaults(handler=_command(_accounts_add, _ACCOUNT_FLAGS))
    listing = sub.add_parser("list", help="list accounts (never their secrets)")
    _settings_options(listing)
    listing.set_defaults(handler=_command(_accounts_list))
    remove = sub.add_parser("remove", help="delete an account and revoke its MCP servers")
    _settings_options(remove)
    remove.add_argument("account_id", metavar="ID")
    remove.set_defaults(handler=_command(_accounts_remove))


def _add_mcp_commands(commands: Any) -> None:
    mcp = commands.add_parser("mcp", help="manage MCP servers (secret URLs)")
    sub = mcp.add_subparsers(title="mcp commands", metavar="COMMAND")
    create = sub.add_parser("create", help="create an MCP server; prints its secret URL last")
    _settings_options(create)
    create.add_argument("account_id", metavar="ACCOUNT_ID")
    create.add_argument("--name", required=True)
    create.add_argument("--methods", default="", help="comma-separated: read, write, custom, list, get, ...")
    create.add_argument("--tags", default="", help="comma-separated tags: pages, spaces, users, ...")
    _expiry_options(create)
    create.add_argument("--require-api-token", action="store_true", help="also require an API token on the URL")
    create.set_defaults(handler=_command(_mcp_create, _MCP_FLAGS))
    listing = sub.add_parser("list", help="list MCP servers (never their URLs)")
    _settings_options(listing)
    listing.add_argument("account_id", metavar="ACCOUNT_ID", nargs="?")
    listing.set_defaults(handler=_command(_mcp_list))
    revoke = sub.add_parser("revoke", help="revoke an MCP server: its URL stops working")
    _settings_options(revoke)
    revoke.add_argument("mcp_id", metavar="MCP_ID")
    revoke.set_defaults(handler=_command(_mcp_revoke))


def _add_api_token_commands(commands: Any) -> None:
    tokens = commands.add_parser("api-tokens", help="manage API tokens for the admin API")
    sub = tokens.add_subparsers(title="api-tokens commands", metavar="COMMAND")
    create = sub.add_parser("create", help="create an API token; prints it alone on the last line")
    _settings_options(create)
    create.add_argument("name", metavar="NAME")
    _expiry_options(create)
    create.set_defaults(handler=_command(_api_tokens_create, _API_TOKEN_FLAGS))
    listing = sub.add_parser("list", help="list API tokens (never the tokens)")
    _settings_options(listing)
    listing.set_defaults(handler=_command(_api_tokens_list))
    revoke = sub.add_parser("revoke", help="revoke an API token")
    _settings_options(revoke)
    revoke.add_argument("token_id", metavar="ID")
    revoke.set_defaults(handler=_command(_api_tokens_revoke))


def _expiry_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--expires-in", metavar="DURATION", help="e.g. 90s, 15m, 1h, 30d, 2w (default: never)")
    group.add_argument("--expires-at", metavar="ISO", help="e.g. 2026-12-31T00:00:00Z (default: never)")


# Running a command against the store


def _command(command: Command, flags: Mapping[str, str] | None = None) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        settings = settings_from(args)
        try:
            return anyio.run(_with_service, settings, command, args)
        except InvalidInput as exc:
            raise _in_flags(exc, flags or {}) from exc

    return handler


async def _with_service(settings: Settings, command: Command, args: argparse.Namespace) -> int:
    from confluence_mcp.server.app import secret_cipher
    from confluence_mcp.store.base import open_store

    if settings.store_url.startswith("memory://"):
        raise ConfigError("store.url: memory:// forgets everything when this command ends; use sqlite or redis")
    store = open_store(settings.store_url, cipher=secret_cipher(settings))
    await store.open()
    try:
        return await command(AdminService(store, settings, functools.partial(_tools, settings)), args)
    finally:
        await store.close()


def _tools(settings: Settings) -> tuple[Tool, ...]:
    from confluence_mcp.openapi import default_documents, generate_tools

    return generate_tools(list(settings.documents) or default_documents())


def _in_flags(exc: InvalidInput, flags: Mapping[str, str]) -> InvalidInput:
    field = exc.field or ""
    flag = flags.get(field) or flags.get(field.split("[", 1)[0])
    if flag is None:
        return exc
    problem = str(exc).removeprefix(f"{field}: ")
    return InvalidInput(f"{flag}: {problem}", field=exc.field, details=exc.details)


# Accounts


async def _accounts_add(service: AdminService, args: argparse.Namespace) -> int:
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


async def _accounts_list(service: AdminService, args: argparse.Namespace) -> int:
    accounts = await service.list_accounts()
    rows = [
        (a.id, a.label, a.instance_url, a.auth_type, a.username or "-", _when(a.api_token_expires_at)) for a in accounts
    ]
    print_table(("ID", "LABEL", "INSTANCE", "AUTH", "USERNAME", "TOKEN EXPIRES"), rows, "no accounts")
    return 0


async def _accounts_remove(service: AdminService, args: argparse.Namespace) -> int:
    removed = await service.delete_account(args.account_id)
    print(f"Removed account {args.account_id} and revoked its {removed} MCP server(s)")
    return 0


# MCP servers


async def _mcp_create(service: AdminService, args: argparse.Namespace) -> int:
    body = parse_input(
        McpServerInput,
        {
            "name": args.name,
            "config": {
                "methods": _split(args.methods),
                "tags": _split(args.tags),
                "require_api_token_auth": args.require_api_token,
            },
            "expires_at": _expires_at(args),
        },
    )
    created = await service.create_mcp_server(args.account_id, body)
    server = created.server
    methods = ", ".join(server.methods) or "any"
    tags = ", ".join(server.tags) or "any"
    print(f"Created MCP server {server.id} ({server.name}): methods [{methods}], tags [{tags}]")
    print(
        f"Expires: {_when(server.expires_at)}; API token required: {'yes' if server.require_api_token_auth else 'no'}"
    )
    print("The URL below is the secret: anyone holding it can use these tools. It is not shown again.")
    print(created.url)
    return 0


async def _mcp_list(service: AdminService, args: argparse.Namespace) -> int:
    servers = await service.list_mcp_servers(args.account_id)
    rows = [
        (
            s.id,
            s.name,
            s.account_id,
            ",".join(s.methods) or "any",
            ",".join(s.tags) or "any",
            "yes" if s.require_api_token_auth else "no",
            _when(s.expires_at),
        )
        for s in servers
    ]
    header = ("ID", "NAME", "ACCOUNT", "METHODS", "TAGS", "API TOKEN", "EXPIRES")
    print_table(header, rows, "no MCP servers")
    return 0


async def _mcp_revoke(service: AdminService, args: argparse.Namespace) -> int:
    await service.delete_mcp_server(args.mcp_id)
    print(f"Revoked MCP server {args.mcp_id}; its URL no longer works")
    return 0


# API tokens


async def _api_tokens_create(service: AdminService, args: argparse.Namespace) -> int:
    expires = _expires_at(args)
    created = await service.create_api_token(args.name, datetime.fromisoformat(expires) if expires else None)
    record = created.record
    print(f"Created API token {record.id} ({record.name}); expires: {_when(record.expires_at)}")
    print("Copy it now, it is not shown again. Use it as 'Authorization: Bearer <token>':")
    print(created.token)
    return 0


async def _api_tokens_list(service: AdminService, args: argparse.Namespace) -> int:
    tokens = await service.list_api_tokens()
    rows = [(t.id, t.name, _when(t.created_at), _when(t.expires_at)) for t in tokens]
    print_table(("ID", "NAME", "CREATED", "EXPIRES"), rows, "no API tokens")
    return 0


async def _api_tokens_revoke(service: AdminService, args: argparse.Namespace) -> int:
    await service.delete_api_token(args.token_id)
    print(f"Revoked API token {args.token_id}")
    return 0


# Small parsers and printers


def parse_duration(text: str, flag: str = "--expires-in") -> timedelta:
    """Return the length of ``90s``, ``15m``, ``1h``, ``30d`` or ``2w``; raise ValueError naming ``flag``."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise ValueError(f"{flag}: {text!r} is not a duration such as 90s, 15m, 1h, 30d or 2w")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def _expires_at(args: argparse.Namespace) -> str | None:
    """Return the expiry of --expires-in/--expires-at as ISO text (validated later, with the body)."""
    if args.expires_in:
        return iso_z(datetime.now(UTC) + parse_duration(args.expires_in))
    if args.expires_at:
        try:
            datetime.fromisoformat(args.expires_at)
        except ValueError:
            example = "2026-12-31T00:00:00Z"
            raise ValueError(f"--expires-at: {args.expires_at!r} is not an ISO-8601 time such as {example}") from None
        return str(args.expires_at)
    return None


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _when(moment: datetime | None) -> str:
    return iso_z(moment) if moment is not None else "never"
