"""The admin service: accounts, MCP servers and API tokens, checked by ``admin.rules`` and written to the store.

The admin REST API and the CLI both call ``AdminService`` with bodies already shaped by ``admin.models``; it
applies the rules with its settings, clock and tool catalog, raises ``InvalidInput`` naming the field
(``instance_url``, ``config.methods[1]``), ``NotFound`` or ``Conflict``, and writes through the store. It never
renders secrets: callers get records, plus a new token exactly once when one is minted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from operator import attrgetter

from confluence_mcp.admin.audit import Auditor, audited, status_filter
from confluence_mcp.admin.audit_models import AuditLogQuery, McpLogsQuery
from confluence_mcp.admin.connect import AccountConnector
from confluence_mcp.admin.connection_check import ConnectionChecker, ConnectionReport
from confluence_mcp.admin.durations import since_time
from confluence_mcp.admin.models import AccountInput, AccountPatch, McpServerInput, McpServerPatch
from confluence_mcp.admin.outcomes import CheckedAccount, NewApiToken, NewMcpServer
from confluence_mcp.admin.rules import (
    atlassian_token_expiry,
    check_instance_url,
    clean_methods,
    clean_tags,
    credentials,
    expiry,
    invalid,
    new_account,
    new_mcp_server,
    require_credentials_for_new_site,
    require_tools,
    token_scope,
)
from confluence_mcp.admin.static import STATIC_SERVER_PREFIX, with_cloud_id
from confluence_mcp.errors import Conflict, ConnectionCheckFailed, NotFound
from confluence_mcp.openapi import Tool
from confluence_mcp.settings import Settings
from confluence_mcp.store.base import Account, ApiToken, AuditFilter, AuditPage, McpServer, Store, TokenScope
from confluence_mcp.store.cipher import Cipher
from confluence_mcp.store.tokens import TokenHasher, mint_api_token, mint_mcp_token, new_id

__all__ = ["AdminService"]


_MAX_BOUND_SERVERS = 100
"""The most MCP servers one token may be bound to (a list an operator types, not a data set)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _nothing() -> None:
    return None


