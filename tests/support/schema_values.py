"""Hypothesis strategies from a JSON Schema: values it accepts, and the same with wrong types mixed in.

Tool input schemas use only ``type``, ``properties``, ``required``, ``enum`` and ``items`` (the catalog compacts
them); the admin API's pydantic schemas add ``$ref``, ``anyOf``, ``format`` and string lengths. A small strategy
of our own covers both (hypothesis-jsonschema does not run on current hypothesis); strings lean on what breaks
URLs and parsers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from hypothesis import strategies as st

__all__ = ["arguments_for", "mistyped_arguments_for", "value_for"]

_NASTY_TEXT = [
    "",
    "0",
    "-1",
    "99999999999999999999999",
    "../../admin",
    "..",
    "%2e%2e%2f",
    "a/b?c=d#e",
    "http://169.254.169.254/latest",
    "@evil.example",
    "\x00",
    "\r\nX-Injected: 1",
    "<script>alert(1)</script>",
    'title ~ "x" OR 1=1',
    "é" * 300,
    "\ud7ff\ue000\U0010ffff",
]
_texts = st.sampled_from(_NASTY_TEXT) | st.text(max_size=40) | st.from_regex(r"\d{1,20}", fullmatch=True)
_integers = st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63), 10**30]) | st.integers()
_SCALAR_BY_TYPE: dict[str, st.SearchStrategy[Any]] = {
    "string": _texts,
    "integer": _integers,
    "number": _integers | st.floats(allow_nan=False, allow_infinity=False),
    "boolean": st.booleans(),
    "null": st.none(),
}
_any_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | _integers | st.floats(allow_nan=False, allow_infinity=False) | _texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


_MOMENTS = st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.isoformat().replace("+00:00", "Z"))
_FORMATS: dict[str, st.SearchStrategy[Any]] = {
    "date-time": _MOMENTS | _texts,
    "uri": st.sampled_from(["https://acme.atlassian.net", "http://127.0.0.1:1", "file:///etc/passwd"]) | _texts,
}
Document = Mapping[str, Any]


def value_for(schema: Mapping[str, Any], document: Document | None = None) -> st.SearchStrategy[Any]:
    """Return a strategy for values ``schema`` accepts (anything JSON when it says nothing).

    ``document`` is what local ``$ref``s (``#/components/...``) point into.
    """
    if "$ref" in schema:
        assert document is not None, schema
        target: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return value_for(target, document)
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    if "const" in schema:
        return st.just(schema["const"])
    if "anyOf" in schema or "oneOf" in schema:
        return st.one_of([value_for(option, document) for option in schema.get("anyOf", schema.get("oneOf"))])
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    return st.one_of([_value_of_type(schema, name, document) for name in kinds])


def _value_of_type(schema: Mapping[str, Any], kind: str | None, document: Document | None) -> st.SearchStrategy[Any]:
    if kind == "object":
        return arguments_for(schema, document)
    if kind == "array":
        return st.lists(value_for(schema.get("items", {}), document), max_size=min(4, schema.get("maxItems", 4)))
    if kind is None:
        return _any_json
    if kind == "string" and "format" in schema:
        return _FORMATS.get(schema["format"], _texts)
    if kind == "string" and ("minLength" in schema or "maxLength" in schema):
        low, high = schema.get("minLength", 0), schema.get("maxLength", 40)
        return _texts.filter(lambda text: low <= len(text) <= high) | st.text(min_size=low, max_size=min(high, 60))
    return _SCALAR_BY_TYPE[kind]


@st.composite
def arguments_for(draw: st.DrawFn, schema: Mapping[str, Any], document: Document | None = None) -> dict[str, Any]:
    """Every required property and a drawn subset of the optional ones, each with an accepted value."""
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    chosen = {name for name in properties if name in required or draw(st.booleans())}
    return {name: draw(value_for(properties[name], document)) for name in sorted(chosen)}


def _wrong_type(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """A JSON value the schema's type does not name (enum members excluded)."""
    kind = schema.get("type")
    kinds = set(kind if isinstance(kind, list) else [kind])
    enum = schema.get("enum")
    return _any_json.filter(
        lambda value: (
            _json_type(value) not in kinds
            and not (_json_type(value) == "integer" and "number" in kinds)
            and (enum is None or value not in enum)
        )
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@st.composite
def mistyped_arguments_for(
    draw: st.DrawFn, schema: Mapping[str, Any], document: Document | None = None
) -> tuple[str, str | None, Any]:
    """Accepted arguments spoiled one way; return ``(how, the property concerned, arguments)``.

    ``how`` is ``wrong type`` (one property), ``missing`` (a required one), ``unknown`` (an extra one) or
    ``not an object`` (the arguments themselves).
    """
    arguments = draw(arguments_for(schema, document))
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = sorted(schema.get("required", ()))
    how = draw(st.sampled_from(["wrong type", "missing", "unknown", "not an object"]))
    if how == "wrong type" and properties:
        name = draw(st.sampled_from(sorted(properties)))
        arguments[name] = draw(_wrong_type(properties[name]))
        return how, name, arguments
    if how == "missing" and required:
        name = draw(st.sampled_from(required))
        del arguments[name]
        return how, name, arguments
    if how == "unknown":
        name = draw(st.text(min_size=1, max_size=12).filter(lambda key: key not in properties))
        arguments[name] = draw(_any_json)
        return how, name, arguments
    return "not an object", None, draw(_any_json.filter(lambda value: not isinstance(value, dict | None)))
