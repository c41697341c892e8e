"""Observer: one audit record per finished tool call, appended to the in-memory queue the writer empties.

The record holds the MCP server id, the tool name, the argument keys the agent sent (never a value), the
outcome and its error class, Confluence's status and the duration. Building it and appending it is all the
call pays; the store write happens later, in batches, off the call path (``store/audit_queue.py``). A call no
MCP server stands behind (an unknown URL, refused before the pipeline could resolve it) records nothing.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from confluence_mcp.pipeline.context import Call
from confluence_mcp.store.audit_queue import AuditQueue
from confluence_mcp.store.base import AuditOutcome, AuditRecord

MAX_KEYS = 64
"""Argument keys one record keeps at most (a schema has far fewer; the rest would be an agent's noise)."""
MAX_TEXT = 128
"""Characters kept of a tool name or an argument key the agent made up."""


class AuditCalls:
    """Appends a small frozen record of each finished call to the audit queue; never blocks, never writes."""

    name = "audit"

    def __init__(self, queue: AuditQueue) -> None:
        self._append = queue.append
        self._new_id = queue.new_id

    def observe(self, call: Call) -> None:
        """Queue the audit record of ``call``."""
        resolved = call.resolved
        if resolved is None:
            return
        outcome = call.outcome
        kind: AuditOutcome = "refused" if outcome is None else "error" if outcome.is_error else "ok"
        failure = call.failure
        response = call.response
        sent = call.sent_arguments
        self._append(
            AuditRecord(
                self._new_id(),
                datetime.now(UTC),
                resolved.server.id,
                "tools/call",
                call.name[:MAX_TEXT],
                _keys(call.arguments if sent is None else sent),
                kind,
                None if failure is None else type(failure).__name__,
                None if response is None else response.status,
                round((time.perf_counter() - call.started) * 1000, 3),
            )
        )


def _keys(arguments: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the argument keys, bounded in number and length; the values never leave the arguments."""
    if type(arguments) is not dict and not isinstance(arguments, Mapping):  # the exact test first: it is cheaper
        return ()
    keys = tuple(arguments) if len(arguments) <= MAX_KEYS else tuple(itertools.islice(arguments, MAX_KEYS))
    if keys and max(map(len, keys)) > MAX_TEXT:
        keys = tuple(key[:MAX_TEXT] for key in keys)
    return keys
