"""OpenAPI schema objects -> self-contained JSON Schema 2020-12 (refs inlined, allOf merged, nullable mapped)."""

from __future__ import annotations

import re
from typing import Any

from confluence_mcp.errors import SpecError
from confluence_mcp.openapi.refs import Resolver

MAX_REF_DEPTH = 4
"""Nested ``$ref`` levels inlined before an object is summarized: bounds cycles and keeps schemas small."""

# Keywords of JSON Schema 2020-12 that we carry over; everything else (xml, discriminator, example,
# externalDocs, x-*) is dropped so every result validates against the 2020-12 meta-schema.
_SCALAR_KEYWORDS = frozenset(
    {
        "title",
        "description",
        "default",
        "format",
        "const",
        "multipleOf",
        "maximum",
        "minimum",
        "maxLength",
        "minLength",
        "maxItems",
        "minItems",
        "uniqueItems",
        "maxProperties",
        "minProperties",
        "deprecated",
        "writeOnly",
        "examples",
    }
)
_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})


def to_json_schema(resolver: Resolver, node: Any, pointer: str) -> dict[str, Any]:
    """Convert the schema at ``pointer`` for a request: readOnly properties dropped, refs inlined."""
    return _convert(resolver, node, pointer, MAX_REF_DEPTH)


def _convert(resolver: Resolver, node: Any, pointer: str, depth: int) -> dict[str, Any]:
    if isinstance(node, bool):
        return {} if node else {"not": {}}
    if not isinstance(node, dict):
        raise SpecError(resolver.source, pointer, f"a schema must be an object, found {type(node).__name__}")
    ref = node.get("$ref")
    if isinstance(ref, str):
        return _convert_ref(resolver, ref, node, pointer, depth)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCALAR_KEYWORDS:
            out[key] = value
    if "example" in node and "examples" not in node:
        out["examples"] = [node["example"]]
    if isinstance(out.get("examples"), dict):
        del out["examples"]  # an OpenAPI examples map is not a JSON Schema examples array
    _copy_type(node, out, resolver, pointer)
    _copy_numeric_bounds(node, out)
    if "pattern" in node and isinstance(node["pattern"], str) and _regex_ok(node["pattern"]):
        out["pattern"] = node["pattern"]
    if "enum" in node and isinstance(node["enum"], list):
        out["enum"] = list(node["enum"])
    if isinstance(node.get("properties"), dict):
        props: dict[str, Any] = {}
        for name, sub in node["properties"].items():
            if isinstance(sub, dict) and sub.get("readOnly") is True:
                continue  # the server sets it; an agent must not be asked for it
            props[str(name)] = _convert(resolver, sub, f"{pointer}/properties/{name}", depth)
        out["properties"] = props
        required = node.get("required")
        if isinstance(required, list):
            kept = [r for r in required if r in props]
            if kept:
                out["required"] = kept
    if "items" in node:
        out["items"] = _convert(resolver, node["items"], f"{pointer}/items", depth)
    extra = node.get("additionalProperties")
    if isinstance(extra, bool):
        out["additionalProperties"] = extra
    elif isinstance(extra, dict):
        out["additionalProperties"] = _convert(resolver, extra, f"{pointer}/additionalProperties", depth)
    for key in ("oneOf", "anyOf"):
        if isinstance(node.get(key), list):
            out[key] = [_convert(resolver, s, f"{pointer}/{key}/{i}", depth) for i, s in enumerate(node[key])]
    if isinstance(node.get("not"), dict):
        out["not"] = _convert(resolver, node["not"], f"{pointer}/not", depth)
    if isinstance(node.get("allOf"), list):
        parts = [_convert(resolver, s, f"{pointer}/allOf/{i}", depth) for i, s in enumerate(node["allOf"])]
        out = merge_all_of([out, *parts])
    if node.get("nullable") is True:
        _make_nullable(out)
    return out


def _convert_ref(resolver: Resolver, ref: str, node: dict[str, Any], pointer: str, depth: int) -> dict[str, Any]:
    name = ref.rsplit("/", 1)[-1]
    if depth <= 0:
        # Past the depth bound (this is also where the v1 cycle of Content, Space, User... stops).
        summary: dict[str, Any] = {"type": "object", "description": f"A {name} object (nested structure omitted)."}
        return summary
    key = (ref, depth)
    converted = resolver.memo.get(key)
    if converted is None:
        target, target_pointer = resolver.follow(node, pointer)
        converted = _convert(resolver, target, target_pointer, depth - 1)
        resolver.memo[key] = converted
    siblings = {k: v for k, v in node.items() if k != "$ref"}
    if not siblings:
        return converted
    # OpenAPI 3.1 allows keywords beside $ref (a description, nullable): they refine the target.
    local = _convert(resolver, siblings, pointer, depth)
    if set(local) <= {"description", "title", "default", "deprecated", "examples"}:
        return {**converted, **local}
    return merge_all_of([converted, local])


def _copy_type(node: dict[str, Any], out: dict[str, Any], resolver: Resolver, pointer: str) -> None:
    raw = node.get("type")
    if raw is None:
        if isinstance(node.get("properties"), dict):
            out["type"] = "object"
        return
    types = raw if isinstance(raw, list) else [raw]
    kept = [t for t in types if t in _TYPES]
    if not kept:
        raise SpecError(resolver.source, f"{pointer}/type", f"unknown schema type {raw!r}")
    out["type"] = kept[0] if len(kept) == 1 else kept


def _copy_numeric_bounds(node: dict[str, Any], out: dict[str, Any]) -> None:
    # OpenAPI 3.0 writes exclusive bounds as booleans beside minimum/maximum; 2020-12 wants numbers.
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = node.get(exclusive)
        if isinstance(value, bool):
            if value and bound in out:
                out[exclusive] = out.pop(bound)
        elif isinstance(value, int | float):
            out[exclusive] = value


def _make_nullable(out: dict[str, Any]) -> None:
    kind = out.get("type")
    if isinstance(kind, str) and kind != "null":
        out["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        out["type"] = [*kind, "null"]
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]


def _regex_ok(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False  # a broken pattern in a vendor document must not make a valid value unsendable
    return True


def merge_all_of(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge ``allOf`` members into one schema: properties and required united, first keyword wins."""
    merged: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for part in parts:
        for key, value in part.items():
            if key == "properties":
                for name, sub in value.items():
                    properties.setdefault(name, sub)
            elif key == "required":
                required.extend(r for r in value if r not in required)
            else:
                merged.setdefault(key, value)
    if properties:
        merged["properties"] = properties
        merged.setdefault("type", "object")
    if required:
        merged["required"] = required
    return merged
