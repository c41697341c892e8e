"""The text cap's pure parts: where results are cut, how continuations resume, which tokens are refused."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from confluence_mcp.pipeline.text_cap import (
    Continuation,
    cap_result,
    decode_continuation,
    encode_continuation,
    resume,
    resume_text,
)

_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _page(body: str) -> dict[str, Any]:
    return {"id": "7", "title": "Plan", "body": {"storage": {"representation": "storage", "value": body}}}


def _parts(structured: dict[str, Any], cap: int) -> list[dict[str, Any]]:
    """Every part an agent reads by following continue_from from the first cut, as the finisher serves them."""
    parts: list[dict[str, Any]] = []
    start: Continuation | None = None
    while True:
        current = structured if start is None else resume(structured, start)
        capped = cap_result(_ENCODE(current), current, cap, start=start)
        if capped is None:
            parts.append(current)
            return parts
        assert capped.structured is not None
        assert len(capped.text) <= cap - 400  # room stays for the note and the token
        parts.append(capped.structured)
        start = capped.continuation
        assert len(parts) < 100


def test_a_long_body_is_cut_before_top_level_elements_and_its_parts_join_to_the_whole() -> None:
    """Every part but the first starts with a top-level element; the joined parts are the body exactly."""
    blocks = [
        f'<div><h2>Part {i}</h2><p>Text "{i}" &amp; <em>more</em></p><ul><li><p>x</p></li></ul></div>'
        for i in range(400)
    ]
    body = "".join(blocks)

    parts = _parts(_page(body), 5_000)

    values = [p["body"]["storage"]["value"] for p in parts]
    assert len(values) > 3
    assert "".join(values) == body
    assert all(v.startswith("<div><h2>") for v in values)  # a cut never falls inside a block
    assert all(p["id"] == "7" for p in parts)


def test_markup_inside_cdata_is_not_taken_for_a_boundary() -> None:
    """A code macro's CDATA holding tags is one block: no part starts inside it (the macro fits in one part)."""
    code = '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[' + "<p>not a tag</p>\n" * 100
    code += "]]></ac:plain-text-body></ac:structured-macro>"
    body = "<p>intro</p>" * 200 + code + "<p>outro</p>" * 300

    values = [p["body"]["storage"]["value"] for p in _parts(_page(body), 4_000)]

    assert "".join(values) == body
    assert all(not v.startswith(("<p>not a tag", "<ac:plain-text-body>")) for v in values)
    assert any(v.startswith("<ac:structured-macro") for v in values)


def test_a_list_is_cut_between_items_and_nothing_is_lost_or_repeated() -> None:
    """The results list is the largest part: each part holds whole items, in order, together all of them."""
    listed = {"results": [{"id": str(i), "title": f"Page {i} " + "x" * 200} for i in range(100)], "next_cursor": "c"}

    parts = _parts(listed, 3_000)

    ids = [item["id"] for part in parts for item in part["results"]]
    assert ids == [str(i) for i in range(100)]
    assert all(part["next_cursor"] == "c" for part in parts)
    assert parts[1]["continued"] == "results from item " + str(len(parts[0]["results"]))


def test_a_text_result_is_cut_at_a_line_break_and_resumes_from_there() -> None:
    """A result with no structured content is cut at a paragraph break; the rest follows from that offset."""
    text = "\n\n".join(f"Paragraph {i} " + "word " * 30 for i in range(200))

    capped = cap_result(text, None, 4_000)

    assert capped is not None
    assert capped.text.endswith("\n\n")
    assert capped.text + resume_text(text, capped.continuation) == text
    assert capped.left == len(text) - len(capped.text)


def test_a_result_within_the_cap_is_left_alone() -> None:
    """Nothing to cut: cap_result says so, and the result goes out unchanged."""
    assert cap_result(_ENCODE(_page("<p>short</p>")), _page("<p>short</p>"), 2_000) is None


def test_continuation_tokens_round_trip_and_foreign_ones_are_refused() -> None:
    """Our tokens decode to what was encoded; anything else raises ValueError with a reason."""
    continuation = Continuation(("body", "storage", "value"), 97_103)
    assert decode_continuation(encode_continuation(continuation)) == continuation

    forged = [
        "",
        42,
        "not base64!",
        base64.urlsafe_b64encode(b'{"p":["a"],"o":0}').decode(),  # offset must be past the start
        base64.urlsafe_b64encode(b'{"p":"a","o":3}').decode(),
        base64.urlsafe_b64encode(b'{"p":[{"x":1}],"o":3}').decode(),
        base64.urlsafe_b64encode(b'{"c":"cursor"}').decode(),
        "A" * 5000,
    ]
    for token in forged:
        with pytest.raises(ValueError, match="continue_from"):
            decode_continuation(token)


def test_a_continuation_that_no_longer_fits_the_result_is_refused() -> None:
    """The page shrank since the cut, or the path is gone: resume says so instead of returning a wrong part."""
    with pytest.raises(ValueError, match="changed since the cut"):
        resume(_page("<p>short</p>"), Continuation(("body", "storage", "value"), 10_000))
    with pytest.raises(ValueError, match="changed since the cut"):
        resume(_page("<p>short</p>"), Continuation(("results",), 1))


def test_a_result_whose_other_fields_fill_the_cap_is_left_whole_rather_than_cut_to_nothing() -> None:
    """When everything but the largest part is already over the cap, cutting that part cannot help."""
    crowded = {"body": "<p>x</p>" * 400, **{f"field{i}": "y" * 40 for i in range(60)}}

    assert cap_result(_ENCODE(crowded), crowded, 3_000) is None


def test_unclosed_void_elements_of_view_html_do_not_hide_the_top_level_boundaries() -> None:
    """A view body writes <br> and <img> unclosed; the cuts still fall before top-level paragraphs."""
    body = "".join(f'<p>Line {i}<br>next<img src="/i/{i}.png"> and more words to fill it up</p>' for i in range(300))

    values = [p["body"]["storage"]["value"] for p in _parts(_page(body), 3_000)]

    assert "".join(values) == body
    assert all(v.startswith("<p>Line ") for v in values)
