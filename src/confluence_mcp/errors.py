"""The one exception tree of confluence-mcp.

    ConfluenceMcpError
    ├── ConfigError            bad settings file, key or value
    ├── SpecError              an OpenAPI document we cannot turn into tools
    ├── StoreError             the store failed or refused a write
    │   ├── NotFound           no such record (or one we must not admit exists)
    │   └── StoreUnavailable   the store cannot be reached (refused, reset, timed out): 503, retry
    ├── InvalidInput           an admin or CLI request that breaks a rule
    │   ├── InvalidBody        a request body that does not match its schema
    │   ├── Conflict           a request that clashes with the current state (a record from the settings file)
    │   ├── ConnectionCheckFailed  an account whose site or credentials failed the current-user check
    │   └── AtlassianRefused   Atlassian's platform refused or failed a connect step (tenant_info, token, sites)
    │       └── OAuthGrantRefused  the token endpoint refused a code or refresh token (4xx)
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
    │   ├── StreamNotAccepted  406: a streamed answer (subscriptions/listen) without Accept: text/event-stream
    │   ├── UnsupportedMediaType 415: a POST whose Content-Type is not application/json
    │   ├── ServiceStarting    503 while the SDK loads
    │   ├── ServiceUnavailable 503 with Retry-After when the store cannot answer
    │   ├── CallsThrottled     429 with Retry-After: over a fair-share limit
    │   └── InternalFailure    -32603 with a log reference, instead of a text 500
    ├── SimulatedFailure       the Confluence simulator's own errors (simulator/)
    └── ToolCallFailed         a tool call that ran and failed (an isError result)
        ├── InvalidArguments   arguments that break the schema or the URL
        │   ├── MarkdownRefused        GFM that storage cannot represent: names the construct and its line
        │   ├── PlaceholderUnresolved  a Markdown placeholder whose element is not in the page's storage
        │   └── StorageUnreadable      a storage body that is not well-formed XHTML
        ├── VersionConflict    an update whose expected_version is no longer current: nothing written
        ├── CredentialUnavailable  the account's OAuth token could not be refreshed just now
        │   └── AccountNeedsReconnect  Atlassian refused the refresh: an operator must reconnect the account
        └── UpstreamError      Confluence could not be reached or answered badly
            ├── UpstreamTimeout    connect, read or total timed out
            ├── UpstreamConnectionError  refused, reset or dropped
            ├── UpstreamRefused    we would not connect: the host or an address it resolves to is not allowed
            ├── UpstreamResponseTooLarge an answer over upstream.max_response_bytes, cut off
            └── UpstreamStatusError      a non-2xx answer
                └── RateLimited    a 429

Each class maps to exactly one answer (a JSON-RPC error, an admin HTTP error, a tool error result or a
CLI exit status) in ``ANSWERS``, the one table, in ``error_answers.py``.

Every message names the thing that is wrong: the key, file, JSON pointer, argument or tool.
Foreign exceptions are translated once, at the boundary that meets them (``raise ... from exc``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "AccountNeedsReconnect",
    "ApiTokenRequired",
    "AtlassianRefused",
    "BodyTooLarge",
    "CallsThrottled",
    "ConfigError",
    "Conflict",
    "ConfluenceMcpError",
    "ConnectionCheckFailed",
    "CredentialUnavailable",
    "HostNotAllowed",
    "HttpProblem",
    "InternalFailure",
    "InvalidArguments",
    "InvalidBody",
    "InvalidInput",
    "InvalidParams",
    "InvalidRequest",
    "MalformedJson",
    "MarkdownRefused",
    "MethodNotAllowed",
    "NotFound",
    "OAuthGrantRefused",
    "OriginNotAllowed",
    "ParseError",
    "PayloadTooLarge",
    "PlaceholderUnresolved",
    "ProtocolError",
    "RateLimited",
    "RequestRefused",
    "ServiceStarting",
    "ServiceUnavailable",
    "SimulatedFailure",
    "SpecError",
    "StorageUnreadable",
    "StoreError",
    "StoreUnavailable",
    "StreamNotAccepted",
    "ToolCallFailed",
    "Unauthorized",
    "UnknownMcpServer",
    "UnknownTool",
    "UnsupportedMediaType",
    "UpstreamConnectionError",
    "UpstreamError",
    "UpstreamRefused",
    "UpstreamResponseTooLarge",
    "UpstreamStatusError",
    "UpstreamTimeout",
    "VersionConflict",
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


class StoreUnavailable(StoreError):
    """The store could not be reached at all; the same request may succeed once it is back."""


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


class ConnectionCheckFailed(InvalidInput):
    """Confluence's current-user endpoint refused the account's credentials, or its site could not be reached."""


class AtlassianRefused(InvalidInput):
    """Connecting an account failed at Atlassian: tenant_info, the token exchange or accessible-resources."""


class OAuthGrantRefused(AtlassianRefused):
    """The token endpoint answered 4xx: the authorization code or refresh token is used, expired or revoked."""


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


class StreamNotAccepted(RequestRefused):
    """A method answered only as an SSE stream was sent without ``text/event-stream`` in Accept."""


class UnsupportedMediaType(RequestRefused):
    """The request body is not declared as JSON (Content-Type missing or another type)."""


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


class VersionConflict(ToolCallFailed):
    """An update's ``expected_version`` is not the object's current version, so nothing was written."""


class MarkdownRefused(InvalidArguments):
    """Markdown that storage format cannot represent; the message names the construct and its 1-based line."""

    def __init__(self, construct: str, line: int, reason: str) -> None:
        self.construct = construct
        self.line = line
        super().__init__(f"Markdown line {line}: {construct} cannot be written to Confluence: {reason}")


class PlaceholderUnresolved(InvalidArguments):
    """A placeholder reference (e.g. ``info#2``) that names no element of the page's current storage."""

    def __init__(self, reference: str, line: int, reason: str) -> None:
        self.reference = reference
        self.line = line
        super().__init__(f"Markdown line {line}: placeholder {reference} cannot be resolved: {reason}")


class StorageUnreadable(InvalidArguments):
    """A storage-format body that is not well-formed XHTML, so it cannot be converted."""


class CredentialUnavailable(ToolCallFailed):
    """The account's OAuth access token expired and could not be refreshed now (the auth server is unreachable)."""


class AccountNeedsReconnect(CredentialUnavailable):
    """Atlassian refused the account's refresh token: nothing works until an operator reconnects the account."""


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
