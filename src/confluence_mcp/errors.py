"""The one exception tree of confluence-mcp.

    ConfluenceMcpError
    ├── ConfigError            bad settings file, key or value
    ├── SpecError              an OpenAPI document we cannot turn into tools
    ├── StoreError             the store failed or refused a write
    │   └── NotFound           no such record (or one we must not admit exists)
    ├── InvalidInput           an admin or CLI request that breaks a rule
    │   ├── InvalidBody        a request body that does not match its schema
    │   └── Conflict           a request that clashes with the current state (a record from the settings file)
    ├── HttpProblem            an admin API request refused at the HTTP layer; carries response headers
    │   ├── Unauthorized       no valid API token
    │   ├── MethodNotAllowed   the path exists, the method does not
    │   ├── PayloadTooLarge    the body is over the limit
    │   └── MalformedJson      the body is empty or not JSON
    ├── ProtocolError          a JSON-RPC request refused before anything runs (a JSON-RPC error)
    │   ├── ParseError         the body is not JSON, or nests too deep
    │   ├── InvalidRequest     a batch, or a message field of the wrong type
    │   ├── InvalidParams      params of the wrong type, a cursor that is not ours
    │   └── UnknownTool        a tool that does not exist for this MCP server
    ├── RequestRefused         an MCP request refused at the HTTP layer
    │   ├── HostNotAllowed     421
    │   ├── OriginNotAllowed   403
    │   ├── UnknownMcpServer   404: unknown, revoked or expired token
    │   ├── ApiTokenRequired   401 with WWW-Authenticate
    │   ├── BodyTooLarge       413
    │   ├── ServiceStarting    503 while the SDK loads
    │   ├── ServiceUnavailable 503 with Retry-After when the store cannot answer
    │   ├── CallsThrottled     429 with Retry-After: over a fair-share limit
    │   └── InternalFailure    -32603 with a log reference, instead of a text 500
    ├── SimulatedFailure       the Confluence simulator's own errors (simulator/)
    └── ToolCallFailed         a tool call that ran and failed (an isError result)
        ├── InvalidArguments   arguments that break the schema or the URL
        └── UpstreamError      Confluence could not be reached or answered badly
            ├── UpstreamTimeout    connect, read or total timed out
            ├── UpstreamConnectionError  refused, reset or dropped
            ├── UpstreamRefused    we would not connect: the host or an address it resolves to is not allowed
            ├── UpstreamResponseTooLarge an answer over upstream.max_response_bytes, cut off
            └── UpstreamStatusError      a non-2xx answer
                └── RateLimited    a 429

Each class maps to exactly one answer (a JSON-RPC error, an admin HTTP error, a tool error result or a
CLI exit status) in ``ANSWERS`` at the end of this module.

Every message names the thing that is wrong: the key, file, JSON pointer, argument or tool.
Foreign exceptions are translated once, at the boundary that meets them (``raise ... from exc``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ANSWERS",
    "Answer",
    "ApiTokenRequired",
    "BodyTooLarge",
    "CallsThrottled",
    "ConfigError",
    "Conflict",
    "ConfluenceMcpError",
    "ExitAnswer",
    "HostNotAllowed",
    "HttpAnswer",
    "HttpProblem",
    "InternalFailure",
    "InvalidArguments",
    "InvalidBody",
    "InvalidInput",
    "InvalidParams",
    "InvalidRequest",
    "JsonRpcAnswer",
    "MalformedJson",
    "MethodNotAllowed",
    "NotFound",
    "OriginNotAllowed",
    "ParseError",
    "PayloadTooLarge",
    "ProtocolError",
    "RateLimited",
    "RequestRefused",
    "ServiceStarting",
    "ServiceUnavailable",
    "SimulatedAnswer",
    "SimulatedFailure",
    "SpecError",
    "StoreError",
    "ToolCallFailed",
    "ToolErrorAnswer",
    "Unauthorized",
    "UnknownMcpServer",
    "UnknownTool",
    "UpstreamConnectionError",
    "UpstreamError",
    "UpstreamRefused",
    "UpstreamResponseTooLarge",
    "UpstreamStatusError",
    "UpstreamTimeout",
    "answer_for",
    "rpc_answer_for",
]


class ConfluenceMcpError(Exception):
    """Base of everything confluence-mcp raises on purpose."""


class ConfigError(ConfluenceMcpError):
    """The settings (file, environment or flags) name a missing or invalid value."""


class SpecError(ConfluenceMcpError):
    """An OpenAPI document is unreadable or describes something we cannot turn into a tool."""

    def __init__(self, file: str, pointer: str, problem: str) -> None:
        self.file = file
        self.pointer = pointer or "/"
        self.problem = problem
        super().__init__(f"{file}#{self.pointer}: {problem}")


class StoreError(ConfluenceMcpError):
    """The store could not complete an operation."""


class NotFound(StoreError):
    """The record does not exist, or must be treated as if it did not."""


class InvalidInput(ConfluenceMcpError):
    """A request breaks a rule; ``field`` names the offending field when there is one."""

    def __init__(self, message: str, *, field: str | None = None, details: Any = None) -> None:
        self.field = field
        self.details = details
        super().__init__(message)


class InvalidBody(InvalidInput):
    """A request body does not match its schema; ``details`` lists each field and its problem."""


class Conflict(InvalidInput):
    """The request clashes with the current state, e.g. it edits a record declared in the settings file."""


class HttpProblem(ConfluenceMcpError):
    """An admin API failure that only exists at the HTTP layer; ``headers`` go into the error response."""

    def __init__(self, message: str, headers: Mapping[str, str] | None = None) -> None:
        self.headers = dict(headers or {})
        super().__init__(message)


class Unauthorized(HttpProblem):
    """The request carries no valid API token."""


class MethodNotAllowed(HttpProblem):
    """The path exists but does not answer this method."""


class PayloadTooLarge(HttpProblem):
    """The request body is over the configured limit."""


class MalformedJson(HttpProblem):
    """The request body is empty or does not parse as JSON."""


class ProtocolError(ConfluenceMcpError):
    """A JSON-RPC request we refuse before running anything; it becomes a JSON-RPC error, not a tool result."""


class ParseError(ProtocolError):
    """The body is not JSON, or nests deeper than we parse."""


class InvalidRequest(ProtocolError):
    """The body is JSON but not one JSON-RPC message: a batch, or a field of the wrong type."""

    def __init__(self, message: str, request_id: int | str | None = None) -> None:
        self.request_id = request_id
        super().__init__(message)


class InvalidParams(ProtocolError):
    """The request's params are unusable: a field of the wrong type, or a cursor that is not ours."""


