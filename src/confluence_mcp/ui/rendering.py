"""The Jinja2 templates packaged with the project, their filters, and the headers every page carries."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse

from confluence_mcp.asgi import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SECURITY_HEADERS", "SecurityHeaders", "expiry_flag", "render", "shown", "templates"]

EXPIRY_WARNING = timedelta(days=14)
"""An Atlassian token expiring within this is flagged."""

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),  # pages show secrets once (a new MCP URL); no cache keeps them
    (b"cross-origin-opener-policy", b"same-origin"),
)
_OURS = frozenset(name for name, _ in SECURITY_HEADERS)


class SecurityHeaders:
    """Adds the security headers to every response under ``/ui`` (our pages, static files, errors alike)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; stamp the headers onto the response start."""

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if bytes(k).lower() not in _OURS]
                message["headers"] = [*kept, *SECURITY_HEADERS]
            await send(message)

        try:
            await self._app(scope, receive, stamped)
        except HTTPException as exc:  # the static files' 404/405: answered here, so they carry the headers too
            await PlainTextResponse(exc.detail, status_code=exc.status_code)(scope, receive, stamped)


def shown(moment: datetime | None) -> str:
    """Return a time as people read it in a table: ``2026-12-31 14:05 UTC``, or ``never``."""
    if moment is None:
        return "never"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def shown_seconds(moment: datetime) -> str:
    """Return a time to the second, as the activity table shows calls: ``2026-12-31 14:05:09 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def expiry_flag(moment: datetime | None, now: datetime | None = None) -> str:
    """Return ``expired``, ``soon`` (within 14 days) or '' for an Atlassian token's expiry."""
    if moment is None:
        return ""
    now = now or datetime.now(UTC)
    if moment <= now:
        return "expired"
    return "soon" if moment - now <= EXPIRY_WARNING else ""


def _days_left(moment: datetime | None) -> int:
    if moment is None:
        return 0
    return max(0, (moment - datetime.now(UTC)).days)


def _iso_date(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).date().isoformat()


@functools.cache
def templates() -> Environment:
    """Return the template environment (built once): autoescaped HTML, undefined names are errors."""
    env = Environment(
        loader=PackageLoader("confluence_mcp.ui", "templates"),
        autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["shown"] = shown
    env.filters["shown_seconds"] = shown_seconds
    env.filters["expiry_flag"] = expiry_flag
    env.filters["days_left"] = _days_left
    env.filters["iso_date"] = _iso_date
    return env


def render(name: str, context: dict[str, Any]) -> str:
    """Return template ``name`` rendered with ``context`` (the base's names default to a signed-out page)."""
    return (
        templates().get_template(name).render({"errors": None, "notice": "", "signed_in": False, "csrf": "", **context})
    )
