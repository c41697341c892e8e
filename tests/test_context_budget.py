"""The default tools/list stays within its context budget and its descriptions still carry the traps."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from confluence_mcp.openapi import default_documents, generate_tools
from confluence_mcp.openapi.compact import wire_schema
from confluence_mcp.openapi.flatten import flatten
from confluence_mcp.openapi.loader import read_document, read_operations
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.extras import SERVER_TOOLS as EXTRA_TOOLS
from confluence_mcp.policy.filters import ToolFilter
from confluence_mcp.rpc.versions import INSTRUCTIONS
from confluence_mcp.settings import ServerSettings

TARGET_BYTES = 25_000
"""The issue's budget for the default tool set, all tools/list pages together."""

CEILING_BYTES = 32_000
"""What the default set is held to until the target is met: 31.5 KB measured for 55 tools (with search, fetch
and the attachment download; Markdown, expected_version and the other server additions included)."""

MIN_DESCRIPTION = 60
# Words of a tool name that say how it is called, not what it is about.
_NAME_NOISE = frozenset({"list", "all", "confluence", "get", "single", "by", "id", "create", "a", "update", "delete"})
_LEADING_VERB = re.compile(
    r"^(Lists|Reads|Creates|Replaces|Moves|Deletes|Finds|Searches|Returns|Turns|Adds|Removes|"
    r"Publishes|Comments)\b"
)


@cache
def _served_pages() -> tuple[tuple[dict[str, Any], ...], ...]:
    """Every tools/list page the server answers for an MCP server without filters, walked by cursor."""
    page_size = ServerSettings().tools_page_size  # what create_app passes: the server's default pages
    catalog = Catalog(generate_tools(default_documents()), page_size=page_size, extras=EXTRA_TOOLS)
    view = catalog.view(ToolFilter())  # what create_app builds: our documents plus search and fetch
    pages: list[tuple[dict[str, Any], ...]] = []
    cursor: str | None = None
    while True:
        page, cursor = view.page(cursor)
        pages.append(page)
        if cursor is None:
            return tuple(pages)


def _served_tools() -> list[dict[str, Any]]:
    return [tool for page in _served_pages() for tool in page]


def _size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON, the form that lands in an agent's context."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _report() -> str:
    total = sum(_size(list(page)) for page in _served_pages())
    largest = sorted(_served_tools(), key=_size, reverse=True)[:5]
    top = ", ".join(f"{t['name']} {_size(t)}" for t in largest)
    return f"default tools/list is {total} bytes for {len(_served_tools())} tools; largest: {top}"


def test_default_tools_list_stays_under_its_ceiling() -> None:
    """All pages of the unfiltered tools/list together stay under the ceiling this branch holds to."""
    total = sum(_size(list(page)) for page in _served_pages())
    assert total <= CEILING_BYTES, _report()


@pytest.mark.xfail(
    strict=True,
    reason="54 tools' names, titles, annotations and argument schemas without a word of description are ~23 KB; "
    "see openapi/README.md, 'Context budget'",
)
def test_default_tools_list_fits_the_target_budget() -> None:
    """All pages of the unfiltered tools/list together are at most 25,000 bytes of compact JSON."""
    total = sum(_size(list(page)) for page in _served_pages())
    assert total <= TARGET_BYTES, _report()


def test_every_description_says_what_the_tool_does() -> None:
    """Each description has 60+ characters, opens with a verb and names what the tool acts on."""
    problems = []
    for tool in _served_tools():
        text = tool["description"]
        subjects = [w[:4] for w in tool["name"].split("_") if w not in _NAME_NOISE and len(w) >= 4]
        if len(text) < MIN_DESCRIPTION:
            problems.append(f"{tool['name']}: {len(text)} characters")
        elif not _LEADING_VERB.match(text):
            problems.append(f"{tool['name']}: does not open with what it does: {text[:40]!r}")
        elif not any(s in text.lower().replace(" ", "") for s in subjects):
            problems.append(f"{tool['name']}: names none of {subjects}")
    assert problems == []


def test_list_tools_say_how_to_page_and_update_tools_the_version_rule() -> None:
    """List tools mention `cursor` and `next_cursor`; update tools say version.number = current + 1."""
    catalog = Catalog(generate_tools(default_documents()))
    lists = [t for t in catalog.tools if t.method == "list"]
    updates = [t for t in catalog.tools if t.method == "update"]
    assert len(lists) >= 20
    assert len(updates) >= 3
    assert [t.name for t in lists if "`cursor`" not in t.description or "`next_cursor`" not in t.description] == []
    assert [t.name for t in updates if "`version.number` = current + 1" not in t.description] == []


def test_instructions_carry_the_traps_descriptions_leave_out() -> None:
    """The server instructions state once what every tool relies on."""
    for phrase in (
        "storage format",
        "body-format=markdown",
        "placeholders, which you leave as they are",
        "version.number = current version + 1",
        "numeric space ids",
        "space keys",
        "accountIds",
        "quote every value",
        "pass cursor from the result's next_cursor; null means done",
    ):
        assert phrase in INSTRUCTIONS, phrase


def _without_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_descriptions(v) for k, v in node.items() if not (k == "description" and isinstance(v, str))}
    if isinstance(node, list):
        return [_without_descriptions(v) for v in node]
    return node


def test_compaction_drops_only_descriptions_from_what_the_server_validates() -> None:
    """Validation schemas equal the uncompacted ones but for descriptions: no type, enum, pattern or bound is lost."""
    operations = {
        (op.method, op.path): op
        for path in default_documents()
        for op in read_operations(read_document(path), str(path))
    }
    for tool in generate_tools(default_documents()):
        uncompacted, _ = flatten(operations[(tool.binding.method, tool.binding.path)])
        assert _without_descriptions(tool.input_schema) == _without_descriptions(uncompacted), tool.name


def test_served_schemas_are_the_validation_schemas_without_bounds() -> None:
    """tools/list shows each schema minus bound-only keywords; it stays valid 2020-12 and keeps types and enums."""
    catalog = Catalog(generate_tools(default_documents()), extras=EXTRA_TOOLS)
    for tool in _served_tools():
        schema = tool["inputSchema"]
        Draft202012Validator.check_schema(schema)
        assert schema == wire_schema(catalog.by_name[tool["name"]].input_schema), tool["name"]
        assert "additionalProperties" not in schema
    by_name = {t["name"]: t["inputSchema"]["properties"] for t in _served_tools()}
    assert by_name["get_single_confluence_page_by_id"]["id"] == {"type": "string"}
    assert by_name["list_all_confluence_pages"]["status"]["items"]["enum"][:2] == ["current", "archived"]


def test_the_server_still_enforces_every_bound_it_does_not_show() -> None:
    """The full schema validates calls: a non-digit id and an unknown argument are refused with their names."""
    catalog = Catalog(generate_tools(default_documents()), extras=EXTRA_TOOLS)
    tool = catalog.by_name["get_single_confluence_page_by_id"]
    assert tool.input_schema["additionalProperties"] is False
    assert tool.input_schema["properties"]["id"]["pattern"] == "^[0-9]+$"
    bad_id = catalog.check_arguments(tool, {"id": "abc"})
    assert bad_id is not None
    assert "'abc' does not match '^[0-9]+$'" in bad_id
    unknown = catalog.check_arguments(tool, {"id": "1", "colour": "red"})
    assert unknown is not None
    assert "'colour' was unexpected" in unknown
