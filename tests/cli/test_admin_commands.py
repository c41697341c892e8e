"""The administration commands (accounts, mcp, api-tokens) over a SQLite store in a temporary data dir."""

from __future__ import annotations

import io
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import anyio
import httpx
import pytest

from confluence_mcp.cli import main
from confluence_mcp.cli.flags import parse_duration
from confluence_mcp.server.app import create_app, secret_cipher, wrap
from confluence_mcp.settings import load_settings
from confluence_mcp.store.base import ApiToken, McpServer, Store
from confluence_mcp.store.opening import open_store
from confluence_mcp.store.tokens import hash_token
from tests.support.admin import MCP_HEADERS
from tests.support.servers import serve_asgi

ATLASSIAN_TOKEN = "ATATT3x-cli-canary-5d1e"
_Record = TypeVar("_Record")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    """Run the CLI and return its exit code and stdout and stderr lines."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err.splitlines()


def add_account(capsys: pytest.CaptureFixture[str], data_dir: Path, *extra: str) -> str:
    """Add an account with the token given on the command line (unchecked: no test serves it) and return its id."""
    code, out, err = run(
        capsys,
        "accounts", "add", "--data-dir", str(data_dir), "--label", "Acme",
        "--instance-url", "https://acme.atlassian.net/", "--email", "john@example.com",
        "--api-token", ATLASSIAN_TOKEN, "--no-check", *extra,
    )  # fmt: skip
    assert code == 0, err
    return out[-1]


def _stored(data_dir: Path, read: Callable[[Store], Awaitable[list[_Record]]]) -> list[_Record]:
    """Open the store in ``data_dir`` as the commands do, and return what ``read`` reads from it."""

    async def opened() -> list[_Record]:
        settings = load_settings(None, data_dir=data_dir)
        store = open_store(settings.store_url, cipher=secret_cipher(settings))
        await store.open()
        try:
            return await read(store)
        finally:
            await store.close()

    return anyio.run(opened)


def stored_api_tokens(data_dir: Path) -> list[ApiToken]:
    """Read the API tokens straight from the store in ``data_dir``."""
    return _stored(data_dir, lambda store: store.list_api_tokens())


def stored_mcp_servers(data_dir: Path) -> list[McpServer]:
    """Read the MCP servers straight from the store in ``data_dir``."""
    return _stored(data_dir, lambda store: store.list_mcp_servers())


def stored_hash(data_dir: Path, token: str) -> str:
    """Return the keyed hash a token is stored under with the secret key in ``data_dir``."""
    return secret_cipher(load_settings(None, data_dir=data_dir)).hasher.hash(token)


# api-tokens


def test_api_tokens_create_prints_the_token_alone_on_the_last_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The last stdout line is the bare token; the store keeps only its hash, with the requested expiry."""
    code, out, err = run(capsys, "api-tokens", "create", "ci", "--data-dir", str(tmp_path), "--expires-in", "30d")
    assert code == 0, err
    token = out[-1]
    assert token.startswith("cmat_")
    assert token == token.strip()
    (record,) = stored_api_tokens(tmp_path)
    assert record.name == "ci"
    assert record.token_hash == stored_hash(tmp_path, token)  # keyed by the data dir's secret key
    assert record.token_hash != hash_token(token)
    assert record.expires_at is not None
    assert abs(record.expires_at - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
    assert all(token not in line for line in out[:-1])


def test_api_tokens_list_and_revoke_never_show_tokens(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """list shows id and name but no secret; revoke removes the token; revoking again fails with exit 2."""
    _, out, _ = run(capsys, "api-tokens", "create", "laptop", "--data-dir", str(tmp_path))
    token = out[-1]
    (record,) = stored_api_tokens(tmp_path)
    code, listed, _ = run(capsys, "api-tokens", "list", "--data-dir", str(tmp_path))
    assert code == 0
    assert any(record.id in line and "laptop" in line and "never" in line for line in listed)
    assert all(token not in line and record.token_hash not in line for line in listed)
    assert run(capsys, "api-tokens", "revoke", record.id, "--data-dir", str(tmp_path))[0] == 0
    assert stored_api_tokens(tmp_path) == []
    code, _, err = run(capsys, "api-tokens", "revoke", record.id, "--data-dir", str(tmp_path))
    assert (code, len(err)) == (2, 1)
    assert record.id in err[0]


def test_api_tokens_are_admin_tokens_unless_scope_mcp_is_asked_for(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Without --scope a token is an admin token; --scope mcp without --servers is an MCP token for any server."""
    assert run(capsys, "api-tokens", "create", "ops", "--data-dir", str(tmp_path))[0] == 0
    code, out, err = run(capsys, "api-tokens", "create", "bot", "--scope", "mcp", "--data-dir", str(tmp_path))
    assert code == 0, err
    assert out[0].startswith("Created MCP client token tok_")
    assert "MCP servers: any" in out[1]

    admin, client = stored_api_tokens(tmp_path)
    assert (admin.scope, admin.mcp_server_ids) == ("admin", ())
    assert (client.scope, client.mcp_server_ids) == ("mcp", ())


def test_api_tokens_create_binds_an_mcp_token_to_the_servers_named_and_list_shows_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--servers stores the ids given, each once; list has SCOPE and SERVERS columns ("-" admin, "any" unbound)."""
    account_id = add_account(capsys, tmp_path)
    for name in ("one", "two"):
        assert run(capsys, "mcp", "create", account_id, "--name", name, "--data-dir", str(tmp_path))[0] == 0
    one, two = (server.id for server in stored_mcp_servers(tmp_path))
    assert run(capsys, "api-tokens", "create", "ops", "--data-dir", str(tmp_path))[0] == 0
    assert run(capsys, "api-tokens", "create", "any", "--scope", "mcp", "--data-dir", str(tmp_path))[0] == 0
    servers = f"{two}, {one},{two}"
    argv = ["api-tokens", "create", "bot", "--scope", "mcp", "--servers", servers, "--data-dir", str(tmp_path)]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert f"MCP servers: {two},{one}" in out[1]

    *_, bound = stored_api_tokens(tmp_path)
    assert (bound.scope, bound.mcp_server_ids) == ("mcp", (two, one))
    _, listed, _ = run(capsys, "api-tokens", "list", "--data-dir", str(tmp_path))
    header, *rows = ([cell.strip() for cell in line.split("  ") if cell.strip()] for line in listed)
    assert header == ["ID", "NAME", "SCOPE", "SERVERS", "CREATED", "EXPIRES"]
    assert [row[1:4] for row in rows] == [["ops", "admin", "-"], ["any", "mcp", "any"], ["bot", "mcp", f"{two},{one}"]]


def test_an_mcp_token_bound_by_the_cli_opens_its_server_on_a_server_over_the_same_data_dir(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """On a server requiring API-token auth, the CLI's bound MCP token answers 200 and its admin token 401."""
    account_id = add_account(capsys, tmp_path)
    argv = ["mcp", "create", account_id, "--name", "locked", "--require-api-token", "--data-dir", str(tmp_path)]
    url = run(capsys, *argv)[1][-1]
    (server,) = stored_mcp_servers(tmp_path)
    admin = run(capsys, "api-tokens", "create", "ops", "--data-dir", str(tmp_path))[1][-1]
    argv = ["api-tokens", "create", "bot", "--scope", "mcp", "--servers", server.id, "--data-dir", str(tmp_path)]
    client = run(capsys, *argv)[1][-1]
    settings = load_settings(None, data_dir=tmp_path)
    token = url.removeprefix(f"{settings.public_url}/mcp/")

    async def statuses() -> list[int]:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        async with serve_asgi(wrap(create_app(settings))) as base_url, httpx.AsyncClient() as http:
            answers = [
                await http.post(f"{base_url}/mcp/{token}", json=body, headers={**MCP_HEADERS, **bearer})
                for bearer in ({"Authorization": f"Bearer {client}"}, {"Authorization": f"Bearer {admin}"})
            ]
        return [answer.status_code for answer in answers]

    assert anyio.run(statuses) == [200, 401]


# accounts


def test_accounts_add_list_and_remove(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """add prints the new id last, list shows it without the secret, remove deletes it."""
    account_id = add_account(capsys, tmp_path)
    assert account_id.startswith("acc_")
    code, listed, _ = run(capsys, "accounts", "list", "--data-dir", str(tmp_path))
    assert code == 0
    row = next(line for line in listed if line.startswith(account_id))
    assert "https://acme.atlassian.net " in f"{row} "  # trailing slash stripped
    assert "john@example.com" in row
    assert all(ATLASSIAN_TOKEN not in line for line in listed)
    code, out, _ = run(capsys, "accounts", "remove", account_id, "--data-dir", str(tmp_path))
    assert code == 0
    assert account_id in out[-1]
    assert run(capsys, "accounts", "list", "--data-dir", str(tmp_path))[1] == ["no accounts"]


def test_accounts_add_reads_the_token_from_an_environment_variable_or_stdin(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--api-token-env and --api-token-stdin keep the token out of argv and out of the output."""
    base = ["accounts", "add", "--data-dir", str(tmp_path), "--no-check", "--label", "L", "--instance-url",
            "https://a.atlassian.net"]  # fmt: skip
    monkeypatch.setenv("ATLASSIAN_API_TOKEN", ATLASSIAN_TOKEN)
    from_env = run(capsys, *base, "--email", "a@example.com", "--api-token-env", "ATLASSIAN_API_TOKEN")
    monkeypatch.setattr(sys, "stdin", io.StringIO(ATLASSIAN_TOKEN + "\n"))
    from_stdin = run(capsys, *base, "--auth", "bearer", "--api-token-stdin")
    for code, out, err in (from_env, from_stdin):
        assert code == 0, err
        assert all(ATLASSIAN_TOKEN not in line for line in out)
    _, listed, _ = run(capsys, "accounts", "list", "--data-dir", str(tmp_path))
    assert any(" bearer " in line for line in listed)


# mcp


def test_mcp_create_prints_a_url_that_works_on_a_server_over_the_same_data_dir(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The URL on the last line is public_url/mcp/<token>, and a server on that data dir answers tools/list."""
    account_id = add_account(capsys, tmp_path)
    code, out, err = run(
        capsys, "mcp", "create", account_id, "--data-dir", str(tmp_path), "--name", "bot",
        "--methods", "read", "--tags", "pages,spaces", "--expires-in", "1h",
    )  # fmt: skip
    assert code == 0, err
    url = out[-1]
    settings = load_settings(None, data_dir=tmp_path)
    prefix = f"{settings.public_url}/mcp/"
    assert url.startswith(prefix)
    token = url.removeprefix(prefix)
    (server,) = stored_mcp_servers(tmp_path)
    assert (server.token_hash, server.methods, server.tags) == (
        stored_hash(tmp_path, token),
        ("read",),
        ("pages", "spaces"),
    )
    assert all(token not in line for line in out[:-1])

    async def tools_list() -> httpx.Response:
        app = wrap(create_app(settings))
        async with serve_asgi(app, server=settings.server) as base_url, httpx.AsyncClient() as client:
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
            return await client.post(f"{base_url}/mcp/{token}", json=body, headers=MCP_HEADERS)

    response = anyio.run(tools_list)
    assert response.status_code == 200, response.text
    assert response.json()["result"]["tools"]


def test_mcp_create_and_update_take_the_lean_results_flags_and_list_shows_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--no-lean-results reaches the record and the LEAN column; mcp update --lean-results turns it back on."""
    account_id = add_account(capsys, tmp_path)
    code, out, err = run(
        capsys, "mcp", "create", account_id, "--data-dir", str(tmp_path), "--name", "full", "--no-lean-results"
    )
    assert code == 0, err
    assert "Lean results: no" in out
    (server,) = stored_mcp_servers(tmp_path)
    assert server.lean_results is False
    _, listed, _ = run(capsys, "mcp", "list", "--data-dir", str(tmp_path))
    header, row = ([cell.strip() for cell in line.split("  ") if cell.strip()] for line in listed)
    assert row[header.index("LEAN")] == "no"

    assert run(capsys, "mcp", "update", server.id, "--data-dir", str(tmp_path), "--lean-results")[0] == 0

    assert stored_mcp_servers(tmp_path)[0].lean_results is True


def test_mcp_create_takes_tool_exposure_and_max_limit_and_list_shows_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--tool-exposure and --max-limit reach the stored record; create prints them and list has a column each."""
    account_id = add_account(capsys, tmp_path)
    code, out, err = run(
        capsys, "mcp", "create", account_id, "--data-dir", str(tmp_path), "--name", "finder",
        "--tool-exposure", "discovery", "--max-limit", "50",
    )  # fmt: skip
    assert code == 0, err
    assert "Tool exposure: discovery; list limit at most 50" in out
    assert run(capsys, "mcp", "create", account_id, "--data-dir", str(tmp_path), "--name", "plain")[0] == 0
    finder, plain = stored_mcp_servers(tmp_path)
    assert (finder.tool_exposure, finder.max_limit) == ("discovery", 50)
    assert (plain.tool_exposure, plain.max_limit) == ("all", 100)

    _, listed, _ = run(capsys, "mcp", "list", "--data-dir", str(tmp_path))
    header, *rows = (line.split("  ") for line in listed)
    columns = [cell.strip() for cell in header if cell.strip()]
    assert columns[6:8] == ["EXPOSURE", "LIMIT"]
    cells = [[cell.strip() for cell in row if cell.strip()] for row in rows]
    assert [row[6:8] for row in cells] == [["discovery", "50"], ["all", "100"]]


def test_mcp_list_and_revoke(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """list shows servers (of one account when given) without URLs; revoke deletes one."""
    first, second = add_account(capsys, tmp_path), add_account(capsys, tmp_path)
    for account_id in (first, second):
        assert run(capsys, "mcp", "create", account_id, "--data-dir", str(tmp_path), "--name", "bot")[0] == 0
    servers = stored_mcp_servers(tmp_path)
    code, everything, _ = run(capsys, "mcp", "list", "--data-dir", str(tmp_path))
    assert code == 0
    assert all(any(s.id in line for line in everything) for s in servers)
    assert all("/mcp/" not in line and "cmcp_" not in line for line in everything)
    _, only_first, _ = run(capsys, "mcp", "list", first, "--data-dir", str(tmp_path))
    assert [line.split()[0] for line in only_first[1:]] == [s.id for s in servers if s.account_id == first]
    revoked = servers[0]
    assert run(capsys, "mcp", "revoke", revoked.id, "--data-dir", str(tmp_path))[0] == 0
    assert [s.id for s in stored_mcp_servers(tmp_path)] == [s.id for s in servers[1:]]


# bad input


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["accounts", "add", "--label", "L", "--instance-url", "http://acme.atlassian.net", "--email", "a@b.c",
          "--api-token", "t"], "--instance-url: must use https"),
        (["accounts", "add", "--label", "L", "--instance-url", "https://acme.atlassian.net", "--api-token", "t"],
         "--email: required"),
        (["accounts", "add", "--label", "L", "--instance-url", "https://a.atlassian.net", "--email", "a@b.c"],
         "--api-token-env VAR"),
        (["accounts", "add", "--label", "L", "--instance-url", "https://a.atlassian.net", "--email", "a@b.c",
          "--api-token-env", "CONFLUENCE_MCP_TEST_UNSET"], "CONFLUENCE_MCP_TEST_UNSET is not set"),
        (["accounts", "add", "--label", "L", "--instance-url", "https://a.atlassian.net", "--email", "a@b.c",
          "--api-token", "t", "--token-expires-at", "2099-01-01T00:00:00Z"], "--token-expires-at: must be at most"),
        (["accounts", "remove", "acc_missing"], "'acc_missing' not found"),
        (["mcp", "create", "acc_missing", "--name", "bot"], "'acc_missing' not found"),
        (["mcp", "revoke", "mcp_missing"], "'mcp_missing' not found"),
        (["mcp", "create", "acc_missing", "--name", "bot", "--max-limit", "251"],
         "--max-limit: must be 1 to 250: Confluence v2 caps list limits at 250"),
        (["mcp", "create", "acc_missing", "--name", "bot", "--max-limit", "0"], "--max-limit: must be 1 to 250"),
        (["mcp", "create", "acc_missing", "--name", "bot", "--max-limit", "lots"],
         "--max-limit: 'lots' is not a whole number"),
        (["api-tokens", "create", "ci", "--expires-in", "soon"], "--expires-in: 'soon' is not a duration"),
        (["api-tokens", "create", "ci", "--expires-in", "5s"], "at least 60 seconds"),
        (["api-tokens", "create", " "], "NAME: give 1 to 200 characters"),
        (["api-tokens", "create", "ci", "--scope", "mcp", "--servers", "mcp_gone,mcp_nope"],
         "--servers: unknown MCP server ids 'mcp_gone', 'mcp_nope' (see 'confluence-mcp mcp list')"),
        (["api-tokens", "create", "ci", "--servers", "mcp_1"],
         "--servers: only MCP client tokens (scope mcp) are bound to MCP servers"),
        (["api-tokens", "create", "ci", "--scope", "mcp", "--servers", " , "],
         "--servers: give at least one MCP server id, or leave --servers out for every MCP server"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line_on_stderr(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], words: str
) -> None:
    """Each refused command prints exactly one stderr line naming the flag or record, and exits 2."""
    code, out, err = run(capsys, *argv, "--data-dir", str(tmp_path))
    assert code == 2
    assert len(err) == 1, err
    assert err[0].startswith("confluence-mcp: error: ")
    assert words in err[0]
    assert out == []


def test_a_filter_no_tool_passes_is_refused_naming_the_filters(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """mcp create with methods and tags that match no tool exits 2 naming both filters."""
    account_id = add_account(capsys, tmp_path)
    argv = ["mcp", "create", account_id, "--name", "b", "--methods", "remove_member", "--tags", "pages"]
    code, _, err = run(capsys, *argv, "--data-dir", str(tmp_path))
    assert code == 2
    assert err == [
        "confluence-mcp: error: --methods/--tags: no tool passes methods [remove_member] and tags [pages]; "
        "widen methods or tags (see 'confluence-mcp tools list --methods ... --tags ...')"
    ]


def test_a_misspelt_method_is_refused_with_a_suggestion(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """--methods raed is not kept silently: exit 2 naming the flag and suggesting read."""
    account_id = add_account(capsys, tmp_path)
    argv = ["mcp", "create", account_id, "--name", "b", "--methods", "raed"]
    code, _, err = run(capsys, *argv, "--data-dir", str(tmp_path))
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith("confluence-mcp: error: --methods: 'raed' matches no tool; did you mean 'read'?")


def test_a_memory_store_is_refused_because_it_would_forget_everything(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """With store.url memory:// the commands refuse to run instead of writing into nothing."""
    config = tmp_path / "settings.yaml"
    config.write_text("store: {url: 'memory://'}\nsecrets: {key: 'x'}\n", encoding="utf-8")
    code, _, err = run(capsys, "api-tokens", "list", "--config", str(config))
    assert code == 2
    assert err == [
        "confluence-mcp: error: store.url: memory:// forgets everything when this command ends; use sqlite or redis"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("30d", timedelta(days=30)),
        ("2W", timedelta(weeks=2)),
    ],
)
def test_durations_take_one_number_and_one_unit(text: str, expected: timedelta) -> None:
    """parse_duration reads s, m, h, d and w, case-insensitively."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "1", "h", "1.5h", "1h30m", "-1d", "1y"])
def test_other_durations_are_refused_naming_the_flag(text: str) -> None:
    """Anything but one whole number and one unit raises ValueError naming --expires-in."""
    with pytest.raises(ValueError, match="--expires-in"):
        parse_duration(text)


def test_mcp_create_prints_the_running_server_s_address(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A server started on another port notes its URL in the data dir; mcp create in another shell prints it."""
    account_id = add_account(capsys, tmp_path)
    argv = ["mcp", "create", account_id, "--name", "b", "--data-dir", str(tmp_path)]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert out[-1].startswith("http://127.0.0.1:8000/mcp/cmcp_")  # no server noted: the settings' address
    (tmp_path / "server-url").write_text("http://127.0.0.1:9012\n", encoding="utf-8")
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert out[-1].startswith("http://127.0.0.1:9012/mcp/cmcp_")


def test_mcp_update_changes_filters_in_place_and_the_url_keeps_working(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """mcp update replaces the filters and exposure of an existing server; a misspelt tag is refused, nothing kept."""
    account_id = add_account(capsys, tmp_path)
    code, out, _ = run(
        capsys, "mcp", "create", account_id, "--name", "b", "--tags", "pages", "--data-dir", str(tmp_path)
    )
    assert code == 0
    mcp_id = out[0].split()[3]
    code, out, err = run(
        capsys, "mcp", "update", mcp_id, "--methods", "read", "--tags", "pages,spaces", "--tool-exposure",
        "discovery", "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 0, err
    assert out[0] == f"Updated MCP server {mcp_id} (b): methods [read], tags [pages, spaces]"
    assert out[1].endswith("tool exposure: discovery")
    code, _, err = run(capsys, "mcp", "update", mcp_id, "--tags", "pagez", "--data-dir", str(tmp_path))
    assert code == 2
    assert "did you mean 'pages'?" in err[0]
    code, out, _ = run(capsys, "mcp", "list", "--data-dir", str(tmp_path))
    assert "pages,spaces" in "\n".join(out)
    code, _, err = run(capsys, "mcp", "update", mcp_id, "--data-dir", str(tmp_path))
    assert code == 2
    assert "nothing to change" in err[0]
