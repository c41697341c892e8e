"""Names of the values our endpoint leaves in the ASGI scope state for the handlers and middleware."""

RESOLVED_KEY = "confluence_mcp.resolved"
"""The Resolved MCP server for this request, set after the token check."""
HEADERS_KEY = "confluence_mcp.response_headers"
"""Extra response headers (ratelimit-*) a handler wants on the HTTP response."""
