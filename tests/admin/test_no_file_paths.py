"""No absolute file path reaches an admin API response or a CLI error: store failures, settings and key files."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from confluence_mcp.cli import main
from confluence_mcp.logs import StartupErrorFilter, without_file_paths
from confluence_mcp.server.app import create_app, wrap
from confluence_mcp.settings import Settings
from confluence_mcp.store.base import ApiToken
from confluence_mcp.store.cipher import generate_key
from confluence_mcp.store.tokens import mint_api_token, new_id
from tests.support.servers import free_port, serve_asgi


@pytest.fixture
def anyio_backend() -> str:
    """Run on asyncio, as uvicorn does."""
    return "asyncio"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "sqlite store /tmp/a/b/confluence-mcp.db: disk I/O error",
            "sqlite store .../confluence-mcp.db: disk I/O error",
        ),
        ("No such file or directory: '/etc/x/config.yaml'", "No such file or directory: '.../config.yaml'"),
        ("GET /wiki/api/v2/pages/123 failed", "GET /wiki/api/v2/pages/123 failed"),  # a URL path stays whole
        ("see https://acme.atlassian.net/wiki/home", "see https://acme.atlassian.net/wiki/home"),
        ("data/secret.key: the secret key file is empty", "data/secret.key: the secret key file is empty"),
    ],
)
def test_absolute_file_paths_are_shortened_to_their_name(text: str, shown: str) -> None:
    """Paths under a directory that exists here lose their directories; URLs and relative paths are untouched."""
    assert without_file_paths(text) == shown


@pytest.mark.anyio
async def test_a_failing_sqlite_store_answers_the_admin_api_without_its_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken database: the admin API answers JSON that does not say where the file lives; the log does."""
    database = tmp_path / "deep" / "confluence-mcp.db"
    settings = Settings.model_validate({"secrets": {"key": generate_key()}, "store": {"url": f"sqlite:///{database}"}})
    app = create_app(settings)
    token = mint_api_token()
    async with serve_asgi(wrap(app), server=settings.server) as base_url:
        store = app.state.runtime.store
        record = ApiToken(new_id("tok"), "t", app.state.runtime.cipher.hasher.hash(token), datetime.now(UTC), None)
        await store.create_api_token(record)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers) as client:
            assert (await client.get("/integrated-account")).status_code == 200
            with sqlite3.connect(database) as other:  # someone broke the database under the running server
                other.execute("DROP TABLE audit_log")
                other.execute("DROP TABLE mcp_servers")
                other.execute("DROP TABLE accounts")
            failed = await client.get("/integrated-account")
    assert failed.status_code >= 500
    assert failed.headers["content-type"].startswith("application/json")
    assert str(tmp_path) not in failed.text
    assert failed.json()["error"] in {"store_error", "service_unavailable", "internal_error"}
    assert any(str(database) in record.getMessage() for record in caplog.records)


def _cli_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_cli_errors_about_settings_and_key_files_show_no_absolute_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Missing or broken settings files and documents, an unreadable key file: errors name files, not paths."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("server: [\n", encoding="utf-8")
    wrong_key = tmp_path / "wrong-key"
    (wrong_key / "secret.key").mkdir(parents=True)  # a directory where the key file should be
    bad_document = tmp_path / "openapi.yaml"
    bad_document.write_text("openapi: 3.1.0\npaths: [\n", encoding="utf-8")
    errors = [
        _cli_error(capsys, "accounts", "list", "--config", str(tmp_path / "missing.yaml")),
        _cli_error(capsys, "accounts", "list", "--config", str(broken)),
        _cli_error(capsys, "accounts", "list", "--data-dir", str(wrong_key)),
        _cli_error(capsys, "tools", "list", "--spec", str(bad_document)),
        _cli_error(capsys, "tools", "list", "--spec", str(tmp_path / "missing-openapi.yaml")),
    ]
    for error in errors:
        assert error.startswith("confluence-mcp: error: ")
        assert str(tmp_path) not in error, error
    assert "missing.yaml" in errors[0]
    assert errors[1].startswith("confluence-mcp: error: .../broken.yaml: invalid YAML at line 2, column 1: ")


def test_a_settings_error_at_start_up_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    """serve with a declared server on an unknown account: one error line naming the key; no paths, no traceback."""
    config = tmp_path / "config.yaml"
    config.write_text(
        f"server:\n  port: {free_port()}\nstore:\n  url: 'memory://'\nsecrets:\n  key: '{generate_key()}'\n"
        f"servers:\n  - token: 'cmcp_{'a' * 40}'\n    account: nope\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "confluence_mcp", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert any(line.endswith("start-up failed: servers[0].account: no account with id 'nope'") for line in errors)
    assert "Traceback" not in done.stderr
    assert all(str(tmp_path) not in line for line in errors)


def test_a_start_up_failure_that_is_not_ours_keeps_its_traceback() -> None:
    """A bug needs its traceback: only tracebacks ending in one of our errors are shortened."""
    ours = 'Traceback (most recent call last):\n  File "/x/app.py", line 1\nconfluence_mcp.errors.ConfigError: a: b\n'
    bug = "Traceback (most recent call last):\n  File \"/x/app.py\", line 1\nKeyError: 'x'\n"
    records = [logging.makeLogRecord({"name": "uvicorn.error", "msg": text}) for text in (ours, bug)]
    for record in records:
        StartupErrorFilter().filter(record)
    assert records[0].getMessage() == "start-up failed: a: b"
    assert records[1].getMessage() == bug
