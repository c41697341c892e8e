"""Accounts, MCP servers and API tokens behind one ``Store`` protocol; ``open_store`` picks the backend by URL.

Backends live in their own modules and load only when chosen: ``memory``, ``sqlite`` (the default) and
``redis`` (which alone imports the Redis client). Secrets at rest go through ``cipher``; tokens through ``tokens``.
"""

from confluence_mcp.store.base import Account, ApiToken, McpServer, Store
from confluence_mcp.store.opening import open_store

__all__ = ["Account", "ApiToken", "McpServer", "Store", "open_store"]
