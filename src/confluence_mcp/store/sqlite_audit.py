"""The audit log's SQL for the SQLite store: the filtered, newest-first page query, and the batched delete."""

from __future__ import annotations

from typing import Final

from confluence_mcp.store.audit import cursor_position
from confluence_mcp.store.base import AUDIT_PAGE_MAX, AuditFilter
from confluence_mcp.store.sqlite_schema import to_text

__all__ = ["AUDIT_DELETE_BATCH", "DELETE_AUDIT_BATCH", "audit_query"]

AUDIT_DELETE_BATCH: Final = 5000
"""Audit rows one retention statement deletes: other statements get the worker thread in between."""
DELETE_AUDIT_BATCH: Final = "DELETE FROM audit_log WHERE rowid IN (SELECT rowid FROM audit_log WHERE at < ? LIMIT ?)"


def audit_query(filters: AuditFilter, cursor: str | None, limit: int) -> tuple[str, tuple[object, ...], int]:
    """Return the SELECT of one page (one row more than ``limit``, to tell if another follows), its values, the limit.

    Raises InvalidInput for a cursor not ours.
    """
    clauses: list[str] = []
    params: list[object] = []
    equal = (
        ("actor", filters.actor),
        ("action", filters.action),
        ("target", filters.target),
        ("outcome", filters.outcome),
        ("upstream_status", filters.upstream_status),
    )
    for column, value in equal:
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if filters.since is not None:
        clauses.append("at >= ?")
        params.append(to_text(filters.since))
    if cursor is not None:
        clauses.append("(at, id) < (?, ?)")
        params.extend(cursor_position(cursor))
    limit = max(1, min(limit, AUDIT_PAGE_MAX))
    where = " AND ".join(clauses) or "1"
    # Only fixed column names go into the text; every value is a bound parameter.
    sql = f"SELECT * FROM audit_log WHERE {where} ORDER BY at DESC, id DESC LIMIT ?"  # noqa: S608
    return sql, (*params, limit + 1), limit
