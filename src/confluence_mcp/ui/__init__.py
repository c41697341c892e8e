"""The admin web pages under ``/ui``: server-rendered (Jinja2), one small script, no build step.

Every page calls ``AdminService`` exactly as the admin REST API does, so no rule is written twice; the
pages only turn forms into request bodies and the service's errors back into messages beside the field.
"""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.staticfiles import StaticFiles

from confluence_mcp.ui.pages import Endpoint, Handler, UiState
from confluence_mcp.ui.pages_accounts import (
    account_connect,
    account_edit,
    account_new,
    account_post,
    account_remove,
    account_test,
    accounts,
)
from confluence_mcp.ui.pages_activity import activity
from confluence_mcp.ui.pages_servers import preview, server_edit, server_new, server_post, server_revoke, servers
from confluence_mcp.ui.rendering import SecurityHeaders
from confluence_mcp.ui.sign_in import sign_in_page, sign_in_post, sign_out

__all__ = ["UI_PREFIX", "ui_app"]

UI_PREFIX = "/ui"

_ACCOUNT = "/accounts/{account_id}"
_SERVER = "/accounts/{account_id}/mcp/{mcp_id}"

# (path, methods, handler, answers JSON)
_PAGES: tuple[tuple[str, tuple[str, ...], Handler, bool], ...] = (
    ("/sign-out", ("POST",), sign_out, False),
    ("/accounts", ("GET",), accounts, False),
    ("/accounts", ("POST",), account_post, False),
    ("/accounts/new", ("GET",), account_new, False),
    ("/accounts/test", ("POST",), account_test, True),
    ("/accounts/connect", ("POST",), account_connect, False),
    (_ACCOUNT, ("GET",), servers, False),
    (f"{_ACCOUNT}/edit", ("GET", "POST"), account_edit, False),
    (f"{_ACCOUNT}/remove", ("GET", "POST"), account_remove, False),
    (f"{_ACCOUNT}/mcp", ("POST",), server_post, False),
    (f"{_ACCOUNT}/mcp/new", ("GET",), server_new, False),
    (f"{_ACCOUNT}/mcp/preview", ("GET",), preview, True),
    (f"{_SERVER}/edit", ("GET", "POST"), server_edit, False),
    (f"{_SERVER}/revoke", ("GET", "POST"), server_revoke, False),
    (f"{_SERVER}/activity", ("GET",), activity, False),
)


async def _home(request: Request) -> Response:
    return RedirectResponse(f"{UI_PREFIX}/accounts", status_code=303)


def ui_app() -> SecurityHeaders:
    """Return the ASGI app to mount at ``/ui``: the pages, their static files, and the security headers."""
    state = UiState()
    by_path: dict[str, dict[str, tuple[Handler, bool]]] = {}
    for path, methods, handler, json in _PAGES:
        for method in methods:
            by_path.setdefault(path, {})[method] = (handler, json)
    routes: list[BaseRoute] = [
        Route("/", _home, methods=["GET"]),
        Route("/sign-in", sign_in_page, methods=["GET"]),
        Route("/sign-in", sign_in_post, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=str(files("confluence_mcp.ui") / "static")), name="static"),
    ]
    for path, handlers in by_path.items():
        for method, (handler, json) in handlers.items():
            routes.append(Route(path, Endpoint(handler, state, json=json), methods=[method]))
    return SecurityHeaders(Router(routes=routes))
