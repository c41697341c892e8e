"""The app factory: builds the store, catalog, upstream client and MCP transport; the lifespan runs them."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from confluence_mcp.admin.http_errors import unknown_method_response, unknown_route_response
from confluence_mcp.admin.static import load_static_config
from confluence_mcp.atlassian import OAuthRefresher
from confluence_mcp.errors import ConfigError
from confluence_mcp.openapi import default_documents, generate_tools
from confluence_mcp.pipeline import build_pipeline
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.extras import SERVER_TOOLS
from confluence_mcp.pipeline.observers.metrics import CallMetrics
from confluence_mcp.pipeline.resolver import TokenResolver
from confluence_mcp.rpc import Answers
from confluence_mcp.server.endpoint import FrontDoor, McpEndpoint
from confluence_mcp.server.health import health_routes
from confluence_mcp.server.lean import LeanPath
from confluence_mcp.server.sdk import SdkBridge
from confluence_mcp.settings import SECRET_KEY_ENV, AuditSettings, Settings
from confluence_mcp.store.audit_queue import AuditQueue
from confluence_mcp.store.base import Store
from confluence_mcp.store.cipher import (
    KEY_FILE,
    PREVIOUS_KEYS_FILE,
    Cipher,
    load_or_create_key_file,
    read_previous_keys,
)
from confluence_mcp.store.opening import open_store
from confluence_mcp.store.rekeying import rekey_unkeyed
from confluence_mcp.upstream.client import UpstreamClient, open_sender

log = logging.getLogger("confluence_mcp.server")


@dataclass
class Runtime:
    """What the running app owns; routes reach it through ``app.state.runtime``."""

    settings: Settings
    store: Store
    catalog: Catalog
    resolver: TokenResolver
    cipher: Cipher
    audit: AuditQueue | None = None
    """Where tool calls and admin API changes queue their audit records; None when the audit log is off."""
    upstream: UpstreamClient | None = None
    """The one client every upstream request goes through: tool calls and the admin connection check."""
    extra: dict[str, Any] = field(default_factory=dict)


def secret_cipher(settings: Settings) -> Cipher:
    """Return the cipher for account secrets; refuse to start without a key unless on embedded defaults."""
    previous = [key.get_secret_value() for key in settings.secrets.previous_keys]
    if settings.secrets.key is not None:
        return Cipher.from_keys(settings.secrets.key.get_secret_value(), previous, source="secrets.key")
    env_key = os.environ.get(SECRET_KEY_ENV)
    if env_key:
        return Cipher.from_keys(env_key, previous, source=SECRET_KEY_ENV)
    if settings.embedded_defaults:
        key = load_or_create_key_file(settings.data_dir / KEY_FILE)
        previous.extend(read_previous_keys(settings.data_dir / PREVIOUS_KEYS_FILE))
        return Cipher.from_keys(key, previous, source=f"data/{KEY_FILE}")
    raise ConfigError(
        f"secrets.key: no secret key for encrypting account secrets; set secrets.key or {SECRET_KEY_ENV} "
        "(generate one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
    )


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """Build the whole app; ``store`` and ``transport`` replace the configured ones (tests, bench)."""
    cipher = secret_cipher(settings)
    owns_store = store is None
    the_store = store if store is not None else open_store(settings.store_url, cipher=cipher)
    documents = list(settings.documents) or default_documents()
    catalog = Catalog(generate_tools(documents), page_size=settings.server.tools_page_size, extras=SERVER_TOOLS)
    refresher = OAuthRefresher(the_store, settings.atlassian)
    resolver = TokenResolver(
        the_store,
        catalog,
        ttl=settings.server.token_cache_seconds,
        atlassian=settings.atlassian,
        refresher=refresher,
        hasher=cipher.hasher,
    )
    upstream = UpstreamClient(open_sender(settings.upstream, transport), settings.upstream.retry)
    metrics = CallMetrics(t.name for t in catalog.tools)
    audit = audit_queue(settings.audit)
    pipeline = build_pipeline(
        catalog,
        resolver,
        upstream,
        settings.limits,
        metrics,
        access_log=settings.logging.format == "json",
        audit=audit,
        results=settings.results,
        upstream_settings=settings.upstream,
    )
    answers = Answers(pipeline, resolver)
    sdk = SdkBridge(catalog, answers, max_body_bytes=settings.server.max_body_bytes)
    runtime = Runtime(
        settings=settings,
        store=the_store,
        catalog=catalog,
        resolver=resolver,
        cipher=cipher,
        audit=audit,
        upstream=upstream,
    )
    runtime.extra["sdk"] = sdk
    runtime.extra["pipeline"] = pipeline
    runtime.extra["metrics"] = metrics
    runtime.extra["oauth_refresher"] = refresher
    runtime.extra["answers"] = answers

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if owns_store:
            await the_store.open()
        try:
            await load_static_config(settings, the_store, catalog.tools, cipher.hasher)
            moved, _ = await rekey_unkeyed(the_store, cipher.hasher)  # a store dump then holds no unkeyed hash
            if moved:
                log.info("re-keyed %d token hashes stored unkeyed by an earlier version", moved)
            try:
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(sdk.run)
                    tasks.start_soon(_sweep_forever, the_store, settings.server.sweep_interval_seconds, settings.audit)
                    if audit is not None:
                        tasks.start_soon(audit.run, the_store)
                    yield
                    answers.close_streams()
                    tasks.cancel_scope.cancel()
            finally:
                if audit is not None:  # the writer has stopped; what it had not written yet goes now
                    await audit.aclose(the_store)
                await upstream.aclose()
        finally:
            if owns_store:
                await the_store.close()

    lean = LeanPath(answers) if settings.server.fast_path else None
    access_log = settings.logging.format == "json"
    endpoint = McpEndpoint(sdk, resolver, settings.server, lean, metrics=metrics, access_log=access_log)
    # ``/mcp/<token>/`` is answered in place: a redirect would echo the token in a Location header.
    mcp_routes = [Route(path, endpoint, methods=["POST"]) for path in ("/mcp/{token}", "/mcp/{token}/")]
    routes: list[BaseRoute] = [*mcp_routes, *health_routes()]
    from confluence_mcp.admin.routes import admin_routes  # the admin API lives in its own package

    routes.extend(admin_routes())
    if settings.ui.enabled:
        from confluence_mcp.ui import UI_PREFIX, ui_app  # the web pages, over the same AdminService

        routes.append(Mount(UI_PREFIX, app=ui_app()))
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=_STARLETTE_ERRORS)
    app.router.redirect_slashes = False  # no path (an MCP URL with its token) is ever sent back in a Location
    app.state.runtime = runtime
    app.state.mcp_endpoint = endpoint
    return app


_STARLETTE_ERRORS: Any = {404: unknown_route_response, 405: unknown_method_response}
"""Starlette's own refusals (no route, a method a route does not take) in the admin error shape, not as text."""


