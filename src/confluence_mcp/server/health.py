"""/healthz (the process answers), /readyz (it can serve: store reachable, tools loaded), /metrics (Prometheus)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from confluence_mcp.admin.auth import require_api_token
from confluence_mcp.admin.http_errors import error_response
from confluence_mcp.errors import ConfluenceMcpError
from confluence_mcp.pipeline.observers.metrics import CallMetrics

log = logging.getLogger("confluence_mcp.server")

_EXPIRY_WARNING = timedelta(days=14)
_PROBE_HASH = "0" * 64  # no token hashes to this: the lookup proves the store answers, and finds nothing


def health_routes() -> list[BaseRoute]:
    """Return the three operational routes."""
    return [
        Route("/healthz", _health, methods=["GET"]),
        Route("/readyz", _ready, methods=["GET"]),
        Route("/metrics", _metrics, methods=["GET"]),
    ]


def _runtime(request: Request) -> Any:
    return request.app.state.runtime


async def _health(request: Request) -> Response:
    runtime = _runtime(request)
    return JSONResponse({"status": "ok", "sdk": "ready" if runtime.extra["sdk"].ready else "starting"})


async def _ready(request: Request) -> Response:
    runtime = _runtime(request)
    checks: dict[str, str] = {"tools": "ok" if runtime.catalog.tools else "no tools loaded"}
    try:
        await runtime.store.find_api_token_by_hash(_PROBE_HASH, datetime.now(UTC))
        checks["store"] = "ok"
    except Exception:  # any failure of the store means not ready; the log says which
        log.exception("readiness: the store did not answer")
        checks["store"] = "unreachable"
    ready = all(v == "ok" for v in checks.values())
    headers = None if ready else {"Retry-After": "1"}
    return JSONResponse({"status": "ready" if ready else "not ready", **checks}, 200 if ready else 503, headers)


async def _metrics(request: Request) -> Response:
    runtime = _runtime(request)
    if runtime.settings.server.metrics_require_token:
        try:
            await require_api_token(request, runtime.resolver.api_token)
        except ConfluenceMcpError as exc:
            return error_response(exc)
    metrics: CallMetrics = runtime.extra["metrics"]
    now = datetime.now(UTC)
    try:
        servers = await runtime.store.list_mcp_servers()
        accounts = await runtime.store.list_accounts()
    except Exception:  # counters are still worth serving while the store is down
        log.exception("metrics: the store did not answer; gauges left as they were")
    else:
        metrics.live_servers.set(sum(1 for s in servers if s.expires_at is None or s.expires_at > now))
        soon = now + _EXPIRY_WARNING
        metrics.expiring_accounts.set(
            sum(1 for a in accounts if a.api_token_expires_at is not None and a.api_token_expires_at <= soon)
        )
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
