"""Compact a finished inputSchema for the agent's context.

``compact_schema`` drops text that repeats what an enclosing schema already says; the result accepts exactly
the same arguments. ``wire_schema`` goes further for what tools/list shows: it leaves out the keywords that
only bound a value (patterns, lengths, item counts, numeric bounds, defaults, ``additionalProperties: false``)
and keeps everything that says what to send (types, enums, properties, required, descriptions). The server
still validates every call against the full schema, and its errors name the bound that was broken, so an
agent loses nothing but the bytes (about a tenth of tools/list).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SUBSCHEMA_MAPS = ("properties",)
_SUBSCHEMAS = ("items", "additionalProperties", "not")
_SUBSCHEMA_LISTS = ("oneOf", "anyOf", "allOf")


def compact_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``schema`` without an array item's description when the array describes itself."""
    out: dict[str, Any] = dict(schema)
    for key in _SUBSCHEMA_MAPS:
        value = out.get(key)
        if isinstance(value, Mapping):
            out[key] = {name: _maybe(sub) for name, sub in value.items()}
    for key in _SUBSCHEMAS:
        if isinstance(out.get(key), Mapping):
            out[key] = compact_schema(out[key])
    for key in _SUBSCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_maybe(sub) for sub in out[key]]
    items = out.get("items")
    if isinstance(items, dict) and "description" in items and isinstance(out.get("description"), str):
        # A list of space ids needs one sentence, not a second one per item (a shared NumericId text).
        out["items"] = {k: v for k, v in items.items() if k != "description"}
    return out


def _maybe(node: Any) -> Any:
    return compact_schema(node) if isinstance(node, Mapping) else node


_BOUNDS_ONLY = frozenset(
    {
        "pattern",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "default",
        "format",
    }
)


def wire_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Return what tools/list shows of an inputSchema: everything but keywords that only bound a value."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _BOUNDS_ONLY or (key == "additionalProperties" and value is False):
            continue
        if key == "properties" and isinstance(value, Mapping):
            out[key] = {name: _wire(sub) for name, sub in value.items()}
        else:
            out[key] = _wire(value)
    return out


def _wire(node: Any) -> Any:
    if isinstance(node, Mapping):
        return wire_schema(node)
    if isinstance(node, list):
        return [_wire(item) for item in node]
    return node
