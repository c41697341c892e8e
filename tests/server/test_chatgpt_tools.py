"""ChatGPT's ``search`` and ``fetch``: exactly its shapes, real Confluence URLs, one upstream request each."""

from __future__ import annotations

import json
from typing import Any

import pytest

from confluence_mcp.content import to_markdown
from confluence_mcp.pipeline.chatgpt_tools import storage_text
from confluence_mcp.simulator import SEED
from tests.support.stack import Stack

pytestmark = pytest.mark.anyio


def _only_text(result: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON inside the result's single text item (ChatGPT reads nothing else)."""
    assert result["isError"] is False, result
    [item] = result["content"]
    assert item["type"] == "text"
    payload: dict[str, Any] = json.loads(item["text"])
    assert result["structuredContent"] == payload
    return payload


async def test_search_answers_ids_titles_and_web_urls_of_pages_and_blog_posts(stack: Stack) -> None:
    """search(query) finds pages and blog posts by text and gives their absolute Confluence web URLs."""
    payload = _only_text(await stack.call("search", {"query": "release"}))
    assert set(payload) == {"results"}
    by_title = {r["title"]: r for r in payload["results"]}
    assert set(by_title["Release checklist"]) == {"id", "title", "url"}
    assert by_title["Release checklist"]["id"] == SEED.release_checklist_id
    assert by_title["Release checklist"]["url"] == f"{stack.sim_url}/wiki/spaces/OPS/pages/393218/Release+checklist"
    assert by_title["Q3 release recap"]["id"] == f"blogpost:{SEED.ops_blogpost_id}"
    [request] = stack.sim.requests
    assert request.path == "/wiki/rest/api/search"
    assert dict(request.query)["cql"] == 'type in (page, blogpost) AND text ~ "release"'


async def test_search_quotes_the_query_so_it_cannot_change_the_cql(stack: Stack) -> None:
    """Quotes and backslashes in the query are escaped: the CQL stays one text clause."""
    payload = _only_text(await stack.call("search", {"query": 'x" OR space = "ENG'}))
    assert payload == {"results": []}
    assert dict(stack.sim.requests[-1].query)["cql"] == 'type in (page, blogpost) AND text ~ "x\\" OR space = \\"ENG"'


async def test_fetch_reads_a_page_and_a_blog_post_by_the_ids_search_gave(stack: Stack) -> None:
    """fetch(id) answers {id, title, text, url, metadata} with the body as Markdown."""
    page = _only_text(await stack.call("fetch", {"id": SEED.release_checklist_id}))
    assert set(page) == {"id", "title", "text", "url", "metadata"}
    assert page["title"] == "Release checklist"
    assert page["text"] == to_markdown(stack.sim.state.content[SEED.release_checklist_id].storage)
    assert page["text"].startswith("## Steps\n\n")
    assert "Rollback plan" in page["text"]
    assert "<ac:" not in page["text"]  # no storage markup: Markdown, with placeholders for macros
    assert page["url"] == f"{stack.sim_url}/wiki/spaces/OPS/pages/393218/Release+checklist"
    assert page["metadata"]["type"] == "page"
    assert (page["metadata"]["spaceId"], page["metadata"]["version"]) == (SEED.ops_space_id, 3)
    assert page["metadata"]["lastModified"].startswith("20")
    post = _only_text(await stack.call("fetch", {"id": f"blogpost:{SEED.ops_blogpost_id}"}))
    assert post["id"] == f"blogpost:{SEED.ops_blogpost_id}"
    assert post["metadata"]["type"] == "blogpost"
    assert [r.path for r in stack.sim.requests] == [
        f"/wiki/api/v2/pages/{SEED.release_checklist_id}",
        f"/wiki/api/v2/blogposts/{SEED.ops_blogpost_id}",
    ]


async def test_fetch_of_a_missing_or_malformed_id_is_a_tool_error(stack: Stack) -> None:
    """A missing page is Confluence's 404 explained; a malformed id is refused before any request."""
    missing = await stack.call("fetch", {"id": "999999"})
    assert missing["isError"] is True
    assert "Not found (HTTP 404)" in missing["content"][0]["text"]
    stack.sim.requests.clear()
    malformed = await stack.call("fetch", {"id": "../spaces"})
    assert malformed["isError"] is True
    assert "argument 'id'" in malformed["content"][0]["text"]
    assert stack.sim.requests == []


async def test_read_servers_have_search_and_fetch_and_write_servers_do_not(stack: Stack) -> None:
    """For the methods filter search counts as list and fetch as get, so a read server lists both."""
    listed = {}
    for server in ("read", "groups_custom"):
        result = (await stack.rpc("tools/list", {}, server=server)).json()["result"]
        listed[server] = {t["name"] for t in result["tools"]}
    assert {"search", "fetch"} <= listed["read"]
    assert not {"search", "fetch"} & listed["groups_custom"]
    tool = next(t for t in (await stack.rpc("tools/list", {})).json()["result"]["tools"] if t["name"] == "search")
    assert tool["annotations"]["readOnlyHint"] is True


def test_storage_text_keeps_what_a_reader_sees() -> None:
    """Blocks become lines; CDATA bodies (code, link text) stay; macro parameters and markup do not."""
    storage = (
        '<h1>T</h1><p>a <strong>b</strong>&nbsp;&amp; c</p><ac:structured-macro ac:name="code">'
        '<ac:parameter ac:name="language">py</ac:parameter><ac:plain-text-body><![CDATA[x = 1]]>'
        "</ac:plain-text-body></ac:structured-macro><table><tr><th>A</th><td>1</td></tr></table>"
    )
    assert storage_text(storage) == "T\na b & c\nx = 1\nA | 1 |"
