"""The Activity page of an MCP server: its latest tool calls from the audit log, filtered by tool, status, time."""

from __future__ import annotations

from starlette.responses import Response

from confluence_mcp.admin.audit_models import McpLogsQuery, parse_query
from confluence_mcp.errors import InvalidInput
from confluence_mcp.store.base import AuditPage
from confluence_mcp.ui.forms import FormErrors, form_errors
from confluence_mcp.ui.pages import Page

__all__ = ["activity"]

_FILTERS = ("tool", "status", "since", "cursor")
_SINCE_CHOICES = (
    ("", "any time"),
    ("15m", "last 15 minutes"),
    ("1h", "last hour"),
    ("1d", "last day"),
    ("7d", "last 7 days"),
)
_STATUS_CHOICES = (("", "any"), ("ok", "ok"), ("error", "error (ran and failed)"), ("refused", "refused (did not run)"))
PAGE_SIZE = 50


async def activity(page: Page) -> Response:
    """GET /ui/accounts/{account_id}/mcp/{mcp_id}/activity: the calls, newest first, a page at a time."""
    account_id = page.param("account_id")
    account = await page.service.get_account(account_id)
    server = await page.service.get_mcp_server(page.param("mcp_id"), account_id=account_id)
    params = {name: page.request.query_params.get(name, "").strip() for name in _FILTERS}
    given = {name: value for name, value in params.items() if value}
    errors: FormErrors | None = None
    result = AuditPage(records=(), next_cursor=None)
    try:
        query = parse_query(McpLogsQuery, {**given, "limit": str(PAGE_SIZE)})
        result = await page.service.mcp_server_logs(account_id, server.id, query)
    except InvalidInput as exc:
        errors = form_errors(exc, frozenset(_FILTERS))
    older = None
    if result.next_cursor:
        older = {**{k: v for k, v in given.items() if k != "cursor"}, "cursor": result.next_cursor}
    return page.render(
        "activity.html",
        account=account,
        server=server,
        records=result.records,
        filters=params,
        older=older,
        tools=sorted(t.name for t in page.runtime.catalog.tools),
        since_choices=_SINCE_CHOICES,
        status_choices=_STATUS_CHOICES,
        audit_on=page.runtime.audit is not None,
        errors=errors,
    )
