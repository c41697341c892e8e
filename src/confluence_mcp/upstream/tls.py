"""The TLS context both senders verify Confluence with: certifi's CAs plus an operator's ``upstream.ca_bundle``."""

from __future__ import annotations

import ssl

import certifi

from confluence_mcp.errors import ConfigError
from confluence_mcp.settings import UpstreamSettings

__all__ = ["upstream_ssl_context"]


def upstream_ssl_context(settings: UpstreamSettings) -> ssl.SSLContext:
    """Return a verifying client context trusting certifi's CAs and, when set, those in ``upstream.ca_bundle``."""
    context = ssl.create_default_context(cafile=certifi.where())
    if settings.ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=settings.ca_bundle)
        except FileNotFoundError as exc:
            # The file is named by its setting, not by its path: messages may reach an admin client.
            raise ConfigError("upstream.ca_bundle: the file does not exist") from exc
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise ConfigError("upstream.ca_bundle: not a readable PEM file of CA certificates") from exc
    return context