class AdminService:
    """Creates, reads, changes and deletes accounts, MCP servers and API tokens, enforcing every admin rule."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        tools: Callable[[], Sequence[Tool]],
        *,
        on_change: Callable[[], None] = _nothing,
        clock: Callable[[], datetime] = _utc_now,
        public_url: str | None = None,
        auditor: Auditor | None = None,
        checker: ConnectionChecker | None = None,
        cipher: Cipher | None = None,
        hasher: TokenHasher | None = None,
    ) -> None:
        self._store = store
        self._checker = checker
        """Tests new or changed credentials before they are saved; None (rule-only tests) checks nothing."""
        self._cipher = cipher
        self._hash = (hasher or TokenHasher(())).hash
        """How new tokens are stored: keyed by the server's secret key (``Cipher.hasher``); unkeyed without one."""
        self.auditor = auditor
        """Who makes this service's changes and where their audit records go; None records nothing."""
        self._settings = settings
        self._public_url = (public_url or settings.public_url).rstrip("/")
        self._tools = tools  # a callable, so the CLI builds the catalog only for commands that need it
        self._on_change = on_change
        self._clock = clock

    def connector(self, *, public_url: str | None = None) -> AccountConnector:
        """Return the OAuth connector over the same store, settings and auditor (needs the secret key's cipher).

        ``public_url`` is where Atlassian sends the browser back (``/oauth/callback`` under it); default: ours.
        """
        if self._cipher is None:
            raise RuntimeError("AdminService.connector needs the store's cipher")  # a wiring bug, not user input
        return AccountConnector(
            self._store, self._settings, self._cipher, public_url=public_url or self._public_url, auditor=self.auditor
        )

    def mcp_url(self, token: str) -> str:
        """Return the URL an agent uses for an MCP server token."""
        return f"{self._public_url}/mcp/{token}"

    # Integrated accounts

    @audited("account.create", target=attrgetter("account.id"))
    async def create_account(self, body: AccountInput, *, check: bool = True) -> CheckedAccount:
        """Check the rules and (unless ``check`` is false) the credentials, then store a new account."""
        account = new_account(new_id("acc"), body, self._settings.upstream, self._clock())
        account = await with_cloud_id(account, None, self._settings.upstream)
        report = await self._checked(account) if check else None
        await self._store.create_account(account)
        self._on_change()
        return CheckedAccount(account, report)

    async def test_connection(self, body: AccountInput) -> ConnectionReport:
        """Return what Confluence says of the site and credentials in ``body``, saving nothing."""
        account = new_account("acc_unsaved", body, self._settings.upstream, self._clock())
        # A scoped token is checked where its calls go: through the gateway, under the site's cloudId.
        return await self._report(await with_cloud_id(account, None, self._settings.upstream))

    async def check_account(self, account_id: str) -> ConnectionReport:
        """Return what Confluence says of a stored account's site and credentials now."""
        return await self._report(await self._store.get_account(account_id))

    async def list_accounts(self) -> list[Account]:
        """Return every account, oldest first."""
        return await self._store.list_accounts()

    async def get_account(self, account_id: str) -> Account:
        """Return one account, or raise NotFound."""
        return await self._store.get_account(account_id)

    @audited("account.update", target="account_id")
    async def update_account(self, account_id: str, body: AccountPatch, *, check: bool = True) -> CheckedAccount:
        """Apply the keys given in ``body``; keys absent stay, ``auth`` is replaced whole.

        New credentials or a new site are checked first unless ``check`` is false.
        """
        account = await self._store.get_account(account_id)
        self._refuse_static_account(account_id, "change")
        now = self._clock()
        given = body.model_fields_set
        label = body.label if "label" in given and body.label is not None else account.label
        instance_url = account.instance_url
        new_auth = body.auth if "auth" in given else None
        if "instance_url" in given and body.instance_url is not None:
            instance_url = check_instance_url(body.instance_url, self._settings.upstream)
            require_credentials_for_new_site(account.instance_url, instance_url, new_credentials=new_auth is not None)
        auth_type, username, secret = account.auth_type, account.username, account.secret
        if new_auth is not None:
            auth_type, username, secret = credentials(new_auth)
        expires_at = account.api_token_expires_at
        if "api_token_expires_at" in given:
            expires_at = atlassian_token_expiry(body.api_token_expires_at, now)
        updated = dataclasses.replace(
            account,
            label=label,
            instance_url=instance_url,
            auth_type=auth_type,
            username=username,
            secret=secret,
            api_token_expires_at=expires_at,
            updated_at=now,
        )
        updated = await with_cloud_id(updated, account, self._settings.upstream)
        # A new site always comes with new credentials (require_credentials_for_new_site), so they decide.
        report = await self._checked(updated) if check and new_auth is not None else None
        await self._store.update_account(updated)
        self._on_change()
        return CheckedAccount(updated, report)

    @audited("account.delete", target="account_id")
    async def delete_account(self, account_id: str) -> int:
        """Delete an account and its MCP servers (their URLs die at once); return how many servers went."""
        await self._store.get_account(account_id)
        self._refuse_static_account(account_id, "delete")
        pinned = [i for i, s in enumerate(self._settings.servers) if s.account == account_id]
        if pinned:
            where = ", ".join(f"servers[{i}]" for i in pinned)
            raise Conflict(
                f"account {account_id!r} has MCP servers declared in the settings file ({where}); "
                "remove them there first"
            )
        servers = await self._store.list_mcp_servers(account_id)
        await self._store.delete_account(account_id)
        self._on_change()
        return len(servers)

    # MCP servers

    @audited("mcp_server.create", target=attrgetter("server.id"))
    async def create_mcp_server(self, account_id: str, body: McpServerInput) -> NewMcpServer:
        """Check filters and expiry, mint a token and store the server; the token is returned this once."""
        await self._store.get_account(account_id)
        token = mint_mcp_token()
        server = new_mcp_server(new_id("mcp"), account_id, self._hash(token), body, self._tools(), self._clock())
        await self._store.create_mcp_server(server)
        self._on_change()
        return NewMcpServer(server=server, token=token, url=self.mcp_url(token))

    async def list_mcp_servers(self, account_id: str | None = None) -> list[McpServer]:
        """Return MCP servers, of one account when given (NotFound if that account does not exist)."""
        if account_id is not None:
            await self._store.get_account(account_id)
        return await self._store.list_mcp_servers(account_id)

    async def get_mcp_server(self, server_id: str, *, account_id: str | None = None) -> McpServer:
        """Return one MCP server; with ``account_id``, one under a different account is NotFound too."""
        if account_id is not None:
            await self._store.get_account(account_id)
        server = await self._store.get_mcp_server(server_id)
        if account_id is not None and server.account_id != account_id:
            raise NotFound(f"MCP server {server_id!r} not found")
        return server

    @audited("mcp_server.update", target="server_id")
    async def update_mcp_server(
        self, server_id: str, body: McpServerPatch, *, account_id: str | None = None
    ) -> McpServer:
        """Apply ``body``: ``config`` is shallow-merged (keys given replace), ``expires_at: null`` clears it."""
        server = await self.get_mcp_server(server_id, account_id=account_id)
        self._refuse_static_server(server, "change")
        now = self._clock()
        given = body.model_fields_set
        methods, tags, require_auth = server.methods, server.tags, server.require_api_token_auth
        exposure, max_limit = server.tool_exposure, server.max_limit
        lean, hide_deprecated = server.lean_results, server.hide_deprecated
        if "config" in given and body.config is not None:
            config, keys = body.config, body.config.model_fields_set
            if "methods" in keys:
                methods = clean_methods(config.methods or [])
            if "tags" in keys:
                tags = clean_tags(config.tags or [])
            if "require_api_token_auth" in keys and config.require_api_token_auth is not None:
                require_auth = config.require_api_token_auth
            if "tool_exposure" in keys and config.tool_exposure is not None:
                exposure = config.tool_exposure
            if "max_limit" in keys and config.max_limit is not None:
                max_limit = config.max_limit
            if "lean_results" in keys and config.lean_results is not None:
                lean = config.lean_results
            if "hide_deprecated" in keys and config.hide_deprecated is not None:
                hide_deprecated = config.hide_deprecated
            if keys & {"methods", "tags"}:
                require_tools(self._tools(), methods, tags)
        updated = dataclasses.replace(
            server,
            name=body.name if "name" in given and body.name is not None else server.name,
            methods=methods,
            tags=tags,
            require_api_token_auth=require_auth,
            tool_exposure=exposure,
            max_limit=max_limit,
            lean_results=lean,
            hide_deprecated=hide_deprecated,
            expires_at=expiry(body.expires_at, now, "expires_at") if "expires_at" in given else server.expires_at,
            updated_at=now,
        )
        await self._store.update_mcp_server(updated)
        self._on_change()
        return updated

    @audited("mcp_server.delete", target="server_id")
    async def delete_mcp_server(self, server_id: str, *, account_id: str | None = None) -> None:
        """Revoke an MCP server: its URL answers 404 from now on."""
        server = await self.get_mcp_server(server_id, account_id=account_id)
        self._refuse_static_server(server, "revoke")
        await self._store.delete_mcp_server(server_id)
        self._on_change()

    # API tokens

    @audited("api_token.create", target=attrgetter("record.id"))
    async def create_api_token(
        self,
        name: str,
        expires_at: datetime | None = None,
        *,
        scope: str = "admin",
        mcp_server_ids: Sequence[str] = (),
    ) -> NewApiToken:
        """Mint and store an admin token or an MCP client token (bound to existing servers); the secret shows once."""
        now = self._clock()
        label = name.strip()
        if not label or len(label) > 200:
            raise invalid("name", "give 1 to 200 characters")
        checked_scope = token_scope(scope)
        server_ids = await self._bound_servers(checked_scope, mcp_server_ids)
        token = mint_api_token()
        record = ApiToken(
            id=new_id("tok"),
            name=label,
            token_hash=self._hash(token),
            created_at=now,
            expires_at=expiry(expires_at, now, "expires_at"),
            scope=checked_scope,
            mcp_server_ids=server_ids,
        )
        await self._store.create_api_token(record)
        self._on_change()
        return NewApiToken(record=record, token=token)

    async def list_api_tokens(self) -> list[ApiToken]:
        """Return every API token, oldest first."""
        return await self._store.list_api_tokens()

    @audited("api_token.revoke", target="token_id")
    async def delete_api_token(self, token_id: str) -> None:
        """Revoke an API token."""
        await self._store.delete_api_token(token_id)
        self._on_change()

    # Audit log

    async def audit_log(self, query: AuditLogQuery) -> AuditPage:
        """Return audit records newest first: tool calls and admin changes, by actor, action and time."""
        since = None if query.since is None else since_time(query.since, self._clock())
        filters = AuditFilter(actor=query.actor, action=query.action, since=since)
        return await self._store.list_audit(filters, query.cursor, query.limit)

    async def mcp_server_logs(self, account_id: str, server_id: str, query: McpLogsQuery) -> AuditPage:
        """Return one MCP server's tool calls newest first, by tool, status and time (NotFound as get_mcp_server)."""
        await self.get_mcp_server(server_id, account_id=account_id)
        outcome, upstream_status = (None, None) if query.status is None else status_filter(query.status)
        filters = AuditFilter(
            actor=server_id,
            action="tools/call",
            target=query.tool,
            outcome=outcome,
            upstream_status=upstream_status,
            since=None if query.since is None else since_time(query.since, self._clock()),
        )
        return await self._store.list_audit(filters, query.cursor, query.limit)

    # Rules

    async def _report(self, account: Account) -> ConnectionReport:
        if self._checker is None:
            raise RuntimeError("this AdminService has no connection checker")  # a wiring bug, not bad input
        return await self._checker.check(account)

    async def _checked(self, account: Account) -> ConnectionReport | None:
        """Return the check's report, or raise ConnectionCheckFailed naming the field at fault."""
        if self._checker is None:
            return None
        report = await self._checker.check(account)
        if report.ok:
            return report
        field = "auth" if report.outcome in ("bad_credentials", "forbidden") else "instance_url"
        problem = f"the connection check failed: {report.message} (to save it anyway, skip the check)"
        detail = {"field": field, "message": problem, "outcome": report.outcome, "status": report.status}
        raise ConnectionCheckFailed(f"{field}: {problem}", field=field, details=[detail])

    async def _bound_servers(self, scope: TokenScope, requested: Sequence[str]) -> tuple[str, ...]:
        """Return the distinct MCP server ids an MCP client token is bound to; every one must exist."""
        server_ids = tuple(dict.fromkeys(each.strip() for each in requested if each.strip()))
        if not server_ids:
            return ()
        if scope != "mcp":
            raise invalid("mcp_server_ids", "only MCP client tokens (scope mcp) are bound to MCP servers")
        if len(server_ids) > _MAX_BOUND_SERVERS:
            raise invalid("mcp_server_ids", f"give at most {_MAX_BOUND_SERVERS} MCP server ids")
        unknown: list[str] = []
        for server_id in server_ids:
            try:
                await self._store.get_mcp_server(server_id)
            except NotFound:
                unknown.append(server_id)
        if unknown:
            names = ", ".join(repr(each) for each in unknown)
            plural = "s" if len(unknown) > 1 else ""
            raise invalid("mcp_server_ids", f"unknown MCP server id{plural} {names} (see 'confluence-mcp mcp list')")
        return server_ids

    def _refuse_static_account(self, account_id: str, verb: str) -> None:
        for index, item in enumerate(self._settings.accounts):
            if item.id == account_id:
                raise Conflict(
                    f"account {account_id!r} is declared in the settings file (accounts[{index}]); {verb} it there"
                )

    def _refuse_static_server(self, server: McpServer, verb: str) -> None:
        if server.id.startswith(STATIC_SERVER_PREFIX):
            raise Conflict(f"MCP server {server.id!r} is declared in the settings file (servers); {verb} it there")
