"""What every store's audit methods share: the list order, the opaque cursor, and paging over records in memory.

Lists run newest first: ``at`` descending, ties by ``id`` descending. A cursor is
base64url of ``{"at": ..., "id": ...}``, the position of the last record a page examined; records strictly
after it in list order come next. A page may hold fewer than ``limit`` records while its cursor is set (a store
that filters as it scans stops after a bounded number of records), so only a null ``next_cursor`` means the end.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from datetime import datetime

from confluence_mcp.errors import InvalidInput
from confluence_mcp.store.base import AUDIT_PAGE_MAX, AuditFilter, AuditPage, AuditRecord, utc_text

__all__ = ["Position", "cursor_after", "cursor_for", "cursor_position", "page_of", "position_of"]

_CURSOR_MAX = 512


Position = tuple[str, str]
"""Where a list resumes: (``at`` as fixed-width UTC text, ``id``); text order is list order in every store."""


def position_of(record: AuditRecord) -> Position:
    """Return the list position of ``record``."""
    return utc_text(record.at), record.id


def cursor_for(position: Position) -> str:
    """Return the cursor of the page that starts after ``position``."""
    at, record_id = position
    raw = json.dumps({"at": at, "id": record_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_after(record: AuditRecord) -> str:
    """Return the cursor of the page that starts after ``record``."""
    return cursor_for(position_of(record))


def cursor_position(cursor: str) -> Position:
    """Return the position a cursor names; raise InvalidInput (field ``cursor``) for one that is not ours."""
    why = "not a cursor this server gave; pass next_cursor as it came"
    problem = InvalidInput(f"cursor: {why}", field="cursor", details=[{"field": "cursor", "message": why}])
    if len(cursor) > _CURSOR_MAX:
        raise problem
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        at, record_id = data["at"], data["id"]
        if not isinstance(at, str) or not isinstance(record_id, str):
            raise TypeError(at)
        if utc_text(datetime.fromisoformat(at)) != at:  # only the fixed-width text compares like the instant
            raise ValueError(at)
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise problem from None
    return at, record_id


def page_of(records: Iterable[AuditRecord], filters: AuditFilter, cursor: str | None, limit: int) -> AuditPage:
    """Return the page of ``records`` (any order) that ``filters``, ``cursor`` and ``limit`` select."""
    after = cursor_position(cursor) if cursor is not None else None
    keyed = sorted(((position_of(r), r) for r in records if filters.matches(r)), key=lambda item: item[0], reverse=True)
    if after is not None:
        keyed = [item for item in keyed if item[0] < after]
    limit = max(1, min(limit, AUDIT_PAGE_MAX))
    page = tuple(record for _, record in keyed[:limit])
    return AuditPage(page, cursor_after(page[-1]) if len(keyed) > limit else None)
