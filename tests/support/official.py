"""Atlassian's official v1 and v2 documents, read in place from ``../shared/openapi-official/``, and their tools."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from confluence_mcp.openapi import Tool, generate_tools

OFFICIAL = Path(__file__).resolve().parents[2].parent / "shared" / "openapi-official"
V1 = OFFICIAL / "confluence-v1.json"
V2 = OFFICIAL / "confluence-v2.json"


@cache
def official_tools() -> tuple[Tool, ...]:
    """Return the tools of both official documents, generated once per test run."""
    return generate_tools([V1, V2])
