"""The coerce step: ids sent as numbers and counts sent as text become what the schema means; nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.context import Call
from confluence_mcp.pipeline.steps.coerce import CoerceArguments, coercer_for

pytestmark = pytest.mark.anyio

ID = {"type": "string", "pattern": "^[0-9]+$"}
SCHEMA = {
    "type": "object",
    "properties": {
        "id": ID,
        "title": {"type": "string"},
        "limit": {"type": "integer"},
        "space-id": {"type": "array", "items": ID},
        "version": {"type": "object", "properties": {"number": {"type": "integer"}, "message": {"type": "string"}}},
        "ratio": {"type": ["number", "null"]},
    },
}


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ({"id": 393218}, {"id": "393218"}),
        ({"limit": "25"}, {"limit": 25}),
        ({"space-id": [131074, "131075"]}, {"space-id": ["131074", "131075"]}),
        ({"version": {"number": "4", "message": "m"}}, {"version": {"number": 4, "message": "m"}}),
        ({"ratio": "0.5"}, {"ratio": 0.5}),
    ],
)
def test_digits_and_counts_are_turned_into_the_schema_s_type(sent: dict[str, Any], expected: dict[str, Any]) -> None:
    """A number for a digit string, digits for an integer, also inside arrays and nested objects."""
    coerce = coercer_for(SCHEMA)
    assert coerce is not None
    assert coerce(sent) == expected


@pytest.mark.parametrize(
    "sent",
    [
        {"id": True},
        {"id": -3},
        {"id": 1.5},
        {"title": 42},
        {"limit": "25 pages"},
        {"limit": "2.5"},
        {"limit": True},
        {"space-id": "131074"},
        {"version": "4"},
    ],
)
def test_other_mistakes_are_left_for_the_arguments_step_to_name(sent: dict[str, Any]) -> None:
    """Booleans, negative or fractional ids, free text, words and wrong shapes pass through unchanged."""
    coerce = coercer_for(SCHEMA)
    assert coerce is not None
    assert coerce(sent) is sent


def test_the_agent_s_arguments_are_never_mutated() -> None:
    """Coercion builds new containers; what the agent sent is left as it was."""
    sent = {"id": 7, "space-id": [1], "version": {"number": "2"}}
    coerce = coercer_for(SCHEMA)
    assert coerce is not None
    coerce(sent)
    assert sent == {"id": 7, "space-id": [1], "version": {"number": "2"}}


def test_a_schema_with_nothing_to_coerce_has_no_plan() -> None:
    """Free-text strings and booleans need no coercer, so such tools cost nothing extra per call."""
    assert coercer_for({"type": "object", "properties": {"q": {"type": "string"}, "b": {"type": "boolean"}}}) is None
    assert coercer_for({"type": "string", "pattern": "^[a-z]+$"}) is None


async def test_the_step_coerces_a_real_tool_s_arguments(catalog: Catalog) -> None:
    """With our own tools: a numeric page id and a textual limit are fixed before validation."""
    step = CoerceArguments(catalog)
    call = Call(token="t", name="get_single_confluence_page_by_id", arguments={"id": 393218})
    call.tool = catalog.by_name[call.name]
    await step.run(call)
    assert call.arguments == {"id": "393218"}
    listing = Call(token="t", name="list_all_confluence_spaces", arguments={"limit": "2"})
    listing.tool = catalog.by_name[listing.name]
    await step.run(listing)
    assert listing.arguments == {"limit": 2}
    assert catalog.check_arguments(listing.tool, listing.arguments) is None
