"""Markdown bodies end to end: reads as Markdown, writes in Markdown, placeholders kept, refusals before sending."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from confluence_mcp.content import to_markdown, to_storage
from confluence_mcp.simulator import SEED
from tests.support.stack import Stack

pytestmark = pytest.mark.anyio

CORPUS = Path(__file__).parents[1] / "content" / "corpus" / "storage"
PAGE = SEED.release_checklist_id
GET_PAGE = "get_single_confluence_page_by_id"
UPDATE_PAGE = "update_a_confluence_page_by_id"
CREATE_PAGE = "create_a_confluence_page"
PANELLED = (
    '<p>Before the release.</p><ac:structured-macro ac:name="info" ac:schema-version="1">'
    '<ac:parameter ac:name="title">Heads up</ac:parameter><ac:rich-text-body><p>Freeze starts Monday.</p>'
    '</ac:rich-text-body></ac:structured-macro><p>Ping <ac:link><ri:user ri:account-id="557058:abc" /></ac:link> '
    'when done.</p><ac:structured-macro ac:name="toc" ac:schema-version="1" /><p>Last line.</p>'
)


def _sent(stack: Stack) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in stack.sim.requests]


def _page_update(markdown: str, **extra: Any) -> dict[str, Any]:
    """The arguments of a page update whose body is ``markdown``."""
    body = {"representation": "markdown", "value": markdown}
    return {"id": PAGE, "status": "current", "title": "Release checklist", "body": body, **extra}


def _text(result: dict[str, Any]) -> str:
    text: str = result["content"][0]["text"]
    return text


async def test_tools_list_offers_markdown_on_reads_and_writes(stack: Stack) -> None:
    """Every body-format that offers storage offers markdown first; body writes take the markdown representation."""
    listed = {t["name"]: t for t in (await stack.rpc("tools/list", {})).json()["result"]["tools"]}
    readers = [t for t in listed.values() if "body-format" in t["inputSchema"].get("properties", {})]
    writers = (CREATE_PAGE, UPDATE_PAGE, "create_a_confluence_footer_comment", "create_a_confluence_blogpost")

    assert len(readers) >= 10
    for tool in readers:
        assert tool["inputSchema"]["properties"]["body-format"]["enum"][0] == "markdown", tool["name"]
    for name in writers:
        body = listed[name]["inputSchema"]["properties"]["body"]
        assert body["properties"]["representation"]["enum"][0] == "markdown", name


async def test_a_page_read_as_markdown_asks_for_storage_and_answers_markdown(stack: Stack) -> None:
    """body-format=markdown: Confluence is asked for storage; the result's body is the Markdown of that storage."""
    stack.sim.state.content[PAGE].storage = PANELLED

    result = await stack.call(GET_PAGE, {"id": PAGE, "body-format": "markdown"})

    assert result["isError"] is False, _text(result)
    assert [dict(r.query).get("body-format") for r in stack.sim.requests] == ["storage"]
    body = result["structuredContent"]["body"]
    assert body == {"representation": "markdown", "value": to_markdown(PANELLED)}
    assert "Freeze starts Monday." in body["value"]
    assert json.loads(_text(result)) == result["structuredContent"]


async def test_a_list_read_as_markdown_converts_every_item(stack: Stack) -> None:
    """A list tool with body-format=markdown: each item's storage body becomes Markdown."""
    result = await stack.call("list_all_confluence_space_pages", {"id": SEED.ops_space_id, "body-format": "markdown"})

    assert result["isError"] is False, _text(result)
    items = result["structuredContent"]["results"]
    assert items
    for item in items:
        stored = stack.sim.state.content[item["id"]].storage
        assert item["body"] == {"representation": "markdown", "value": to_markdown(stored)}, item["id"]


async def test_editing_one_paragraph_in_markdown_changes_only_that_paragraph(stack: Stack) -> None:
    """Read as Markdown, change one paragraph, write it back without a version: every macro and mention stays."""
    stack.sim.state.content[PAGE].storage = PANELLED
    before = stack.sim.state.content[PAGE].version.number
    read = await stack.call(GET_PAGE, {"id": PAGE, "body-format": "markdown"})
    markdown = read["structuredContent"]["body"]["value"]
    assert "Last line." in markdown
    stack.sim.requests.clear()

    edited = markdown.replace("Last line.", "Last line, edited by an agent.")
    result = await stack.call(UPDATE_PAGE, _page_update(edited))

    assert result["isError"] is False, _text(result)
    assert _sent(stack) == [("GET", f"/wiki/api/v2/pages/{PAGE}"), ("PUT", f"/wiki/api/v2/pages/{PAGE}")]
    read_query = dict(stack.sim.requests[0].query)
    assert read_query.get("body-format") == "storage"  # the version read also brought the storage
    assert stack.sim.requests[1].json["body"]["representation"] == "storage"
    assert stack.sim.state.content[PAGE].storage == PANELLED.replace("Last line.", "Last line, edited by an agent.")
    assert stack.sim.state.content[PAGE].version.number == before + 1


