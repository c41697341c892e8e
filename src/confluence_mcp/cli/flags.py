"""Flag values several command groups read: comma-separated lists and ``--expires-in``/``--expires-at``."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from confluence_mcp.admin.durations import parse_duration
from confluence_mcp.admin.models import iso_z

__all__ = ["add_expiry_options", "comma_list", "expires_at", "parse_duration"]


def comma_list(value: str) -> list[str]:
    """Return the non-blank entries of a comma-separated flag value, stripped."""
    return [part.strip() for part in value.split(",") if part.strip()]


def add_expiry_options(parser: argparse.ArgumentParser) -> None:
    """Add the mutually exclusive ``--expires-in`` and ``--expires-at`` options."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--expires-in", metavar="DURATION", help="e.g. 90s, 15m, 1h, 30d, 2w (default: never)")
    group.add_argument("--expires-at", metavar="ISO", help="e.g. 2026-12-31T00:00:00Z (default: never)")


def expires_at(args: argparse.Namespace) -> str | None:
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
