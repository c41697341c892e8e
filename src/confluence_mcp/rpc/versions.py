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
"""What the handshake era is told: no change notifications (a stateless JSON server has no stream to carry them)."""
MODERN_CAPABILITIES: dict[str, Any] = {"tools": {"listChanged": True}}
"""What 2026-07-28 is told: tools/list changes are announced on ``subscriptions/listen`` streams, which we serve."""
SUBSCRIPTION_ID_META = "io.modelcontextprotocol/subscriptionId"

META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"

# The conventions every tool shares, said once here so that tool descriptions stay short
# (tests/test_context_budget.py keeps tools/list within its budget).
INSTRUCTIONS = (
    "Confluence Cloud tools. Rules that hold for every tool: "
    '1) Bodies: read with body-format=markdown and write {"representation": "markdown", "value": ...}; '
    "Confluence stores XHTML (storage format), and the server converts both ways without loss: what Markdown "
    "cannot say (macros, mentions, layouts) appears as ```confluence blocks and {{kind#n}} placeholders, which "
    "you leave as they are (edit the text around and inside them). A read returns a body only with body-format. "
    "2) An update replaces the whole title and body and needs version.number = current version + 1. Page and "
    "blog-post updates may omit version (the server sends current + 1); give expected_version, the version you "
    "read, and a concurrent edit is refused instead of overwritten. A 409 means someone saved meanwhile: "
    "re-read, re-apply the change, retry once. "
    "3) Ids are strings of digits. v2 tools take numeric space ids (spaceId, space-id); v1 tools and CQL take "
    "space keys such as ENG; list_all_confluence_spaces with keys=ENG maps a key to its id. "
    "4) Users are accountIds only (find them with list_all_confluence_users); groups are ids (find them with "
    "confluence_groups_search). "
    '5) CQL: quote every value (space = "ENG" AND title ~ "plan"); title and text take ~, never =. '
    "6) Lists are paged: pass cursor from the result's next_cursor; null means done. A limit above this "
    "server's cap is lowered and the result's limit_note says so. A result cut for length has cut_note and "
    "continue_from: repeat the call with that continue_from for the rest. "
    "7) Deleted pages, blog posts, folders and attachments go to the trash; comments are deleted for good. "
    "Confirm deletions and membership changes with the user. Rate limits appear in the result _meta."
)
