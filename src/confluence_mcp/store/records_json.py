"""Store records as JSON text (the Redis store's values): times as UTC ISO-8601 text, tuples as arrays."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from confluence_mcp.store.base import Account, ApiToken, McpServer, Record, utc_text

__all__ = ["dump_record", "load_record"]


def dump_record(record: Account | McpServer | ApiToken) -> str:
    """Return a record as JSON: times as fixed-width UTC ISO-8601 text, tuples as arrays."""
    return json.dumps({field.name: _jsonable(getattr(record, field.name)) for field in dataclasses.fields(record)})


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):
        return utc_text(value)
    return list(value) if isinstance(value, tuple) else value


def load_record(kind: type[Record], payload: str | bytes) -> Record:
    """Return the record ``dump_record`` wrote: ``*_at`` fields back to datetimes, arrays back to tuples.

    A key missing from ``payload`` (a record written before its field existed) takes the field's default.
    """
    data: dict[str, Any] = json.loads(payload)
    for name, value in data.items():
        if name.endswith("_at") and value is not None:
            data[name] = datetime.fromisoformat(value)
        elif isinstance(value, list):
            data[name] = tuple(value)
    return kind(**data)
