"""Admin-token bearer checks for the admin API, and the ``WWW-Authenticate`` challenge that goes with a 401."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request

from confluence_mcp.errors import Unauthorized
from confluence_mcp.store.base import ApiToken

__all__ = ["REALM", "bearer_token", "challenge", "require_api_token"]

REALM = "confluence-mcp"


def challenge(error: str | None = None) -> str:
    """Return the ``WWW-Authenticate`` value; ``error`` (RFC 6750) is set when a token was sent but refused."""
    value = f'Bearer realm="{REALM}"'
    return f'{value}, error="{error}"' if error else value


def bearer_token(authorization: str | None) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` value (scheme case-insensitive), else None."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def require_api_token(request: Request, lookup: Callable[[str], Awaitable[ApiToken | None]]) -> ApiToken:
    """Return the live admin token the request carries, else raise Unauthorized (``lookup`` finds its record)."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise Unauthorized(
            "send 'Authorization: Bearer <API token>' (create one with: confluence-mcp api-tokens create NAME)",
            headers={"WWW-Authenticate": challenge()},
        )
    record = await lookup(token)
    if record is None:
        # The same answer for unknown, revoked and expired tokens.
        raise Unauthorized(
            "the API token is not valid (unknown, revoked or expired)",
            headers={"WWW-Authenticate": challenge("invalid_token")},
        )
    if not record.opens_admin_api():
        # Said only to whoever holds this live token: that it is one, and which kind, is what they need to know.
        raise Unauthorized(
            "this is an MCP client token (scope mcp), which opens only MCP servers; the admin API needs an admin"
            " token (create one with: confluence-mcp api-tokens create NAME)",
            headers={"WWW-Authenticate": challenge("invalid_token")},
        )
    return record