def wrap(app: Starlette) -> Any:
    """Return the ASGI callable to serve: the app behind a front door that sends MCP POSTs straight in."""
    return FrontDoor(app, app.state.mcp_endpoint)


def audit_queue(settings: AuditSettings) -> AuditQueue | None:
    """Return the audit queue the settings ask for, or None when the audit log is off (retention 0)."""
    if settings.retention_days == 0:
        return None
    return AuditQueue(
        capacity=settings.queue_size, batch_size=settings.batch_size, interval=settings.flush_interval_seconds
    )


async def _sweep_forever(store: Store, interval: float, audit: AuditSettings) -> None:
    """Every ``interval`` seconds, delete expired MCP servers and API tokens, and audit records past retention."""
    retention = timedelta(days=audit.retention_days)  # 0: the audit log is off, and nothing of it is kept
    while True:
        await anyio.sleep(interval)
        await sweep_once(store, retention)


async def sweep_once(store: Store, audit_retention: timedelta) -> None:
    """Delete what has expired and the audit records older than ``audit_retention``; log failures, never raise."""
    now = datetime.now(UTC)
    try:
        removed = await store.delete_expired(now)
    except Exception:  # a sweep failure must not stop the server; the next sweep retries
        log.exception("sweeping expired records failed")
    else:
        if removed:
            log.info("swept %d expired records", removed)
    try:
        old = await store.delete_audit_before(now - audit_retention)
    except Exception:
        log.exception("deleting old audit records failed")
    else:
        if old:
            log.info("deleted %d audit records older than %d days", old, audit_retention.days)
