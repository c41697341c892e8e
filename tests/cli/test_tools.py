"""The tools commands of the CLI: table, JSON, one tool, filters, --spec and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from confluence_mcp.cli import main

OFFICIAL_V2 = Path(__file__).resolve().parents[2].parent / "shared" / "openapi-official" / "confluence-v2.json"


def test_tools_list_json_has_every_required_field(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints an array whose items carry every documented field, http as {method, path}."""
    assert main(["tools", "list", "--json"]) == 0
    tools = json.loads(capsys.readouterr().out)
    assert len(tools) >= 50
    required = {"name", "title", "description", "inputSchema", "annotations", "tags", "method", "group", "http"}
    for tool in tools:
        assert required <= set(tool)
        assert set(tool["http"]) == {"method", "path"}


def test_tools_list_filters_by_methods_and_tags(capsys: pytest.CaptureFixture[str]) -> None:
    """--methods read --tags pages leaves only list/get tools tagged pages."""
    assert main(["tools", "list", "--json", "--methods", "read", "--tags", "pages"]) == 0
    tools = json.loads(capsys.readouterr().out)
    assert tools
    assert all(t["group"] == "read" and "pages" in t["tags"] for t in tools)


def test_tools_list_table_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    """The default output is a table with a header row and a count."""
    assert main(["tools", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:4] == ["NAME", "METHOD", "HTTP", "TAGS"]
    assert "get_single_confluence_page_by_id" in out
    assert out.rstrip().endswith("tools")


def test_tools_list_accepts_an_official_document(capsys: pytest.CaptureFixture[str]) -> None:
    """--spec replaces the default document: Atlassian's v2 gives 218 tools, 217 with the replaced one hidden."""
    assert main(["tools", "list", "--json", "--spec", str(OFFICIAL_V2), "--hide-deprecated", "none"]) == 0
    everything = json.loads(capsys.readouterr().out)
    assert len(everything) == 218
    [deprecated] = [t for t in everything if t.get("deprecated")]
    assert deprecated["name"] == "list_all_confluence_page_children"
    assert deprecated["replacedBy"] == "list_all_confluence_page_direct_children"
    assert main(["tools", "list", "--json", "--spec", str(OFFICIAL_V2)]) == 0
    assert {t["name"] for t in everything} - {t["name"] for t in json.loads(capsys.readouterr().out)} == {
        deprecated["name"]
    }


def test_tools_show_prints_one_definition(capsys: pytest.CaptureFixture[str]) -> None:
    """tools show NAME prints that tool's full definition including its binding."""
    assert main(["tools", "show", "update_a_confluence_page_by_id"]) == 0
    tool = json.loads(capsys.readouterr().out)
    assert tool["http"] == {"method": "PUT", "path": "/wiki/api/v2/pages/{id}"}
    assert {"argument": "id", "in": "path", "name": "id"} in tool["binding"]


def test_tools_show_prints_what_agents_see_for_a_paginated_list(capsys: pytest.CaptureFixture[str]) -> None:
    """A v1 list shows our ``cursor`` and no ``start`` argument; its binding still says where ``start`` goes."""
    assert main(["tools", "show", "list_all_confluence_groups"]) == 0
    tool = json.loads(capsys.readouterr().out)
    assert set(tool["inputSchema"]["properties"]) == {"cursor", "limit", "accessType"}
    assert {"argument": "start", "in": "query", "name": "start"} in tool["binding"]
    assert "next_cursor" in tool["description"]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["tools", "show", "get_single_confluence_page"], "did you mean get_single_confluence_page_by_id"),
        (["tools", "list", "--spec", "/nonexistent.yaml"], "/nonexistent.yaml#/: cannot read file"),
        (["tools", "list", "--methods", "read,Bad Method"], "methods: 'Bad Method' is not a method"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str) -> None:
    """Bad input prints one line naming the problem on stderr and exits 2, with no traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
