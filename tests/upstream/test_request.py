"""Building upstream requests: path values stay in their segment, queries and bodies follow the binding."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from confluence_mcp.errors import InvalidArguments
from confluence_mcp.openapi.models import ArgumentBinding, Binding
from confluence_mcp.upstream.request import RequestPlan

PAGE = Binding(
    method="PUT",
    path="/wiki/api/v2/pages/{id}",
    arguments=(
        ArgumentBinding("id", "path", "id"),
        ArgumentBinding("body-format", "query", "body-format"),
        ArgumentBinding("id", "body", "id"),
        ArgumentBinding("title", "body", "title"),
        ArgumentBinding("version", "body", "version"),
    ),
    body_media_type="application/json",
)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("../../../rest/api/user/current", "..%2F..%2F..%2Frest%2Fapi%2Fuser%2Fcurrent"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("1?expand=all", "1%3Fexpand%3Dall"),
        ("1#frag", "1%23frag"),
        ("1%2F2", "1%252F2"),
        ("@evil.example.com", "%40evil.example.com"),
        ("a b", "a%20b"),
        ("x:y", "x%3Ay"),
    ],
)
def test_path_values_are_encoded_as_exactly_one_segment(value: str, encoded: str) -> None:
    """Slashes, dots, '?', '#', '%' and '@' in a path value cannot leave its segment."""
    request = RequestPlan(PAGE).build({"id": value, "title": "t"})
    assert request.path == f"/wiki/api/v2/pages/{encoded}"
    url = httpx.URL("https://example.atlassian.net" + request.path)
    assert url.host == "example.atlassian.net"
    assert url.raw_path.decode().startswith("/wiki/api/v2/pages/")
    assert url.raw_path.decode().count("/") == 5


@pytest.mark.parametrize("value", ["", None])
def test_empty_or_missing_path_value_is_refused(value: Any) -> None:
    """An empty path value would change the path, so it is refused with the argument's name."""
    with pytest.raises(InvalidArguments, match="argument 'id'"):
        RequestPlan(PAGE).build({"id": value})


def test_shared_id_fills_path_and_body_and_query_uses_real_name() -> None:
    """One id argument fills the path and the body; body-format goes to the query under its real name."""
    request = RequestPlan(PAGE).build({"id": "42", "body-format": "storage", "title": "T", "version": {"number": 2}})
    assert request.method == "PUT"
    assert request.path == "/wiki/api/v2/pages/42"
    assert request.query == [("body-format", "storage")]
    assert request.json_body == {"id": "42", "title": "T", "version": {"number": 2}}
    assert request.has_body


def test_query_arrays_follow_the_declared_style() -> None:
    """Arrays are comma-joined for explode=false and repeated otherwise; booleans are lowercase."""
    binding = Binding(
        method="GET",
        path="/wiki/api/v2/spaces",
        arguments=(
            ArgumentBinding("keys", "query", "keys", "csv"),
            ArgumentBinding("ids", "query", "ids", "repeat"),
            ArgumentBinding("flag", "query", "flag"),
        ),
    )
    request = RequestPlan(binding).build({"keys": ["OPS", "ENG"], "ids": [1, 2], "flag": True})
    assert request.query == [("keys", "OPS,ENG"), ("ids", "1"), ("ids", "2"), ("flag", "true")]
    assert not request.has_body


def test_wrapped_body_is_sent_whole() -> None:
    """A body wrapped under 'body' is sent as the whole JSON body (an array for label add)."""
    binding = Binding(
        method="POST",
        path="/wiki/rest/api/content/{id}/label",
        arguments=(ArgumentBinding("id", "path", "id"), ArgumentBinding("body", "body", "")),
        body_media_type="application/json",
        body_argument="body",
    )
    labels = [{"prefix": "global", "name": "release"}]
    request = RequestPlan(binding).build({"id": "7", "body": labels})
    assert request.json_body == labels


def test_header_values_with_line_breaks_are_refused() -> None:
    """A header argument cannot smuggle another header through a line break."""
    binding = Binding(method="GET", path="/x", arguments=(ArgumentBinding("h", "header", "X-Thing"),))
    with pytest.raises(InvalidArguments, match="line breaks"):
        RequestPlan(binding).build({"h": "a\r\nAuthorization: Basic Zm9v"})
