"""Protocol versions and what the server says about itself, in both eras.

Importing ``mcp_types`` costs half a second, so the versions are spelled out; a test keeps them equal to the SDK's.
"""

from __future__ import annotations

from typing import Any

from confluence_mcp import __version__

HANDSHAKE_VERSIONS = frozenset({"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"})
LATEST_HANDSHAKE_VERSION = "2025-11-25"
MODERN_VERSIONS = frozenset({"2026-07-28"})

SERVER_NAME = "confluence-mcp"
SERVER_INFO: dict[str, Any] = {"name": SERVER_NAME, "version": __version__}
CAPABILITIES: dict[str, Any] = {"tools": {"listChanged": False}}

META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"

INSTRUCTIONS = (
    "Confluence Cloud tools. Page and blog bodies are Confluence storage format (XHTML such as <p>Hi</p>), "
    "not Markdown. An update needs version.number = current version + 1: read the page first. Users are "
    "accountIds (find one with list_all_confluence_users). v2 tools take numeric space ids, v1 tools space "
    "keys. Lists are paginated: pass a result's next_cursor back as cursor until it is null. Rate limits "
    "appear in the result _meta."
)
