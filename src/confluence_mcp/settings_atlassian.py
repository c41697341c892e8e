"""The ``atlassian`` settings section: Atlassian's platform hosts and the operator's OAuth 2.0 (3LO) app.

Its own module so ``settings`` stays one screenful per section; ``settings`` imports it and uses it as a section.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

__all__ = ["AtlassianSettings"]


class AtlassianSettings(BaseModel):
    """Atlassian's platform hosts and the operator's OAuth 2.0 (3LO) app; tests and staging point them elsewhere."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    auth_url: str = "https://auth.atlassian.com"
    """The OAuth authorization server: ``/authorize`` and ``/oauth/token``."""
    api_url: str = "https://api.atlassian.com"
    """The API gateway: ``/ex/confluence/{cloudId}`` (scoped and OAuth accounts) and accessible-resources."""
    oauth_client_id: str | None = None
    """The OAuth app's client id (developer.atlassian.com console); unset, OAuth accounts cannot connect."""
    oauth_client_secret: SecretStr | None = None
    """The OAuth app's secret: give it as ``${ENV}`` or CONFLUENCE_MCP_ATLASSIAN__OAUTH_CLIENT_SECRET."""

    @field_validator("auth_url", "api_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"{value!r} is not an absolute http(s) URL without query")
        return value.strip().rstrip("/")

    @property
    def api_host(self) -> str:
        """Return the API gateway's host name, which the upstream host policy always allows."""
        return (urlsplit(self.api_url).hostname or "").lower()
