"""Where and as whom a request goes: a Confluence site root and a ready Authorization header."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Target:
    """A site root, its parsed parts and a ready Authorization header."""

    base_url: str
    authorization: str
    origin: tuple[bytes, str, int] = (b"https", "", 443)
    """(scheme, host, port) of the site, as the pool keys connections."""
    netloc: bytes = b""
    """The Host header value."""
    base_path: str = ""
    """A path prefix of the site root (api.atlassian.com/ex/confluence/{cloudId}), else empty."""

    @classmethod
    def for_site(cls, base_url: str, authorization: str) -> Target:
        """Build the target for a site root URL and an Authorization header value."""
        base_url = base_url.rstrip("/")
        parts = urlsplit(base_url)
        scheme = parts.scheme.encode("ascii")
        host = (parts.hostname or "").encode("idna").decode("ascii")
        port = parts.port or (443 if scheme == b"https" else 80)
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc = f"{netloc}:{parts.port}"
        return cls(
            base_url=base_url,
            authorization=authorization,
            origin=(scheme, host, port),
            netloc=netloc.encode("ascii"),
            base_path=parts.path,
        )

    @classmethod
    def basic(cls, base_url: str, username: str, password: str) -> Target:
        """Build a target that sends ``email:API token`` as HTTP basic auth."""
        raw = f"{username}:{password}".encode()
        return cls.for_site(base_url, "Basic " + base64.b64encode(raw).decode("ascii"))

    @classmethod
    def bearer(cls, base_url: str, token: str) -> Target:
        """Build a target that sends ``token`` as a bearer token."""
        return cls.for_site(base_url, f"Bearer {token}")

    def __repr__(self) -> str:
        return f"Target(base_url={self.base_url!r})"  # never the Authorization header
