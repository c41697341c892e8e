"""Calls to Atlassian's platform: a site's cloudId, the OAuth token endpoint, and the sites a token may open.

Every failure is an ``AtlassianRefused`` naming the step and what Atlassian said (never a token). The site's
``/_edge/tenant_info`` goes through the SSRF guard like any call to an account's site; the token endpoint and
accessible-resources go to the hosts the operator configured (``atlassian.auth_url``, ``atlassian.api_url``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from confluence_mcp.atlassian.tokens import OAuthTokens
from confluence_mcp.errors import AtlassianRefused, OAuthGrantRefused, UpstreamRefused
from confluence_mcp.settings import AtlassianSettings, UpstreamSettings
from confluence_mcp.upstream.guard import GuardedHttpTransport

__all__ = ["TIMEOUT_SECONDS", "Site", "accessible_sites", "discover_cloud_id", "token_grant"]

TIMEOUT_SECONDS = 10.0
"""The longest one platform call may take: a refresh holds its lease at most about this long."""


@dataclass(frozen=True, slots=True)
class Site:
    """One site an OAuth token may open (accessible-resources): its cloudId, URL and name."""

    cloud_id: str
    url: str
    name: str


async def discover_cloud_id(instance_url: str, upstream: UpstreamSettings) -> str:
    """Return the cloudId the site's ``/_edge/tenant_info`` names; AtlassianRefused naming instance_url if not."""
    where = f"{instance_url}/_edge/tenant_info"
    transport = GuardedHttpTransport(upstream)
    async with httpx.AsyncClient(transport=transport, timeout=TIMEOUT_SECONDS, trust_env=False) as client:
        try:
            response = await client.get(where)
        except UpstreamRefused as exc:
            raise _refused("instance_url", f"cannot look up the site's cloudId: {exc}") from exc
        except httpx.HTTPError as exc:
            raise _refused(
                "instance_url", f"cannot reach {where} for the site's cloudId ({type(exc).__name__})"
            ) from exc
    cloud_id = _json(response).get("cloudId") if response.status_code == 200 else None
    if not isinstance(cloud_id, str) or not cloud_id.strip() or "/" in cloud_id:
        problem = f"{where} answered {response.status_code} without a cloudId: is this a Confluence Cloud site?"
        raise _refused("instance_url", problem)
    return cloud_id.strip()


async def token_grant(client: httpx.AsyncClient, atlassian: AtlassianSettings, grant: Mapping[str, str]) -> OAuthTokens:
    """POST a grant (authorization_code or refresh_token) to the token endpoint; return the tokens it gives."""
    secret = atlassian.oauth_client_secret
    if not atlassian.oauth_client_id or secret is None:
        raise _refused(
            "atlassian.oauth_client_id", "OAuth needs atlassian.oauth_client_id and atlassian.oauth_client_secret"
        )
    body = {**grant, "client_id": atlassian.oauth_client_id, "client_secret": secret.get_secret_value()}
    url = f"{atlassian.auth_url}/oauth/token"
    try:
        response = await client.post(url, json=body, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise _refused("atlassian.auth_url", f"cannot reach {url} ({type(exc).__name__})") from exc
    data = _json(response)
    if 400 <= response.status_code < 500:
        said = data.get("error_description") or data.get("error") or f"HTTP {response.status_code}"
        raise OAuthGrantRefused(f"grant: Atlassian refused the {grant.get('grant_type')} grant: {said}", field="grant")
    access, refresh, lifetime = data.get("access_token"), data.get("refresh_token"), data.get("expires_in")
    if response.status_code != 200 or not isinstance(access, str) or not isinstance(refresh, str):
        raise _refused(
            "atlassian.auth_url", f"{url} answered {response.status_code} without an access and refresh token"
        )
    seconds = float(lifetime) if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) else 3600.0
    return OAuthTokens(access_token=access, refresh_token=refresh, expires_at=time.time() + seconds)


async def accessible_sites(client: httpx.AsyncClient, atlassian: AtlassianSettings, access_token: str) -> list[Site]:
    """Return the sites ``access_token`` opens (``/oauth/token/accessible-resources``), in Atlassian's order."""
    url = f"{atlassian.api_url}/oauth/token/accessible-resources"
    try:
        response = await client.get(url, headers={"Authorization": f"Bearer {access_token}"}, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise _refused("atlassian.api_url", f"cannot reach {url} ({type(exc).__name__})") from exc
    try:
        listed: Any = response.json()
    except ValueError:
        listed = None
    if response.status_code != 200 or not isinstance(listed, list):
        raise _refused("atlassian.api_url", f"{url} answered {response.status_code} without a list of sites")
    sites = []
    for entry in listed:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str) and isinstance(entry.get("url"), str):
            sites.append(Site(cloud_id=entry["id"], url=entry["url"].rstrip("/"), name=str(entry.get("name", ""))))
    return sites


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _refused(field: str, problem: str) -> AtlassianRefused:
    return AtlassianRefused(f"{field}: {problem}", field=field, details=[{"field": field, "message": problem}])
