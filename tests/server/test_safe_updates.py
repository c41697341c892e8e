"""Safe updates end to end: version optional, expected_version guarding writes, over the simulator on loopback."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from confluence_mcp.simulator import SEED
from tests.support.stack import SIM_API_TOKEN, SIM_EMAIL, Stack

pytestmark = pytest.mark.anyio

UPDATE_PAGE = "update_a_confluence_page_by_id"
UPDATE_BLOGPOST = "update_a_confluence_blogpost_by_id"
PAGE = SEED.release_checklist_id


def _update(object_id: str, value: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": object_id,
        "status": "current",
        "title": "Release checklist" if object_id == PAGE else "Q3 release recap",
        "body": {"representation": "storage", "value": value},
        **extra,
    }


def _version(stack: Stack, object_id: str) -> int:
    number: int = stack.sim.state.content[object_id].version.number
    return number


def _sent(stack: Stack) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in stack.sim.requests]


async def test_the_update_schemas_make_version_optional_and_offer_expected_version(stack: Stack) -> None:
    """tools/list shows both update tools without version required, with expected_version as an integer."""
    listed = {t["name"]: t for t in (await stack.rpc("tools/list", {})).json()["result"]["tools"]}

    for name in (UPDATE_PAGE, UPDATE_BLOGPOST):
        schema = listed[name]["inputSchema"]
        assert "version" not in schema["required"], name
        assert "required" not in schema["properties"]["version"], name
        assert schema["properties"]["expected_version"]["type"] == "integer", name
    assert "expected_version" not in listed["create_a_confluence_page"]["inputSchema"]["properties"]


@pytest.mark.parametrize(("tool", "object_id"), [(UPDATE_PAGE, PAGE), (UPDATE_BLOGPOST, SEED.ops_blogpost_id)])
async def test_an_update_without_version_reads_once_and_sends_current_plus_one(
    stack: Stack, tool: str, object_id: str
) -> None:
    """Omitting version costs one GET and one PUT upstream; the PUT carries current + 1 and the write lands."""
    before = _version(stack, object_id)
    kind = "pages" if tool == UPDATE_PAGE else "blogposts"

    result = await stack.call(tool, _update(object_id, "<p>Steps v2</p>", version={"message": "from an agent"}))

    assert result["isError"] is False, result["content"][0]["text"]
    assert _sent(stack) == [("GET", f"/wiki/api/v2/{kind}/{object_id}"), ("PUT", f"/wiki/api/v2/{kind}/{object_id}")]
    assert stack.sim.requests[1].json["version"] == {"message": "from an agent", "number": before + 1}
    assert _version(stack, object_id) == before + 1
    assert stack.sim.state.content[object_id].storage == "<p>Steps v2</p>"


async def test_an_update_with_its_own_version_number_goes_out_as_before_without_a_read(stack: Stack) -> None:
    """A version.number given and no expected_version: exactly the one PUT, as before this feature."""
    number = _version(stack, PAGE) + 1

    result = await stack.call(UPDATE_PAGE, _update(PAGE, "<p>mine</p>", version={"number": number}))

    assert result["isError"] is False
    assert _sent(stack) == [("PUT", f"/wiki/api/v2/pages/{PAGE}")]


async def test_a_stale_expected_version_is_a_conflict_naming_both_numbers_and_writes_nothing(stack: Stack) -> None:
    """expected_version behind the page: an isError result naming both numbers; only the read went upstream."""
    current = _version(stack, PAGE)

    result = await stack.call(UPDATE_PAGE, _update(PAGE, "<p>overwrite</p>", expected_version=current - 1))

    assert result["isError"] is True
    text = result["content"][0]["text"]
    assert f"expected_version is {current - 1}" in text
    assert f"at version {current}" in text
    assert "nothing was written" in text
    assert _sent(stack) == [("GET", f"/wiki/api/v2/pages/{PAGE}")]
    assert _version(stack, PAGE) == current
    assert stack.sim.state.content[PAGE].storage != "<p>overwrite</p>"


async def test_a_current_expected_version_writes_current_plus_one(stack: Stack) -> None:
    """expected_version equal to the page's version: the write goes through with version current + 1."""
    current = _version(stack, PAGE)

    result = await stack.call(UPDATE_PAGE, _update(PAGE, "<p>guarded</p>", expected_version=current))

    assert result["isError"] is False
    assert result["structuredContent"]["version"]["number"] == current + 1
    assert stack.sim.state.content[PAGE].storage == "<p>guarded</p>"


