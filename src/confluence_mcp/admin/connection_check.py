"""Test an account against Confluence's current-user endpoint, along the road tool calls take.

The account becomes a ``Target`` as the resolver makes it (``pipeline.resolver.target_for_account``), and the
request goes out through the app's one ``UpstreamClient`` (its pool, its timeouts and its SSRF guard), so a new
kind of credential that changes how an account becomes a target is checked the way its calls will be sent.
The report says who Confluence took us for, or precisely why it did not: 401, 403, another status, a host we
refuse, a timeout, a name that does not resolve, a TLS failure or a refused connection.
"""

from __future__ import annotations

import json
import socket
import ssl
from dataclasses import dataclass
from typing import Literal

from confluence_mcp.errors import (
    UpstreamConnectionError,
    UpstreamError,
    UpstreamRefused,
    UpstreamResponseTooLarge,
    UpstreamTimeout,
)
from confluence_mcp.pipeline.resolver import target_for_account
from confluence_mcp.settings import AtlassianSettings
from confluence_mcp.store.base import Account
from confluence_mcp.upstream.client import UpstreamClient
from confluence_mcp.upstream.request import UpstreamRequest

__all__ = ["CURRENT_USER_PATH", "CheckOutcome", "ConnectionChecker", "ConnectionReport"]

CURRENT_USER_PATH = "/wiki/rest/api/user/current"

CheckOutcome = Literal[
    "ok", "bad_credentials", "forbidden", "unexpected_status", "refused", "timeout", "dns", "tls", "unreachable"
]

_CURRENT_USER = UpstreamRequest("GET", CURRENT_USER_PATH, [], {}, None, False)


@dataclass(frozen=True, slots=True)
class ConnectionReport:
    """What the current-user endpoint said of an account's site and credentials."""

    outcome: CheckOutcome
    message: str
    """One sentence for people: who we are signed in as, or what failed and what to do."""
    status: int | None = None
    """Confluence's HTTP status, when it answered."""
    display_name: str | None = None
    account_id: str | None = None
    """The Atlassian accountId of the user the credentials belong to."""

    @property
    def ok(self) -> bool:
        """Return whether Confluence accepted the credentials."""
        return self.outcome == "ok"


class ConnectionChecker:
    """Sends ``GET /wiki/rest/api/user/current`` for an account and reports the answer; never raises for it."""

    def __init__(self, upstream: UpstreamClient, *, api_url: str = AtlassianSettings().api_url) -> None:
        self._upstream = upstream
        self._api_url = api_url
        """The gateway scoped and oauth accounts are called through (``atlassian.api_url``)."""

    async def check(self, account: Account) -> ConnectionReport:
        """Return the report for ``account``'s site and credentials."""
        site = account.instance_url
        try:
            response = await self._upstream.send(target_for_account(account, api_url=self._api_url), _CURRENT_USER)
        except UpstreamError as exc:
            return _failure_report(exc, site)
        if response.status == 200:
            return _signed_in(response.content, site)
        return _status_report(response.status, site)


def _signed_in(content: bytes, site: str) -> ConnectionReport:
    try:
        user = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        user = None
    if not isinstance(user, dict) or not isinstance(user.get("accountId"), str):
        return ConnectionReport(
            "unexpected_status", f"{site} answered 200 but not with a Confluence user; is it a Confluence site?", 200
        )
    name = user.get("displayName") or user.get("publicName")
    display_name = name if isinstance(name, str) else None
    if user.get("type") == "anonymous" or user["accountId"] == "":
        return ConnectionReport(
            "bad_credentials", f"{site} treated the request as anonymous: the credentials were not accepted", 200
        )
    who = f"{display_name} ({user['accountId']})" if display_name else user["accountId"]
    return ConnectionReport("ok", f"signed in to {site} as {who}", 200, display_name, user["accountId"])


def _status_report(status: int, site: str) -> ConnectionReport:
    if status == 401:
        return ConnectionReport(
            "bad_credentials",
            f"{site} answered 401: the email and API token (or access token) were not accepted; check both, and"
            " that the token has not expired or been revoked",
            status,
        )
    if status == 403:
        return ConnectionReport(
            "forbidden",
            f"{site} answered 403: the credentials are valid but may not use Confluence there (no product"
            " access, or the token lacks the read:confluence-user scope)",
            status,
        )
    if status == 404:
        return ConnectionReport(
            "unexpected_status", f"{site} answered 404 for {CURRENT_USER_PATH}: is it a Confluence Cloud site?", status
        )
    return ConnectionReport("unexpected_status", f"{site} answered HTTP {status} for {CURRENT_USER_PATH}", status)


def _failure_report(exc: UpstreamError, site: str) -> ConnectionReport:
    if isinstance(exc, UpstreamRefused):
        return ConnectionReport("refused", f"not connecting to {site}: {exc}")
    if isinstance(exc, UpstreamTimeout):
        return ConnectionReport("timeout", f"{site} did not answer in time: {exc}")
    if isinstance(exc, UpstreamResponseTooLarge):
        return ConnectionReport("unexpected_status", f"{site} sent an oversized answer for {CURRENT_USER_PATH}")
    cause = _root_cause(exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return ConnectionReport("tls", f"{site}: its TLS certificate was not trusted ({cause.verify_message})")
    if isinstance(cause, ssl.SSLError):
        return ConnectionReport("tls", f"{site}: the TLS handshake failed ({cause.reason or cause.__class__.__name__})")
    if isinstance(cause, socket.gaierror) or "resolve" in str(cause):
        return ConnectionReport("dns", f"{site}: its host name does not resolve; check the instance URL")
    if isinstance(exc, UpstreamConnectionError):
        return ConnectionReport("unreachable", f"{site} could not be reached: the connection was refused or dropped")
    return ConnectionReport("unreachable", f"{site} could not be reached: {exc}")


def _root_cause(exc: BaseException) -> BaseException:
    """Return the innermost cause: the TLS or socket error under the httpx and upstream layers."""
    seen: set[int] = set()
    while exc.__cause__ is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ssl.SSLError | socket.gaierror):
            return exc
        exc = exc.__cause__
    return exc
