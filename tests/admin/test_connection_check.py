"""Adding or changing an account tests its credentials against the simulator's current-user endpoint."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from confluence_mcp.admin.connection_check import ConnectionChecker
from confluence_mcp.cli import main
from confluence_mcp.settings import UpstreamSettings
from confluence_mcp.simulator import Simulator, create_simulator
from confluence_mcp.simulator.faults import Fault
from confluence_mcp.simulator.seed import SEED
from confluence_mcp.store.base import Account
from confluence_mcp.upstream.client import UpstreamClient, open_sender
from confluence_mcp.upstream.guard import GuardedHttpTransport, host_policy
from confluence_mcp.upstream.httpx_sender import HttpxSender, build_http_client
from confluence_mcp.upstream.pooled import PooledSender
from confluence_mcp.upstream.sender import Sender
from confluence_mcp.upstream.transport import LeanTransport
from tests.support.admin import AdminApp, admin_settings, error_body, running_admin_app
from tests.support.dns import FakeDns
from tests.support.servers import free_port, serve_asgi

pytestmark = pytest.mark.anyio

EMAIL = "agent@example.com"
TOKEN = "sim-check-token"  # the simulated site's credential


@dataclass
class Site:
    """The simulator on loopback and our app allowed to reach it."""

    sim: Simulator
    url: str
    admin: AdminApp


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    """A running simulator and a running app whose upstream allow-list names 127.0.0.1."""
    sim = create_simulator(email=EMAIL, api_token=TOKEN)
    async with (
        serve_asgi(sim.app) as url,
        running_admin_app(admin_settings(upstream={"allowed_hosts": ["127.0.0.1"]})) as admin,
    ):
        yield Site(sim, url, admin)


def _body(url: str, password: str = TOKEN, **extra: Any) -> dict[str, Any]:
    return {"label": "Sim", "instance_url": url, "auth": {"username": EMAIL, "password": password}, **extra}


async def test_good_credentials_are_checked_and_the_atlassian_user_is_reported(site: Site) -> None:
    """201 with check ok, the display name and accountId; the check went to /wiki/rest/api/user/current."""
    site.sim.requests.clear()
    response = await site.admin.client.post("/integrated-account", json=_body(site.url))
    assert response.status_code == 201, response.text
    check = response.json()["check"]
    assert check["ok"] is True
    assert (check["outcome"], check["status"]) == ("ok", 200)
    assert (check["display_name"], check["account_id"]) == (SEED.agent_display_name, SEED.agent_account_id)
    assert SEED.agent_display_name in check["message"]
    assert [(r.method, r.path) for r in site.sim.requests] == [("GET", "/wiki/rest/api/user/current")]


async def test_a_wrong_api_token_is_refused_422_naming_auth_and_nothing_is_stored(site: Site) -> None:
    """Confluence's 401 becomes 422 connection_check_failed on auth, with the outcome; no account is created."""
    response = await site.admin.client.post("/integrated-account", json=_body(site.url, password="wrong"))
    body = error_body(response, 422, "connection_check_failed")
    assert body["details"][0]["field"] == "auth"
    assert (body["details"][0]["outcome"], body["details"][0]["status"]) == ("bad_credentials", 401)
    assert "401" in body["message"]
    assert "wrong" not in response.text
    assert await site.admin.store.list_accounts() == []


async def test_check_false_saves_without_asking_confluence(site: Site) -> None:
    """?check=false stores even refused credentials, sends nothing upstream and answers check: null."""
    site.sim.requests.clear()
    response = await site.admin.client.post("/integrated-account?check=false", json=_body(site.url, password="wrong"))
    assert response.status_code == 201, response.text
    assert response.json()["check"] is None
    assert list(site.sim.requests) == []


async def test_a_403_is_reported_as_forbidden(site: Site) -> None:
    """Valid credentials without Confluence access (403) are refused as forbidden, naming auth."""
    site.sim.faults.add(Fault(method="GET", path="/user/current$", status=403))
    body = error_body(
        await site.admin.client.post("/integrated-account", json=_body(site.url)), 422, "connection_check_failed"
    )
    assert (body["details"][0]["field"], body["details"][0]["outcome"]) == ("auth", "forbidden")
    assert "403" in body["message"]


async def test_an_unreachable_site_or_a_failed_tls_handshake_names_the_instance_url(site: Site) -> None:
    """A closed port is unreachable; https to a plain-http server is a TLS failure; both name instance_url."""
    closed = await site.admin.client.post("/integrated-account", json=_body(f"http://127.0.0.1:{free_port()}"))
    detail = error_body(closed, 422, "connection_check_failed")["details"][0]
    assert (detail["field"], detail["outcome"]) == ("instance_url", "unreachable")
    tls = await site.admin.client.post("/integrated-account", json=_body(site.url.replace("http://", "https://")))
    detail = error_body(tls, 422, "connection_check_failed")["details"][0]
    assert (detail["field"], detail["outcome"]) == ("instance_url", "tls")
    assert "TLS" in detail["message"]


