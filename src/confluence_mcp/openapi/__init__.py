"""Pure core: OpenAPI documents in, MCP tool definitions out.

This package takes data and returns data. It never imports httpx, starlette, ``mcp.server`` or the
store, so the CLI, the server and the benchmark reuse it unchanged and its tests run in milliseconds.
"""

from __future__ import annotations

from pathlib import Path

from confluence_mcp.openapi.models import Annotations, Binding, Tool
from confluence_mcp.openapi.tools import generate_tools

__all__ = ["Annotations", "Binding", "Tool", "default_documents", "generate_tools"]


def default_documents() -> list[Path]:
    """Return our own OpenAPI document(s): shipped in the wheel, or from the source tree."""
    packaged = Path(__file__).resolve().parent.parent / "_documents"
    if packaged.is_dir():
        return sorted(packaged.glob("*.yaml"))
    source_tree = Path(__file__).resolve().parents[3] / "openapi"
    return sorted(source_tree.glob("*.yaml"))
