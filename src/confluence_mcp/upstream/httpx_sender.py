"""``HttpxSender``: requests through one ``httpx.AsyncClient`` (``upstream.transport: httpx``, or a given transport)."""

from __future__ import annotations

import httpx

from confluence_mcp.settings import UpstreamSettings
from confluence_mcp.upstream.guard import GuardedHttpTransport
from confluence_mcp.upstream.request import UpstreamRequest
from confluence_mcp.upstream.sender import (
    DEFAULT_HEADERS,
    SEND_ERRORS,
    UpstreamResponse,
    request_headers,
    translated_error,
)
from confluence_mcp.upstream.target import Target


def build_http_client(
    settings: UpstreamSettings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """Return the shared client: pooled, keep-alive, no redirects followed, no environment proxies.

    Without an explicit ``transport`` (tests and the benchmark pass one), httpx's own transport carries the
    SSRF guard of ``guard.py``.
    """
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
        limits=httpx.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_keepalive_connections,
            keepalive_expiry=settings.keepalive_expiry,
        ),
        # A redirect could carry our Authorization header to another host: never follow one.
        follow_redirects=False,
        trust_env=False,
        transport=transport if transport is not None else GuardedHttpTransport(settings),
        headers=DEFAULT_HEADERS,
    )


class HttpxSender:
    """Sends each request through an httpx client; its transport (httpcore by default) owns the pool."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def send(self, target: Target, request: UpstreamRequest) -> UpstreamResponse:
        """Send ``request`` once to ``target``."""
        try:
            response = await self.client.request(
                request.method,
                target.base_url + request.path,
                params=request.query or None,  # type: ignore[arg-type]  # list[tuple[str, str]] is accepted
                headers=request_headers(target, request),
                content=request.encoded_body() if request.has_body else None,
            )
            return UpstreamResponse(status=response.status_code, headers=response.headers, content=response.content)
        except SEND_ERRORS as exc:
            raise translated_error(exc, request) from exc

    async def aclose(self) -> None:
        """Close the client and its pool."""
        await self.client.aclose()
