"""``HttpxSender``: requests through one ``httpx.AsyncClient`` (``upstream.transport: httpx``, or a given transport).

The response is streamed so that its body is counted as it arrives and dropped, with its connection, once it
passes ``upstream.max_response_bytes``; the raw bytes are decoded by ``decoding.py`` as the pool's are, rather
than by httpx, whose decoders inflate each received piece whole (64 KB of deflate can hold 64 MB).
"""

from __future__ import annotations

import asyncio

import httpx

from confluence_mcp.errors import UpstreamResponseTooLarge
from confluence_mcp.settings import UpstreamSettings
from confluence_mcp.upstream.decoding import decoded_body
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
        # The wait for a pooled connection is bounded by connect_timeout, as in our pool.
        timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout, pool=settings.connect_timeout),
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

    def __init__(self, client: httpx.AsyncClient, settings: UpstreamSettings) -> None:
        self.client = client
        self.settings = settings
        """The limits this sender enforces, named in its errors (the client's timeouts come from the same)."""

    async def send(self, target: Target, request: UpstreamRequest) -> UpstreamResponse:
        """Send ``request`` once to ``target``, within ``upstream.total_timeout``."""
        try:
            # httpx's read timeout bounds each read only: a server trickling bytes would hold the call forever.
            # asyncio.timeout, not anyio.fail_after: on uvloop, with a byte arriving every loop turn, anyio kept
            # finding the task's waiter already done and put off delivering the cancellation, call after call.
            async with asyncio.timeout(self.settings.total_timeout):
                async with self.client.stream(
                    request.method,
                    target.base_url + request.path,
                    params=request.query or None,  # type: ignore[arg-type]  # list[tuple[str, str]] is accepted
                    headers=request_headers(target, request),
                    content=request.encoded_body() if request.has_body else None,
                ) as response:
                    content = await _bounded_body(response, request.method, self.settings.max_response_bytes)
            return UpstreamResponse(status=response.status_code, headers=response.headers, content=content)
        except SEND_ERRORS as exc:
            raise translated_error(exc, request, self.settings, target=target) from exc

    async def aclose(self) -> None:
        """Close the client and its pool."""
        await self.client.aclose()


async def _bounded_body(response: httpx.Response, method: str, limit: int) -> bytes:
    """Read and decode the body, refusing it once its declared, received or decoded size passes ``limit``."""
    declared = response.headers.get("content-length", "")
    # A HEAD, 204 or 304 answer has no body, whatever length it declares.
    if declared.isdigit() and int(declared) > limit and method != "HEAD" and response.status_code not in (204, 304):
        raise UpstreamResponseTooLarge(limit)
    parts: list[bytes] = []
    received = 0
    async for part in response.aiter_raw():
        received += len(part)
        if received > limit:
            raise UpstreamResponseTooLarge(limit)
        parts.append(part)
    return decoded_body(b"".join(parts), response.headers.get("content-encoding", ""), limit)
