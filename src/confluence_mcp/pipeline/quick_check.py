"""A quick yes for arguments a schema plainly accepts, so most calls skip the full JSON Schema validator.

``quick_check(schema)`` compiles an object schema whose properties are plain scalars (one ``type`` of string,
integer, number or boolean, with ``enum``, ``pattern``, length and numeric bounds) into a function that answers
True only when the full validator would find nothing wrong. It answers False whenever it is not sure (an
argument of another shape, a float sent for an integer, an unknown keyword), and the caller then runs the full
validator, which also writes the messages. So a wrong True is the only bug possible here, and the tests compare
both over every tool. The full validator costs about 10 µs per call on a small schema; this, about 1.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

QuickCheck = Callable[[Mapping[str, Any]], bool]

# Keywords that say nothing about validity (annotations), and those this module enforces itself.
_ANNOTATIONS: Final = frozenset({"description", "title", "default", "examples", "deprecated", "format"})
_SCALAR_KEYWORDS: Final = frozenset(
    {"type", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
)
_OBJECT_KEYWORDS: Final = frozenset({"type", "properties", "required", "additionalProperties"})
_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "string": (str,),
    "integer": (int,),  # exactly int: bool is refused, and 1.0 (an integer to JSON Schema) goes the slow way
    "number": (int, float),
    "boolean": (bool,),
}
ValueCheck = Callable[[Any], bool]


def quick_check(schema: Mapping[str, Any]) -> QuickCheck | None:
    """Return the quick check of an object schema, or None when it has nothing a quick check can cover."""
    if schema.get("type") != "object" or not set(schema) <= _OBJECT_KEYWORDS | _ANNOTATIONS:
        return None
    closed = schema.get("additionalProperties", True)
    if closed not in (True, False):
        return None
    properties = schema.get("properties", {})
    if not isinstance(properties, Mapping):
        return None
    checks = {name: _value_check(sub) for name, sub in properties.items()}
    required = tuple(schema.get("required", ()))
    known = frozenset(properties)

    def check(arguments: Mapping[str, Any]) -> bool:
        for name in required:
            if name not in arguments:
                return False
        for name, value in arguments.items():
            value_check = checks.get(name)
            if value_check is None:
                if name in known or closed is False:
                    return False  # a shape we do not check, or an argument the schema refuses
                continue
            if not value_check(value):
                return False
        return True

    return check


def _never(_: Any) -> bool:
    return False


def _value_check(schema: Any) -> ValueCheck | None:
    """Return the check of one scalar property, or None when the property is not a plain scalar."""
    if not isinstance(schema, Mapping) or not set(schema) <= _SCALAR_KEYWORDS | _ANNOTATIONS:
        return None
    kind = schema.get("type")
    kinds = _TYPES.get(kind) if isinstance(kind, str) else None
    if kinds is None:
        return None
    tests: list[ValueCheck] = []
    enum = schema.get("enum")
    if enum is not None:
        if not isinstance(enum, list) or not all(type(v) in kinds and type(v) is not bool for v in enum):
            return None  # 1 == True: leave enums that mix such values to the full validator
        allowed = frozenset(enum)
        tests.append(allowed.__contains__)
    pattern = schema.get("pattern")
    if pattern is not None:
        try:
            search = re.compile(pattern).search
        except (re.error, TypeError):
            return None  # a pattern Python cannot read: the full validator decides (and names it)
        tests.append(lambda v: search(v) is not None)
    # Each bound applies to its own kind only (a minLength beside type integer asserts nothing).
    tests.extend(_length_tests(schema) if kind == "string" else _number_tests(schema) if kind != "boolean" else [])
    if not tests:
        return lambda value: type(value) in kinds

    def value_check(value: Any) -> bool:
        return type(value) in kinds and all(test(value) for test in tests)

    return value_check


def _length_tests(schema: Mapping[str, Any]) -> list[ValueCheck]:
    tests: list[ValueCheck] = []
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None:
        tests.append(lambda v: len(v) >= low)
    if high is not None:
        tests.append(lambda v: len(v) <= high)
    return tests


def _number_tests(schema: Mapping[str, Any]) -> list[ValueCheck]:
    bounds = {k: schema[k] for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") if k in schema}
    if not all(type(b) in (int, float) for b in bounds.values()):
        return [_never]
    tests: list[ValueCheck] = []
    if "minimum" in bounds:
        tests.append(_at_least(bounds["minimum"]))
    if "maximum" in bounds:
        tests.append(_at_most(bounds["maximum"]))
    if "exclusiveMinimum" in bounds:
        tests.append(_above(bounds["exclusiveMinimum"]))
    if "exclusiveMaximum" in bounds:
        tests.append(_below(bounds["exclusiveMaximum"]))
    return tests


def _at_least(bound: float) -> ValueCheck:
    return lambda v: bool(v >= bound)


def _at_most(bound: float) -> ValueCheck:
    return lambda v: bool(v <= bound)


def _above(bound: float) -> ValueCheck:
    return lambda v: bool(v > bound)


def _below(bound: float) -> ValueCheck:
    return lambda v: bool(v < bound)
