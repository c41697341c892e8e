"""Fixtures of the web page tests: the simulator and our app on loopback, an admin token, and headless Chromium."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from confluence_mcp.server.app import create_app, wrap
from confluence_mcp.settings import Settings
from confluence_mcp.simulator import Simulator, create_simulator
from confluence_mcp.store.base import ApiToken
from confluence_mcp.store.cipher import generate_key
from confluence_mcp.store.tokens import hash_token, mint_api_token, new_id
from tests.support.servers import serve_asgi

SIM_EMAIL = "agent@example.com"
SIM_TOKEN = "sim-ui-token"  # the simulated site's credential
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",  # without these, Chromium's own connections are refused by a closed network
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE = Path(__file__).resolve().parents[1] / "clients" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio, the loop uvicorn and Playwright run on."""
    return "asyncio"


@dataclass
class Site:
    """Our app (with the pages) and the simulator, both served on loopback, and a live admin token."""

    base_url: str
    sim: Simulator
    sim_url: str
    app: Any
    admin_token: str

    @property
    def runtime(self) -> Any:
        """The app's runtime: its store, catalog and settings."""
        return self.app.state.runtime


def ui_settings(**sections: Any) -> Settings:
    """Return settings for the pages' tests: a memory store, the simulator allowed, audit records written fast."""
    raw: dict[str, Any] = {
        "secrets": {"key": generate_key()},
        "store": {"url": "memory://"},
        "upstream": {"allowed_hosts": ["127.0.0.1"]},  # the simulator, named exactly
        "audit": {"flush_interval_seconds": 0.05},
        **sections,
    }
    return Settings.model_validate(raw)


async def add_admin_token(app: Any) -> tuple[str, ApiToken]:
    """Store a new admin token in ``app``'s store and return its secret and record."""
    token = mint_api_token()
    record = ApiToken(new_id("tok"), "ui-tests", hash_token(token), _now(), None, "admin")
    await app.state.runtime.store.create_api_token(record)
    return token, record


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


@contextlib.asynccontextmanager
async def running_site(settings: Settings | None = None) -> AsyncIterator[Site]:
    """Start the simulator and our app on loopback; yield them with an admin token."""
    sim = create_simulator(email=SIM_EMAIL, api_token=SIM_TOKEN)
    settings = settings or ui_settings()
    async with serve_asgi(sim.app) as sim_url:
        app = create_app(settings)
        async with serve_asgi(wrap(app), server=settings.server) as base_url:
            token, _ = await add_admin_token(app)
            yield Site(base_url, sim, sim_url, app, token)


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    """A running simulator and app with the pages."""
    async with running_site() as running:
        yield running


@pytest.fixture
async def client(site: Site) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the site that does not follow redirects (so each answer can be checked)."""
    async with httpx.AsyncClient(base_url=site.base_url, timeout=30) as http:
        yield http


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """Return the CSRF token a page's forms carry."""
    match = CSRF.search(html)
    assert match is not None, html[:500]
    return match.group(1)


async def signed_in(client: httpx.AsyncClient, token: str) -> str:
    """Sign ``client`` in with ``token`` (its cookie jar keeps the session); return the pages' CSRF token."""
    form = await client.get("/ui/sign-in")
    answer = await client.post("/ui/sign-in", data={"csrf": csrf_of(form.text), "token": token})
    assert answer.status_code == 303, answer.text
    page = await client.get("/ui/accounts")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


@contextlib.asynccontextmanager
async def browser() -> AsyncIterator[Browser]:
    """Launch Debian's headless Chromium through Playwright (``./scripts/test`` installs it when absent)."""
    assert await anyio.Path(CHROMIUM).exists(), (
        "Debian's chromium is missing: run ./scripts/test (as root it installs it)"
    )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def new_context(launched: Browser, base_url: str) -> BrowserContext:
    """Return a browser context on ``base_url`` with clipboard access and axe-core loaded into every page."""
    context = await launched.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    # An init script runs before the page's own, through the DevTools protocol, so the CSP does not block it.
    await context.add_init_script(path=str(AXE))
    return context


async def check_page(page: Page, name: str) -> None:
    """Save a screenshot of ``page`` as ``name`` and fail on any serious or critical axe-core violation."""
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    violations = await page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" ")),
            }));
        }"""
    )
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], f"{name}: {json.dumps(serious, indent=1)}"


async def fits_phone_width(page: Page, name: str) -> None:
    """At 390 px wide the page needs no sideways scrolling (tables scroll in their own box); save a screenshot."""
    await page.set_viewport_size({"width": 390, "height": 844})
    try:
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        await page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
        assert overflow <= 0, f"{name} is {overflow} px wider than a phone"
    finally:
        await page.set_viewport_size({"width": 1280, "height": 900})


async def eventually(check: Any, *, seconds: float = 10) -> None:
    """Await ``check()`` until it returns true, within ``seconds``."""
    with anyio.fail_after(seconds):
        while not await check():  # noqa: ASYNC110 - a page or store answer, not an event we could await
            await anyio.sleep(0.05)
