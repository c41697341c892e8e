"""Names of the values our endpoint leaves in the ASGI scope state for the handlers and middleware."""

RESOLVED_KEY = "confluence_mcp.resolved"
"""The Resolved MCP server for this request, set after the token check."""
HEADERS_KEY = "confluence_mcp.response_headers"
"""Extra response headers (ratelimit-*) a handler wants on the HTTP response."""
TOKEN_KEY = "confluence_mcp.token"  # noqa: S105  # a state key name, not a secret
"""The MCP URL token of this request (for the call pipeline's resolve step)."""
