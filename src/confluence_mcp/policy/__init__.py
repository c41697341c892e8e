"""Pure decisions: no I/O; never imports httpx, starlette, mcp.server or the store."""
