"""Pydantic models of the audit log's admin boundary: the query parameters of its two routes, and its pages."""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, Field

from confluence_mcp.admin.models import RequestBody, Timestamp, parse_input
from confluence_mcp.errors import InvalidBody, InvalidInput
from confluence_mcp.store.base import AUDIT_PAGE_MAX

__all__ = ["AuditEntryView", "AuditLogPage", "AuditLogQuery", "McpLogsQuery", "parse_query"]

_Model = TypeVar("_Model", bound=BaseModel)


def parse_query(model: type[_Model], params: dict[str, str]) -> _Model:
    """Validate query parameters against ``model``; raise ``InvalidInput`` (400) naming every bad parameter."""
    try:
        return parse_input(model, params)
    except InvalidBody as exc:
        raise InvalidInput(str(exc), field=exc.field, details=exc.details) from None


_Since = Annotated[
    str | None,
    Field(
        max_length=64,
        description="Only records from then on: a duration back from now (90s, 15m, 1h, 7d, 2w) or an ISO-8601"
        " time (UTC if it has no offset).",
    ),
]
_Cursor = Annotated[str | None, Field(max_length=512, description="The next_cursor of the previous page.")]
_Limit = Annotated[int, Field(ge=1, le=AUDIT_PAGE_MAX, description="Records per page, newest first.")]


class AuditLogQuery(RequestBody):
    """Query of ``GET /audit-log``: every record, optionally of one actor or one action."""

    actor: str | None = Field(
        default=None, max_length=200, description="An MCP server id (its tool calls), an admin token id, or cli."
    )
    action: str | None = Field(
        default=None,
        max_length=64,
        description="tools/call, account.create|update|delete|connect, mcp_server.create|update|delete,"
        " api_token.create|revoke.",
    )
    since: _Since = None
    cursor: _Cursor = None
    limit: _Limit = 50


class McpLogsQuery(RequestBody):
    """Query of ``GET /integrated-account/{id}/mcp/{mcp_id}/logs``: that MCP server's tool calls."""

    tool: str | None = Field(default=None, max_length=200, description="Only calls of this tool.")
    status: str | None = Field(
        default=None,
        max_length=16,
        description="ok, error (it ran and failed), refused (it did not run), or Confluence's HTTP status (404).",
    )
    since: _Since = None
    cursor: _Cursor = None
    limit: _Limit = 50


class AuditEntryView(BaseModel):
    """One audit record: ids, names and keys only, never a token, a secret or an argument value."""

    id: str
    at: Timestamp
    actor: str = Field(description="The MCP server id (tools/call), the admin token id (admin API) or cli (CLI).")
    action: str = Field(examples=["tools/call", "account.create", "api_token.revoke"])
    target: str | None = Field(description="The tool name, or the id of the record changed (null: a failed create).")
    argument_keys: list[str] = Field(description="The argument keys sent, or the body fields given; never values.")
    outcome: Literal["ok", "error", "refused"] = Field(
        description="ok; error: it ran and failed; refused: it did not run (a rule, a cap, an unknown tool)."
    )
    reason: str | None = Field(description="The error class when not ok, e.g. InvalidArguments, NotFound.")
    upstream_status: int | None = Field(description="Confluence's HTTP status, for tool calls that reached it.")
    duration_ms: float | None


class AuditLogPage(BaseModel):
    """A page of audit records, newest first."""

    result: list[AuditEntryView]
    next_cursor: str | None = Field(
        description="Pass as cursor for the next, older page; null: no more. A page may hold fewer than limit"
        " records and still have one."
    )
