"""The HTTP side of Connect with Atlassian: ``POST /oauth/connect`` (admin token) and ``GET /oauth/callback``.

The callback carries no admin token (Atlassian sends the operator's browser there): the encrypted, expiring,
one-time ``state`` is what authorizes it. It answers a short text page, or the usual JSON error.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from confluence_mcp.admin.audit import Auditor
from confluence_mcp.admin.connect import AccountConnector
from confluence_mcp.admin.connect_models import OAuthConnectInput, OAuthConnectView
from confluence_mcp.admin.http_errors import error_response, internal_error_response
from confluence_mcp.admin.models import parse_input
from confluence_mcp.admin.openapi import OperationSpec
from confluence_mcp.admin.service import AdminService
from confluence_mcp.atlassian.connect import callback_parts
from confluence_mcp.errors import ConfluenceMcpError

__all__ = ["CALLBACK_ACTOR", "CONNECT_SPEC", "connector", "oauth_callback", "oauth_connect"]

log = logging.getLogger("confluence_mcp.admin")

CALLBACK_ACTOR = "oauth-callback"
"""The audit actor of accounts connected at the callback (no admin token is involved there)."""
CONNECT_SPEC = OperationSpec(
    "POST",
    "/oauth/connect",
    "connectWithAtlassian",
    "Start connecting an OAuth account (or reconnecting one): returns the Atlassian authorize URL",
    200,
    OAuthConnectInput,
    OAuthConnectView,
    names_records=True,  # account_id, when reconnecting
)


def connector(request: Request, auditor: Auditor | None) -> AccountConnector:
    """Return the callback's connector (it has no AdminService): one-time states, and the resolver told of changes."""
    runtime = request.app.state.runtime
    public_url = runtime.settings.server.public_url or str(request.base_url)
    used: set[str] = runtime.extra.setdefault("oauth_used_states", set())
    return AccountConnector(
        runtime.store,
        runtime.settings,
        runtime.cipher,
        public_url=public_url,
        used=used,
        on_change=runtime.resolver.invalidate,
        auditor=auditor,
    )


async def oauth_connect(request: Request, service: AdminService, body: object) -> Response:
    """Answer ``POST /oauth/connect`` with the authorize URL."""
    public_url = request.app.state.runtime.settings.server.public_url or str(request.base_url)
    started = await service.connector(public_url=public_url).start(parse_input(OAuthConnectInput, body))
    view = OAuthConnectView(
        authorize_url=started.authorize_url, redirect_uri=started.redirect_uri, expires_at=started.expires_at
    )
    return Response(view.model_dump_json(), status_code=200, media_type="application/json")


async def oauth_callback(request: Request) -> Response:
    """Finish an authorization Atlassian redirected back here."""
    runtime = request.app.state.runtime
    audit = runtime.audit
    auditor = None if audit is None else Auditor(CALLBACK_ACTOR, audit.append, audit.new_id)
    try:
        code, state = callback_parts(dict(request.query_params))
        account = await connector(request, auditor).complete(code, state)
    except ConfluenceMcpError as exc:
        return error_response(exc)
    except Exception:  # top-level handler: a bug still answers JSON, and the traceback goes to the log only
        log.exception("the OAuth callback failed")
        return internal_error_response()
    return PlainTextResponse(
        f"Connected {account.instance_url} as account {account.id} ({account.label}).\n"
        f"Create its MCP servers with: confluence-mcp mcp create --account {account.id} ...\n"
        "You can close this page.\n"
    )
