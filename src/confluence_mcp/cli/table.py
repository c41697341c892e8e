"""How the commands print: aligned tables and times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from confluence_mcp.admin.models import iso_z

__all__ = ["print_table", "shown_time"]


def print_table(header: Sequence[str], rows: Sequence[Sequence[Any]], empty: str = "") -> None:
    """Print rows as aligned columns under ``header``; ``empty`` instead when there are none."""
    if not rows and empty:
        print(empty)
        return
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def shown_time(moment: datetime | None) -> str:
    """Return a time as the commands print it: ISO-8601 UTC with ``Z``, or ``never``."""
    return iso_z(moment) if moment is not None else "never"
