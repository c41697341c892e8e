"""Signing in with an admin API token, and out: the only pages open without a session."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from confluence_mcp.errors import PayloadTooLarge
from confluence_mcp.ui.forms import read_form
from confluence_mcp.ui.pages import SIGN_IN, Page
from confluence_mcp.ui.rendering import render
from confluence_mcp.ui.sessions import (
    PRE_SESSION_COOKIE,
    PRE_SESSION_SECONDS,
    SESSION_COOKIE,
    Session,
    csrf_matches,
    open_cookie,
    seal,
)

__all__ = ["sign_in_page", "sign_in_post", "sign_out"]

HOME = "/ui/accounts"


def _set_cookie(response: Response, request: Request, name: str, value: str, seconds: float) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max(1, int(seconds)),
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=_served_over_https(request),
    )


def _served_over_https(request: Request) -> bool:
    """Return whether the browser reached us over https: directly, through a trusted proxy, or per public_url."""
    public_url: str = request.app.state.runtime.settings.public_url
    return request.url.scheme == "https" or public_url.startswith("https://")


def _form_page(request: Request, status: int = 200, error: str = "") -> Response:
    """Return the sign-in form with a fresh pre-session cookie whose nonce is the form's CSRF token."""
    runtime = request.app.state.runtime
    pre = Session.new("", PRE_SESSION_SECONDS)
    html = render("sign_in.html", {"csrf": pre.nonce, "signed_in": False, "error": error})
    response = HTMLResponse(html, status_code=status)
    _set_cookie(response, request, PRE_SESSION_COOKIE, seal(runtime.cipher, pre), PRE_SESSION_SECONDS)
    return response


async def sign_in_page(request: Request) -> Response:
    """GET /ui/sign-in: the form."""
    return _form_page(request)


async def sign_in_post(request: Request) -> Response:
    """POST /ui/sign-in: check the form's CSRF token and the admin token; on success set the session cookie."""
    runtime = request.app.state.runtime
    try:
        form = await read_form(request, runtime.settings.server.max_body_bytes)
    except PayloadTooLarge as exc:
        return _form_page(request, 413, str(exc))
    pre = open_cookie(runtime.cipher, request.cookies.get(PRE_SESSION_COOKIE))
    if not csrf_matches(pre, form.get("csrf")):
        return _form_page(request, 403, "The form's security token is missing or stale; try again.")
    record = await runtime.resolver.api_token(form.get("token")) if form.get("token") else None
    if record is None or not record.opens_admin_api():
        # The same words for unknown, revoked, expired and MCP client tokens: nothing to learn by guessing.
        return _form_page(request, 401, "That is not a valid admin API token (unknown, revoked or expired).")
    seconds = runtime.settings.ui.session_minutes * 60.0
    if record.expires_at is not None:
        seconds = min(seconds, (record.expires_at - datetime.now(UTC)).total_seconds())
    session = Session.new(record.id, seconds)
    response = RedirectResponse(HOME, status_code=303)
    _set_cookie(response, request, SESSION_COOKIE, seal(runtime.cipher, session), session.expires - time.time())
    response.delete_cookie(PRE_SESSION_COOKIE, path="/ui")
    return response


async def sign_out(page: Page) -> Response:
    """POST /ui/sign-out: forget the session here and in the browser."""
    page.state.signed_out.add(page.session)
    response = RedirectResponse(SIGN_IN, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/ui", httponly=True, samesite="strict")
    return response
