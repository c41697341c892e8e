"""Uniform pagination without a network: the cursor codec, the tool surface the catalog computes, the two steps."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from confluence_mcp.errors import InvalidArguments
from confluence_mcp.openapi import default_documents, generate_tools
from confluence_mcp.pipeline import Call, Pipeline, build_pipeline
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.paging import Dialect, Paging, decode_cursor, encode_cursor, paging_for
from confluence_mcp.pipeline.steps.paging import AddNextCursor, DecodeCursor
from confluence_mcp.settings import RetrySettings
from confluence_mcp.upstream.client import UpstreamClient
from confluence_mcp.upstream.results import ToolOutcome
from confluence_mcp.upstream.sender import UpstreamResponse
from tests.pipeline.doubles import RecordingSender, World
from tests.support.official import V1, V2

pytestmark = pytest.mark.anyio

PAGES = "list_all_confluence_pages"
GROUPS = "list_all_confluence_groups"
SEARCH = "list_all_confluence_search"
GET_PAGE = "get_single_confluence_page_by_id"
JSON = {"content-type": "application/json"}
V1_LISTS = {
    "list_all_confluence_users",
    "list_all_confluence_user_groups",
    "list_all_confluence_groups",
    "list_all_confluence_group_members",
}
UNPAGED_LISTS = {"list_all_confluence_page_ancestors"}
"""Confluence's ancestors endpoint has no cursor (it pages by asking again from the highest id)."""


