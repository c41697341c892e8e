"""Compact a finished inputSchema: drop text that repeats what an enclosing schema already says.

Only descriptions go; every keyword that constrains a value (type, enum, pattern, bounds, required)
stays, so the compacted schema accepts exactly the same arguments as the original.
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
