"""The pure admin rules: site URLs, credentials, filters and expiry windows; data in, values or InvalidInput out.

No I/O: ``new_account`` and ``new_mcp_server`` turn a checked body into a store record without touching a store.
``AdminService`` calls them with the settings, the clock and the tool catalog it holds, and ``admin.static`` with
the accounts and servers of the settings file, so the same checks guard the REST API, the CLI and the YAML.
Every failure is an ``InvalidInput`` whose ``field`` and message name the body field (``instance_url``,
``config.methods[1]``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from confluence_mcp.admin.models import AccountInput, AuthInput, McpServerInput
from confluence_mcp.errors import InvalidBody, InvalidInput
from confluence_mcp.openapi import Tool
from confluence_mcp.policy.filters import (
    ToolFilter,
    describe_filter,
    normalize_methods,
    normalize_tags,
    unknown_entries,
    visible_tools,
)
from confluence_mcp.policy.hosts import HostPolicy, ip_literal, site_refusal
from confluence_mcp.settings import UpstreamSettings
from confluence_mcp.store.base import Account, AuthType, McpServer, TokenScope

__all__ = [
    "MAX_ATLASSIAN_TOKEN_LIFETIME",
    "MIN_EXPIRY",
    "atlassian_token_expiry",
    "check_instance_url",
    "clean_methods",
    "clean_tags",
    "credentials",
    "expiry",
    "invalid",
    "new_account",
    "new_mcp_server",
    "require_credentials_for_new_site",
    "require_tools",
    "reworded",
    "token_scope",
]

MIN_EXPIRY = timedelta(seconds=60)
"""An MCP server or API token must live at least this long: shorter is almost surely a unit mistake."""
MAX_ATLASSIAN_TOKEN_LIFETIME = timedelta(days=366)
"""Atlassian API tokens last at most a year; a later expiry is a typo (366 allows for a leap day)."""
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def require_tools(tools: Sequence[Tool], methods: tuple[str, ...], tags: tuple[str, ...]) -> None:
    """Raise InvalidInput naming the entry no tool has (with a suggestion), or ``config`` when no tool passes."""
    unknown = unknown_entries(tools, methods, tags)
    if unknown:
        first = unknown[0]
        hint = f"did you mean {first.suggestion!r}? " if first.suggestion else ""
        more = f" ({len(unknown) - 1} more unknown entries)" if len(unknown) > 1 else ""
        raise invalid(
            f"config.{first.axis}[{first.index}]",
            f"{first.value!r} matches no tool; {hint}valid {first.axis}: {', '.join(first.valid)}{more}",
        )
    tool_filter = ToolFilter(methods=frozenset(methods), tags=frozenset(tags))
    if not visible_tools(tools, tool_filter):
        raise invalid(
            "config",
            f"no tool passes {describe_filter(tool_filter)}; widen methods or tags "
            "(see 'confluence-mcp tools list --methods ... --tags ...')",
        )


def check_instance_url(raw: str, upstream: UpstreamSettings) -> str:
    """Return the normalized site root (``https://host[:port]``); raise InvalidInput naming ``instance_url``."""
    url = raw.strip()
    if any(ch.isspace() or ord(ch) < 0x20 or ch == "\\" for ch in url):
        raise invalid("instance_url", "must not contain spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise invalid("instance_url", f"is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.netloc:
        raise invalid("instance_url", "must be an absolute https URL such as https://your-site.atlassian.net")
    if port == 0:
        raise invalid("instance_url", "port 0 is not a port")
    if "@" in parts.netloc:
        raise invalid("instance_url", "must not contain a username or password; give credentials in auth")
    if "?" in url:
        raise invalid("instance_url", "must not have a query")
    if "#" in url:
        raise invalid("instance_url", "must not have a fragment")
    host = parts.hostname or ""
    address = ip_literal(host)
    if address is None and not _HOST_NAME.match(host):
        raise invalid("instance_url", f"{host!r} is not a valid host name")
    if address is not None:  # any spelling (2130706433, 0x7f.1) is stored as the address it means
        host = str(address)
    shown_host = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
    root = f"{scheme}://{shown_host}" + (f":{port}" if port is not None else "")
    if parts.path.rstrip("/"):
        raise invalid("instance_url", f"must be the site root without a path (the tools add /wiki/...): use {root}")
    refusal = site_refusal(scheme, host, HostPolicy(upstream.allowed_hosts, upstream.allow_http))
    if refusal is not None:
        raise invalid("instance_url", refusal)
    return root


def require_credentials_for_new_site(stored_url: str, new_url: str, *, new_credentials: bool) -> None:
    """Raise InvalidBody naming ``auth`` when an account moves to another site without new credentials.

    The stored Atlassian token belongs to the old site: sending it to whatever host the new URL names would
    hand it to that host.
    """
    if new_credentials or _site(stored_url) == _site(new_url):
        return
    problem = (
        f"required when instance_url changes ({stored_url} -> {new_url}): the stored credentials belong to the "
        "old site and are never sent to another; give the new site's credentials with the new URL"
    )
    raise InvalidBody(f"auth: {problem}", field="auth", details=[{"field": "auth", "message": problem}])


def _site(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, parts.hostname or "", parts.port or (443 if scheme == "https" else 80), parts.path.rstrip("/")


def credentials(auth: AuthInput) -> tuple[AuthType, str | None, str]:
    """Return (type, username, secret); basic and scoped need the account email, bearer takes none, all a token."""
    secret = auth.password.get_secret_value()
    if not secret.strip() and auth.type != "oauth":
        raise invalid("auth.password", "required: the Atlassian API token (basic, scoped) or access token (bearer)")
    if auth.type == "oauth":
        raise invalid(
            "auth.type",
            "oauth accounts take no token here: connect one with POST /oauth/connect (CLI: confluence-mcp accounts"
            " connect), which signs in to Atlassian",
        )
    if auth.type in ("basic", "scoped"):
        if not auth.username:
            kind = "basic auth" if auth.type == "basic" else "a scoped API token"
            raise invalid("auth.username", f"required for {kind}: the Atlassian account email")
        return auth.type, auth.username, secret
    if auth.username:
        raise invalid("auth.username", "not used with bearer auth; leave it out")
    return "bearer", None, secret


def clean_methods(values: Sequence[str]) -> tuple[str, ...]:
    """Return normalized method filter entries; a malformed one is named by index (``config.methods[1]``)."""
    return _clean(values, normalize_methods, "methods")


def clean_tags(values: Sequence[str]) -> tuple[str, ...]:
    """Return normalized tag filter entries; a malformed one is named by index (``config.tags[2]``)."""
    return _clean(values, normalize_tags, "tags")


def _clean(values: Sequence[str], normalize: Callable[[Sequence[str]], tuple[str, ...]], name: str) -> tuple[str, ...]:
    for index, value in enumerate(values):
        try:
            normalize([value])
        except ValueError as exc:
            raise invalid(f"config.{name}[{index}]", str(exc).removeprefix(f"{name}: ")) from None
    return normalize(values)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # naive means UTC


def expiry(value: datetime | None, now: datetime, field: str) -> datetime | None:
    """Return an MCP server or API token expiry in UTC (naive means UTC); it must be ``MIN_EXPIRY`` ahead."""
    if value is None:
        return None
    moment = _aware(value)
    if moment < now + MIN_EXPIRY:
        raise invalid(field, f"must be at least {int(MIN_EXPIRY.total_seconds())} seconds in the future")
    return moment.astimezone(UTC)


def atlassian_token_expiry(value: datetime | None, now: datetime) -> datetime | None:
    """Return an Atlassian API token expiry in UTC; it must lie in the future and within 366 days."""
    if value is None:
        return None
    moment = _aware(value)
    if moment <= now:
        raise invalid("api_token_expires_at", "must be in the future; an expired Atlassian API token cannot work")
    if moment > now + MAX_ATLASSIAN_TOKEN_LIFETIME:
        raise invalid(
            "api_token_expires_at", "must be at most 366 days from now; Atlassian API tokens last a year at most"
        )
    return moment.astimezone(UTC)


def new_account(account_id: str, body: AccountInput, upstream: UpstreamSettings, now: datetime) -> Account:
    """Return the account ``body`` describes, created ``now``, after every account rule."""
    auth_type, username, secret = credentials(body.auth)
    return Account(
        id=account_id,
        label=body.label,
        instance_url=check_instance_url(body.instance_url, upstream),
        auth_type=auth_type,
        username=username,
        secret=secret,
        api_token_expires_at=atlassian_token_expiry(body.api_token_expires_at, now),
        created_at=now,
        updated_at=now,
    )


def new_mcp_server(
    server_id: str, account_id: str, token_hash: str, body: McpServerInput, tools: Sequence[Tool], now: datetime
) -> McpServer:
    """Return the MCP server ``body`` describes, created ``now``, after every MCP server rule."""
    config = body.config
    methods = clean_methods(config.methods or [])
    tags = clean_tags(config.tags or [])
    require_tools(tools, methods, tags)
    return McpServer(
        id=server_id,
        name=body.name,
        account_id=account_id,
        token_hash=token_hash,
        methods=methods,
        tags=tags,
        require_api_token_auth=config.require_api_token_auth,
        expires_at=expiry(body.expires_at, now, "expires_at"),
        created_at=now,
        updated_at=now,
        tool_exposure=config.tool_exposure,
        max_limit=config.max_limit,
        lean_results=config.lean_results,
        hide_deprecated=config.hide_deprecated,
    )


def token_scope(scope: str) -> TokenScope:
    """Return ``scope`` as an API token scope, or refuse it naming ``scope``."""
    if scope == "admin":
        return "admin"
    if scope == "mcp":
        return "mcp"
    raise invalid("scope", f"{scope!r} is not a scope; give admin (the admin API) or mcp (MCP servers)")


def invalid(field: str, problem: str) -> InvalidInput:
    """Return the InvalidInput for ``field``: message ``field: problem`` and details ``[{field, message}]``."""
    return InvalidInput(f"{field}: {problem}", field=field, details=[{"field": field, "message": problem}])


def reworded(exc: InvalidInput, name: str) -> str:
    """Return the message of an ``invalid`` error with its field shown as ``name`` (a CLI flag, a settings key)."""
    return f"{name}: {str(exc).removeprefix(f'{exc.field}: ')}"
