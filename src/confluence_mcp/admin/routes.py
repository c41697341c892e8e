"""The admin REST API (integrated accounts and their MCP servers) and its OpenAPI document.

Paths follow Truto's, at the root: ``/integrated-account[/{account_id}[/mcp[/{mcp_id}[/logs]]]]``, and
``/audit-log``. Every route but
``GET /admin/openapi.json`` needs an admin token. Bodies are read under ``server.max_body_bytes``, parsed, shaped
by ``admin.models`` and handed to ``AdminService``; every failure becomes a JSON error via ``admin.http_errors``.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from confluence_mcp import __version__, asgi
from confluence_mcp.admin.audit import Auditor
from confluence_mcp.admin.audit_models import AuditLogPage, AuditLogQuery, McpLogsQuery, parse_query
from confluence_mcp.admin.auth import require_api_token
from confluence_mcp.admin.connect import CALLBACK_PATH
from confluence_mcp.admin.connection_check import ConnectionChecker
from confluence_mcp.admin.http_errors import error_response, internal_error_response
from confluence_mcp.admin.models import (
    AccountCheckQuery,
    AccountInput,
    AccountList,
    AccountPatch,
    AccountSavedView,
    AccountView,
    McpServerCreatedView,
    McpServerInput,
    McpServerList,
    McpServerPatch,
    McpServerView,
    parse_input,
)
from confluence_mcp.admin.oauth_routes import CONNECT_SPEC, oauth_callback, oauth_connect
from confluence_mcp.admin.openapi import OperationSpec, build_document
from confluence_mcp.admin.service import AdminService
from confluence_mcp.admin.views import account_view, audit_page_view, created_view, mcp_server_view, saved_view
from confluence_mcp.asgi import Receive, Scope, Send
from confluence_mcp.errors import (
    BodyTooLarge,
    ConfluenceMcpError,
    MalformedJson,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    StoreError,
)

__all__ = ["OPENAPI_PATH", "admin_routes", "admin_service"]

log = logging.getLogger("confluence_mcp.admin")

OPENAPI_PATH = "/admin/openapi.json"
ACCOUNTS = "/integrated-account"
ACCOUNT = "/integrated-account/{account_id}"
SERVERS = "/integrated-account/{account_id}/mcp"
SERVER = "/integrated-account/{account_id}/mcp/{mcp_id}"
SERVER_LOGS = "/integrated-account/{account_id}/mcp/{mcp_id}/logs"
AUDIT_LOG = "/audit-log"

Handler = Callable[[Request, AdminService], Awaitable[Response]]
RequestBody = TypeVar("RequestBody", bound=BaseModel)
_Query = TypeVar("_Query", bound=BaseModel)


def admin_routes() -> list[BaseRoute]:
    """Return the admin API routes: one per path, dispatching by method, plus the OpenAPI document."""
    by_path: dict[str, dict[str, Handler]] = {}
    for spec, handler in _OPERATIONS:
        by_path.setdefault(spec.path, {})[spec.method] = handler
    routes: list[BaseRoute] = [
        Route(OPENAPI_PATH, _openapi, methods=["GET"]),
        Route(CALLBACK_PATH, oauth_callback, methods=["GET"]),
    ]
    routes.extend(Route(path, _Resource(path, handlers)) for path, handlers in by_path.items())
    return routes


class _Resource:
    """The ASGI app of one admin path: API token first, then the method's handler; errors become JSON."""

    def __init__(self, path: str, handlers: Mapping[str, Handler]) -> None:
        self._path = path
        self._handlers = dict(handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request."""
        request = Request(scope, receive)
        try:
            response = await self._answer(request)
        except ConfluenceMcpError as exc:
            if isinstance(exc, StoreError) and not isinstance(exc, NotFound):  # the full text, paths too, is logged
                log.warning("admin API %s %s: %s", request.method, self._path, exc)
            response = error_response(exc)
        except Exception:  # top-level handler: a bug still answers JSON, and the traceback goes to the log only
            log.exception("admin API %s %s failed", request.method, self._path)
            response = internal_error_response()
        await response(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        runtime = request.app.state.runtime
        token = await require_api_token(request, runtime.resolver.api_token)
        handler = self._handlers.get(request.method)
        if handler is None:
            allowed = ", ".join(sorted(self._handlers))
            raise MethodNotAllowed(f"{request.method} {self._path}: use {allowed}", headers={"Allow": allowed})
        return await handler(request, admin_service(runtime, token.id))


def admin_service(runtime: Any, actor: str) -> AdminService:
    """Return the service the admin API and the web pages run as ``actor`` (an admin token id) on ``runtime``."""
    return AdminService(
        runtime.store,
        runtime.settings,
        lambda: runtime.catalog.tools,
        on_change=runtime.resolver.invalidate,  # so a revoked URL dies at once in this process
        hasher=runtime.cipher.hasher,
        cipher=runtime.cipher,  # for connector(): the web pages start Connect with Atlassian through it
        auditor=None if runtime.audit is None else Auditor(actor, runtime.audit.append, runtime.audit.new_id),
        checker=None
        if runtime.upstream is None
        else ConnectionChecker(runtime.upstream, api_url=runtime.settings.atlassian.api_url),
    )


async def read_json(request: Request, limit: int) -> Any:
    """Return the parsed JSON body; raise PayloadTooLarge over ``limit`` bytes, MalformedJson if it is not JSON."""
    too_large = PayloadTooLarge(f"the request body is larger than the {limit}-byte limit")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise too_large
    try:
        body = await asgi.read_body(request.receive, limit)
    except BodyTooLarge:
        raise too_large from None
    if not body.strip():
        raise MalformedJson("the request body is empty; send a JSON object")
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise MalformedJson(f"the request body is not valid JSON: {exc.msg} at {where}") from None
    except UnicodeDecodeError:
        raise MalformedJson("the request body is not valid JSON: it is not UTF-8 text") from None
    except RecursionError:
        raise MalformedJson("the request body is not valid JSON we accept: it is nested too deeply") from None


async def _body(request: Request, model: type[RequestBody]) -> RequestBody:
    limit: int = request.app.state.runtime.settings.server.max_body_bytes
    return parse_input(model, await read_json(request, limit))


def _query(request: Request, model: type[_Query]) -> _Query:
    return parse_query(model, dict(request.query_params))


def _json(model: BaseModel, status: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status)


# Handlers


async def _create_account(request: Request, service: AdminService) -> Response:
    check = _query(request, AccountCheckQuery).check
    saved = await service.create_account(await _body(request, AccountInput), check=check)
    return _json(saved_view(saved), 201)


async def _list_accounts(request: Request, service: AdminService) -> Response:
    accounts = await service.list_accounts()
    return _json(AccountList(result=[account_view(a) for a in accounts]))


async def _get_account(request: Request, service: AdminService) -> Response:
    return _json(account_view(await service.get_account(request.path_params["account_id"])))


async def _update_account(request: Request, service: AdminService) -> Response:
    account_id = request.path_params["account_id"]
    check = _query(request, AccountCheckQuery).check
    body = await _body(request, AccountPatch)
    return _json(saved_view(await service.update_account(account_id, body, check=check)))


async def _delete_account(request: Request, service: AdminService) -> Response:
    await service.delete_account(request.path_params["account_id"])
    return Response(status_code=204)


async def _create_mcp_server(request: Request, service: AdminService) -> Response:
    account_id = request.path_params["account_id"]
    body = await _body(request, McpServerInput)
    created = await service.create_mcp_server(account_id, body)
    return _json(created_view(created), 201)


async def _list_mcp_servers(request: Request, service: AdminService) -> Response:
    servers = await service.list_mcp_servers(request.path_params["account_id"])
    return _json(McpServerList(result=[mcp_server_view(s) for s in servers]))


async def _get_mcp_server(request: Request, service: AdminService) -> Response:
    params = request.path_params
    return _json(mcp_server_view(await service.get_mcp_server(params["mcp_id"], account_id=params["account_id"])))


async def _update_mcp_server(request: Request, service: AdminService) -> Response:
    params = request.path_params
    body = await _body(request, McpServerPatch)
    server = await service.update_mcp_server(params["mcp_id"], body, account_id=params["account_id"])
    return _json(mcp_server_view(server))


async def _delete_mcp_server(request: Request, service: AdminService) -> Response:
    params = request.path_params
    await service.delete_mcp_server(params["mcp_id"], account_id=params["account_id"])
    return Response(status_code=204)


async def _mcp_server_logs(request: Request, service: AdminService) -> Response:
    params = request.path_params
    page = await service.mcp_server_logs(params["account_id"], params["mcp_id"], _query(request, McpLogsQuery))
    return _json(audit_page_view(page))


async def _oauth_connect(request: Request, service: AdminService) -> Response:
    limit: int = request.app.state.runtime.settings.server.max_body_bytes
    return await oauth_connect(request, service, await read_json(request, limit))


async def _audit_log(request: Request, service: AdminService) -> Response:
    return _json(audit_page_view(await service.audit_log(_query(request, AuditLogQuery))))


_OPERATIONS: tuple[tuple[OperationSpec, Handler], ...] = (
    (
        OperationSpec(
            "POST",
            ACCOUNTS,
            "createIntegratedAccount",
            "Connect a Confluence site (its credentials are tested first unless check=false)",
            201,
            AccountInput,
            AccountSavedView,
            query=AccountCheckQuery,
        ),
        _create_account,
    ),
    (
        OperationSpec("GET", ACCOUNTS, "listIntegratedAccounts", "List integrated accounts", 200, response=AccountList),
        _list_accounts,
    ),
    (
        OperationSpec("GET", ACCOUNT, "getIntegratedAccount", "Get an integrated account", 200, response=AccountView),
        _get_account,
    ),
    (
        OperationSpec(
            "PATCH",
            ACCOUNT,
            "updateIntegratedAccount",
            "Change an integrated account (new credentials or a new site are tested first unless check=false)",
            200,
            AccountPatch,
            AccountSavedView,
            query=AccountCheckQuery,
        ),
        _update_account,
    ),
    (
        OperationSpec(
            "DELETE", ACCOUNT, "deleteIntegratedAccount", "Delete an integrated account and its MCP servers", 204
        ),
        _delete_account,
    ),
    (
        OperationSpec(
            "POST",
            SERVERS,
            "createMcpServer",
            "Create an MCP server (its URL and token are shown once)",
            201,
            McpServerInput,
            McpServerCreatedView,
        ),
        _create_mcp_server,
    ),
    (
        OperationSpec("GET", SERVERS, "listMcpServers", "List an account's MCP servers", 200, response=McpServerList),
        _list_mcp_servers,
    ),
    (
        OperationSpec("GET", SERVER, "getMcpServer", "Get an MCP server", 200, response=McpServerView),
        _get_mcp_server,
    ),
    (
        OperationSpec(
            "PATCH",
            SERVER,
            "updateMcpServer",
            "Change an MCP server (config is shallow-merged)",
            200,
            McpServerPatch,
            McpServerView,
        ),
        _update_mcp_server,
    ),
    (
        OperationSpec("DELETE", SERVER, "deleteMcpServer", "Revoke an MCP server: its URL dies at once", 204),
        _delete_mcp_server,
    ),
    (
        OperationSpec(
            "GET",
            SERVER_LOGS,
            "listMcpServerLogs",
            "List an MCP server's tool calls, newest first (argument keys, never values)",
            200,
            response=AuditLogPage,
            query=McpLogsQuery,
        ),
        _mcp_server_logs,
    ),
    (
        OperationSpec(
            "GET",
            AUDIT_LOG,
            "listAuditLog",
            "List the audit log, newest first: tool calls and admin changes",
            200,
            response=AuditLogPage,
            query=AuditLogQuery,
        ),
        _audit_log,
    ),
    (CONNECT_SPEC, _oauth_connect),
)


@functools.cache
def admin_openapi_document() -> dict[str, Any]:
    """Return the admin API's OpenAPI 3.1 document (built once)."""
    public = OperationSpec("GET", OPENAPI_PATH, "getAdminOpenApi", "This OpenAPI document", 200, public=True)
    return build_document([public, *(spec for spec, _ in _OPERATIONS)], version=__version__)


async def _openapi(request: Request) -> Response:
    return JSONResponse(admin_openapi_document())