async def test_two_agents_with_the_same_expected_version_one_wins_one_gets_the_conflict(stack: Stack) -> None:
    """Concurrent updates from one expected_version: one succeeds, one conflicts, the page holds the winner's body.

    The simulator delays each PUT, so both reads usually happen before either write and the loser meets
    Confluence's 409; whichever way the calls interleave, the outcome must be the same.
    """
    current = _version(stack, PAGE)
    stack.sim.faults.latency(150, method="PUT", path=rf"^/wiki/api/v2/pages/{PAGE}$")
    results: dict[str, dict[str, Any]] = {}

    async def agent(name: str) -> None:
        body = f"<p>written by {name}</p>"
        results[name] = await stack.call(UPDATE_PAGE, _update(PAGE, body, expected_version=current))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(agent, "alice")
        tasks.start_soon(agent, "bob")

    winners = [name for name, result in results.items() if result["isError"] is False]
    losers = [name for name, result in results.items() if result["isError"] is True]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    text = results[losers[0]]["content"][0]["text"]
    assert f"expected_version is {current}" in text
    assert f"at version {current + 1}" in text
    assert stack.sim.state.content[PAGE].storage == f"<p>written by {winners[0]}</p>"
    assert _version(stack, PAGE) == current + 1
    if [method for method, _ in _sent(stack)] == ["GET", "GET", "PUT", "PUT"]:  # both read before either wrote
        assert "Confluence said: Version must be incremented" in text  # the loser met Confluence's own 409


async def test_a_409_without_expected_version_is_still_explained_as_before(stack: Stack) -> None:
    """A stale version.number the agent chose itself gets the usual 409 advice with Confluence's numbers."""
    current = _version(stack, PAGE)

    result = await stack.call(UPDATE_PAGE, _update(PAGE, "<p>late</p>", version={"number": current}))

    assert result["isError"] is True
    text = result["content"][0]["text"]
    assert text.startswith("Version conflict (HTTP 409)")
    assert f"send version.number = {current + 1}" in text


async def test_an_update_of_a_missing_page_explains_the_read_and_sends_no_write(stack: Stack) -> None:
    """When the read finds no page, the agent gets the usual 404 explanation and no PUT is made."""
    result = await stack.call(UPDATE_PAGE, _update("999999", "<p>x</p>"))

    assert result["isError"] is True
    assert "Not found (HTTP 404) on GET /wiki/api/v2/pages/999999" in result["content"][0]["text"]
    assert _sent(stack) == [("GET", "/wiki/api/v2/pages/999999")]


async def test_a_version_number_that_does_not_follow_expected_version_is_refused_upfront(stack: Stack) -> None:
    """expected_version 3 with version.number 7: refused naming both, before anything goes upstream."""
    result = await stack.call(UPDATE_PAGE, _update(PAGE, "<p>x</p>", expected_version=3, version={"number": 7}))

    assert result["isError"] is True
    assert "version.number 7 does not follow expected_version 3; send 4" in result["content"][0]["text"]
    assert _sent(stack) == []


async def test_expected_version_must_be_a_whole_number(stack: Stack) -> None:
    """A text expected_version is refused by name before anything goes upstream."""
    result = await stack.call(UPDATE_PAGE, _update(PAGE, "<p>x</p>", expected_version="latest"))

    assert result["isError"] is True
    assert "expected_version" in result["content"][0]["text"]
    assert _sent(stack) == []


async def test_the_simulator_takes_exactly_one_of_concurrent_puts_with_the_same_version(stack: Stack) -> None:
    """Straight to the simulator: of five PUTs carrying the same next version, one is 200 and four are 409."""
    current = _version(stack, PAGE)
    statuses: list[int] = []

    async def put(client: httpx.AsyncClient, n: int) -> None:
        body = {**_update(PAGE, f"<p>{n}</p>"), "version": {"number": current + 1}}
        statuses.append((await client.put(f"/wiki/api/v2/pages/{PAGE}", json=body)).status_code)

    client = httpx.AsyncClient(base_url=stack.sim_url, auth=(SIM_EMAIL, SIM_API_TOKEN))
    async with client, anyio.create_task_group() as tasks:
        for n in range(5):
            tasks.start_soon(put, client, n)

    assert sorted(statuses) == [200, 409, 409, 409, 409]
    assert _version(stack, PAGE) == current + 1
