"""Step 1, resolve: the live MCP server behind the call's token (unknown, revoked and expired look alike)."""

from __future__ import annotations

from datetime import UTC, datetime

from confluence_mcp.errors import ApiTokenRequired, UnknownMcpServer
from confluence_mcp.pipeline.context import Call
from confluence_mcp.pipeline.resolver import TokenResolver


class ResolveServer:
    """Sets ``call.resolved``; the endpoint usually resolved the token already, so only expiry is checked again."""

    name = "resolve"

    def __init__(self, resolver: TokenResolver) -> None:
        self._resolver = resolver

    async def run(self, call: Call) -> None:
        """Resolve the token unless the endpoint did; refuse a server that is gone or has just expired."""
        resolved = call.resolved
        if resolved is None:
            resolved = await self._resolver.resolve(call.token)
            # Only the endpoint sees the request's headers, so only it can accept a bearer token.
            if resolved is not None and resolved.server.require_api_token_auth:
                raise ApiTokenRequired("This MCP server requires 'Authorization: Bearer <MCP client token>'")
        if resolved is None or resolved.expired(datetime.now(UTC)):
            raise UnknownMcpServer("Not found")
        call.resolved = resolved
