"""Lean results as a table: what is dropped, what stays, and which web_url each object gets."""

from __future__ import annotations

from typing import Any

import pytest

from confluence_mcp.pipeline.lean import lean_result

SITE = "https://site.example/wiki"


@pytest.mark.parametrize(
    ("answer", "lean"),
    [
        ({"id": "1", "_links": {"self": "x"}, "_expandable": {"a": ""}}, {"id": "1"}),
        ({"id": "1", "parentId": None, "title": "", "labels": [], "meta": {}}, {"id": "1"}),
        ({"a": {"b": {"c": None}}, "d": 1}, {"d": 1}),  # an object left empty by the rule goes too
        ({"minor": False, "count": 0, "ratio": 0.0}, {"minor": False, "count": 0, "ratio": 0.0}),
        ({"results": [{"x": None}, {"y": 1}]}, {"results": [{}, {"y": 1}]}),  # list items stay where they are
        ({"results": [], "next_cursor": None}, {"results": [], "next_cursor": None}),
        ({"tags": ["", None, "a"]}, {"tags": ["", None, "a"]}),  # values inside lists are not fields
    ],
    ids=["links", "empties", "nested empties", "false and zero", "list items", "kept at top", "list values"],
)
def test_lean_drops_links_expandables_and_empty_fields_recursively(answer: dict[str, Any], lean: Any) -> None:
    """Each row: Confluence's answer and its lean form."""
    assert lean_result(answer, SITE) == lean


def test_a_page_gets_its_absolute_web_url_from_links_base() -> None:
    """A v2 page: _links.base + _links.webui becomes web_url, and _links itself goes."""
    page = {"id": "7", "_links": {"webui": "/spaces/OPS/pages/7/Plan", "base": "https://acme.atlassian.net/wiki"}}

    assert lean_result(page, SITE) == {"id": "7", "web_url": "https://acme.atlassian.net/wiki/spaces/OPS/pages/7/Plan"}


def test_list_items_take_the_base_of_the_answer_and_the_site_is_the_last_resort() -> None:
    """Items have webui only: the top-level base serves them; with no base anywhere the account's site does."""
    listed = {
        "results": [{"id": "1", "_links": {"webui": "/spaces/A"}}, {"id": "2", "_links": {"editui": "/e"}}],
        "_links": {"base": "https://acme.atlassian.net/wiki", "next": "/wiki/api/v2/pages?cursor=x"},
    }
    bare = {"id": "3", "_links": {"webui": "/spaces/B/pages/3"}}

    assert lean_result(listed, SITE)["results"] == [
        {"id": "1", "web_url": "https://acme.atlassian.net/wiki/spaces/A"},
        {"id": "2"},
    ]
    assert lean_result(bare, SITE) == {"id": "3", "web_url": f"{SITE}/spaces/B/pages/3"}
    assert lean_result(bare, "") == {"id": "3"}  # behind the API gateway there is no site to guess


def test_nested_objects_keep_their_own_web_url_and_an_absolute_webui_is_used_as_is() -> None:
    """A search hit's content has its own page address; an absolute webui is not prefixed again."""
    hit = {
        "content": {"id": "9", "_links": {"webui": "/spaces/X/pages/9"}},
        "space": {"_links": {"webui": "https://other.example/wiki/spaces/X"}},
        "_links": {"base": "https://acme.atlassian.net/wiki"},
    }

    assert lean_result(hit, SITE) == {
        "content": {"id": "9", "web_url": "https://acme.atlassian.net/wiki/spaces/X/pages/9"},
        "space": {"web_url": "https://other.example/wiki/spaces/X"},
    }
