"""hide_deprecated through every way an MCP server is configured: the admin API, the YAML file and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from confluence_mcp.errors import ConfigError
from confluence_mcp.store.memory import MemoryStore
from tests.admin.test_static import _load, a_server, an_account
from tests.cli.test_admin_commands import add_account, run, stored_mcp_servers
from tests.support.admin import admin_settings, error_body, running_admin_app
from tests.support.official import V1, V2

DEPRECATED = {
    "list_all_confluence_content_descendants",
    "get_single_confluence_content_descendant_by_id",
    "list_all_confluence_page_children",
}


@pytest.mark.anyio
async def test_the_api_sets_hide_deprecated_and_tools_list_follows_it() -> None:
    """Serving Atlassian's documents: by default the replaced three are hidden; none shows them; all hides them."""
    async with running_admin_app(admin_settings(documents=[str(V1), str(V2)])) as admin:
        account = await admin.create_account()
        created = await admin.create_mcp_server(account["id"])
        assert created.status_code == 201, created.text
        server = created.json()
        assert server["config"]["hide_deprecated"] == "replaced"
        url = f"{admin.base_url}/mcp/{server['token']}"
        default = await admin.tool_names(url)
        assert len(default) == 348 + 3 - len(DEPRECATED)  # with search, fetch and the download tool
        assert not default & DEPRECATED
        refused = await admin.rpc(url, "tools/call", {"name": "list_all_confluence_page_children"})
        assert refused.json()["error"]["code"] == -32602  # hidden means not callable, as a filtered-out tool

        path = f"/integrated-account/{account['id']}/mcp/{server['id']}"
        shown = await admin.client.patch(path, json={"config": {"hide_deprecated": "none"}})
        assert shown.status_code == 200, shown.text
        assert shown.json()["config"] == {**server["config"], "hide_deprecated": "none"}
        assert await admin.tool_names(url) >= DEPRECATED

        bad = await admin.client.patch(path, json={"config": {"hide_deprecated": "some"}})
        body = error_body(bad, 422, "invalid_body")
        assert "config.hide_deprecated" in str(body)
        null = await admin.client.patch(path, json={"config": {"hide_deprecated": None}})
        assert "config.hide_deprecated" in str(error_body(null, 422, "invalid_body"))


@pytest.mark.anyio
async def test_the_yaml_file_sets_hide_deprecated_or_leaves_the_default(store: MemoryStore) -> None:
    """A declared value reaches the record; an absent key gives replaced; a wrong one names the key."""
    other = "cmcp_" + "z" * 40
    await _load(
        store, accounts=[an_account()], servers=[a_server(hide_deprecated="all"), a_server(token=other, name="plain")]
    )
    declared, plain = sorted(await store.list_mcp_servers(), key=lambda server: server.name)
    assert (declared.name, declared.hide_deprecated) == ("docs-bot", "all")
    assert (plain.name, plain.hide_deprecated) == ("plain", "replaced")
    with pytest.raises(ConfigError, match=r"servers\[0\]\.hide_deprecated"):
        await _load(store, accounts=[an_account()], servers=[a_server(hide_deprecated="x")])


def test_the_cli_sets_hide_deprecated_on_create_and_update(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """--hide-deprecated reaches the stored record on create and on update, and both print it."""
    account_id = add_account(capsys, tmp_path)
    code, out, err = run(
        capsys, "mcp", "create", account_id, "--data-dir", str(tmp_path), "--name", "all", "--hide-deprecated", "none"
    )
    assert code == 0, err
    assert "Deprecated tools hidden: none" in out
    mcp_id = out[0].split()[3]
    code, out, err = run(capsys, "mcp", "update", mcp_id, "--hide-deprecated", "all", "--data-dir", str(tmp_path))
    assert code == 0, err
    assert out[-1] == "Deprecated tools hidden: all"
    [server] = stored_mcp_servers(tmp_path)
    assert server.hide_deprecated == "all"
    with pytest.raises(SystemExit):  # argparse refuses a value not among the choices
        run(capsys, "mcp", "update", mcp_id, "--hide-deprecated", "x", "--data-dir", str(tmp_path))
    assert "argument --hide-deprecated: invalid choice: 'x'" in capsys.readouterr().err
