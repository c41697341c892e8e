"""Upstream answers become tool outcomes: JSON passed through, errors explained with a next step."""

from __future__ import annotations

import json

import httpx
import pytest

from confluence_mcp.upstream.request import UpstreamRequest
from confluence_mcp.upstream.results import confluence_message, outcome_from_response
from confluence_mcp.upstream.sender import UpstreamResponse

GET = UpstreamRequest("GET", "/wiki/api/v2/pages/1", [], {}, None, False)
PUT = UpstreamRequest("PUT", "/wiki/api/v2/pages/1", [], {}, {}, True)


def _response(status: int, body: object = None, **headers: str) -> UpstreamResponse:
    content = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    merged = {"content-type": "application/json", **{k.replace("_", "-"): v for k, v in headers.items()}}
    return UpstreamResponse(status=status, headers=httpx.Headers(merged), content=content)


def test_json_object_becomes_structured_content_and_raw_text() -> None:
    """A JSON object is the structured content, and the text item is the upstream JSON unchanged."""
    body = {"id": "1", "title": "Hello"}
    outcome = outcome_from_response("t", GET, _response(200, body))
    assert not outcome.is_error
    assert outcome.structured == body
    assert json.loads(outcome.text) == body


def test_json_array_is_wrapped_for_structured_content() -> None:
    """An array answer is wrapped under 'result' because structured content must be an object."""
    outcome = outcome_from_response("t", GET, _response(200, [1, 2]))
    assert outcome.structured == {"result": [1, 2]}


def test_no_content_gives_a_short_success_text() -> None:
    """A 204 becomes a short success text that names the request."""
    outcome = outcome_from_response("t", GET, _response(204))
    assert not outcome.is_error
    assert "HTTP 204" in outcome.text
    assert "GET /wiki/api/v2/pages/1" in outcome.text


def test_malformed_json_is_an_error_not_a_crash() -> None:
    """A truncated JSON body is reported as a tool error."""
    outcome = outcome_from_response("t", GET, _response(200, b'{"id": "1", "ti'))
    assert outcome.is_error
    assert "malformed JSON" in outcome.text


def test_conflict_names_the_current_and_next_version() -> None:
    """A 409 with Confluence's wording gives the current version and the number to send."""
    body = {
        "errors": [
            {
                "status": "409",
                "code": "CONFLICT",
                "title": (
                    "Version must be incremented when updating a page. Current Version: [3]. Provided version: [3]"
                ),
                "detail": None,
            }
        ]
    }
    outcome = outcome_from_response("update_a_confluence_page_by_id", PUT, _response(409, body))
    assert outcome.is_error
    assert "current version is 3" in outcome.text
    assert "version.number = 4" in outcome.text
    assert outcome.meta["upstream_status"] == 409


@pytest.mark.parametrize(
    ("status", "phrase"),
    [
        (401, "invalid or expired"),
        (403, "lacks the permission"),
        (404, "does not exist or this account may not see it"),
        (400, "Fix the arguments"),
        (413, "too large"),
        (500, "try again shortly"),
        (503, "try again shortly"),
    ],
)
def test_error_statuses_say_what_to_do_next(status: int, phrase: str) -> None:
    """Each upstream error status gives a message with the status and advice."""
    outcome = outcome_from_response("t", GET, _response(status, {"message": "boom"}))
    assert outcome.is_error
    assert f"HTTP {status}" in outcome.text
    assert phrase in outcome.text
    assert "boom" in outcome.text


def test_rate_limit_error_gives_retry_time_and_figures() -> None:
    """A 429 says it was rate limited, when to retry and the normalized figures, with headers to match."""
    response = _response(429, None, retry_after="7", x_ratelimit_limit="100", x_ratelimit_remaining="0")
    outcome = outcome_from_response("t", GET, response)
    assert outcome.is_error
    assert "Rate limited" in outcome.text
    assert "Retry after 7 seconds" in outcome.text
    assert "limit 100" in outcome.text
    assert outcome.headers["ratelimit-limit"] == "100"
    assert outcome.headers["ratelimit-remaining"] == "0"
    assert outcome.headers["ratelimit-reset"] == "7"
    assert outcome.meta["ratelimit-reset"] == 7


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"errors": [{"status": 400, "code": "INVALID_REQUEST_PARAMETER", "title": "Bad id", "detail": None}]},
            "Bad id (INVALID_REQUEST_PARAMETER)",
        ),
        (
            {
                "statusCode": 400,
                "message": "Could not parse cql",
                "data": {"errors": [{"message": {"translation": "Near 'AND'", "args": []}}]},
            },
            "Could not parse cql; Near 'AND'",
        ),
        (b"plain text failure", "plain text failure"),
        (b"<html><body>gateway</body></html>", ""),
    ],
)
def test_confluence_messages_are_extracted_from_v1_and_v2_shapes(body: object, expected: str) -> None:
    """Both error shapes (and plain text) yield Confluence's own words; HTML pages yield nothing."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    assert confluence_message(raw) == expected
