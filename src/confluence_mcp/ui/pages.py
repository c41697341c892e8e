"""What every page handler gets (``Page``) and the endpoint around it: session, CSRF, errors, headers.

A handler is ``async def handler(page: Page) -> Response``. The endpoint opens the session cookie (else
redirects to sign-in, or answers 401 JSON for the preview and connection-test endpoints), checks the CSRF
token of every POST (403 without it), builds the ``AdminService`` as the admin REST API does (actor: the
admin token's id), and turns a ``NotFound`` into a 404 page and a bug into a plain 500 page, never a trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from confluence_mcp.admin.routes import admin_service
from confluence_mcp.admin.service import AdminService
from confluence_mcp.asgi import Receive, Scope, Send
from confluence_mcp.errors import ConfluenceMcpError, NotFound, PayloadTooLarge, StoreError
from confluence_mcp.store.base import is_expired
from confluence_mcp.ui.forms import Form, read_form
from confluence_mcp.ui.rendering import render
from confluence_mcp.ui.sessions import SESSION_COOKIE, Session, SignedOut, csrf_matches, open_cookie

__all__ = ["SIGN_IN", "Endpoint", "Handler", "Page", "UiState"]

log = logging.getLogger("confluence_mcp.ui")

SIGN_IN = "/ui/sign-in"


class UiState:
    """What the pages of one app share: the sessions signed out in this process."""

    def __init__(self) -> None:
        self.signed_out = SignedOut()


@dataclass
class Page:
    """One request to a page: the runtime, the signed-in session, the service to call and the posted form."""

    request: Request
    runtime: Any
    session: Session
    service: AdminService
    form: Form
    state: UiState

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """Return ``template`` rendered with ``context`` plus what every page needs (the CSRF token, the nav)."""
        html = render(
            template, {"csrf": self.session.nonce, "signed_in": True, "path": self.request.url.path, **context}
        )
        return HTMLResponse(html, status_code=status)

    def redirect(self, path: str) -> RedirectResponse:
        """Return a 303 to ``path`` (after a POST, so reloading does not post again)."""
        return RedirectResponse(path, status_code=303)

    def param(self, name: str) -> str:
        """Return a path parameter."""
        return str(self.request.path_params[name])


Handler = Callable[[Page], Awaitable[Response]]


class Endpoint:
    """The ASGI app of one page: signed in, CSRF-checked on POST, errors shown as pages."""

    def __init__(self, handler: Handler, state: UiState, *, json: bool = False) -> None:
        self._handler = handler
        self._state = state
        self._json = json

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request."""
        request = Request(scope, receive)
        try:
            response = await self._answer(request)
        except NotFound as exc:
            response = self._problem(404, "Not found", str(exc))
        except PayloadTooLarge as exc:
            response = self._problem(413, "Too large", str(exc))
        except StoreError:  # after NotFound, its subclass: the store itself failed
            response = self._problem(503, "Unavailable", "The store did not answer; try again shortly.")
        except ConfluenceMcpError as exc:  # a rule a handler did not place on a field
            response = self._problem(400, "Refused", str(exc))
        except Exception:  # top-level handler: the page says something broke; the traceback goes to the log only
            log.exception("web page %s %s failed", request.method, request.url.path)
            response = self._problem(500, "Something went wrong", "The server failed; the log has the details.")
        await response(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        runtime = request.app.state.runtime
        session = await live_session(request, runtime, self._state)
        if session is None:
            if self._json:
                return JSONResponse({"error": "unauthorized", "message": "sign in again"}, status_code=401)
            return RedirectResponse(SIGN_IN, status_code=303)
        form = Form()
        if request.method == "POST":
            form = await read_form(request, runtime.settings.server.max_body_bytes)
            if not csrf_matches(session, form.get("csrf") or request.headers.get("x-csrf-token")):
                return self._problem(403, "Refused", "The form's security token is missing or stale; reload the page.")
        page = Page(request, runtime, session, admin_service(runtime, session.token_id), form, self._state)
        return await self._handler(page)

    def _problem(self, status: int, title: str, message: str) -> Response:
        if self._json:
            return JSONResponse({"error": title.lower().replace(" ", "_"), "message": message}, status_code=status)
        html = render("problem.html", {"title": title, "message": message, "signed_in": False, "csrf": ""})
        return HTMLResponse(html, status_code=status)


async def live_session(request: Request, runtime: Any, state: UiState) -> Session | None:
    """Return the request's session if its cookie is sound, not signed out, and its admin token still live."""
    session = open_cookie(runtime.cipher, request.cookies.get(SESSION_COOKIE))
    if session is None or not session.token_id or session in state.signed_out:
        return None
    now = datetime.now(UTC)
    for token in await runtime.store.list_api_tokens():
        if token.id == session.token_id:
            return session if token.opens_admin_api() and not is_expired(token.expires_at, now) else None
    return None  # revoked: every session of that token ends with it
