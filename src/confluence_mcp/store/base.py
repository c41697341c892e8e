"""The store contract: records for accounts, MCP servers, API tokens and the audit log, and the Store protocol."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from confluence_mcp.policy.filters import HideDeprecated

if TYPE_CHECKING:
    pass

AuthType = Literal["basic", "bearer", "scoped", "oauth"]
"""basic: email + classic token on the site; bearer: a given access token on the site; scoped: email + scoped
token, and oauth: 3LO tokens (``secret`` holds them as JSON), both on the gateway's ``/ex/confluence/{cloud_id}``."""
ToolExposure = Literal["all", "discovery"]
TokenScope = Literal["admin", "mcp"]
TokenKind = Literal["mcp_server", "api_token"]
"""Which record a token hash belongs to: an MCP server's URL token or an API token."""
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
    cloud_id: str | None = None
    """The site's cloudId (scoped and oauth accounts), found once when the account is created or changed."""

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
    lean_results: bool = True
    """Results drop ``_links``, ``_expandable`` and empty fields and gain ``web_url``; false keeps Confluence's all."""
    hide_deprecated: HideDeprecated = "replaced"
    """Which deprecated tools are hidden: those with a replacement (``replaced``), ``all`` or ``none``."""


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


AuditOutcome = Literal["ok", "error", "refused"]
AUDIT_PAGE_MAX = 500
"""The most records one ``list_audit`` call returns."""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One tool call or admin change: ids, names and keys only, never a token, a secret or an argument value."""

    id: str
    at: datetime
    actor: str
    """The MCP server id (tool calls), the admin token id (admin API changes) or ``cli`` (CLI changes)."""
    action: str
    """``tools/call``, or ``account.create``, ``mcp_server.update``, ``api_token.revoke``, ..."""
    target: str | None
    """The tool name (tool calls) or the id of the record changed (None when a create failed)."""
    argument_keys: tuple[str, ...]
    """The argument keys the agent sent, or the body fields an admin change gave (``auth.password``)."""
    outcome: AuditOutcome
    """``ok``; ``error``: it ran and failed; ``refused``: it did not run (a rule, a cap, an unknown tool)."""
    reason: str | None = None
    """The error class behind ``error`` or ``refused`` (``InvalidArguments``, ``NotFound``, ``CallsThrottled``)."""
    upstream_status: int | None = None
    """Confluence's HTTP status, for tool calls that reached it."""
    duration_ms: float | None = None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What a list keeps: every given field must match (``since`` is inclusive)."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    outcome: AuditOutcome | None = None
    upstream_status: int | None = None
    since: datetime | None = None

    def matches(self, record: AuditRecord) -> bool:
        """Return whether ``record`` passes every field of this filter."""
        return (
            (self.actor is None or record.actor == self.actor)
            and (self.action is None or record.action == self.action)
            and (self.target is None or record.target == self.target)
            and (self.outcome is None or record.outcome == self.outcome)
            and (self.upstream_status is None or record.upstream_status == self.upstream_status)
            and (self.since is None or record.at >= self.since)
        )


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Records newest first, and the cursor of the next page (None: nothing older matches)."""

    records: tuple[AuditRecord, ...]
    next_cursor: str | None


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

    async def swap_account_secret(self, account_id: str, expected: str, secret: str) -> bool:
        """Replace the account's secret only if it is still ``expected`` (compare-and-set); return whether it was.

        Atomic across every process sharing the store: of two swaps from one ``expected``, one wins.
        """

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

    async def rekey_token(self, kind: TokenKind, record_id: str, old_hash: str, new_hash: str) -> bool:
        """Replace a record's token hash (after a key change); False when it no longer has ``old_hash``."""

    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Store audit records (a batch, in one write where the backend allows)."""

    async def list_audit(self, filters: AuditFilter, cursor: str | None, limit: int) -> AuditPage:
        """Return audit records newest first (see ``store.audit``); InvalidInput for a cursor not ours."""

    async def delete_audit_before(self, before: datetime) -> int:
        """Delete audit records older than ``before``; return how many went."""
