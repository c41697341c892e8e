"""Administration: accounts, MCP servers and API tokens, one set of rules for the REST API, the CLI and YAML.

``models`` shapes request bodies, ``rules`` holds the pure checks, ``service`` applies them and writes to the
store, ``routes`` and ``openapi`` are the REST API, ``auth`` and ``http_errors`` its HTTP edges, and
``static`` loads the accounts and MCP servers declared in the settings file through the same rules. The HTTP
modules are not imported here, so the CLI never loads Starlette; the app imports ``admin.routes`` itself.
"""

from confluence_mcp.admin.service import AdminService
from confluence_mcp.admin.static import load_static_config

__all__ = ["AdminService", "load_static_config"]