class UnknownTool(ProtocolError):
    """The tool does not exist, or is filtered out for this MCP server (the two look alike)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"Unknown tool: {name}")


class RequestRefused(ConfluenceMcpError):
    """An MCP request refused at the HTTP layer, before its JSON-RPC method is looked at."""

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        self.headers = headers or {}
        super().__init__(message)


class HostNotAllowed(RequestRefused):
    """The Host header is not on the allow-list (DNS-rebinding defence)."""


class OriginNotAllowed(RequestRefused):
    """A browser Origin that may not call us."""


class UnknownMcpServer(RequestRefused):
    """No live MCP server has this URL token: unknown, revoked and expired look alike."""


class ApiTokenRequired(RequestRefused):
    """The MCP server requires ``Authorization: Bearer <API token>`` and none valid was sent."""


class BodyTooLarge(RequestRefused):
    """The request body passed the configured limit."""


class ServiceStarting(RequestRefused):
    """The MCP SDK is not loaded yet (only requests it must answer wait for it)."""


class ServiceUnavailable(RequestRefused):
    """The store could not be asked who this token belongs to; clients may retry after a second."""

    def __init__(self, message: str) -> None:
        super().__init__(message, {"retry-after": "1"})


class CallsThrottled(RequestRefused):
    """An MCP server or account is over its fair share of calls; ``retry_after`` is in whole seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message, {"retry-after": str(retry_after)})


class InternalFailure(RequestRefused):
    """A failure of ours that no other class describes; the message carries a reference to the log line."""


class ToolCallFailed(ConfluenceMcpError):
    """A tool call that ran and failed; it becomes a tool result with ``isError: true``, never a protocol error."""


class InvalidArguments(ToolCallFailed):
    """A tool's arguments break its input schema or cannot be placed in the request."""


class UpstreamError(ToolCallFailed):
    """Confluence could not be reached, or its answer could not be used."""


class UpstreamTimeout(UpstreamError):
    """Confluence did not connect or answer within a configured timeout; the message names the setting."""


class UpstreamConnectionError(UpstreamError):
    """The connection to Confluence was refused, reset or dropped."""


class UpstreamRefused(UpstreamError):
    """We refused to connect (the SSRF guard): the site's host, or an address it resolves to, is not allowed."""


class UpstreamResponseTooLarge(UpstreamError):
    """Confluence's answer passed ``upstream.max_response_bytes`` as received or once decompressed; it was cut off.

    The bound holds whatever the server sends: a declared length over it is refused unread, other bodies are
    counted as they arrive, and gzip or deflate is never inflated past it (a decompression bomb costs the limit).
    """

    def __init__(self, limit: int, where: str = "", *, decompressed: bool = False) -> None:
        self.limit = limit
        self.where = where
        self.decompressed = decompressed
        answer = f"Confluence's answer to {where}" if where else "Confluence's answer"
        stage = " once decompressed" if decompressed else ""
        super().__init__(f"{answer} is larger{stage} than upstream.max_response_bytes ({limit} bytes) and was cut off")


