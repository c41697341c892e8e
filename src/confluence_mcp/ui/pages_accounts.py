"""The Accounts pages: the list with token-expiry flags, add (with Test connection), edit, remove."""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.responses import JSONResponse, Response

from confluence_mcp.admin.connect_models import OAuthConnectInput
from confluence_mcp.admin.models import AccountInput, AccountPatch, parse_input
from confluence_mcp.admin.views import check_view
from confluence_mcp.errors import InvalidInput
from confluence_mcp.store.base import Account
from confluence_mcp.ui.forms import Form, account_body, account_patch, form_errors
from confluence_mcp.ui.pages import Page

__all__ = [
    "NOTICES",
    "account_connect",
    "account_edit",
    "account_new",
    "account_post",
    "account_remove",
    "account_test",
    "accounts",
]

ACCOUNT_FIELDS = frozenset(
    {"label", "instance_url", "auth.type", "auth.username", "auth.password", "api_token_expires_at"}
)

NOTICES = {
    "account-added": "Account added: Confluence accepted its credentials.",
    "account-added-unchecked": "Account added without a connection check.",
    "account-updated": "Account saved.",
    "account-removed": "Account removed; its MCP servers were revoked.",
    "server-updated": "MCP server saved.",
    "server-revoked": "MCP server revoked: its URL now answers 404.",
}
"""The messages a redirect may ask a page to show (by key, so no text from the URL reaches the page)."""


def notice(page: Page) -> str:
    """Return the notice the query's ``notice`` key names, or ''."""
    return NOTICES.get(page.request.query_params.get("notice", ""), "")


def _values(form: Form) -> dict[str, str]:
    """Return what the user typed, to fill the form again; never the API token."""
    return {name: form.get(name) for name in ACCOUNT_FIELDS if name != "auth.password"}


def _account_values(account: Account) -> dict[str, str]:
    expires = account.api_token_expires_at
    return {
        "label": account.label,
        "instance_url": account.instance_url,
        "auth.type": account.auth_type,
        "auth.username": account.username or "",
        "api_token_expires_at": "" if expires is None else expires.date().isoformat(),
    }


async def accounts(page: Page) -> Response:
    """GET /ui/accounts: every account, its site, credentials' owner, token expiry and MCP server count."""
    return page.render("accounts.html", rows=await _rows(page), notice=notice(page))


async def _rows(page: Page) -> list[dict[str, Any]]:
    # One listing of every server, counted per account, instead of a listing (and an account read) per row.
    counts = Counter(server.account_id for server in await page.service.list_mcp_servers())
    return [{"account": account, "servers": counts[account.id]} for account in await page.service.list_accounts()]


async def account_new(page: Page) -> Response:
    """GET /ui/accounts/new: the add-account form."""
    return page.render("account_form.html", mode="add", values={"auth.type": "basic"}, account=None)


async def account_post(page: Page) -> Response:
    """POST /ui/accounts: add the account (its credentials checked unless the box says not to)."""
    check = not page.form.checked("no_check")
    try:
        body = parse_input(AccountInput, account_body(page.form))
        saved = await page.service.create_account(body, check=check)
    except InvalidInput as exc:
        errors = form_errors(exc, ACCOUNT_FIELDS)
        return page.render("account_form.html", 422, mode="add", values=_values(page.form), errors=errors, account=None)
    key = "account-added" if saved.check is not None else "account-added-unchecked"
    return page.redirect(f"/ui/accounts/{saved.account.id}?notice={key}")


async def account_connect(page: Page) -> Response:
    """POST /ui/accounts/connect: start Connect with Atlassian (OAuth) and offer the link to Atlassian's consent.

    A page with a link, not a redirect: the pages' CSP allows forms to post only to this site, and browsers
    apply that to a form's redirect too. Atlassian sends the browser back to ``/oauth/callback``.
    """
    try:
        body = parse_input(OAuthConnectInput, {"label": page.form.get("label") or None})
        # Back to the host the operator is on, as POST /oauth/connect does, unless server.public_url says where.
        url = page.request.url
        back = page.runtime.settings.server.public_url or f"{url.scheme}://{url.netloc}"
        started = await page.service.connector(public_url=back).start(body)
    except InvalidInput as exc:
        errors = form_errors(exc, frozenset({"label"}))
        return page.render("accounts.html", 422, rows=await _rows(page), notice="", errors=errors)
    return page.render("connect.html", started=started)


async def account_test(page: Page) -> Response:
    """POST /ui/accounts/test (JSON): what Confluence says of the form's site and credentials; nothing saved.

    From the edit form with no new token typed, the stored credentials are tested.
    """
    try:
        stored = page.form.get("account_id")
        if stored and not page.form.get("auth.password"):
            report = await page.service.check_account(stored)
        else:
            report = await page.service.test_connection(parse_input(AccountInput, account_body(page.form)))
    except InvalidInput as exc:
        errors = form_errors(exc, ACCOUNT_FIELDS)
        return JSONResponse({"ok": False, "errors": dict(errors.by_field), "general": list(errors.general)}, 422)
    return JSONResponse(check_view(report).model_dump(mode="json"))


async def account_edit(page: Page) -> Response:
    """GET and POST /ui/accounts/{account_id}/edit: change label, site, credentials or token expiry."""
    account = await page.service.get_account(page.param("account_id"))
    if page.request.method == "GET":
        return page.render("account_form.html", mode="edit", values=_account_values(account), account=account)
    try:
        body = parse_input(AccountPatch, account_patch(page.form))
        await page.service.update_account(account.id, body, check=not page.form.checked("no_check"))
    except InvalidInput as exc:
        errors = form_errors(exc, ACCOUNT_FIELDS)
        values = _values(page.form)
        return page.render("account_form.html", 422, mode="edit", values=values, errors=errors, account=account)
    return page.redirect(f"/ui/accounts/{account.id}?notice=account-updated")


async def account_remove(page: Page) -> Response:
    """GET and POST /ui/accounts/{account_id}/remove: confirm, then delete the account and revoke its servers."""
    account = await page.service.get_account(page.param("account_id"))
    if page.request.method == "GET":
        servers = await page.service.list_mcp_servers(account.id)
        return page.render("confirm_remove.html", account=account, server=None, servers=len(servers))
    try:
        await page.service.delete_account(account.id)
    except InvalidInput as exc:  # declared in the settings file: say so on the confirmation page
        servers = await page.service.list_mcp_servers(account.id)
        errors = form_errors(exc, frozenset())
        return page.render(
            "confirm_remove.html", 409, account=account, server=None, servers=len(servers), errors=errors
        )
    return page.redirect("/ui/accounts?notice=account-removed")
