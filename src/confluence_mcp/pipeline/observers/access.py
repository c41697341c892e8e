"""Observer and record for the JSON access log: what one MCP request did, filled in as it is answered.

The endpoint opens a ``RequestRecord`` per request and puts it in ``CURRENT``; the observer adds what only
the pipeline knows (tool, outcome, upstream status, upstream time). A context variable reaches the handler
on both transports: the lean path runs in the endpoint's task, and the SDK's task group copies the context,
which still holds the same record object. Only servers with ``logging.format: json`` pay for any of this.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from confluence_mcp.pipeline.context import Call


@dataclass(slots=True)
class RequestRecord:
    """One MCP request as the access log line shows it; ids only, never a token or an argument value."""

    request_id: str
    method: str | None = None
    mcp_server_id: str | None = None
    tool: str | None = None
    outcome: str | None = None
    upstream_status: int | None = None
    upstream_ms: float | None = None


CURRENT: ContextVar[RequestRecord | None] = ContextVar("confluence_mcp_request", default=None)


class RecordCall:
    """Copies a finished call's tool, outcome and upstream figures into the request's record."""

    name = "access"

    def observe(self, call: Call) -> None:
        """Fill the current request's record from ``call`` (nothing when no record is open)."""
        record = CURRENT.get()
        if record is None:
            return
        record.tool = call.name if call.tool is not None else None  # only names of tools we have
        outcome = call.outcome
        if outcome is None:  # refused before running: say by what (UnknownTool, CallsThrottled, ...)
            record.outcome = type(call.failure).__name__ if call.failure is not None else "refused"
        else:
            record.outcome = "error" if outcome.is_error else "ok"
        if call.response is not None:
            record.upstream_status = call.response.status
            record.upstream_ms = round(call.upstream_seconds * 1000, 3)
