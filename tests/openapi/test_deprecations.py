"""Deprecated operations: marked first in their description with their replacement, hidden per server filter."""

from __future__ import annotations

import pytest

from confluence_mcp.openapi import Tool, default_documents, generate_tools
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.extras import SERVER_TOOLS
from confluence_mcp.policy.filters import HideDeprecated, ToolFilter, visible_tools
from tests.support.official import V1, V2, official_tools

REPLACED = {
    "list_all_confluence_content_descendants": "list_all_confluence_page_descendants",
    "get_single_confluence_content_descendant_by_id": "list_all_confluence_page_descendants",
    "list_all_confluence_page_children": "list_all_confluence_page_direct_children",
}


def _deprecated(tools: tuple[Tool, ...]) -> dict[str, str | None]:
    return {t.name: t.replaced_by for t in tools if t.deprecated}


def test_each_official_document_marks_its_deprecated_operations() -> None:
    """v1 deprecates two operations and v2 one; alone, only v2's has a replacement in its own document."""
    assert _deprecated(generate_tools([V1])) == {
        "list_all_confluence_content_descendants": None,
        "get_single_confluence_content_descendant_by_id": None,
    }
    assert _deprecated(generate_tools([V2])) == {
        "list_all_confluence_page_children": "list_all_confluence_page_direct_children"
    }


def test_served_together_every_deprecated_operation_names_its_replacement_first() -> None:
    """With both documents all three are replaced, and each description opens with it."""
    tools = official_tools()
    assert _deprecated(tools) == REPLACED
    by_name = {t.name: t for t in tools}
    for name, replacement in REPLACED.items():
        assert by_name[name].description.startswith(f"Deprecated by Confluence (use {replacement}). "), name
        assert not by_name[replacement].deprecated


def test_a_deprecated_operation_without_a_replacement_says_so() -> None:
    """Served alone, v1 descendants say there is no replacement tool, and no other description says deprecated."""
    tools = generate_tools([V1])
    marked = [t.name for t in tools if t.description.startswith("Deprecated by Confluence (no replacement tool). ")]
    assert sorted(marked) == sorted(_deprecated(tools))


def test_our_document_has_no_deprecated_operation_so_the_default_set_loses_nothing() -> None:
    """confluence.yaml uses none of them: the default tools/list is the same under every hide_deprecated value."""
    catalog = Catalog(generate_tools(default_documents()), extras=SERVER_TOOLS)
    assert _deprecated(catalog.tools) == {}
    views = {mode: catalog.view(ToolFilter(hide_deprecated=mode)).tools for mode in ("replaced", "all", "none")}
    assert views["replaced"] == views["all"] == views["none"] == catalog.tools


@pytest.mark.parametrize(
    ("mode", "documents", "hidden"),
    [
        ("replaced", "both", set(REPLACED)),
        ("all", "both", set(REPLACED)),
        ("none", "both", set()),
        ("replaced", "v1", set()),  # nothing served replaces v1 descendants, so they stay
        ("all", "v1", {"list_all_confluence_content_descendants", "get_single_confluence_content_descendant_by_id"}),
    ],
)
def test_hide_deprecated_hides_what_it_says(mode: HideDeprecated, documents: str, hidden: set[str]) -> None:
    """replaced hides deprecated tools with a replacement, all hides every one, none hides nothing."""
    tools = official_tools() if documents == "both" else generate_tools([V1])
    shown = {t.name for t in visible_tools(tools, ToolFilter(hide_deprecated=mode))}
    assert {t.name for t in tools} - shown == hidden


def test_hiding_combines_with_methods_and_tags() -> None:
    """A deprecated read is shown to a read/pages server only when hide_deprecated is none."""
    tools = official_tools()
    reads = ToolFilter(methods=frozenset({"read"}), tags=frozenset({"pages"}))
    assert "list_all_confluence_page_children" not in {t.name for t in visible_tools(tools, reads)}
    shown = visible_tools(tools, ToolFilter(reads.methods, reads.tags, "none"))
    assert "list_all_confluence_page_children" in {t.name for t in shown}
