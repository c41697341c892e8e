"""What admin operations hand back beyond a record: a connection check's verdict, a token shown this once."""

from __future__ import annotations

from dataclasses import dataclass

from confluence_mcp.admin.connection_check import ConnectionReport
from confluence_mcp.store.base import Account, ApiToken, McpServer

__all__ = ["CheckedAccount", "NewApiToken", "NewMcpServer"]


@dataclass(frozen=True, slots=True)
class CheckedAccount:
    """An account just saved, with what the connection check said (None when it was skipped or not run)."""

    account: Account
    check: ConnectionReport | None


@dataclass(frozen=True, slots=True)
class NewMcpServer:
    """A just-created MCP server with its token and URL, which are never shown again."""

    server: McpServer
    token: str
    url: str


@dataclass(frozen=True, slots=True)
class NewApiToken:
    """A just-created API token with its secret, which is never shown again."""

    record: ApiToken
    token: str