def _raw(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")


# the codec


@pytest.mark.parametrize(
    ("dialect", "value"),
    [("cursor", "eyJpZCI6NDJ9"), ("cursor", "a b&c=d/é?#%"), ("cursor", "x" * 1000), ("start", 0), ("start", 250)],
)
def test_a_cursor_decodes_to_exactly_the_value_it_was_made_from(dialect: Dialect, value: str | int) -> None:
    """Encoding then decoding gives back the Confluence cursor or start offset, unchanged, in URL-safe text."""
    cursor = encode_cursor(dialect, value)

    assert decode_cursor(dialect, cursor) == value
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_the_cursor_format_is_base64url_of_one_key_json() -> None:
    """``{"c": ...}`` for Confluence cursors, ``{"s": ...}`` for v1 offsets, unpadded base64url."""
    assert encode_cursor("start", 50) == _raw({"s": 50}) == "eyJzIjo1MH0"
    assert json.loads(base64.urlsafe_b64decode(encode_cursor("cursor", "abc") + "==")) == {"c": "abc"}


@pytest.mark.parametrize(
    ("dialect", "cursor", "problem"),
    [
        ("cursor", "", "is empty"),
        ("cursor", "not a cursor!", "is not a cursor this server issued"),
        ("cursor", "abc", "is not a cursor this server issued"),  # base64 of bytes that are not JSON
        ("cursor", "a", "is not a cursor this server issued"),  # impossible base64 length
        ("cursor", _raw(["c", "x"]), "is not a cursor this server issued"),
        ("cursor", _raw({"c": "x", "s": 1}), "is not a cursor this server issued"),
        ("cursor", _raw({"url": "/wiki/api/v2/pages?cursor=x"}), "is not a cursor this server issued"),
        ("cursor", _raw({"c": ""}), "holds an invalid Confluence cursor"),
        ("cursor", _raw({"c": 7}), "holds an invalid Confluence cursor"),
        ("cursor", _raw({"s": 25}), "holds an offset (start) position"),
        ("start", _raw({"c": "x"}), "holds a Confluence cursor position"),
        ("start", _raw({"s": -1}), "holds an invalid start offset"),
        ("start", _raw({"s": True}), "holds an invalid start offset"),
        ("start", _raw({"s": 1.5}), "holds an invalid start offset"),
        ("start", _raw({"s": "25"}), "holds an invalid start offset"),
        ("cursor", "A" * 5000, "is not a cursor this server issued"),
        ("cursor", base64.urlsafe_b64encode(b"[" * 3000).decode(), "is not a cursor this server issued"),
    ],
)
def test_a_malformed_cursor_is_refused_saying_what_is_wrong(dialect: Dialect, cursor: str, problem: str) -> None:
    """Every way a cursor can be wrong raises ValueError with a reason and the way out (pass next_cursor)."""
    with pytest.raises(ValueError, match="pass the next_cursor") as raised:
        decode_cursor(dialect, cursor)

    assert str(raised.value).startswith(problem)


# the tool surface, computed once by the catalog


def test_every_paginated_list_tool_takes_cursor_and_no_v1_tool_shows_start(catalog: Catalog) -> None:
    """Each list tool except ancestors has a string ``cursor``, no ``start``, and a ``limit`` with no maximum."""
    lists = {t.name for t in catalog.tools if t.method == "list"}
    assert set(catalog.paging) == lists - UNPAGED_LISTS
    for name in catalog.paging:
        properties = catalog.by_name[name].input_schema["properties"]
        assert properties["cursor"] == {"type": "string"}  # how to page is said once, in the tool description
        assert "next_cursor" in catalog.by_name[name].description
        assert "start" not in properties
        assert "maximum" not in properties["limit"]
    assert {n for n, p in catalog.paging.items() if p.dialect == "start"} == V1_LISTS
    assert catalog.paging[SEARCH].dialect == "cursor"


def test_the_catalog_changes_only_paginated_list_tools(catalog: Catalog) -> None:
    """Every other tool (ancestors, groups, ...) but the safe updates and the body tools is served as made."""
    generated = {t.name: t for t in generate_tools(default_documents())}
    changed = {t.name for t in catalog.tools if t != generated[t.name]}

    # A v2 list whose cursor and limit were already ours stays as made; body tools also take Markdown.
    assert changed <= set(catalog.paging) | set(catalog.safe_updates) | catalog.markdown_reads | set(
        catalog.markdown_writes
    )
    assert {GROUPS, PAGES} <= changed
    for name in changed:  # only the input schema differs
        assert dataclasses.replace(catalog.by_name[name], input_schema=generated[name].input_schema) == generated[name]


def test_paging_keeps_confluence_limits_and_the_upstream_parameter(catalog: Catalog) -> None:
    """The plan remembers where the position goes upstream and Confluence's own limit bounds."""
    assert catalog.paging[PAGES] == Paging(PAGES, "cursor", "cursor", "cursor", "limit", 250, 25)
    assert catalog.paging[GROUPS] == Paging(GROUPS, "start", "start", "start", "limit", 200, 200)
    assert catalog.paging[SEARCH].limit_max is None
    assert paging_for(catalog.by_name[GET_PAGE]) is None


def test_official_documents_get_valid_paged_schemas() -> None:
    """Over Atlassian's own documents too, every paged schema is valid JSON Schema 2020-12 with ``cursor``."""
    official = Catalog(generate_tools([V1, V2]))

    assert len(official.paging) > 50
    for name in official.paging:
        schema = official.by_name[name].input_schema
        Draft202012Validator.check_schema(schema)
        assert schema["properties"]["cursor"]["type"] == "string"


# upstream arguments: decoding and the limit cap


def test_a_decoded_cursor_fills_exactly_its_one_query_parameter(catalog: Catalog) -> None:
    """Whatever text a Confluence cursor holds, it stays one ``cursor`` value; path and other parameters keep theirs."""
    tricky = "abc&limit=250&start=9#/../../rest/api/user?x=1"
    arguments, note = catalog.paging[PAGES].upstream_arguments({"cursor": encode_cursor("cursor", tricky)}, 100)
    request = catalog.plans[PAGES].build(arguments)

    assert note is None
    assert request.path == "/wiki/api/v2/pages"
    assert request.query == [("cursor", tricky)]


def test_a_v1_cursor_becomes_start_and_cursor_is_not_sent(catalog: Catalog) -> None:
    """For a v1 tool our cursor becomes ``start``; Confluence never sees a ``cursor`` parameter."""
    arguments, _ = catalog.paging[GROUPS].upstream_arguments({"cursor": encode_cursor("start", 40), "limit": 20}, 100)

    assert catalog.plans[GROUPS].build(arguments).query == [("start", "40"), ("limit", "20")]


def test_a_bad_cursor_is_an_invalid_arguments_error_naming_cursor(catalog: Catalog) -> None:
    """The error names the tool and the argument, and says how to get a good cursor."""
    with pytest.raises(InvalidArguments) as raised:
        catalog.paging[GROUPS].upstream_arguments({"cursor": encode_cursor("cursor", "x")}, 100)

    assert str(raised.value).startswith(f"Invalid arguments for {GROUPS}: argument 'cursor' holds a Confluence cursor")


@pytest.mark.parametrize(
    ("tool", "asked", "max_limit", "sent", "noted"),
    [
        (PAGES, 10, 100, 10, False),
        (PAGES, 100, 100, 100, False),
        (PAGES, 150, 100, 100, True),
        (PAGES, 300, 500, 250, True),  # Confluence's own maximum still holds
        (PAGES, None, 100, None, False),  # Confluence's default (25) is under the cap: nothing is added
        (PAGES, None, 10, 10, False),  # ... but a default above the cap is lowered too
        (GROUPS, None, 100, 100, False),  # groups default to 200
        (SEARCH, 1000, 100, 100, True),  # no maximum declared: the server's cap alone
    ],
)
def test_limit_is_passed_through_and_capped(
    catalog: Catalog, tool: str, asked: int | None, max_limit: int, sent: int | None, noted: bool
) -> None:
    """A limit above the cap is lowered (not refused) and noted; the cap is the smaller of ours and Confluence's."""
    arguments, note = catalog.paging[tool].upstream_arguments({} if asked is None else {"limit": asked}, max_limit)

    assert arguments.get("limit") == sent
    assert (note is not None) == noted
    if note is not None:
        assert note == f"limit {asked} was lowered to {sent}, the most this MCP server returns per page."


# next_cursor from Confluence's answer


def _paging(dialect: Dialect) -> Paging:
    name = "start" if dialect == "start" else "cursor"
    return Paging("some_list", dialect, name, name, "limit", None, None)


@pytest.mark.parametrize(
    ("dialect", "body", "headers", "expected"),
    [
        ("cursor", {"_links": {"next": "/wiki/api/v2/pages?limit=2&cursor=QUJD", "base": "x"}}, {}, ("cursor", "QUJD")),
        (
            "cursor",
            {"_links": {"next": "/rest/api/search?cql=type%3Dpage&cursor=a%2Bb&next=true"}},
            {},
            ("cursor", "a+b"),
        ),
        (
            "cursor",
            {"_links": {"base": "https://x/wiki"}},
            {"link": '</wiki/api/v2/spaces?ids=1,2&cursor=Zg>; rel="next", <https://x/wiki>; rel="base"'},
            ("cursor", "Zg"),
        ),
        (
            "cursor",
            {"results": [], "_links": {"base": "https://x/wiki"}},
            {"link": '<https://x/wiki>; rel="base"'},
            None,
        ),
        ("cursor", {"_links": {"next": "/wiki/api/v2/pages?limit=2"}}, {}, None),
        ("start", {"start": 0, "size": 2, "_links": {"next": "/rest/api/group?limit=2&start=2"}}, {}, ("start", 2)),
        ("start", {"start": 4, "size": 2, "_links": {"next": "/rest/api/group?next=true"}}, {}, ("start", 6)),
        ("start", {"start": 4, "size": 2, "_links": {"self": "https://x/wiki/rest/api/group"}}, {}, None),
        ("start", {"results": []}, {"link": '</wiki/rest/api/group?start=9>; rel="next"'}, None),
    ],
)
def test_next_cursor_reads_only_the_position_from_confluence_links(
    dialect: Dialect, body: dict[str, Any], headers: dict[str, str], expected: tuple[Dialect, str | int] | None
) -> None:
    """v2 ``_links.next`` or ``Link``, CQL ``_links.next``, v1 ``_links.next`` (``start``, else start + size)."""
    found = _paging(dialect).next_cursor(body, headers)

    assert found == (encode_cursor(*expected) if expected is not None else None)


# the steps


async def _call(world: World, name: str, arguments: dict[str, object]) -> Call:
    resolved = await world.resolver.resolve(world.open_token)
    assert resolved is not None
    return Call(world.open_token, name, arguments, resolved=resolved, tool=world.catalog.by_name[name])


async def test_the_steps_leave_a_tool_that_does_not_page_alone(world: World) -> None:
    """For a get tool neither step touches the call: same arguments object, no paging, the outcome as it was."""
    arguments: dict[str, object] = {"id": "393217"}
    call = await _call(world, GET_PAGE, arguments)
    outcome = ToolOutcome(text='{"id":"393217"}', structured={"id": "393217"})
    call.outcome = outcome

    await DecodeCursor(world.catalog).run(call)
    await AddNextCursor().run(call)

    assert call.arguments is arguments
    assert call.paging is None
    assert call.outcome is outcome
    assert outcome.structured == {"id": "393217"}


async def test_a_non_list_answer_is_byte_identical_with_or_without_the_paging_steps(world: World) -> None:
    """The built pipeline gives a get tool the very request and outcome a pipeline without paging gives."""
    body = '{"id":"393217","title":"Tête-à-tête","_links":{"next":"/wiki/api/v2/pages?cursor=x"}}'.encode()
    outcomes, requests = [], []
    for with_paging in (True, False):
        sender = RecordingSender(UpstreamResponse(200, JSON, body))
        pipeline = build_pipeline(world.catalog, world.resolver, UpstreamClient(sender, RetrySettings()))
        if not with_paging:
            steps = [s for s in pipeline.steps if s.name != "cursor"]
            finishers = [f for f in pipeline.finishers if f.name != "next_cursor"]
            pipeline = Pipeline(steps=steps, observers=(), finishers=finishers)
        outcomes.append(await pipeline.run(Call(world.open_token, GET_PAGE, {"id": "393217"})))
        requests.append(sender.sent[0][1])

    assert outcomes[0] == outcomes[1]
    assert outcomes[0].text == '{"id":"393217","title":"Tête-à-tête"}'  # lean: _links dropped, nothing added
    assert requests[0] == requests[1]


async def test_a_list_answer_gets_next_cursor_on_top_and_text_mirroring_it(world: World) -> None:
    """``next_cursor`` (and the limit note) land at the top level; the text is the compact JSON of the result."""
    body = '{"results":[{"title":"Ünïcode"}],"_links":{"next":"/wiki/api/v2/pages?limit=100&cursor=Tg"}}'.encode()
    sender = RecordingSender(UpstreamResponse(200, JSON, body))
    pipeline = build_pipeline(world.catalog, world.resolver, UpstreamClient(sender, RetrySettings()))

    outcome = await pipeline.run(Call(world.open_token, PAGES, {"limit": 500}))

    assert outcome.structured is not None
    assert outcome.structured["next_cursor"] == encode_cursor("cursor", "Tg")
    assert outcome.structured["limit_note"].startswith("limit 500 was lowered to 100")
    assert outcome.text == json.dumps(outcome.structured, separators=(",", ":"), ensure_ascii=False)
    assert sender.sent[0][1].query == [("limit", "100")]


async def test_an_upstream_error_on_a_list_gets_no_next_cursor(world: World) -> None:
    """A Confluence error stays the explained tool error; nothing is added to it."""
    sender = RecordingSender(UpstreamResponse(400, JSON, b'{"errors":[{"title":"bad cursor"}]}'))
    pipeline = build_pipeline(world.catalog, world.resolver, UpstreamClient(sender, RetrySettings()))

    outcome = await pipeline.run(Call(world.open_token, PAGES, {"cursor": encode_cursor("cursor", "stale")}))

    assert outcome.is_error
    assert outcome.structured is None
    assert "next_cursor" not in outcome.text
