"""``audit list`` and the audit of CLI changes, over a SQLite store in a temporary data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from confluence_mcp.store.base import AuditFilter, AuditRecord, Store
from confluence_mcp.store.cipher import generate_key
from tests.cli.test_admin_commands import ATLASSIAN_TOKEN, _stored, add_account, run

HEADER = ["AT", "ACTOR", "ACTION", "TARGET", "OUTCOME", "UPSTREAM", "MS", "ARGUMENT KEYS"]


def stored_audit(data_dir: Path) -> list[AuditRecord]:
    """Read every audit record straight from the store in ``data_dir``, newest first."""

    async def read(store: Store) -> list[AuditRecord]:
        return list((await store.list_audit(AuditFilter(), None, 500)).records)

    return _stored(data_dir, read)


def table(lines: list[str]) -> list[list[str]]:
    """Return the rows of a printed table as lists of cells (columns are two or more spaces apart)."""
    return [[cell.strip() for cell in line.split("  ") if cell.strip()] for line in lines]


def test_cli_changes_are_recorded_as_cli_and_audit_list_shows_them_without_values(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Each change by a command is one ok record by cli; the table shows them newest first, never a secret."""
    account_id = add_account(capsys, tmp_path)
    server_url = run(capsys, "mcp", "create", account_id, "--name", "bot", "--data-dir", str(tmp_path))[1][-1]
    token = run(capsys, "api-tokens", "create", "ops", "--expires-in", "30d", "--data-dir", str(tmp_path))[1][-1]
    records = stored_audit(tmp_path)
    token_id = records[0].target
    assert token_id is not None
    assert run(capsys, "api-tokens", "revoke", token_id, "--data-dir", str(tmp_path))[0] == 0

    code, out, err = run(capsys, "audit", "list", "--data-dir", str(tmp_path))

    assert code == 0, err
    header, *rows = table(out)
    assert header == HEADER
    assert [row[1:5] for row in rows] == [
        ["cli", "api_token.revoke", token_id, "ok"],
        ["cli", "api_token.create", token_id, "ok"],
        ["cli", "mcp_server.create", records[1].target, "ok"],
        ["cli", "account.create", account_id, "ok"],
    ]
    assert rows[1][-1] == "name,expires_at"
    assert (
        rows[3][-1] == "label,instance_url,auth.type,auth.username,auth.password,api_token_expires_at,check"
    )  # check: --no-check
    for secret in (ATLASSIAN_TOKEN, token, server_url.rsplit("/", 1)[1], "john@example.com"):
        assert secret not in "\n".join(out)
        assert secret not in repr(stored_audit(tmp_path))


def test_a_cli_change_that_fails_is_recorded_as_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Revoking a token that does not exist exits 2 and leaves a refused NotFound record naming the id."""
    assert run(capsys, "api-tokens", "revoke", "tok_missing", "--data-dir", str(tmp_path))[0] == 2
    (record,) = stored_audit(tmp_path)
    assert (record.actor, record.action, record.target) == ("cli", "api_token.revoke", "tok_missing")
    assert (record.outcome, record.reason) == ("refused", "NotFound")


def test_audit_list_filters_by_action_and_mcp_and_pages_with_a_cursor(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--action keeps one action, --mcp one actor; --limit pages, and the cursor line shows the next page."""
    for _ in range(3):
        add_account(capsys, tmp_path)
    assert run(capsys, "api-tokens", "create", "ops", "--data-dir", str(tmp_path))[0] == 0

    _, out, _ = run(capsys, "audit", "list", "--action", "account.create", "--limit", "2", "--data-dir", str(tmp_path))
    *lines, more = out
    assert [row[2] for row in table(lines)[1:]] == ["account.create", "account.create"]
    assert more.startswith("older records: --cursor ")
    cursor = more.removeprefix("older records: --cursor ")
    _, rest, _ = run(
        capsys, "audit", "list", "--action", "account.create", "--cursor", cursor, "--data-dir", str(tmp_path)
    )
    assert len(table(rest)) == 2  # the header and the third account; no cursor line
    assert run(capsys, "audit", "list", "--mcp", "mcp_none", "--data-dir", str(tmp_path))[1] == ["no audit records"]
    _, recent, _ = run(capsys, "audit", "list", "--since", "1h", "--data-dir", str(tmp_path))
    assert len(table(recent)) == 5


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--since", "last tuesday"], "--since"),
        (["--limit", "0"], "--limit"),
        (["--limit", "lots"], "--limit"),
        (["--cursor", "made-up"], "--cursor"),
    ],
)
def test_audit_list_refuses_bad_flags_naming_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], flag: str
) -> None:
    """A since, limit or cursor it cannot read exits 2 with one line naming the flag."""
    code, _, err = run(capsys, "audit", "list", *argv, "--data-dir", str(tmp_path))
    assert (code, len(err)) == (2, 1)
    assert err[0].startswith(f"confluence-mcp: error: {flag}: ")


def test_with_retention_zero_cli_changes_are_not_recorded(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """audit.retention_days 0 in the settings file turns the CLI's audit off too."""
    config = tmp_path / "config.yaml"
    config.write_text(
        f"data_dir: {tmp_path.as_posix()}\naudit: {{retention_days: 0}}\nsecrets: {{key: {generate_key()}}}\n"
    )
    assert run(capsys, "api-tokens", "create", "ops", "--config", str(config))[0] == 0
    assert run(capsys, "audit", "list", "--config", str(config))[1] == ["no audit records"]
