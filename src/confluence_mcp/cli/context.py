"""What the administration commands share: the settings options, and running a command through ``AdminService``.

The commands open the store named by the settings directly (no server needs to run) and go through
``AdminService``, so they apply the same rules as the admin REST API, and their changes reach the audit log
as the actor ``cli`` (written when the command ends, whether it succeeded or not). Its errors name body fields
(``instance_url``); ``add_store_command`` renames them to the flags the user typed (``--instance-url``).
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import anyio

from confluence_mcp.admin.audit import CLI_ACTOR, Auditor
from confluence_mcp.admin.rules import reworded
from confluence_mcp.admin.service import AdminService
from confluence_mcp.errors import ConfigError, InvalidInput
from confluence_mcp.openapi import Tool
from confluence_mcp.settings import Settings, load_settings
from confluence_mcp.store.base import AuditRecord

__all__ = ["Command", "add_settings_options", "add_store_command", "settings_from"]

Command = Callable[[AdminService, argparse.Namespace], Awaitable[int]]
"""An administration command: runs against the service, returns the exit code."""


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` and ``--data-dir``, which every command that reads the settings takes."""
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


def add_store_command(
    commands: Any, name: str, summary: str, command: Command, flags: Mapping[str, str] | None = None
) -> argparse.ArgumentParser:
    """Add subcommand ``name`` running ``command`` on the configured store; ``flags`` maps body fields to flags."""
    parser: argparse.ArgumentParser = commands.add_parser(name, help=summary)
    add_settings_options(parser)
    parser.set_defaults(handler=_handler(command, flags or {}))
    return parser


def _handler(command: Command, flags: Mapping[str, str]) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        settings = settings_from(args)
        try:
            return anyio.run(_with_service, settings, command, args)
        except InvalidInput as exc:
            raise _in_flags(exc, flags) from exc

    return handler


async def _with_service(settings: Settings, command: Command, args: argparse.Namespace) -> int:
    from confluence_mcp.admin.connection_check import ConnectionChecker
    from confluence_mcp.server.app import secret_cipher
    from confluence_mcp.store.opening import open_store
    from confluence_mcp.upstream.client import UpstreamClient, open_sender

    if settings.store_url.startswith("memory://"):
        raise ConfigError("store.url: memory:// forgets everything when this command ends; use sqlite or redis")
    cipher = secret_cipher(settings)
    store = open_store(settings.store_url, cipher=cipher)
    records: list[AuditRecord] = []
    auditor = Auditor(CLI_ACTOR, records.append) if settings.audit.retention_days > 0 else None
    # The same sender and SSRF guard as the server's tool calls, for the connection check of accounts add|update.
    upstream = UpstreamClient(open_sender(settings.upstream), settings.upstream.retry)
    await store.open()
    try:
        tools = functools.partial(_tools, settings)
        service = AdminService(
            store,
            settings,
            tools,
            public_url=_running_url(settings),
            auditor=auditor,
            checker=ConnectionChecker(upstream, api_url=settings.atlassian.api_url),
            cipher=cipher,
            hasher=cipher.hasher,
        )
        return await command(service, args)
    finally:
        try:
            await store.append_audit(records)
        finally:
            await upstream.aclose()
            await store.close()


def _tools(settings: Settings) -> tuple[Tool, ...]:
    from confluence_mcp.openapi import default_documents, generate_tools

    return generate_tools(list(settings.documents) or default_documents())


def _in_flags(exc: InvalidInput, flags: Mapping[str, str]) -> InvalidInput:
    field = exc.field or ""
    flag = flags.get(field) or flags.get(field.split("[", 1)[0])
    if flag is None:
        return exc
    return InvalidInput(reworded(exc, flag), field=exc.field, details=exc.details)


def _running_url(settings: Settings) -> str | None:
    """Return the base URL a running ``serve`` noted in the data dir, unless ``server.public_url`` is set."""
    if settings.server.public_url:
        return None
    try:
        text = settings.running_url_file.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text if text.startswith(("http://", "https://")) else None
