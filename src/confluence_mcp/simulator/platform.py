"""The simulator's Atlassian platform: an OAuth 2.0 (3LO) server, tenant_info and the API gateway's base.

    GET  /authorize                           auto-approves: 302 to redirect_uri with code and state
    POST /oauth/token                         authorization_code (PKCE S256 checked) or refresh_token (rotated:
                                              a used refresh token is refused, as Atlassian does)
    GET  /oauth/token/accessible-resources    the one simulated site, for a live access token
    GET  /_edge/tenant_info                   {"cloudId": ...}
    *    /ex/confluence/{cloudId}/wiki/...    the site's own routes, for a live access token (Bearer) or the
                                              scoped token (Basic email:token); other credentials get 401

Tests reach in: ``access_lifetime`` sets how long new access tokens last, ``grants`` counts token requests by
grant type, ``hold_token`` (an event) holds token answers until it is set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit

import anyio

from confluence_mcp.simulator.exchange import Call

__all__ = ["GATEWAY_PREFIX", "Answer", "Platform"]

GATEWAY_PREFIX: Final = "/ex/confluence/"
_PLATFORM_PATHS: Final = frozenset({"/authorize", "/oauth/token", "/oauth/token/accessible-resources"})
_CODE_SECONDS: Final = 600


@dataclass(frozen=True, slots=True)
class Answer:
    """A platform response: status, JSON (or None) and extra headers."""

    status: int
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class _Code:
    challenge: str
    redirect_uri: str
    client_id: str
    expires_at: float


@dataclass(slots=True)
class Platform:
    """OAuth clients, codes and tokens of the simulated platform; one site, whose cloudId is ``cloud_id``."""

    email: str
    scoped_token: str
    client_id: str = "sim-client"
    client_secret: str = "sim-client-secret"  # noqa: S105  # a fixture credential of a fake platform
    cloud_id: str = "a1b2c3d4-0000-4000-8000-5ca1ab1e0001"
    access_lifetime: float = 3600.0
    """Seconds new access tokens live."""
    grants: dict[str, int] = field(default_factory=dict)
    """Token requests by grant type that got tokens."""
    hold_token: anyio.Event | None = None
    """When set to an unset event, token answers wait for it."""
    _codes: dict[str, _Code] = field(default_factory=dict)
    _access: dict[str, float] = field(default_factory=dict)
    _refresh: set[str] = field(default_factory=set)

    def reset(self) -> None:
        """Forget every code and token."""
        self._codes.clear()
        self._access.clear()
        self._refresh.clear()
        self.grants.clear()

    def claims(self, path: str) -> bool:
        """Whether ``path`` is one of the platform's own endpoints (not a Confluence route)."""
        return path in _PLATFORM_PATHS or path == "/_edge/tenant_info"

    def live_access(self, header: str | None) -> bool:
        """Whether ``header`` is ``Bearer <an access token this platform issued, not expired>``."""
        scheme, _, token = (header or "").partition(" ")
        expires = self._access.get(token.strip()) if scheme.lower() == "bearer" else None
        return expires is not None and expires > time.time()

    def scoped(self, header: str | None) -> bool:
        """Whether ``header`` is Basic ``email:scoped token``."""
        expected = "Basic " + base64.b64encode(f"{self.email}:{self.scoped_token}".encode()).decode()
        return hmac.compare_digest((header or "").encode(), expected.encode())

    def gateway_path(self, path: str) -> tuple[str | None, str]:
        """Return (cloudId, the site path) of a gateway path ``/ex/confluence/{cloudId}/wiki/...``."""
        cloud_id, _, rest = path.removeprefix(GATEWAY_PREFIX).partition("/")
        return cloud_id, "/" + rest

    async def answer(self, call: Call, site_url: str) -> Answer:
        """Answer a platform endpoint."""
        if call.path == "/_edge/tenant_info":
            return Answer(200, {"cloudId": self.cloud_id})
        if call.path == "/authorize":
            return self._authorize(call)
        if call.path == "/oauth/token/accessible-resources":
            if not self.live_access(call.headers.get("authorization")):
                return Answer(401, {"code": 401, "message": "Unauthorized"})
            site = {
                "id": self.cloud_id,
                "url": site_url,
                "name": "simulated",
                "scopes": ["read:confluence-content.all"],
            }
            return Answer(200, [site])
        if call.method != "POST":
            return Answer(405, {"error": "method_not_allowed"})
        if self.hold_token is not None:
            await self.hold_token.wait()
        return self._token(_form_or_json(call))

    def _authorize(self, call: Call) -> Answer:
        query = dict(call.query)
        redirect = query.get("redirect_uri", "")
        problems = [
            name
            for name, ok in (
                ("client_id", query.get("client_id") == self.client_id),
                ("response_type", query.get("response_type") == "code"),
                ("redirect_uri", urlsplit(redirect).scheme in ("http", "https")),
                ("code_challenge", bool(query.get("code_challenge"))),
                ("code_challenge_method", query.get("code_challenge_method") == "S256"),
                ("scope", "offline_access" in query.get("scope", "").split()),
            )
            if not ok
        ]
        if problems:
            return Answer(400, {"error": "invalid_request", "error_description": f"bad {', '.join(problems)}"})
        code = secrets.token_urlsafe(16)
        self._codes[code] = _Code(query["code_challenge"], redirect, self.client_id, time.time() + _CODE_SECONDS)
        location = (
            f"{redirect}{'&' if '?' in redirect else '?'}{urlencode({'code': code, 'state': query.get('state', '')})}"
        )
        return Answer(302, None, (("location", location),))

    def _token(self, form: dict[str, str]) -> Answer:
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return _refused("invalid_client", "Unknown client or wrong secret")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = self._codes.pop(form.get("code", ""), None)  # one use, whatever the outcome
            if code is None or code.expires_at <= time.time():
                return _refused("invalid_grant", "Unknown or used authorization code")
            if form.get("redirect_uri") != code.redirect_uri:
                return _refused("invalid_grant", "redirect_uri does not match the authorization request")
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if not hmac.compare_digest(digest, code.challenge):
                return _refused("invalid_grant", "PKCE verification failed")
        elif grant == "refresh_token":
            token = form.get("refresh_token", "")
            if token not in self._refresh:
                return _refused("invalid_grant", "Unknown or expired refresh token")
            self._refresh.discard(token)  # rotation: this one is dead from now on
        else:
            return _refused("unsupported_grant_type", f"grant_type {grant!r}")
        self.grants[grant] = self.grants.get(grant, 0) + 1
        return Answer(200, self._issue())

    def _issue(self) -> dict[str, Any]:
        access, refresh = "sim-at-" + secrets.token_urlsafe(24), "sim-rt-" + secrets.token_urlsafe(24)
        self._access[access] = time.time() + self.access_lifetime
        self._refresh.add(refresh)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": int(self.access_lifetime),
            "token_type": "Bearer",
            "scope": "read:confluence-content.all offline_access",
        }

    def issue_tokens(self) -> dict[str, Any]:
        """Return a fresh access and refresh token pair, as a completed authorization would (tests' shortcut)."""
        return self._issue()


def _form_or_json(call: Call) -> dict[str, str]:
    if isinstance(call.json, dict):
        return {str(k): str(v) for k, v in call.json.items()}
    return dict(parse_qsl(call.body.decode("utf-8", errors="replace")))


def _refused(error: str, description: str) -> Answer:
    return Answer(400 if error != "invalid_client" else 401, {"error": error, "error_description": description})


def encoded(answer: Answer) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """Return an answer as status, body bytes and headers."""
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers]
    if answer.body is None:
        return answer.status, b"", headers
    return answer.status, json.dumps(answer.body).encode(), [(b"content-type", b"application/json"), *headers]
