"""``accounts connect`` (OAuth) and ``accounts add --auth scoped`` as an operator runs them, against the simulator."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import anyio
import httpx
import pytest

from confluence_mcp.atlassian import OAuthTokens
from confluence_mcp.server.app import secret_cipher
from confluence_mcp.settings import load_settings
from confluence_mcp.simulator import create_simulator
from confluence_mcp.store.cipher import generate_key
from confluence_mcp.store.opening import open_store
from tests.support.atlassian import SIM_SCOPED_TOKEN
from tests.support.servers import serve_asgi
from tests.support.stack import SIM_API_TOKEN, SIM_EMAIL

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"


def _config(tmp_path: Path, sim_url: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"data_dir: {tmp_path / 'data'}\nsecrets:\n  key: '{generate_key()}'\nlog_level: warning\n"
        "server:\n  public_url: http://127.0.0.1:9\n"  # a server that is not running: the callback is pasted
        "upstream:\n  allowed_hosts: ['127.0.0.1']\n"
        f"atlassian:\n  auth_url: {sim_url}\n  api_url: {sim_url}\n  oauth_client_id: sim-client\n"
        "  oauth_client_secret: ${SIM_OAUTH_SECRET}\n",
        encoding="utf-8",
    )
    return path


async def _cli(config: Path, *argv: str) -> tuple[int, list[str], str]:
    command = [sys.executable, "-m", "confluence_mcp", *argv, "--config", str(config)]
    env = {**os.environ, "SIM_OAUTH_SECRET": "sim-client-secret"}
    done = await anyio.run_process(command, check=False, env=env)
    return done.returncode, done.stdout.decode().splitlines(), done.stderr.decode()


async def test_connect_prints_the_authorize_url_and_the_pasted_callback_url_finishes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """connect -> the URL; the browser's consent -> a callback URL; connect --callback-url stores the account."""
    monkeypatch.setenv("SIM_OAUTH_SECRET", "sim-client-secret")  # for the in-process look at the store
    sim = create_simulator(email=SIM_EMAIL, api_token=SIM_API_TOKEN)
    async with serve_asgi(sim.app) as sim_url:
        config = _config(tmp_path, sim_url)
        code, out, err = await _cli(config, "accounts", "connect", "--label", "From the CLI")
        assert code == 0, err
        (authorize,) = [line for line in out if line.startswith(f"{sim_url}/authorize?")]
        assert "http://127.0.0.1:9/oauth/callback" in "\n".join(out)
        async with httpx.AsyncClient() as browser:
            consent = await browser.get(authorize)
        assert consent.status_code == 302
        callback = consent.headers["location"]
        assert callback.startswith("http://127.0.0.1:9/oauth/callback?code=")
        code, out, err = await _cli(config, "accounts", "connect", "--callback-url", callback)
        assert code == 0, err
        account_id = out[-1]
        again, _, replay = await _cli(config, "accounts", "connect", "--callback-url", callback)
        listed_code, listed, _ = await _cli(config, "accounts", "list")
        await _mark_for_reconnect(config, account_id)
        _, marked, _ = await _cli(config, "accounts", "list")

    assert account_id.startswith("acc_")
    assert f"Connected {sim_url} as oauth account 'From the CLI'" in out
    assert sim.platform.grants == {"authorization_code": 1}
    assert again != 0
    assert "--callback-url: was already used to connect an account" in replay
    assert listed_code == 0
    assert any(account_id in line and "oauth" in line for line in listed)
    assert any(account_id in line and "oauth (reconnect: accounts connect --account ID)" in line for line in marked)


async def _mark_for_reconnect(config: Path, account_id: str) -> None:
    """Store the account as a refused refresh leaves it, through the configured store."""
    settings = load_settings(config)
    store = open_store(settings.store_url, cipher=secret_cipher(settings))
    await store.open()
    try:
        account = await store.get_account(account_id)
        marked = replace(OAuthTokens.load(account.secret), reconnect="invalid_grant")
        await store.update_account(replace(account, secret=marked.dump()))
    finally:
        await store.close()


async def test_accounts_add_takes_scoped_tokens_and_names_the_missing_email_flag(tmp_path: Path) -> None:
    """--auth scoped finds the cloudId and shows it; without --email the error names the flag."""
    sim = create_simulator(email=SIM_EMAIL, api_token=SIM_API_TOKEN)
    async with serve_asgi(sim.app) as sim_url:
        config = _config(tmp_path, sim_url)
        base = ("accounts", "add", "--label", "Scoped", "--instance-url", sim_url, "--auth", "scoped")
        missing, _, missing_err = await _cli(config, *base, "--api-token", SIM_SCOPED_TOKEN)
        code, out, err = await _cli(config, *base, "--email", SIM_EMAIL, "--api-token", SIM_SCOPED_TOKEN)

    assert missing != 0
    assert "--email: required for a scoped API token: the Atlassian account email" in missing_err
    assert code == 0, err
    assert out[0].startswith("Connection check: signed in")  # checked through the gateway, as its calls go
    assert f"scoped auth as {SIM_EMAIL}, cloudId {sim.platform.cloud_id}" in out[1]
