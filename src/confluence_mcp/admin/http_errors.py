"""Our exceptions -> admin API responses: status and error code come from the one table, ``error_answers.ANSWERS``.

Every admin API error answers ``{"error": CODE, "message": TEXT, "details": ...}``:

    400 invalid_json          the body is empty or not JSON
    400 invalid_value         a field breaks a rule (InvalidInput): https only, expiry window, no tool passes
    401 unauthorized          no, a bad or an MCP client ``Authorization: Bearer <API token>`` (with WWW-Authenticate)
    404 not_found             no such record, or an MCP server under another account (NotFound)
    405 method_not_allowed    the path exists, the method does not (with Allow)
    409 conflict              the record is declared in the settings file (Conflict)
    413 payload_too_large     the body is over ``server.max_body_bytes``
    422 invalid_body          the body does not match the schema: a wrong type, a missing or unknown field
    500 store_error           the store failed (StoreError)
    503 store_unavailable     the store cannot be reached (StoreUnavailable), with Retry-After
    500 internal_error        any other failure; the message says nothing and the log has the traceback

422 means "the OpenAPI document's schema rejects this body"; 400 means "well-formed, but breaks a rule".
For 400 and 422, ``details`` lists ``{"field", "message"}`` with paths such as ``config.methods[1]``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from confluence_mcp.error_answers import HttpAnswer, answer_for
from confluence_mcp.errors import (
    ConfluenceMcpError,
    HttpProblem,
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    StoreUnavailable,
)
from confluence_mcp.logs import without_file_paths

__all__ = ["error_response", "internal_error_response", "unknown_method_response", "unknown_route_response"]

_INTERNAL = HttpAnswer(500, "internal_error")


def error_response(exc: ConfluenceMcpError) -> JSONResponse:
    """Return the JSON error response for one of our exceptions, from the one table in ``error_answers.ANSWERS``."""
    answer = answer_for(exc)
    if not isinstance(answer, HttpAnswer):  # an MCP-side or CLI error reaching the admin API is a bug of ours
        answer = _INTERNAL
    details: Any = exc.details if isinstance(exc, InvalidInput) else None
    headers = exc.headers if isinstance(exc, HttpProblem) else None
    # A store or settings error may name a file; the server's file system is not the client's business.
    message = without_file_paths(str(exc))
    if isinstance(exc, StoreUnavailable):  # an outage, not a rule: say when to retry, not where the store lives
        headers, message = {"Retry-After": "1"}, "the store cannot be reached; retry shortly"
    body = {"error": answer.error, "message": message, "details": details}
    return JSONResponse(body, status_code=answer.status, headers=headers)


def internal_error_response() -> JSONResponse:
    """Return the 500 answer for an unexpected failure; the details belong in the log, not the response."""
    body = {"error": "internal_error", "message": "internal error; see the server log", "details": None}
    return JSONResponse(body, status_code=500)


async def unknown_route_response(request: Request, exc: Exception) -> JSONResponse:
    """Answer a path no route matches with the admin error shape, not Starlette's text 404."""
    # The path is not echoed: under /mcp/ it carries a token.
    return error_response(NotFound("no such route; the admin API's routes are listed at /admin/openapi.json"))


async def unknown_method_response(request: Request, exc: Exception) -> JSONResponse:
    """Answer a method a non-admin route (``/mcp/{token}``, the probes) does not serve as JSON, with its Allow."""
    headers = getattr(exc, "headers", None) or {}
    allowed = next((value for name, value in headers.items() if name.lower() == "allow"), "")
    return error_response(MethodNotAllowed(f"{request.method} is not served here; use {allowed}", {"Allow": allowed}))
