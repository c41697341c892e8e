"""Store records as JSON text (the Redis store's values): times as UTC ISO-8601 text, tuples as arrays."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from confluence_mcp.store.base import Account, ApiToken, AuditRecord, McpServer, Record, utc_text

__all__ = ["dump_audit", "dump_record", "load_audit", "load_record"]


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


def dump_audit(record: AuditRecord) -> str:
    """Return an audit record as JSON, ``at`` as fixed-width UTC text and the keys as an array."""
    data = {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}
    data["at"] = utc_text(record.at)
    data["argument_keys"] = list(record.argument_keys)
    return json.dumps(data, separators=(",", ":"))


def load_audit(payload: str | bytes) -> AuditRecord:
    """Return the audit record ``dump_audit`` wrote."""
    data: dict[str, Any] = json.loads(payload)
    data["at"] = datetime.fromisoformat(data["at"])
    data["argument_keys"] = tuple(data["argument_keys"])
    return AuditRecord(**data)
