"""The store contract: records for accounts, MCP servers and API tokens, and the Store protocol."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    pass

AuthType = Literal["basic", "bearer"]
ToolExposure = Literal["all", "discovery"]
TokenScope = Literal["admin", "mcp"]
DEFAULT_MAX_LIMIT = 100
"""The largest ``limit`` a list tool passes upstream unless the MCP server says otherwise."""
MAX_LIMIT_CEILING = 250
"""The highest ``max_limit`` an MCP server may set: Confluence v2 caps list limits at 250."""


@dataclass(frozen=True, slots=True)
class Account:
    """A connected Confluence site; ``secret`` is plaintext in memory and encrypted at rest."""

    id: str
    label: str
    instance_url: str
    auth_type: AuthType
    username: str | None
    secret: str
    api_token_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def __repr__(self) -> str:
        # The dataclass repr would print the secret into logs and tracebacks.
        return f"Account(id={self.id!r}, label={self.label!r}, instance_url={self.instance_url!r})"


@dataclass(frozen=True, slots=True)
class McpServer:
    """One secret MCP URL bound to an account, with its tool filters; the token is kept only as a hash."""

    id: str
    name: str
    account_id: str
    token_hash: str
    methods: tuple[str, ...]
    tags: tuple[str, ...]
    require_api_token_auth: bool
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    tool_exposure: ToolExposure = "all"
    """``all``: every visible tool in tools/list; ``discovery``: only search_tools, get_tool_schema, call_tool."""
    max_limit: int = DEFAULT_MAX_LIMIT
    """The cap on the ``limit`` argument of list tools."""


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A bearer token, kept only as a hash: an admin token for the admin API, or an MCP client token."""

    id: str
    name: str
    token_hash: str
    created_at: datetime
    expires_at: datetime | None
    scope: TokenScope = "admin"
    """``admin``: the admin API, nothing else; ``mcp``: MCP servers with ``require_api_token_auth``, nothing else."""
    mcp_server_ids: tuple[str, ...] = ()
    """The MCP servers an ``mcp`` token opens; empty means every one. Meaningless (and empty) for ``admin``."""

    def opens_admin_api(self) -> bool:
        """Return whether this token may call the admin API."""
        return self.scope == "admin"

    def opens_mcp_server(self, server_id: str) -> bool:
        """Return whether this token is accepted as the bearer of MCP server ``server_id``."""
        return self.scope == "mcp" and (not self.mcp_server_ids or server_id in self.mcp_server_ids)


Record = TypeVar("Record", Account, McpServer, ApiToken)


def oldest_first(records: Iterable[Record]) -> list[Record]:
    """Return records in list order: oldest first, ties by id."""
    return sorted(records, key=lambda record: (record.created_at, record.id))


def utc_text(moment: datetime) -> str:
    """Return a timezone-aware time as fixed-width UTC ISO-8601 text, so text order is time order."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: the store takes timezone-aware times")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def is_expired(expires_at: datetime | None, now: datetime) -> bool:
    """Return whether a record with this ``expires_at`` is expired at ``now`` (the boundary instant counts)."""
    return expires_at is not None and expires_at <= now


class Store(Protocol):
    """Persistence for accounts, MCP servers and API tokens; every method is safe on the event loop.

    Times are timezone-aware UTC. ``get_*``, ``update_*`` and ``delete_*`` raise ``NotFound`` for a
    missing id. ``find_*_by_hash`` return ``None`` for a missing or expired record (see ``is_expired``).
    """

    async def open(self) -> None:
        """Connect, create or migrate the schema."""

    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""

    async def create_account(self, account: Account) -> None:
        """Insert a new account."""

    async def get_account(self, account_id: str) -> Account:
        """Return one account."""

    async def list_accounts(self) -> list[Account]:
        """Return every account, oldest first."""

    async def update_account(self, account: Account) -> None:
        """Replace an existing account."""

    async def delete_account(self, account_id: str) -> None:
        """Delete an account and every MCP server bound to it."""

    async def create_mcp_server(self, server: McpServer) -> None:
        """Insert a new MCP server."""

    async def get_mcp_server(self, server_id: str) -> McpServer:
        """Return one MCP server, expired or not."""

    async def list_mcp_servers(self, account_id: str | None = None) -> list[McpServer]:
        """Return MCP servers (of one account when given), oldest first."""

    async def update_mcp_server(self, server: McpServer) -> None:
        """Replace an existing MCP server (its token hash never changes)."""

    async def delete_mcp_server(self, server_id: str) -> None:
        """Delete (revoke) an MCP server; its URL dies at once."""

    async def find_mcp_server_by_token_hash(self, token_hash: str, now: datetime) -> McpServer | None:
        """Return the live MCP server with this token hash, or None if missing or expired at ``now``."""

    async def delete_expired(self, now: datetime) -> int:
        """Delete MCP servers and API tokens expired at ``now``; return how many went."""

    async def create_api_token(self, token: ApiToken) -> None:
        """Insert a new API token."""

    async def list_api_tokens(self) -> list[ApiToken]:
        """Return every API token, oldest first."""

    async def delete_api_token(self, token_id: str) -> None:
        """Delete an API token."""

    async def find_api_token_by_hash(self, token_hash: str, now: datetime) -> ApiToken | None:
        """Return the live API token with this hash, or None if missing or expired at ``now``."""
