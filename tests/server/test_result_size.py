"""What a page read costs an agent's context, lean and not: the whole result against the body it carries.

The whole result is every content item plus ``structuredContent`` (both carry the same JSON, as MCP asks),
measured as compact JSON. Measured here on the simulator (storage bodies, ``body-format=storage``):

    body          whole result before   after lean results
    374 chars     6.38x (2,385)         5.49x (2,055)   the seeded release checklist: metadata dominates
    5,535 chars   2.35x (13,004)        2.28x (12,644)  a runbook: headings, links, mentions, a table, macros
    17,271 chars  2.15x (37,052)        2.12x (36,692)  four times that runbook's steps

Lean results save the same ~360 characters of links and empty fields whatever the body; the rest is the
body twice (text item and structuredContent), JSON-escaped.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from confluence_mcp.simulator import SEED
from tests.support.stack import Stack

pytestmark = pytest.mark.anyio

GET_PAGE = "get_single_confluence_page_by_id"


def _runbook(repeat: int) -> str:
    """A storage body shaped like a real runbook page: steps with links and mentions, a table, two macros."""
    rows = []
    for i in range(12 * repeat):
        rows.append(
            f'<h2>Step {i}: verify the release</h2><p>Check the <a href="https://example.com/build/{i}">build {i}</a>, '
            f'then confirm with <ac:link><ri:user ri:account-id="557058:abc{i}"/></ac:link> that the '
            "<strong>smoke tests</strong> passed.</p><ul><li><p>Deploy to staging</p></li>"
            "<li><p>Run the suite; compare with the last run</p></li></ul>"
        )
    rows.append(
        "<table><tbody><tr><th>Owner</th><th>Due</th></tr>"
        + "".join(
            f'<tr><td>Team {i}</td><td><time datetime="2025-0{1 + i % 9}-1{i % 9}" /></td></tr>' for i in range(20)
        )
        + "</tbody></table>"
    )
    rows.append(
        '<ac:structured-macro ac:name="info"><ac:rich-text-body><p>Rollbacks follow the runbook.</p>'
        "</ac:rich-text-body></ac:structured-macro>"
    )
    rows.append(
        '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter>'
        "<ac:plain-text-body><![CDATA[./deploy.sh --env prod --verify\n]]></ac:plain-text-body></ac:structured-macro>"
    )
    return "".join(rows)


def _size(result: dict[str, Any]) -> int:
    """Characters of every content item plus structuredContent, as compact JSON."""
    return len(_compact(result["content"])) + len(_compact(result["structuredContent"]))


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("repeat", [0, 1, 4], ids=["seeded page", "runbook", "long runbook"])
async def test_a_lean_page_read_costs_less_and_stays_within_two_and_a_half_times_its_body(
    stack: Stack, repeat: int
) -> None:
    """Lean results never cost more than Confluence's answer, and a page read stays under 2.5x its body + 2 KB."""
    page_id = SEED.release_checklist_id
    if repeat:
        body = {"representation": "storage", "value": _runbook(repeat)}
        created = await stack.call(
            "create_a_confluence_page", {"spaceId": SEED.ops_space_id, "title": f"Runbook {repeat}", "body": body}
        )
        page_id = created["structuredContent"]["id"]
    arguments = {"id": page_id, "body-format": "storage"}

    full = await stack.call(GET_PAGE, arguments, server="full")
    lean = await stack.call(GET_PAGE, arguments)

    body_chars = len(full["structuredContent"]["body"]["storage"]["value"])
    assert lean["structuredContent"]["body"] == full["structuredContent"]["body"]
    assert _size(lean) < _size(full)
    assert _size(lean) <= 2.5 * body_chars + 2048, (_size(lean), body_chars)
