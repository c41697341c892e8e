"""RFC 8259 JSON only: what Python's parser accepts beyond it is refused, or for lone surrogates, replaced."""

from __future__ import annotations

import re
from typing import Any

import pytest

from confluence_mcp.policy.json_text import parse_json


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"a":NaN}', "NaN is not a JSON value"),
        (b"[Infinity]", "Infinity is not a JSON value"),
        (b"[-Infinity]", "-Infinity is not a JSON value"),
        (b"[1e999]", "the number 1e999 is too large for a double"),
        (b"[-1e999]", "the number -1e999 is too large for a double"),
        (b"[" + b"7" * 4001 + b"]", "an integer of 4001 digits is too long"),
        (b'["\\ud800"]', "half of a UTF-16 surrogate pair"),
        (b'{"\\udfff":1}', "half of a UTF-16 surrogate pair"),
        (b'["\\ude00\\ud83d"]', "half of a UTF-16 surrogate pair"),  # the halves in the wrong order
        (b'["\xed\xa0\x80"]', "can't decode byte 0xed"),  # a raw surrogate: json.loads let it through
        ("[1]".encode("utf-16"), "can't decode byte 0xff"),  # JSON between systems is UTF-8 (RFC 8259 8.1)
    ],
)
def test_what_json_does_not_have_is_refused_naming_it(raw: bytes, reason: str) -> None:
    """NaN, infinities, overflowing numbers, 4,001-digit integers and lone surrogates are ValueErrors that say so."""
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_json(raw, lone_surrogates="refuse")


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b'{"a":"\\ud83d\\ude00"}', {"a": "\U0001f600"}),  # a pair is one character
        (b'{"a":1.5,"b":-0.0,"c":1e308}', {"a": 1.5, "b": -0.0, "c": 1e308}),
        (b"[" + b"7" * 4000 + b"]", [int("7" * 4000)]),
        (b'"\\u00e9\\\\ud800"', "\u00e9\\ud800"),  # an escaped backslash, then text: no surrogate at all
        (b'\xef\xbb\xbf{"a":1}', {"a": 1}),  # a UTF-8 byte order mark may lead
    ],
)
def test_json_itself_parses_as_before(raw: bytes, value: Any) -> None:
    """Valid pairs, ordinary numbers, long integers and escaped backslashes are untouched."""
    assert parse_json(raw, lone_surrogates="refuse") == value


def test_replace_turns_each_lone_surrogate_into_the_replacement_character_keys_included() -> None:
    """Confluence's content keeps coming: every lone half becomes U+FFFD, a valid pair stays a character."""
    raw = b'{"t\\ud800":["a\\udfffb", {"x":"\\ud83d\\ude00\\ud83d"}]}'
    assert parse_json(raw, lone_surrogates="replace") == {"t\ufffd": ["a\ufffdb", {"x": "\U0001f600\ufffd"}]}
