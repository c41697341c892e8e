"""The admin API's response shapes built from store records: never a secret, a token or its hash."""

from __future__ import annotations

from confluence_mcp.admin.audit_models import AuditEntryView, AuditLogPage
from confluence_mcp.admin.connection_check import ConnectionReport
from confluence_mcp.admin.models import (
    AccountSavedView,
    AccountView,
    AuthView,
    ConnectionCheckView,
    McpConfigView,
    McpServerCreatedView,
    McpServerView,
)
from confluence_mcp.admin.outcomes import CheckedAccount, NewMcpServer
from confluence_mcp.atlassian.tokens import OAuthTokens
from confluence_mcp.store.base import Account, AuditPage, McpServer

__all__ = [
    "account_view",
    "audit_page_view",
    "auth_view",
    "check_view",
    "created_view",
    "mcp_server_view",
    "saved_view",
]


def auth_view(account: Account) -> AuthView:
    """Return an account's credentials as shown: kind, username, cloudId and whether it must reconnect."""
    reconnect = account.auth_type == "oauth" and OAuthTokens.load(account.secret).reconnect is not None
    return AuthView(
        type=account.auth_type, username=account.username, cloud_id=account.cloud_id, needs_reconnect=reconnect
    )


def account_view(account: Account) -> AccountView:
    """Return an account as the API shows it: no secret."""
    return AccountView(
        id=account.id,
        label=account.label,
        instance_url=account.instance_url,
        auth=auth_view(account),
        api_token_expires_at=account.api_token_expires_at,
        created_at=account.created_at,
        updated_at=account.updated_at,
    )


def check_view(report: ConnectionReport) -> ConnectionCheckView:
    """Return a connection check's report as the API shows it."""
    return ConnectionCheckView(
        ok=report.ok,
        outcome=report.outcome,
        message=report.message,
        status=report.status,
        display_name=report.display_name,
        account_id=report.account_id,
    )


def saved_view(saved: CheckedAccount) -> AccountSavedView:
    """Return an account just saved, with its connection check, as the API shows it."""
    check = None if saved.check is None else check_view(saved.check)
    return AccountSavedView(**dict(account_view(saved.account)), check=check)


def mcp_server_view(server: McpServer) -> McpServerView:
    """Return an MCP server as the API shows it: no token, no hash."""
    return McpServerView(
        id=server.id,
        name=server.name,
        integrated_account_id=server.account_id,
        config=_config_view(server),
        expires_at=server.expires_at,
        created_at=server.created_at,
        updated_at=server.updated_at,
    )


def audit_page_view(page: AuditPage) -> AuditLogPage:
    """Return a page of audit records as the API shows it."""
    entries = [
        AuditEntryView(
            id=r.id,
            at=r.at,
            actor=r.actor,
            action=r.action,
            target=r.target,
            argument_keys=list(r.argument_keys),
            outcome=r.outcome,
            reason=r.reason,
            upstream_status=r.upstream_status,
            duration_ms=r.duration_ms,
        )
        for r in page.records
    ]
    return AuditLogPage(result=entries, next_cursor=page.next_cursor)


def created_view(created: NewMcpServer) -> McpServerCreatedView:
    """Return a new MCP server with its URL and token, shown this once."""
    view = mcp_server_view(created.server)
    return McpServerCreatedView(**dict(view), url=created.url, token=created.token)


def _config_view(server: McpServer) -> McpConfigView:
    return McpConfigView(
        methods=list(server.methods),
        tags=list(server.tags),
        require_api_token_auth=server.require_api_token_auth,
        tool_exposure=server.tool_exposure,
        lean_results=server.lean_results,
        hide_deprecated=server.hide_deprecated,
        max_limit=server.max_limit,
    )
