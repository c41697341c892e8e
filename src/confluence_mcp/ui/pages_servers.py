"""The MCP server pages of an account: the table, create (with the live preview), the URL once, edit, revoke."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from confluence_mcp.admin.audit_models import McpLogsQuery
from confluence_mcp.admin.models import McpServerInput, McpServerPatch, parse_input
from confluence_mcp.errors import InvalidInput
from confluence_mcp.store.base import DEFAULT_MAX_LIMIT, McpServer
from confluence_mcp.ui.forms import EXPIRY_CHOICES, Form, form_errors, server_config, server_expiry
from confluence_mcp.ui.pages import Page
from confluence_mcp.ui.pages_accounts import notice
from confluence_mcp.ui.preview import ToolPreview, filter_choices, preview_tools

__all__ = ["preview", "server_edit", "server_new", "server_post", "server_revoke", "servers"]

SERVER_FIELDS = frozenset(
    {
        "name",
        "config",
        "config.methods",
        "config.tags",
        "config.tool_exposure",
        "config.require_api_token_auth",
        "config.lean_results",
        "config.hide_deprecated",
        "config.max_limit",
        "expires_at",
    }
)
_KEEP = "keep"


def _values(form: Form) -> dict[str, Any]:
    return {
        "name": form.get("name"),
        "methods": form.all("config.methods"),
        "tags": form.all("config.tags"),
        "tool_exposure": form.get("config.tool_exposure") or "all",
        "require_api_token_auth": form.checked("config.require_api_token_auth"),
        "lean_results": form.checked("config.lean_results"),
        "hide_deprecated": form.get("config.hide_deprecated") or "replaced",
        "max_limit": form.get("config.max_limit"),
        "expires_in": form.get("expires_in"),
        "expires_on": form.get("expires_on"),
    }


def _server_values(server: McpServer) -> dict[str, Any]:
    return {
        "name": server.name,
        "methods": list(server.methods),
        "tags": list(server.tags),
        "tool_exposure": server.tool_exposure,
        "require_api_token_auth": server.require_api_token_auth,
        "lean_results": server.lean_results,
        "hide_deprecated": server.hide_deprecated,
        "max_limit": str(server.max_limit),
        "expires_in": _KEEP,
        "expires_on": "",
    }


def _preview_of(page: Page, values: dict[str, Any]) -> ToolPreview | None:
    try:
        return preview_tools(
            page.runtime.catalog, values["methods"], values["tags"], values["tool_exposure"], values["hide_deprecated"]
        )
    except InvalidInput:
        return None


def _form_page(page: Page, status: int, values: dict[str, Any], **context: Any) -> Response:
    account = context.pop("account")
    methods, tags = filter_choices(page.runtime.catalog)
    return page.render(
        "server_form.html",
        status,
        account=account,
        values=values,
        method_choices=methods,
        tag_choices=tags,
        expiry_choices=EXPIRY_CHOICES,
        preview=_preview_of(page, values),
        **context,
    )


async def servers(page: Page) -> Response:
    """GET /ui/accounts/{account_id}: the account's MCP servers, with when each was last used."""
    account = await page.service.get_account(page.param("account_id"))
    rows: list[dict[str, Any]] = []
    for server in await page.service.list_mcp_servers(account.id):
        latest = await page.service.mcp_server_logs(account.id, server.id, McpLogsQuery(limit=1))
        rows.append({"server": server, "last_used": latest.records[0].at if latest.records else None})
    return page.render("servers.html", account=account, rows=rows, notice=notice(page))


async def server_new(page: Page) -> Response:
    """GET /ui/accounts/{account_id}/mcp/new: the create form, its preview filled for the defaults."""
    account = await page.service.get_account(page.param("account_id"))
    values = _values(
        Form({"expires_in": ["7d"], "config.max_limit": [str(DEFAULT_MAX_LIMIT)], "config.lean_results": ["on"]})
    )
    return _form_page(page, 200, values, account=account, mode="add", server=None)


async def server_post(page: Page) -> Response:
    """POST /ui/accounts/{account_id}/mcp: create it and show its URL, this once."""
    account = await page.service.get_account(page.param("account_id"))
    try:
        raw = {
            "name": page.form.get("name"),
            "config": server_config(page.form),
            "expires_at": server_expiry(page.form),
        }
        created = await page.service.create_mcp_server(account.id, parse_input(McpServerInput, raw))
    except InvalidInput as exc:
        errors = form_errors(exc, SERVER_FIELDS)
        return _form_page(page, 422, _values(page.form), account=account, mode="add", server=None, errors=errors)
    return page.render("server_created.html", 201, account=account, server=created.server, url=created.url)


async def preview(page: Page) -> Response:
    """GET /ui/accounts/{account_id}/mcp/preview (JSON): the tools these filters let through, and their size."""
    form = Form({name: page.request.query_params.getlist(name) for name in page.request.query_params})
    config = server_config(form)
    try:
        result = preview_tools(
            page.runtime.catalog, config["methods"], config["tags"], config["tool_exposure"], config["hide_deprecated"]
        )
    except InvalidInput as exc:
        errors = form_errors(exc, SERVER_FIELDS)
        return JSONResponse({"errors": dict(errors.by_field), "general": list(errors.general)}, status_code=422)
    return JSONResponse(result.as_json())


async def server_edit(page: Page) -> Response:
    """GET and POST /ui/accounts/{account_id}/mcp/{mcp_id}/edit: change name, filters, exposure, auth, expiry."""
    account_id = page.param("account_id")
    account = await page.service.get_account(account_id)
    server = await page.service.get_mcp_server(page.param("mcp_id"), account_id=account_id)
    context = {"account": account, "mode": "edit", "server": server}
    if page.request.method == "GET":
        return _form_page(page, 200, _server_values(server), **context)
    try:
        body: dict[str, Any] = {"name": page.form.get("name"), "config": server_config(page.form)}
        if page.form.get("expires_on") or page.form.get("expires_in") != _KEEP:
            body["expires_at"] = server_expiry(page.form)
        await page.service.update_mcp_server(server.id, parse_input(McpServerPatch, body), account_id=account_id)
    except InvalidInput as exc:
        errors = form_errors(exc, SERVER_FIELDS)
        return _form_page(page, 422, _values(page.form), errors=errors, **context)
    return page.redirect(f"/ui/accounts/{account_id}?notice=server-updated")


async def server_revoke(page: Page) -> Response:
    """GET and POST /ui/accounts/{account_id}/mcp/{mcp_id}/revoke: confirm, then revoke (the URL dies at once)."""
    account_id = page.param("account_id")
    account = await page.service.get_account(account_id)
    server = await page.service.get_mcp_server(page.param("mcp_id"), account_id=account_id)
    if page.request.method == "GET":
        return page.render("confirm_remove.html", account=account, server=server, servers=0)
    try:
        await page.service.delete_mcp_server(server.id, account_id=account_id)
    except InvalidInput as exc:  # declared in the settings file
        errors = form_errors(exc, frozenset())
        return page.render("confirm_remove.html", 409, account=account, server=server, servers=0, errors=errors)
    return page.redirect(f"/ui/accounts/{account_id}?notice=server-revoked")