async def test_a_markdown_update_with_its_own_version_still_reads_the_storage_once(stack: Stack) -> None:
    """A version.number given: the one read is made for the placeholders, and the agent's number is sent."""
    stack.sim.state.content[PAGE].storage = PANELLED
    markdown = to_markdown(PANELLED)
    number = stack.sim.state.content[PAGE].version.number + 1

    result = await stack.call(UPDATE_PAGE, _page_update(markdown, version={"number": number}))

    assert result["isError"] is False, _text(result)
    assert _sent(stack) == [("GET", f"/wiki/api/v2/pages/{PAGE}"), ("PUT", f"/wiki/api/v2/pages/{PAGE}")]
    assert stack.sim.requests[1].json["version"]["number"] == number
    assert stack.sim.state.content[PAGE].storage == PANELLED


async def test_a_placeholder_the_page_no_longer_has_is_refused_and_nothing_is_written(stack: Stack) -> None:
    """A reference to an element that is gone: a tool error naming it; only the read went upstream."""
    stack.sim.state.content[PAGE].storage = PANELLED
    markdown = to_markdown(PANELLED)
    stack.sim.state.content[PAGE].storage = "<p>Someone removed the panel.</p>"
    before = stack.sim.state.content[PAGE].version.number

    result = await stack.call(UPDATE_PAGE, _page_update(markdown))

    assert result["isError"] is True
    assert "info#1" in _text(result)
    assert _sent(stack) == [("GET", f"/wiki/api/v2/pages/{PAGE}")]
    assert stack.sim.state.content[PAGE].version.number == before


async def test_markdown_storage_cannot_hold_is_refused_before_any_request(stack: Stack) -> None:
    """A footnote in a create or an update: a tool error naming the construct and its line; nothing sent."""
    markdown = "# Plan\n\nSee the note.[^1]\n\n[^1]: The note.\n"
    create = {
        "spaceId": SEED.ops_space_id,
        "title": "Footnoted",
        "body": {"representation": "markdown", "value": markdown},
    }
    update = {"id": PAGE, "status": "current", "title": "Release checklist", "body": create["body"]}

    for tool, arguments in ((CREATE_PAGE, create), (UPDATE_PAGE, update)):
        result = await stack.call(tool, arguments)
        assert result["isError"] is True, tool
        assert "footnote" in _text(result), _text(result)
        assert "line 3" in _text(result), _text(result)
    assert stack.sim.requests == []


async def test_a_page_created_from_markdown_is_stored_as_the_converters_storage(stack: Stack) -> None:
    """Markdown in a create goes upstream as storage, which the simulator accepts and keeps."""
    markdown = "## Steps\n\n1. Build\n2. Ship *carefully*\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"

    result = await stack.call(
        CREATE_PAGE,
        {
            "spaceId": SEED.ops_space_id,
            "title": "From Markdown",
            "body": {"representation": "markdown", "value": markdown},
        },
    )

    assert result["isError"] is False, _text(result)
    created = stack.sim.state.content[result["structuredContent"]["id"]]
    assert created.storage == to_storage(markdown)
    assert to_markdown(created.storage) == markdown


async def test_a_comment_update_in_markdown_reads_the_comment_for_its_placeholders(stack: Stack) -> None:
    """Comments are not safe updates, yet a Markdown body with placeholders is resolved against their storage."""
    comment = stack.sim.state.comments[SEED.footer_comment_id]
    comment.storage = '<p>Looks good, <ac:link><ri:user ri:account-id="557058:abc" /></ac:link>.</p>'
    markdown = to_markdown(comment.storage).replace("Looks good", "Looks great")
    number = comment.version.number + 1

    result = await stack.call(
        "update_a_confluence_footer_comment_by_id",
        {
            "comment-id": SEED.footer_comment_id,
            "body": {"representation": "markdown", "value": markdown},
            "version": {"number": number},
        },
    )

    assert result["isError"] is False, _text(result)
    assert [m for m, _ in _sent(stack)] == ["GET", "PUT"]
    assert comment.storage == '<p>Looks great, <ac:link><ri:user ri:account-id="557058:abc" /></ac:link>.</p>'


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.xhtml")))
async def test_a_real_sized_page_read_as_markdown_stays_within_its_size_budget(stack: Stack, name: str) -> None:
    """The whole result (every content item and structuredContent) is at most 2.5x the Markdown body plus 2 KB."""
    stack.sim.state.content[PAGE].storage = (CORPUS / name).read_text(encoding="utf-8")

    result = await stack.call(GET_PAGE, {"id": PAGE, "body-format": "markdown"})

    assert result["isError"] is False, _text(result)
    body = result["structuredContent"]["body"]["value"]
    whole = len(json.dumps([result["content"], result["structuredContent"]], separators=(",", ":"), ensure_ascii=False))
    assert whole <= 2.5 * len(body) + 2048, (name, whole, len(body))
