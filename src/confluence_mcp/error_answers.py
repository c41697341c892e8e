"""The one table from each exception class to its answer, and the lookups transports use.

An answer is a JSON-RPC error (code, and the HTTP status on each protocol era), an admin API error (status
and code), a tool error result, a CLI exit status, or the simulator's own Confluence-shaped answer.
``tests/test_errors.py`` fails when a class of ``errors.py`` has no entry of its own here.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluence_mcp.errors import (
    AccountNeedsReconnect,
    ApiTokenRequired,
    AtlassianRefused,
    BodyTooLarge,
    CallsThrottled,
    ConfigError,
    Conflict,
    ConfluenceMcpError,
    ConnectionCheckFailed,
    CredentialUnavailable,
    HostNotAllowed,
    HttpProblem,
    InternalFailure,
    InvalidArguments,
    InvalidBody,
    InvalidInput,
    InvalidParams,
    InvalidRequest,
    MalformedJson,
    MarkdownRefused,
    MethodNotAllowed,
    NotFound,
    OAuthGrantRefused,
    OriginNotAllowed,
    ParseError,
    PayloadTooLarge,
    PlaceholderUnresolved,
    ProtocolError,
    RateLimited,
    RequestRefused,
    ServiceStarting,
    ServiceUnavailable,
    SimulatedFailure,
    SpecError,
    StorageUnreadable,
    StoreError,
    StoreUnavailable,
    StreamNotAccepted,
    ToolCallFailed,
    Unauthorized,
    UnknownMcpServer,
    UnknownTool,
    UnsupportedMediaType,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamRefused,
    UpstreamResponseTooLarge,
    UpstreamStatusError,
    UpstreamTimeout,
    VersionConflict,
)

__all__ = [
    "ANSWERS",
    "Answer",
    "ExitAnswer",
    "HttpAnswer",
    "JsonRpcAnswer",
    "SimulatedAnswer",
    "ToolErrorAnswer",
    "answer_for",
    "rpc_answer_for",
]


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
    StoreUnavailable: HttpAnswer(503, "store_unavailable"),
    NotFound: HttpAnswer(404, "not_found"),
    InvalidInput: HttpAnswer(400, "invalid_value"),
    InvalidBody: HttpAnswer(422, "invalid_body"),
    Conflict: HttpAnswer(409, "conflict"),
    ConnectionCheckFailed: HttpAnswer(422, "connection_check_failed"),
    AtlassianRefused: HttpAnswer(502, "atlassian_refused"),
    OAuthGrantRefused: HttpAnswer(400, "oauth_grant_refused"),
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
    StreamNotAccepted: JsonRpcAnswer(-32600, 406, 406),
    UnsupportedMediaType: JsonRpcAnswer(-31415, 415, 415),
    ServiceStarting: JsonRpcAnswer(-31503, 503, 503),
    ServiceUnavailable: JsonRpcAnswer(-31503, 503, 503),
    CallsThrottled: JsonRpcAnswer(-31429, 429, 429),
    InternalFailure: JsonRpcAnswer(-32603, 500, 500),
    ToolCallFailed: _TOOL_ERROR,
    InvalidArguments: _TOOL_ERROR,
    MarkdownRefused: _TOOL_ERROR,
    PlaceholderUnresolved: _TOOL_ERROR,
    StorageUnreadable: _TOOL_ERROR,
    VersionConflict: _TOOL_ERROR,
    CredentialUnavailable: _TOOL_ERROR,
    AccountNeedsReconnect: _TOOL_ERROR,
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
