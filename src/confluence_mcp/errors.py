"""The one exception tree of confluence-mcp.

    ConfluenceMcpError
    ├── ConfigError            bad settings file, key or value
    ├── SpecError              an OpenAPI document we cannot turn into tools
    ├── StoreError             the store failed or refused a write
    │   └── NotFound           no such record (or one we must not admit exists)
    ├── InvalidInput           an admin or CLI request that breaks a rule
    │   ├── InvalidBody        a request body that does not match its schema
    │   └── Conflict           a request that clashes with the current state (a record from the settings file)
    ├── UnknownTool            a tool that does not exist for this MCP server
    ├── HttpProblem            a failure that exists only at the HTTP layer; carries response headers
    │   ├── Unauthorized       no valid API token
    │   ├── MethodNotAllowed   the path exists, the method does not
    │   ├── PayloadTooLarge    the body is over the limit
    │   └── MalformedJson      the body is empty or not JSON
    └── UpstreamError          Confluence could not be reached or answered badly
        ├── UpstreamTimeout    connect or read timed out
        ├── UpstreamConnectionError  refused, reset or dropped
        └── UpstreamStatusError      a non-2xx answer
            └── RateLimited    a 429

Every message names the thing that is wrong: the key, file, JSON pointer, argument or tool.
Foreign exceptions are translated once, at the boundary that meets them (``raise ... from exc``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ConfigError",
    "Conflict",
    "ConfluenceMcpError",
    "HttpProblem",
    "InvalidBody",
    "InvalidInput",
    "MalformedJson",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "SpecError",
    "StoreError",
    "Unauthorized",
    "UnknownTool",
    "UpstreamConnectionError",
    "UpstreamError",
    "UpstreamStatusError",
    "UpstreamTimeout",
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


class UnknownTool(ConfluenceMcpError):
    """The tool does not exist, or is filtered out for this MCP server (the two look alike)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"Unknown tool: {name}")


class UpstreamError(ConfluenceMcpError):
    """Confluence could not be reached, or its answer could not be used."""


class UpstreamTimeout(UpstreamError):
    """Confluence did not connect or answer within the configured timeout."""


class UpstreamConnectionError(UpstreamError):
    """The connection to Confluence was refused, reset or dropped."""


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


class InvalidBody(InvalidInput):
    """A request body does not match its schema; ``details`` lists each field and its problem."""


class Conflict(InvalidInput):
    """The request clashes with the current state, e.g. it edits a record declared in the settings file."""


class HttpProblem(ConfluenceMcpError):
    """A failure that only exists at the HTTP layer; ``headers`` go into the error response."""

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
