"""The catalog's tools/list entries: what goes on the wire and what the MCP defaults let us leave out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from confluence_mcp.openapi import generate_tools
from confluence_mcp.pipeline.catalog import VIEW_CACHE_LIMIT, Catalog
from confluence_mcp.policy.filters import ToolFilter
from confluence_mcp.rpc.answers import Answers

# The MCP spec's ToolAnnotations defaults; destructive and idempotent mean something only when not read-only.
MCP_DEFAULTS = {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": False, "openWorldHint": True}


def _wire(tmp_path: Path, operation: dict[str, Any], method: str = "get") -> dict[str, Any]:
    doc = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/x/{id}": {method: operation}}}
    path = tmp_path / "doc.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    ((entry,),) = Catalog(generate_tools([path])).view(ToolFilter()).pages
    return entry


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_wire_annotations_mean_the_full_hints_under_mcp_defaults(tmp_path: Path, method: str) -> None:
    """Filling in the MCP defaults gives back every hint that matters; readOnlyHint is always explicit."""
    entry = _wire(tmp_path, {"summary": "Do x", "responses": {}}, method)
    full = generate_tools([tmp_path / "doc.yaml"])[0].annotations.as_dict()
    wire = entry["annotations"]
    assert "title" not in wire
    assert entry["title"] == full["title"]
    assert "readOnlyHint" in wire
    effective = {**MCP_DEFAULTS, **wire}
    if full["readOnlyHint"]:
        assert effective["readOnlyHint"] is True
        assert effective["openWorldHint"] is True
    else:
        assert {k: v for k, v in full.items() if k != "title"} == effective
        assert {"destructiveHint", "idempotentHint"} <= set(wire)


def test_wire_annotations_keep_what_differs_from_the_tool_and_the_defaults(tmp_path: Path) -> None:
    """An annotation title unlike the tool's title, and openWorldHint false, stay on the wire."""
    operation = {
        "summary": "Do x",
        "x-mcp-annotations": {"title": "Do x safely", "openWorldHint": False},
        "responses": {},
    }
    entry = _wire(tmp_path, operation)
    assert entry["annotations"] == {"title": "Do x safely", "readOnlyHint": True, "openWorldHint": False}


def test_view_cache_is_bounded_and_an_evicted_views_cursor_still_pages(tmp_path: Path) -> None:
    """Hundreds of distinct filters keep at most VIEW_CACHE_LIMIT views; a cursor outlives its view's eviction."""
    ops = {f"/x{i}/{{id}}": {"get": {"summary": f"Get x{i}", "responses": {}}} for i in range(30)}
    doc = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": ops}
    path = tmp_path / "doc.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    catalog = Catalog(generate_tools([path]), page_size=1)
    first = ToolFilter(tags=frozenset({"x0s", "x1s"}))  # tags come from the path
    _, cursor = catalog.view(first).page(None)
    assert cursor is not None
    pairs = [frozenset({f"x{a}s", f"x{b}s"}) for a in range(30) for b in range(a + 1, 30)]
    for tags in pairs:
        catalog.view(ToolFilter(tags=tags))
    assert len(pairs) > VIEW_CACHE_LIMIT
    assert catalog.cached_views == VIEW_CACHE_LIMIT
    page, after = catalog.view(first).page(cursor)
    assert [entry["name"] for entry in page] == ["get_single_confluence_x1_by_id"]
    assert after is None


def test_serialized_pages_are_cached_on_their_own_view_and_die_with_it(tmp_path: Path) -> None:
    """A page's transport cache is its view's: an evicted and rebuilt view never sees another view's pages."""
    ops = {f"/x{i}/{{id}}": {"get": {"summary": f"Get x{i}", "responses": {}}} for i in range(3)}
    doc = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": ops}
    path = tmp_path / "doc.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    catalog = Catalog(generate_tools([path]))
    one, other = ToolFilter(tags=frozenset({"x0s"})), ToolFilter(tags=frozenset({"x1s"}))
    page = Answers.tools_page(catalog.view(one), None)
    page.rendered[("test", page.cursor)] = "serialized x0"
    assert page.rendered is catalog.view(one).rendered
    assert Answers.tools_page(catalog.view(other), None).rendered == {}
    for i in range(VIEW_CACHE_LIMIT + 1):  # push ``one`` out of the cache
        catalog.view(ToolFilter(tags=frozenset({f"t{i}"})))
    assert catalog.view(one).rendered == {}
