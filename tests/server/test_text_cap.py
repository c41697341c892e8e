"""The text cap end to end: a page larger than the cap read in parts, a list cut between items, refusals."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from confluence_mcp.simulator import SEED
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.anyio

GET_PAGE = "get_single_confluence_page_by_id"
CAP = 100_000


def _big_body() -> str:
    """About 250,000 characters of storage: headings, paragraphs with quotes and links, tables, code macros."""
    blocks: list[str] = []
    for i in range(1300):
        blocks.append(
            f'<h2>Step {i}</h2><p>Check <a href="https://example.com/b/{i}">build {i}</a>, "quoted" &amp; '
            f"<strong>bold</strong> text that fills a line of a long runbook page.</p>"
        )
        if i % 30 == 0:
            blocks.append("<table><tbody>" + "<tr><td>owner</td><td>due</td></tr>" * 20 + "</tbody></table>")
            blocks.append(
                '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter>'
                '<ac:plain-text-body><![CDATA[if [ "$a" < "$b" ]; then echo "<p>"; fi\n]]></ac:plain-text-body>'
                "</ac:structured-macro>"
            )
    return "".join(blocks)


async def _create_page(stack: Stack, body: str) -> dict[str, Any]:
    result = await stack.call(
        "create_a_confluence_page",
        {"spaceId": SEED.ops_space_id, "title": "Long runbook", "body": {"representation": "storage", "value": body}},
    )
    assert result["isError"] is False, result["content"][0]["text"]
    structured: dict[str, Any] = result["structuredContent"]
    return structured


async def _read_all(stack: Stack, tool: str, arguments: dict[str, Any], *, server: str = "all") -> list[dict[str, Any]]:
    """Call ``tool`` and follow continue_from until a part has none; return every part's structured content."""
    parts: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        result = await stack.call(tool, {**arguments, **({"continue_from": token} if token else {})}, server=server)
        assert result["isError"] is False, result["content"][0]["text"]
        text = result["content"][0]["text"]
        assert len(text) <= CAP if server != "small" else len(text) <= 3_000
        assert json.loads(text) == result["structuredContent"]
        parts.append(result["structuredContent"])
        token = result["structuredContent"].get("continue_from")
        if token is None:
            return parts
        assert len(parts) < 50


async def test_a_page_larger_than_the_cap_reads_in_parts_that_join_to_the_whole_body(stack: Stack) -> None:
    """A 250 KB body comes in parts under 100,000 characters, each cut before an element; joined, the body."""
    body = _big_body()
    assert len(body) > 2 * CAP
    page = await _create_page(stack, body)

    parts = await _read_all(stack, GET_PAGE, {"id": page["id"], "body-format": "storage"})

    values = [part["body"]["storage"]["value"] for part in parts]
    assert len(parts) >= 3
    assert "".join(values) == body
    assert all(value.startswith(("<h2>", "<p>", "<table>", "<ac:structured-macro")) for value in values)
    first = parts[0]
    assert first["cut_note"].startswith("Cut to fit 100,000 characters: ")
    assert f"of {len(body):,} characters of body.storage.value are left out" in first["cut_note"]
    assert f'"continue_from": "{first["continue_from"]}"' in first["cut_note"]
    assert parts[1]["continued"] == f"body.storage.value from character {len(values[0])}"
    assert all(part["title"] == "Long runbook" for part in parts)


async def test_a_write_whose_result_is_over_the_cap_is_cut_without_a_continuation(stack: Stack) -> None:
    """The create's answer (the page, body included) is cut too, but its note points to the get tool instead."""
    page = await _create_page(stack, _big_body())

    assert "continue_from" not in page
    assert "The change itself is whole; read the object with its get tool" in page["cut_note"]


def _without_meta(result: dict[str, Any]) -> dict[str, Any]:
    """The result without _meta, whose rate-limit figures count down from call to call."""
    return {key: value for key, value in result.items() if key != "_meta"}


