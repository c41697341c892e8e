"""Atlassian's own documents: every one of their 348 operations becomes a valid tool."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from confluence_mcp.openapi.loader import read_document, read_operations
from confluence_mcp.openapi.naming import TOOL_NAME_RE
from tests.support.official import V1, V2, official_tools

_official_tools = official_tools


def test_every_official_operation_becomes_exactly_one_tool() -> None:
    """130 v1 and 218 v2 operations give 348 tools, one per method and path."""
    counts = [len(read_operations(read_document(p), str(p))) for p in (V1, V2)]
    assert counts == [130, 218]
    tools = _official_tools()
    assert len(tools) == 348
    assert len({(t.binding.method, t.binding.path) for t in tools}) == 348


def test_official_tool_names_are_valid_and_unique() -> None:
    """Every name matches the MCP name rule and no two tools share one."""
    names = [t.name for t in _official_tools()]
    assert all(TOOL_NAME_RE.match(n) for n in names), [n for n in names if not TOOL_NAME_RE.match(n)]
    assert len(set(names)) == len(names)


def test_official_input_schemas_are_valid_json_schema_2020_12() -> None:
    """Every inputSchema validates against the 2020-12 meta-schema and is a closed object."""
    for tool in _official_tools():
        Draft202012Validator.check_schema(tool.input_schema)
        assert tool.input_schema["type"] == "object", tool.name
        assert set(tool.input_schema.get("required", [])) <= set(tool.input_schema["properties"]), tool.name


def test_official_tools_bind_every_path_template_and_argument() -> None:
    """Each {placeholder} in a path is bound to an argument, and every binding names a real argument."""
    for tool in _official_tools():
        arguments = set(tool.input_schema["properties"])
        assert {b.argument for b in tool.binding.arguments} <= arguments, tool.name
        path_names = {b.name for b in tool.binding.arguments if b.location == "path"}
        template = {seg[1:-1] for seg in tool.binding.path.split("/") if seg.startswith("{")}
        assert template == path_names, tool.name


def test_official_v2_paths_carry_the_server_prefix_and_keep_hyphenated_names() -> None:
    """v2 paths gain /wiki/api/v2 and hyphenated parameters such as body-format keep their names."""
    tools = {(t.binding.method, t.binding.path): t for t in _official_tools()}
    page = tools[("GET", "/wiki/api/v2/pages/{id}")]
    assert "body-format" in page.input_schema["properties"]
    update = tools[("PUT", "/wiki/api/v2/pages/{id}")]
    assert {(b.location, b.name) for b in update.binding.arguments if b.argument == "id"} == {
        ("path", "id"),
        ("body", "id"),
    }


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_official_annotations_match_http_method(method: str) -> None:
    """Read-only hints are set exactly on GET operations, destructive ones on PUT and DELETE."""
    for tool in _official_tools():
        if tool.binding.method != method:
            continue
        assert tool.annotations.read_only_hint is (method == "GET"), tool.name
        assert tool.annotations.destructive_hint is (method in ("PUT", "DELETE")), tool.name


def test_official_v1_cycle_is_cut_and_schemas_stay_bounded() -> None:
    """The v1 12-schema $ref cycle is inlined to the depth bound, so no schema explodes in size."""
    import json

    largest = max(len(json.dumps(t.input_schema)) for t in _official_tools())
    assert largest < 150_000
