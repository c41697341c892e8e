"""Which JSON text we take in: RFC 8259 JSON, not the superset Python's parser accepts.

Python's ``json`` reads ``NaN``, ``Infinity`` and ``-Infinity``, turns ``1e999`` into infinity, and keeps an escaped
half of a UTF-16 surrogate pair (``"\\ud800"``) as a lone surrogate, which no UTF-8 text can carry: answering with
it fails. ``parse_json`` refuses the first three with a ``ValueError`` naming the culprit, and lone surrogates
either the same way (a client's request) or by replacing each with U+FFFD (Confluence's content, which the agent
should still get).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Literal

__all__ = ["compact_json", "parse_json"]

_MAX_DIGITS = 4000  # int() itself refuses past 4300 digits, in words about a Python setting
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads joins a valid pair into one character


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is too large for a double")
    return value


def _integer(text: str) -> int:
    if len(text) > _MAX_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits is too long")
    return int(text)


def _no_constant(text: str) -> float:
    raise ValueError(f"{text} is not a JSON value")


compact_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
"""JSON text as results carry it: compact, non-ASCII kept (one shared encoder: json.dumps builds one per call)."""

_REQUESTS = json.JSONDecoder(parse_float=_finite, parse_int=_integer, parse_constant=_no_constant)
# Confluence's lists hold thousands of integers: a callback each would cost, and int() refuses huge ones anyway.
_CONTENT = json.JSONDecoder(parse_float=_finite, parse_constant=_no_constant)


def parse_json(raw: bytes, *, lone_surrogates: Literal["refuse", "replace"]) -> Any:
    """Return the JSON value in ``raw``; raise ValueError (or RecursionError) saying why it is not JSON."""
    # Strict UTF-8 (a BOM allowed): json.loads would also take UTF-16 and, through 'surrogatepass', raw surrogates.
    text = raw.decode("utf-8-sig")
    value = (_REQUESTS if lone_surrogates == "refuse" else _CONTENT).decode(text)
    if "\\u" not in text or not _SURROGATE_ESCAPE.search(text):
        return value
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        if lone_surrogates == "refuse":
            raise ValueError("a \\u escape is half of a UTF-16 surrogate pair, which is not a character") from exc
        return _replaced(value)
    return value


def _replaced(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys included) replaced by U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replaced(item) for item in value]
    if isinstance(value, dict):
        return {_replaced(key): _replaced(item) for key, item in value.items()}
    return value