@pytest.fixture
async def small_cap() -> AsyncIterator[Stack]:
    """A stack whose results are capped at 3,000 characters."""
    async with running_stack(results={"max_text_chars": 3_000}) as running:
        running.tokens["small"] = running.tokens["all"]
        yield running


async def test_a_list_over_the_cap_is_cut_between_items_and_keeps_next_cursor(small_cap: Stack) -> None:
    """Each part holds whole pages and the same next_cursor; together they are the page of results, in order."""
    whole = [c.id for c in small_cap.sim.state.content.values() if c.kind == "page" and c.status == "current"]

    parts = await _read_all(
        small_cap, "list_all_confluence_pages", {"limit": 250, "status": ["current"]}, server="small"
    )

    assert len(parts) >= 2
    assert sorted(item["id"] for part in parts for item in part["results"]) == sorted(whole)
    assert len({item["id"] for part in parts for item in part["results"]}) == len(whole)  # none repeated
    assert all("next_cursor" in part and part["next_cursor"] is None for part in parts)


async def test_continue_from_through_call_tool_gives_the_direct_calls_parts(small_cap: Stack) -> None:
    """Discovery mode's call_tool cuts and continues exactly like a direct call of the same tool."""
    arguments = {"limit": 250, "status": ["current"]}
    direct = await small_cap.call("list_all_confluence_pages", arguments)
    wrapped = await small_cap.call(
        "call_tool", {"tool_name": "list_all_confluence_pages", "arguments": arguments}, server="discovery"
    )
    assert _without_meta(wrapped) == _without_meta(direct)
    token = direct["structuredContent"]["continue_from"]

    more = {**arguments, "continue_from": token}
    direct_next = await small_cap.call("list_all_confluence_pages", more)
    wrapped_next = await small_cap.call(
        "call_tool", {"tool_name": "list_all_confluence_pages", "arguments": more}, server="discovery"
    )

    assert _without_meta(wrapped_next) == _without_meta(direct_next)
    assert direct_next["structuredContent"]["continued"].startswith("results from item ")


async def test_a_forged_continue_from_is_refused_by_name_before_anything_goes_upstream(stack: Stack) -> None:
    """A token that is not ours is an isError result naming continue_from; Confluence sees no request."""
    result = await stack.call(GET_PAGE, {"id": SEED.release_checklist_id, "continue_from": "eyJ4Ijox"})

    assert result["isError"] is True
    assert "argument 'continue_from' is not a continue_from this server issued" in result["content"][0]["text"]
    assert stack.sim.requests == []


async def test_continue_from_on_a_write_is_refused_and_nothing_is_written(stack: Stack) -> None:
    """A write is never re-run to continue its result: continue_from on an update is refused upfront."""
    arguments = {
        "id": SEED.release_checklist_id,
        "status": "current",
        "title": "Release checklist",
        "body": {"representation": "storage", "value": "<p>x</p>"},
        "continue_from": "eyJwIjpbInJlc3VsdHMiXSwibyI6MX0",
    }

    result = await stack.call("update_a_confluence_page_by_id", arguments)

    assert result["isError"] is True
    assert "continues results of reading tools only" in result["content"][0]["text"]
    assert stack.sim.requests == []


async def test_a_continue_from_past_the_end_of_a_shorter_page_is_refused(stack: Stack) -> None:
    """A token whose offset the page no longer reaches says the page changed, instead of returning a wrong part."""
    token = "eyJwIjpbImJvZHkiLCJzdG9yYWdlIiwidmFsdWUiXSwibyI6OTk5OTk5fQ"  # body.storage.value from 999999

    result = await stack.call(
        GET_PAGE, {"id": SEED.release_checklist_id, "body-format": "storage", "continue_from": token}
    )

    assert result["isError"] is True
    assert "changed since the cut" in result["content"][0]["text"]