class UpstreamStatusError(UpstreamError):
    """Confluence answered with a non-2xx status."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class RateLimited(UpstreamStatusError):
    """Confluence answered 429; ``retry_after`` is in whole seconds when known."""

    def __init__(self, message: str, retry_after: int | None) -> None:
        self.retry_after = retry_after
        super().__init__(429, message)


class SimulatedFailure(ConfluenceMcpError):
    """Base of the Confluence simulator's own errors: it ships in the package for tests, bench and demo mode."""


@dataclass(frozen=True, slots=True)
class JsonRpcAnswer:
    """A JSON-RPC error: its code, and the HTTP status it rides on in the handshake and the 2026-07-28 era."""

    code: int
    status: int
    modern_status: int


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """An admin API error: the HTTP status and the ``error`` code of the ``{error, message, details}`` body."""

    status: int
    error: str


@dataclass(frozen=True, slots=True)
class ToolErrorAnswer:
    """A tools/call result with ``isError: true`` whose text is the exception's message (execution errors)."""


@dataclass(frozen=True, slots=True)
class ExitAnswer:
    """A command-line failure: the message on one stderr line, then this exit status."""

    status: int


@dataclass(frozen=True, slots=True)
class SimulatedAnswer:
    """The simulator's Confluence-shaped error response, with the status the exception carries."""


Answer = JsonRpcAnswer | HttpAnswer | ToolErrorAnswer | ExitAnswer | SimulatedAnswer

# Application codes sit outside JSON-RPC's reserved -32768..-32000 range: -31000 minus the HTTP status.
_TOOL_ERROR = ToolErrorAnswer()

ANSWERS: dict[type[ConfluenceMcpError], Answer] = {
    ConfluenceMcpError: HttpAnswer(500, "internal_error"),
    ConfigError: ExitAnswer(2),
    SpecError: ExitAnswer(2),
    StoreError: HttpAnswer(500, "store_error"),
    NotFound: HttpAnswer(404, "not_found"),
    InvalidInput: HttpAnswer(400, "invalid_value"),
    InvalidBody: HttpAnswer(422, "invalid_body"),
    Conflict: HttpAnswer(409, "conflict"),
    HttpProblem: HttpAnswer(400, "bad_request"),
    Unauthorized: HttpAnswer(401, "unauthorized"),
    MethodNotAllowed: HttpAnswer(405, "method_not_allowed"),
    PayloadTooLarge: HttpAnswer(413, "payload_too_large"),
    MalformedJson: HttpAnswer(400, "invalid_json"),
    ProtocolError: JsonRpcAnswer(-32600, 400, 400),
    ParseError: JsonRpcAnswer(-32700, 400, 400),
    InvalidRequest: JsonRpcAnswer(-32600, 400, 400),
    InvalidParams: JsonRpcAnswer(-32602, 200, 400),
    UnknownTool: JsonRpcAnswer(-32602, 200, 400),
    RequestRefused: JsonRpcAnswer(-31400, 400, 400),
    HostNotAllowed: JsonRpcAnswer(-31403, 421, 421),
    OriginNotAllowed: JsonRpcAnswer(-31403, 403, 403),
    UnknownMcpServer: JsonRpcAnswer(-31404, 404, 404),
    ApiTokenRequired: JsonRpcAnswer(-31401, 401, 401),
    BodyTooLarge: JsonRpcAnswer(-31413, 413, 413),
    ServiceStarting: JsonRpcAnswer(-31503, 503, 503),
    ServiceUnavailable: JsonRpcAnswer(-31503, 503, 503),
    CallsThrottled: JsonRpcAnswer(-31429, 429, 429),
    InternalFailure: JsonRpcAnswer(-32603, 500, 500),
    ToolCallFailed: _TOOL_ERROR,
    InvalidArguments: _TOOL_ERROR,
    UpstreamError: _TOOL_ERROR,
    UpstreamTimeout: _TOOL_ERROR,
    UpstreamConnectionError: _TOOL_ERROR,
    UpstreamRefused: _TOOL_ERROR,
    UpstreamResponseTooLarge: _TOOL_ERROR,
    UpstreamStatusError: _TOOL_ERROR,
    RateLimited: _TOOL_ERROR,
    SimulatedFailure: SimulatedAnswer(),
}
"""Every exception class -> its one answer; a test fails when a class of the package is missing here."""


def answer_for(exc: ConfluenceMcpError) -> Answer:
    """Return the answer for ``exc``: its class's entry (the nearest listed ancestor for foreign subclasses)."""
    for cls in type(exc).__mro__:
        answer = ANSWERS.get(cls)  # non-ConfluenceMcpError bases (Exception, object) are simply absent
        if answer is not None:
            return answer
    raise AssertionError("unreachable: ConfluenceMcpError is in the table")


def rpc_answer_for(exc: ConfluenceMcpError) -> JsonRpcAnswer:
    """Return the JSON-RPC answer for an MCP-side refusal; anything else is an internal error (-32603)."""
    answer = answer_for(exc)
    return answer if isinstance(answer, JsonRpcAnswer) else JsonRpcAnswer(-32603, 200, 200)
