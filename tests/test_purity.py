"""The pure core (openapi/, policy/, content/) loads no I/O library, and the server starts without the SDK."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "confluence_mcp"
FORBIDDEN = ("httpx", "starlette", "uvicorn", "mcp.server", "confluence_mcp.store", "confluence_mcp.server", "redis")


def test_pure_core_imports_no_io_modules() -> None:
    """Importing the pure parts in a fresh interpreter loads none of httpx, starlette, mcp.server or the store."""
    code = (
        "import sys, json; import confluence_mcp.openapi, confluence_mcp.policy.filters, "
        "confluence_mcp.policy.ratelimit, confluence_mcp.policy.hosts, confluence_mcp.content; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(__import__("json").loads(out))
    bad = sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
    assert bad == []


def test_lean_path_version_lists_match_the_sdk() -> None:
    """The protocol versions the lean path recognizes are exactly the SDK's."""
    from mcp_types.version import (
        HANDSHAKE_PROTOCOL_VERSIONS,
        MODERN_PROTOCOL_VERSIONS,
    )
    from mcp_types.version import (
        LATEST_HANDSHAKE_VERSION as LATEST_HANDSHAKE,
    )

    from confluence_mcp.rpc.versions import HANDSHAKE_VERSIONS, LATEST_HANDSHAKE_VERSION, MODERN_VERSIONS

    assert set(HANDSHAKE_PROTOCOL_VERSIONS) == HANDSHAKE_VERSIONS
    assert set(MODERN_PROTOCOL_VERSIONS) == MODERN_VERSIONS
    assert LATEST_HANDSHAKE == LATEST_HANDSHAKE_VERSION


def test_server_start_does_not_import_the_sdk() -> None:
    """Importing the app factory leaves the MCP SDK unimported (it loads in a worker thread after start)."""
    code = "import sys, confluence_mcp.server.app; print(any(m == 'mcp' or m.startswith('mcp.') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
