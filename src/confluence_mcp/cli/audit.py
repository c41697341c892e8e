"""``confluence-mcp audit list``: the audit log, newest first: tool calls and admin changes, never a value.

``--mcp ID`` keeps what that MCP server did (its tool calls), ``--action`` one action, ``--since`` a duration
back from now or an ISO-8601 time. When more records are older than the page, the last line says which
``--cursor`` shows them.
"""

from __future__ import annotations

import argparse
from typing import Any

from confluence_mcp.admin.audit_models import AuditLogQuery, parse_query
from confluence_mcp.admin.service import AdminService
from confluence_mcp.cli.context import add_store_command
from confluence_mcp.cli.table import print_table, shown_time
from confluence_mcp.store.base import AUDIT_PAGE_MAX, AuditRecord

__all__ = ["add_commands"]

_FLAGS = {"actor": "--mcp", "action": "--action", "since": "--since", "cursor": "--cursor", "limit": "--limit"}


def add_commands(commands: Any) -> None:
    """Register ``audit list`` on ``commands``."""
    audit = commands.add_parser("audit", help="read the audit log: tool calls and admin changes")
    sub = audit.add_subparsers(title="audit commands", metavar="COMMAND")
    listing = add_store_command(
        sub, "list", "list audit records, newest first (never an argument value)", _list, _FLAGS
    )
    listing.add_argument("--mcp", metavar="ID", help="only what this MCP server did: its tool calls")
    listing.add_argument("--action", metavar="A", help="tools/call, account.create, mcp_server.delete, ...")
    listing.add_argument("--since", metavar="1h|ISO", help="a duration back from now (15m, 1h, 7d) or an ISO time")
    listing.add_argument(
        "--limit", metavar="N", default="50", help=f"records to show, 1 to {AUDIT_PAGE_MAX} (default 50)"
    )
    listing.add_argument("--cursor", help="continue after the page that printed it")


async def _list(service: AdminService, args: argparse.Namespace) -> int:
    given = {"actor": args.mcp, "action": args.action, "since": args.since, "cursor": args.cursor, "limit": args.limit}
    query = parse_query(AuditLogQuery, {key: value for key, value in given.items() if value is not None})
    page = await service.audit_log(query)
    rows = [_row(record) for record in page.records]
    header = ("AT", "ACTOR", "ACTION", "TARGET", "OUTCOME", "UPSTREAM", "MS", "ARGUMENT KEYS")
    print_table(header, rows, "no audit records")
    if page.next_cursor is not None:
        print(f"older records: --cursor {page.next_cursor}")
    return 0


def _row(record: AuditRecord) -> tuple[str, ...]:
    outcome = record.outcome if record.reason is None else f"{record.outcome} ({record.reason})"
    return (
        shown_time(record.at),
        record.actor,
        record.action,
        record.target or "-",
        outcome,
        "-" if record.upstream_status is None else str(record.upstream_status),
        "-" if record.duration_ms is None else f"{record.duration_ms:.1f}",
        ",".join(record.argument_keys) or "-",
    )
