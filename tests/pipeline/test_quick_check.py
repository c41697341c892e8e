"""The quick check never says yes where the full JSON Schema validator would find an error, and says yes often."""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from confluence_mcp.openapi import default_documents, generate_tools
from confluence_mcp.openapi.models import Tool
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.extras import SERVER_TOOLS
from confluence_mcp.pipeline.quick_check import quick_check
from tests.support.official import V1, V2

# Values of every JSON kind, at and around the edges the schemas here use (digits, lengths, bounds, enums).
SAMPLES: tuple[Any, ...] = (
    "123",
    "abc",
    "",
    "current",
    "storage",
    "x" * 300,
    "12a",
    0,
    1,
    -1,
    250,
    251,
    1000,
    1.0,
    2.5,
    True,
    False,
    None,
    [],
    ["1"],
    {},
    {"number": 1},
)


@cache
def _tools() -> tuple[Tool, ...]:
    """Every tool we serve, and every tool Atlassian's own documents give, as the catalog shows them."""
    ours = Catalog(generate_tools(default_documents()), extras=SERVER_TOOLS).tools
    official = Catalog(generate_tools([V1, V2])).tools
    return (*ours, *official)


def _argument_sets(tool: Tool) -> list[dict[str, Any]]:
    """Arguments built from the tool's own property names with every sample value, one and two at a time."""
    names = list(tool.input_schema.get("properties", {}))[:6]
    required = dict.fromkeys(tool.input_schema.get("required", ()), "123")
    sets: list[dict[str, Any]] = [{}, dict(required), {**required, "surprise": "x"}]
    for name in names:
        sets.extend({**required, name: value} for value in SAMPLES)
    for first, second in itertools.combinations(names, 2):
        sets.extend({**required, first: a, second: b} for a, b in itertools.product(SAMPLES[:8], repeat=2))
    return sets


def test_a_quick_yes_is_always_a_yes_of_the_full_validator() -> None:
    """Over every tool of ours and of Atlassian's documents, quick True implies no validation error."""
    wrong: list[str] = []
    quick_yes = 0
    for tool in _tools():
        check = quick_check(tool.input_schema)
        if check is None:
            continue
        validator = Draft202012Validator(tool.input_schema)
        for arguments in _argument_sets(tool):
            if check(arguments):
                quick_yes += 1
                if not validator.is_valid(arguments):
                    wrong.append(f"{tool.name}: {arguments}")
    assert wrong == []
    assert quick_yes > 1000  # the comparison is not vacuous


def test_common_calls_take_the_quick_yes_and_bad_ones_go_to_the_validator() -> None:
    """A get by id passes quickly; a number id, a bad pattern, an unknown or a missing argument do not."""
    catalog = Catalog(generate_tools(default_documents()), extras=SERVER_TOOLS)
    get_page = quick_check(catalog.by_name["get_single_confluence_page_by_id"].input_schema)
    assert get_page is not None
    assert get_page({"id": "393218"}) is True
    assert get_page({"id": "393218", "body-format": "markdown"}) is True
    for bad in ({"id": 393218}, {"id": "abc"}, {"id": "1", "colour": "red"}, {}, {"id": "1", "body-format": "md"}):
        assert get_page(bad) is False, bad
    covered = [t.name for t in catalog.tools if quick_check(t.input_schema) is not None]
    assert len(covered) >= len(catalog.tools) // 2, covered


@pytest.mark.parametrize(
    ("schema", "value", "expected"),
    [
        ({"type": "integer", "minimum": 1}, 1, True),
        ({"type": "integer", "minimum": 1}, 0, False),
        ({"type": "integer"}, True, False),
        ({"type": "integer"}, 1.0, False),  # valid to JSON Schema, but left to the full validator
        ({"type": "number", "exclusiveMaximum": 2}, 2, False),
        ({"type": "string", "maxLength": 2}, "abc", False),
        ({"type": "string", "minLength": 1}, "", False),
        ({"type": "boolean"}, 0, False),
        ({"type": "string", "enum": ["a"]}, "b", False),
    ],
)
def test_each_scalar_keyword_is_enforced(schema: dict[str, Any], value: Any, expected: bool) -> None:
    """Bounds, exact types and enums each decide; doubt means no."""
    check = quick_check({"type": "object", "properties": {"x": schema}})
    assert check is not None
    assert check({"x": value}) is expected
