"""The current-object read that safe updates make (as a Markdown write will reuse it), and the 409 after it."""

from __future__ import annotations

import json

import pytest

from confluence_mcp.pipeline import Call, Pipeline, build_pipeline
from confluence_mcp.pipeline.current import CurrentReader
from confluence_mcp.settings import RetrySettings
from confluence_mcp.upstream.client import UpstreamClient
from confluence_mcp.upstream.request import UpstreamRequest
from confluence_mcp.upstream.sender import UpstreamResponse
from confluence_mcp.upstream.target import Target
from tests.pipeline.doubles import RecordingSender, World

pytestmark = pytest.mark.anyio

UPDATE_PAGE = "update_a_confluence_page_by_id"
JSON = {"content-type": "application/json"}
PAGE = {
    "id": "393217",
    "title": "Roadmap",
    "version": {"number": 3},
    "body": {"storage": {"representation": "storage", "value": "<p>Q2</p>"}},
}
UPDATE = {
    "id": "393217",
    "status": "current",
    "title": "Roadmap",
    "body": {"representation": "storage", "value": "<p>Q3</p>"},
}


class NeedsStorage:
    """A step placed before ``version`` that needs the current body, as the Markdown write will."""

    name = "needs_storage"

    async def run(self, call: Call) -> None:
        """Ask for the current storage in the read ``version`` makes."""
        call.current_storage = True


def _with_step_before_version(pipeline: Pipeline) -> Pipeline:
    steps = list(pipeline.steps)
    steps.insert(next(i for i, s in enumerate(steps) if s.name == "version"), NeedsStorage())
    return Pipeline(steps=steps, observers=(), finishers=pipeline.finishers)


async def test_a_step_asking_for_storage_makes_the_one_read_fetch_it_and_keeps_it_on_the_call(world: World) -> None:
    """With current_storage set, the version read asks for body-format=storage once; call.current holds the body."""
    sender = RecordingSender(UpstreamResponse(200, JSON, json.dumps(PAGE).encode()))
    pipeline = _with_step_before_version(
        build_pipeline(world.catalog, world.resolver, UpstreamClient(sender, RetrySettings()))
    )
    call = Call(world.open_token, UPDATE_PAGE, UPDATE)

    outcome = await pipeline.run(call)

    assert not outcome.is_error, outcome.text
    assert len(sender.sent) == 2
    read, write = sender.sent[0][1], sender.sent[1][1]
    assert (read.method, read.path, read.query) == ("GET", "/wiki/api/v2/pages/393217", [("body-format", "storage")])
    assert write.method == "PUT"
    assert json.loads(write.encoded_body())["version"] == {"number": 4}
    assert call.current == PAGE


async def test_reading_again_on_the_same_call_reuses_the_object_and_upgrades_it_for_storage(world: World) -> None:
    """A second read costs nothing; asking for storage after a read without it reads once more, with it."""
    bare = {key: value for key, value in PAGE.items() if key != "body"}
    sender = RecordingSender(UpstreamResponse(200, JSON, json.dumps(bare).encode()))
    reader = CurrentReader(world.catalog, UpstreamClient(sender, RetrySettings()))
    call = Call(world.open_token, UPDATE_PAGE, UPDATE, resolved=await world.resolver.resolve(world.open_token))
    get = "get_single_confluence_page_by_id"

    first = await reader.read(call, get, {"id": "393217"})
    again = await reader.read(call, get, {"id": "393217"})
    sender.answer = UpstreamResponse(200, JSON, json.dumps(PAGE).encode())
    with_body = await reader.read(call, get, {"id": "393217"}, storage=True)

    assert first is again
    assert with_body == PAGE
    assert [request.query for _, request in sender.sent] == [[], [("body-format", "storage")]]


class TwoAnswers(RecordingSender):
    """Answers the first request (the read) with the page and every later one (the write) with ``later``."""

    def __init__(self, later: UpstreamResponse) -> None:
        super().__init__(UpstreamResponse(200, JSON, json.dumps(PAGE).encode()))
        self.later = later

    async def send(self, target: Target, request: UpstreamRequest) -> UpstreamResponse:
        """Answer the read as prepared, then switch to the write's answer."""
        answer = await super().send(target, request)
        self.answer = self.later
        return answer


async def test_a_409_after_a_matching_read_is_the_conflict_naming_expected_and_current(world: World) -> None:
    """Another writer saved between our read (version 3, as expected) and our PUT: the result names 3 and 4."""
    stale = b'{"errors":[{"status":"409","code":"CONFLICT","title":"Version must be incremented when updating a page. Current Version: [4]. Provided version: [4]"}]}'  # noqa: E501  # Confluence's own one-line body
    sender = TwoAnswers(UpstreamResponse(409, JSON, stale))
    pipeline = build_pipeline(world.catalog, world.resolver, UpstreamClient(sender, RetrySettings()))

    outcome = await pipeline.run(Call(world.open_token, UPDATE_PAGE, {**UPDATE, "expected_version": 3}))

    assert outcome.is_error
    assert outcome.text.startswith(
        "Version conflict on page 393217: expected_version is 3, but the page is at version 4; nothing was written."
    )
    assert outcome.meta["upstream_status"] == 409
    assert [request.method for _, request in sender.sent] == ["GET", "PUT"]