async def test_patching_new_credentials_checks_them_and_a_label_alone_does_not(site: Site) -> None:
    """PATCH with a wrong token is refused and the record stays; a label change asks Confluence nothing."""
    created = (await site.admin.client.post("/integrated-account", json=_body(site.url))).json()
    path = f"/integrated-account/{created['id']}"
    refused = await site.admin.client.patch(path, json={"auth": {"username": EMAIL, "password": "wrong"}})
    assert error_body(refused, 422, "connection_check_failed")["details"][0]["outcome"] == "bad_credentials"
    assert (await site.admin.store.get_account(created["id"])).secret == TOKEN
    site.sim.requests.clear()
    renamed = await site.admin.client.patch(path, json={"label": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["check"] is None
    assert list(site.sim.requests) == []
    fixed = await site.admin.client.patch(path, json={"auth": {"username": EMAIL, "password": TOKEN}})
    assert fixed.json()["check"]["outcome"] == "ok"


async def test_the_admin_openapi_document_describes_the_check_parameter(site: Site) -> None:
    """POST and PATCH on accounts list the check query parameter, and 201 shows the check object."""
    document = (await site.admin.client.get("/admin/openapi.json")).json()
    for method, path in (("post", "/integrated-account"), ("patch", "/integrated-account/{account_id}")):
        names = [p["name"] for p in document["paths"][path][method]["parameters"] if p["in"] == "query"]
        assert names == ["check"]
    assert "check" in document["components"]["schemas"]["AccountSavedView"]["properties"]


async def test_cli_accounts_add_and_update_check_the_credentials(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`accounts add` prints who it signed in as; `accounts update` with a wrong token exits 2 and keeps the old."""
    sim = create_simulator(email=EMAIL, api_token=TOKEN)
    monkeypatch.setenv("CONFLUENCE_MCP_UPSTREAM__ALLOWED_HOSTS", json.dumps(["127.0.0.1"]))
    async with serve_asgi(sim.app) as url:
        data = ["--data-dir", str(tmp_path)]
        added = ["accounts", "add", *data, "--label", "Sim", "--instance-url", url, "--email", EMAIL]
        assert await _cli(*added, "--api-token", TOKEN) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0] == f"Connection check: signed in to {url} as {SEED.agent_display_name} ({SEED.agent_account_id})"
        account_id = out[-1]
        wrong = ["accounts", "update", account_id, *data, "--email", EMAIL, "--api-token", "wrong"]
        assert await _cli(*wrong) == 2
        err = capsys.readouterr().err
        assert "401" in err
        assert err.startswith("confluence-mcp: error: --email/--api-token: the connection check failed")
        assert await _cli(*wrong, "--no-check", "--label", "Moved", "--token-expires", "never") == 0
        text = capsys.readouterr().out
        assert "Connection check" not in text
        assert "Updated account 'Moved'" in text
        assert await _cli(*["accounts", "update", account_id, *data]) == 2
        assert "nothing to change" in capsys.readouterr().err


async def _cli(*argv: str) -> int:
    """Run the CLI in a worker thread: it runs its own event loop, and the simulator serves on this one."""
    import anyio.to_thread

    return await anyio.to_thread.run_sync(main, list(argv))


def _upstream(kind: str, settings: UpstreamSettings, dns: FakeDns) -> UpstreamClient:
    """An upstream client whose sender resolves names through ``dns`` (the SSRF guard still decides on them)."""
    sender: Sender
    if kind == "lean":
        transport = LeanTransport(connect_timeout=2, read_timeout=5, hosts=host_policy(settings), resolver=dns)
        sender = PooledSender(transport, settings)
    else:
        sender = HttpxSender(build_http_client(settings, GuardedHttpTransport(settings, resolver=dns)), settings)
    return UpstreamClient(sender, settings.retry)


def _account(url: str) -> Account:
    moment = datetime.now(UTC)
    return Account("acc_x", "X", url, "basic", EMAIL, TOKEN, None, moment, moment)


@pytest.mark.parametrize("kind", ["lean", "httpx"])
async def test_a_name_that_does_not_resolve_or_resolves_inward_is_reported_without_connecting(kind: str) -> None:
    """NXDOMAIN is dns; a public name answering a private address is refused by the SSRF guard, as tool calls are."""
    dns = FakeDns({"rebind.atlassian.net": ["10.0.0.5"]})
    upstream = _upstream(kind, UpstreamSettings(), dns)
    try:
        gone = await ConnectionChecker(upstream).check(_account("https://gone.atlassian.net"))
        rebind = await ConnectionChecker(upstream).check(_account("https://rebind.atlassian.net"))
    finally:
        await upstream.aclose()
    assert (gone.outcome, gone.ok) == ("dns", False)
    assert "does not resolve" in gone.message
    assert rebind.outcome == "refused"
    assert "10.0.0.5" not in rebind.message
    assert dns.lookups == ["gone.atlassian.net", "rebind.atlassian.net"]


async def test_a_site_slower_than_the_read_timeout_is_reported_as_a_timeout() -> None:
    """The check keeps the upstream timeouts: a site that answers late is a timeout naming the setting."""
    sim = create_simulator(email=EMAIL, api_token=TOKEN)
    sim.faults.add(Fault(path="/user/current$", latency_ms=2000))
    settings = UpstreamSettings(allowed_hosts=("127.0.0.1",), read_timeout=0.2, total_timeout=0.3)
    upstream = UpstreamClient(open_sender(settings), settings.retry)
    try:
        async with serve_asgi(sim.app) as url:
            report = await ConnectionChecker(upstream).check(_account(url))
    finally:
        await upstream.aclose()
    assert report.outcome == "timeout"
    assert "timeout" in report.message
