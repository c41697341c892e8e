"""The audit log end to end: tool calls and admin changes (API and CLI) read back through the API and the CLI.

The stack runs on a SQLite file that the CLI opens too. Every argument value, secret and token the test used is
then searched for in everything the audit log answers: none may appear, while the argument keys must.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from confluence_mcp.cli import main
from confluence_mcp.server.app import sweep_once
from confluence_mcp.simulator import SEED
from confluence_mcp.store.base import AuditFilter, AuditRecord, Store
from confluence_mcp.store.cipher import Cipher, generate_key
from confluence_mcp.store.memory import MemoryStore
from confluence_mcp.store.sqlite import SqliteStore
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.anyio

DEADLINE = 10.0
QUERY = "release-canary-5b2e"
PASSWORD = "ATATT3x-audit-canary-0c9d"
LABEL = "Label canary 71aa"
SITE = "https://audit-canary-4e0f.atlassian.net"


class Files:
    """A SQLite file for the stack and a settings file the CLI reads to open the same store."""

    def __init__(self, tmp_path: Path) -> None:
        self.key = generate_key()
        self.db = tmp_path / "audit.db"
        self.config = tmp_path / "config.yaml"
        self.config.write_text(f"store: {{url: 'sqlite:///{self.db.as_posix()}'}}\nsecrets: {{key: '{self.key}'}}\n")

    def overrides(self, **extra: Any) -> dict[str, Any]:
        """Return the running_stack overrides that put it on this file under this key."""
        return {
            "store": {"url": f"sqlite:///{self.db.as_posix()}"},
            "secrets": {"key": self.key},
            "upstream": {"allowed_hosts": ["127.0.0.1", "*.atlassian.net"]},  # the simulator, and SITE
            **extra,
        }


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    """Run the CLI in a worker thread (it runs its own event loop) and return its stdout lines; it must succeed."""
    code = await anyio.to_thread.run_sync(main, list(argv))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out.splitlines()


async def written(stack: Stack) -> None:
    """Wait, under a deadline, until the writer has stored every queued record."""
    with anyio.fail_after(DEADLINE):
        await stack.app.state.runtime.audit.drained()


async def every_page(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Follow next_cursor through ``path`` (pages of 3) and return every entry."""
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = await client.get(path, params={**params, "limit": 3, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        entries += page["result"]
        cursor = page["next_cursor"]
        if cursor is None:
            return entries


async def test_tool_calls_and_admin_changes_read_back_through_api_and_cli_with_keys_and_no_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each call and change is one entry with the right actor, action, target and keys; no value or token leaks."""
    files = Files(tmp_path)
    async with running_stack(**files.overrides()) as stack:
        page_id = SEED.release_checklist_id
        assert (await stack.call("get_single_confluence_page_by_id", {"id": page_id}))["isError"] is False
        assert (await stack.call("search", {"query": QUERY}))["isError"] is False
        assert (await stack.call("get_single_confluence_page_by_id", {"id": "999999"}))["isError"] is True
        unknown = await stack.rpc("tools/call", {"name": "no_such_tool", "arguments": {"secret": QUERY}})
        assert "error" in unknown.json()
        await stack.call("list_all_confluence_spaces", {"limit": 1}, server="read")

        headers = {"Authorization": f"Bearer {stack.api_token}"}
        async with httpx.AsyncClient(base_url=stack.base_url, headers=headers, timeout=30) as admin:
            body = {"label": LABEL, "instance_url": SITE, "auth": {"username": "ops@example.com", "password": PASSWORD}}
            account = (await admin.post("/integrated-account?check=false", json=body)).json()
            created = await admin.post(f"/integrated-account/{account['id']}/mcp", json={"name": "bot"})
            server = created.json()
            server_path = f"/integrated-account/{account['id']}/mcp/{server['id']}"
            assert (await admin.patch(server_path, json={"config": {"methods": ["read"]}})).status_code == 200
            assert (await admin.delete(server_path)).status_code == 204
            assert (await admin.delete(f"/integrated-account/{account['id']}")).status_code == 204

            cli_token = (await cli(capsys, "api-tokens", "create", "ci", "--config", str(files.config)))[-1]
            listed = await cli(capsys, "api-tokens", "list", "--config", str(files.config))
            cli_token_id = next(line.split()[0] for line in listed if " ci " in f" {line} ")
            await cli(capsys, "api-tokens", "revoke", cli_token_id, "--config", str(files.config))

            await written(stack)
            everything = await every_page(admin, "/audit-log")
            all_id = await stack.server_id("all")
            logs = await every_page(admin, f"/integrated-account/acme/mcp/{all_id}/logs")
            errors = await every_page(admin, f"/integrated-account/acme/mcp/{all_id}/logs", status="error")
            searches = await every_page(admin, f"/integrated-account/acme/mcp/{all_id}/logs", tool="search")
        table = await cli(capsys, "audit", "list", "--limit", "500", "--config", str(files.config))
        only_read = await cli(
            capsys, "audit", "list", "--mcp", await stack.server_id("read"), "--config", str(files.config)
        )

    (admin_token,) = [t for t in listed if "tests-admin" in t]
    admin_token_id = admin_token.split()[0]
    seen = [(e["actor"], e["action"], e["target"], e["outcome"], e["argument_keys"]) for e in reversed(everything)]
    read_id = only_read[1].split()[1]
    assert seen == [
        (all_id, "tools/call", "get_single_confluence_page_by_id", "ok", ["id"]),
        (all_id, "tools/call", "search", "ok", ["query"]),
        (all_id, "tools/call", "get_single_confluence_page_by_id", "error", ["id"]),
        (all_id, "tools/call", "no_such_tool", "refused", ["secret"]),
        (read_id, "tools/call", "list_all_confluence_spaces", "ok", ["limit"]),
        (
            admin_token_id,
            "account.create",
            account["id"],
            "ok",
            ["label", "instance_url", "auth.username", "auth.password", "check"],
        ),
        (admin_token_id, "mcp_server.create", server["id"], "ok", ["name"]),
        (admin_token_id, "mcp_server.update", server["id"], "ok", ["config.methods"]),
        (admin_token_id, "mcp_server.delete", server["id"], "ok", []),
        (admin_token_id, "account.delete", account["id"], "ok", []),
        ("cli", "api_token.create", cli_token_id, "ok", ["name"]),
        ("cli", "api_token.revoke", cli_token_id, "ok", []),
    ]
    assert [e["upstream_status"] for e in reversed(everything)][:5] == [200, 200, 404, None, 200]
    assert everything[-4]["reason"] == "UnknownTool"
    assert [e["id"] for e in logs] == [e["id"] for e in everything if e["actor"] == all_id]
    assert [e["upstream_status"] for e in errors] == [404]
    assert [e["target"] for e in searches] == ["search"]
    assert len(table) == 1 + len(everything)  # the header and one row per entry, no cursor line

    answered = json.dumps([everything, logs, errors, searches]) + "\n".join(table + only_read)
    secrets = [
        QUERY,
        PASSWORD,
        LABEL,
        SITE.removeprefix("https://"),
        "ops@example.com",
        page_id,
        cli_token,
        server["token"],
    ]
    secrets += [stack.api_token, stack.mcp_api_token, *stack.tokens.values()]
    for secret in secrets:
        assert secret not in answered, secret
    assert await _raw_file_lacks(files.db, secrets)


async def _raw_file_lacks(db: Path, secrets: list[str]) -> bool:
    """Return whether the audit rows at rest hold none of ``secrets`` (the account row holds its own, encrypted)."""

    def rows() -> str:
        import sqlite3

        connection = sqlite3.connect(db)
        try:
            return repr(connection.execute("SELECT * FROM audit_log").fetchall())
        finally:
            connection.close()

    text = await anyio.to_thread.run_sync(rows)
    return "tools/call" in text and not any(secret in text for secret in secrets)


async def test_shutdown_writes_the_records_the_writer_had_not_written_yet(tmp_path: Path) -> None:
    """With a minute between writes, three calls are still queued at shutdown; the lifespan writes them."""
    files = Files(tmp_path)
    async with running_stack(**files.overrides(audit={"flush_interval_seconds": 60, "batch_size": 1000})) as stack:
        for _ in range(3):
            await stack.call("list_all_confluence_spaces", {})
        queue = stack.app.state.runtime.audit
        assert (len(queue), queue.written) == (3, 0)

    store = SqliteStore(str(files.db), cipher=Cipher.from_key(files.key))
    await store.open()
    try:
        page = await store.list_audit(AuditFilter(action="tools/call"), None, 10)
    finally:
        await store.close()
    assert [r.target for r in page.records] == ["list_all_confluence_spaces"] * 3


async def test_the_sweeper_deletes_audit_records_past_retention(monkeypatch: pytest.MonkeyPatch) -> None:
    """With retention 1 day the periodic sweep deletes a two-day-old record and keeps an hour-old one."""
    async with running_stack(server={"sweep_interval_seconds": 0.05}, audit={"retention_days": 1}) as stack:
        store: Store = stack.app.state.runtime.store
        now = datetime.now(UTC)
        await store.append_audit(
            [_record("aud_old", now - timedelta(days=2)), _record("aud_new", now - timedelta(hours=1))]
        )
        swept = anyio.Event()
        original = store.delete_audit_before

        async def spy(before: datetime) -> int:
            gone = await original(before)
            swept.set()
            return gone

        monkeypatch.setattr(store, "delete_audit_before", spy)
        with anyio.fail_after(DEADLINE):
            await swept.wait()
        page = await store.list_audit(AuditFilter(), None, 10)
    assert [r.id for r in page.records] == ["aud_new"]


@pytest.mark.parametrize(("days", "kept"), [(30, ["aud_new", "aud_recent"]), (0, [])])
async def test_one_sweep_keeps_the_retention_window_and_zero_keeps_nothing(days: int, kept: list[str]) -> None:
    """A sweep deletes records older than the retention; with retention 0 (the audit log off) it deletes all."""
    store = MemoryStore(cipher=Cipher.from_key(generate_key()))
    now = datetime.now(UTC)
    records = [
        _record("aud_old", now - timedelta(days=31)),
        _record("aud_recent", now - timedelta(days=29)),
        _record("aud_new", now - timedelta(seconds=1)),
    ]
    await store.append_audit(records)
    await sweep_once(store, timedelta(days=days))
    assert [r.id for r in (await store.list_audit(AuditFilter(), None, 10)).records] == kept


def _record(record_id: str, at: datetime) -> AuditRecord:
    return AuditRecord(record_id, at, "cli", "api_token.create", "tok_1", ("name",), "ok")
