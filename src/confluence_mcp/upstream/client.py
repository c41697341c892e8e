"""The upstream client: one Sender (one pool) for every account, and the operator's opt-in retry policy."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime

import anyio
import httpx

from confluence_mcp.policy.ratelimit import parse_rate_limit
from confluence_mcp.settings import RetrySettings, UpstreamSettings
from confluence_mcp.upstream.httpx_sender import HttpxSender, build_http_client
from confluence_mcp.upstream.pooled import PooledSender, lean_transport
from confluence_mcp.upstream.request import UpstreamRequest
from confluence_mcp.upstream.sender import Sender, UpstreamResponse
from confluence_mcp.upstream.target import Target

log = logging.getLogger("confluence_mcp.upstream")

_RETRY_STATUSES = frozenset({429, 503})


def open_sender(settings: UpstreamSettings, transport: httpx.AsyncBaseTransport | None = None) -> Sender:
    """Return the configured sender; an explicit httpx ``transport`` (tests, bench) always goes through httpx."""
    if transport is None and settings.transport == "lean":
        return PooledSender(lean_transport(settings), settings)
    return HttpxSender(build_http_client(settings, transport), settings)


class UpstreamClient:
    """Sends UpstreamRequests for any account through one shared sender."""

    def __init__(self, sender: Sender, retry: RetrySettings) -> None:
        self.sender = sender
        self._retry = retry

    async def send(self, target: Target, request: UpstreamRequest) -> UpstreamResponse:
        """Send once (or, when the operator opted in, retry 429/503 within the budget)."""
        retry = self._retry
        if not retry.enabled or request.method not in retry.methods:
            return await self.sender.send(target, request)
        deadline = time.monotonic() + retry.budget_seconds
        attempt = 1
        while True:
            response = await self.sender.send(target, request)
            if response.status not in _RETRY_STATUSES or attempt >= retry.max_attempts:
                return _with_attempts(response, attempt)
            limits = parse_rate_limit(response.headers, now=datetime.now(UTC))
            wait = (
                float(limits.retry_after)
                if limits and limits.retry_after is not None
                else min(2.0 ** (attempt - 1), 8.0)
            )
            if time.monotonic() + wait > deadline:
                return _with_attempts(response, attempt)
            log.info("upstream %s answered %s; retry %d in %.1fs", request.method, response.status, attempt, wait)
            await anyio.sleep(wait)
            attempt += 1

    async def aclose(self) -> None:
        """Close the sender's pool."""
        await self.sender.aclose()


def _with_attempts(response: UpstreamResponse, attempts: int) -> UpstreamResponse:
    return response if attempts == 1 else replace(response, attempts=attempts)
