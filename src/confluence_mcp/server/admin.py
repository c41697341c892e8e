"""The admin REST API (accounts, MCP servers) and its OpenAPI document."""

from __future__ import annotations

from starlette.routing import BaseRoute


def admin_routes() -> list[BaseRoute]:
    """Return the admin API routes."""
    return []
