"""Step 3, coerce: accept what agents actually send for ids and counts, as the value the schema means.

A number where the schema asks for a string of digits (``"id": 393218``) becomes that string; a string of
digits where it asks for an integer (``"limit": "25"``) becomes the integer. Nothing else changes, so every
other mistake still meets the precise error of the ``arguments`` step. The plan is compiled once per tool
from its input schema; a tool with nothing to coerce costs one dictionary lookup per call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.context import Call

Coercer = Callable[[Any], Any]
"""Returns the value coerced, or the very same object when nothing needed to change."""

_INTEGER_TEXT = re.compile(r"^-?[0-9]{1,18}$")
_NUMBER_TEXT = re.compile(r"^-?[0-9]{1,18}(\.[0-9]+)?$")
_SAMPLE_DIGITS = "1234567890"


class CoerceArguments:
    """Rewrites ``call.arguments`` where a value's JSON type is the common mix-up of digits and numbers."""

    name = "coerce"

    def __init__(self, catalog: Catalog) -> None:
        self._plans = {t.name: plan for t in catalog.tools if (plan := coercer_for(t.input_schema)) is not None}

    async def run(self, call: Call) -> None:
        """Coerce the arguments of tools whose schema has ids or counts; others pass untouched."""
        assert call.tool is not None  # visible runs first
        plan = self._plans.get(call.tool.name)
        if plan is not None:
            call.arguments = plan(call.arguments)


def coercer_for(schema: Mapping[str, Any]) -> Coercer | None:
    """Return the coercer for values of ``schema``, or None when no value of it is ever coerced."""
    kind = _main_type(schema)
    if kind == "string" and _digits_allowed(schema):
        return _digits_from_number
    if kind == "integer":
        return _integer_from_text
    if kind == "number":
        return _number_from_text
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        item = coercer_for(schema["items"])
        return _each(item) if item is not None else None
    if kind == "object" and isinstance(schema.get("properties"), Mapping):
        fields = {k: c for k, v in schema["properties"].items() if isinstance(v, Mapping) and (c := coercer_for(v))}
        return _fields(fields) if fields else None
    return None


def _main_type(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]: the non-null one decides
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    return kind if isinstance(kind, str) else None


def _digits_allowed(schema: Mapping[str, Any]) -> bool:
    # Only strings whose pattern is about digits (numeric ids); a free-text string never takes a number.
    pattern = schema.get("pattern")
    if not isinstance(pattern, str):
        return False
    try:
        return re.search(pattern, _SAMPLE_DIGITS) is not None and re.search(pattern, "x") is None
    except re.error:
        return False


def _digits_from_number(value: Any) -> Any:
    return str(value) if type(value) is int and value >= 0 else value  # bool is an int too, and stays


def _integer_from_text(value: Any) -> Any:
    return int(value) if isinstance(value, str) and _INTEGER_TEXT.match(value) else value


def _number_from_text(value: Any) -> Any:
    if isinstance(value, str) and _NUMBER_TEXT.match(value):
        return float(value) if "." in value else int(value)
    return value


def _each(item: Coercer) -> Coercer:
    def coerce(value: Any) -> Any:
        if not isinstance(value, list):
            return value
        new = [item(v) for v in value]
        return new if any(a is not b for a, b in zip(new, value, strict=True)) else value

    return coerce


def _fields(fields: Mapping[str, Coercer]) -> Coercer:
    def coerce(value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        changed: dict[str, Any] | None = None
        for key, field in fields.items():
            if key in value:
                old = value[key]
                new = field(old)
                if new is not old:
                    if changed is None:
                        changed = dict(value)  # never mutate what the agent sent
                    changed[key] = new
        return changed if changed is not None else value

    return coerce
