"""The runner: steps in order, early ends, failures turned into outcomes, observers; and the built order end to end."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from confluence_mcp.errors import InvalidArguments, UnknownTool, UpstreamTimeout
from confluence_mcp.pipeline import Call, Pipeline, build_pipeline
from confluence_mcp.pipeline.context import Step
from confluence_mcp.pipeline.steps.arguments import ValidateArguments
from confluence_mcp.pipeline.steps.resolve import ResolveServer
from confluence_mcp.pipeline.steps.send import SendUpstream
from confluence_mcp.pipeline.steps.shape import ShapeResult
from confluence_mcp.pipeline.steps.transform import BuildRequest
from confluence_mcp.pipeline.steps.visibility import CheckVisible
from confluence_mcp.settings import RetrySettings
from confluence_mcp.store.tokens import mint_mcp_token
from confluence_mcp.upstream.client import UpstreamClient
from confluence_mcp.upstream.results import ToolOutcome, error_outcome
from confluence_mcp.upstream.sender import UpstreamResponse
from tests.pipeline.doubles import ATLASSIAN_TOKEN, RecordingSender, World

pytestmark = pytest.mark.anyio

GET_PAGE = "get_single_confluence_page_by_id"
UPDATE_PAGE = "update_a_confluence_page_by_id"
DONE = ToolOutcome(text="done")


class Recording:
    """A step that writes its name in a shared journal, then sets an outcome or raises when told to."""

    def __init__(
        self,
        name: str,
        journal: list[str],
        *,
        outcome: ToolOutcome | None = None,
        error: BaseException | None = None,
    ) -> None:
        self.name = name
        self._journal = journal
        self._outcome = outcome
        self._error = error

    async def run(self, call: Call) -> None:
        """Record this step's turn; raise or end the call as prepared."""
        self._journal.append(self.name)
        if self._error is not None:
            raise self._error
        if self._outcome is not None:
            call.outcome = self._outcome


@dataclass
class Seen:
    """An observer that keeps what each call looked like when it was observed: outcome and failure."""

    name: str = "seen"
    calls: list[tuple[ToolOutcome | None, BaseException | None]] = field(default_factory=list)

    def observe(self, call: Call) -> None:
        """Record the call's outcome and failure as they are now."""
        self.calls.append((call.outcome, call.failure))


class Broken:
    """An observer with a bug."""

    name = "broken"

    def observe(self, call: Call) -> None:
        """Fail, as a buggy observer would."""
        raise RuntimeError("observer bug")


def _call(name: str = "some_tool") -> Call:
    return Call(token=mint_mcp_token(), name=name, arguments={})


# the runner with tiny steps


async def test_build_pipeline_lists_the_documented_order(world: World) -> None:
    """The built pipeline runs its steps in the documented order, then its finishers, then the observers."""
    upstream = UpstreamClient(RecordingSender(UpstreamResponse(200, {}, b"")), RetrySettings())

    pipeline = build_pipeline(world.catalog, world.resolver, upstream)

    assert pipeline.names == (
        "resolve",
        "fair_share",
        "discover",
        "visible",
        "continue_from",
        "coerce",
        "arguments",
        "cursor",
        "markdown",
        "version",
        "markdown_body",
        "transform",
        "send",
        "download",
        "shape",
        "next_cursor",
        "conflict",
        "markdown_result",
        "lean",
        "text_cap",
        "fair_share",
        "metrics",
        "log",
    )


async def test_steps_run_in_the_order_given() -> None:
    """Each step runs once, in order, and the last one's outcome is the answer."""
    journal: list[str] = []
    pipeline = Pipeline(
        steps=(Recording("first", journal), Recording("second", journal), Recording("third", journal, outcome=DONE)),
        observers=(),
    )

    outcome = await pipeline.run(_call())

    assert journal == ["first", "second", "third"]
    assert outcome is DONE


async def test_a_step_that_sets_the_outcome_ends_the_call() -> None:
    """Once a step sets ``call.outcome`` no later step runs, and observers still see the call."""
    journal: list[str] = []
    early = ToolOutcome(text="answered early")
    seen = Seen()
    pipeline = Pipeline(
        steps=(Recording("first", journal, outcome=early), Recording("second", journal, outcome=DONE)),
        observers=(seen,),
    )

    outcome = await pipeline.run(_call())

    assert journal == ["first"]
    assert outcome is early
    assert seen.calls == [(early, None)]


class Refine:
    """A finisher that records its turn and replaces the outcome's text, as next_cursor does."""

    name = "refine"

    def __init__(self, journal: list[str]) -> None:
        self._journal = journal

    async def run(self, call: Call) -> None:
        """Record this finisher's turn and mark the outcome it saw."""
        self._journal.append(self.name)
        if call.outcome is not None:
            call.outcome = ToolOutcome(text=f"{call.outcome.text} (refined)")


async def test_finishers_refine_the_outcome_whichever_step_set_it() -> None:
    """After the step that set the outcome, the remaining steps are skipped but every finisher runs on it."""
    journal: list[str] = []
    seen = Seen()
    pipeline = Pipeline(
        steps=(Recording("first", journal, outcome=ToolOutcome(text="early")), Recording("second", journal)),
        finishers=(Refine(journal),),
        observers=(seen,),
    )

    outcome = await pipeline.run(_call())

    assert journal == ["first", "refine"]
    assert outcome == ToolOutcome(text="early (refined)")
    assert seen.calls == [(outcome, None)]
    assert pipeline.names == ("first", "second", "refine", "seen")


async def test_finishers_do_not_run_after_a_step_raised() -> None:
    """A tool error from a step is the answer as it is: no finisher touches it."""
    journal: list[str] = []
    failure = InvalidArguments("Invalid arguments for some_tool: argument 'cursor' is empty.")
    pipeline = Pipeline(steps=(Recording("first", journal, error=failure),), finishers=(Refine(journal),), observers=())

    outcome = await pipeline.run(_call())

    assert journal == ["first"]
    assert outcome == ToolOutcome(text=str(failure), is_error=True)


async def test_a_tool_call_failure_becomes_an_error_outcome_that_observers_see() -> None:
    """A ToolCallFailed stops the call; its message is the error outcome, and observers see it with the failure."""
    journal: list[str] = []
    failure = InvalidArguments("Invalid arguments for some_tool: argument 'id' is required.")
    seen = Seen()
    pipeline = Pipeline(
        steps=(Recording("first", journal, error=failure), Recording("second", journal, outcome=DONE)),
        observers=(seen,),
    )

    outcome = await pipeline.run(_call())

    assert outcome == ToolOutcome(text="Invalid arguments for some_tool: argument 'id' is required.", is_error=True)
    assert journal == ["first"]
    assert seen.calls == [(outcome, failure)]


async def test_an_unknown_tool_propagates_after_observers_saw_the_call() -> None:
    """An UnknownTool is the caller's to answer (a JSON-RPC error): it propagates, after observers saw the call."""
    journal: list[str] = []
    refusal = UnknownTool("no_such_tool")
    seen = Seen()
    pipeline = Pipeline(
        steps=(Recording("visible", journal, error=refusal), Recording("second", journal, outcome=DONE)),
        observers=(seen,),
    )

    with pytest.raises(UnknownTool) as raised:
        await pipeline.run(_call("no_such_tool"))

    assert raised.value is refusal
    assert journal == ["visible"]
    assert seen.calls == [(None, refusal)]


async def test_an_unexpected_exception_becomes_an_internal_error_and_is_logged(
    caplog_ours: pytest.LogCaptureFixture,
) -> None:
    """A bug in a step becomes a generic error outcome naming the tool; the traceback goes to the log, not the agent."""
    journal: list[str] = []
    seen = Seen()
    pipeline = Pipeline(
        steps=(Recording("first", journal, error=ZeroDivisionError("division by zero")),), observers=(seen,)
    )

    with caplog_ours.at_level(logging.ERROR, logger="confluence_mcp.pipeline"):
        outcome = await pipeline.run(_call("buggy_tool"))

    assert outcome == ToolOutcome(
        text="Internal error while running buggy_tool; the failure was logged.",
        is_error=True,
    )
    records = [r for r in caplog_ours.records if r.name == "confluence_mcp.pipeline"]
    assert [(r.levelno, r.getMessage()) for r in records] == [(logging.ERROR, "tool buggy_tool failed unexpectedly")]
    assert records[0].exc_info is not None
    assert records[0].exc_info[0] is ZeroDivisionError
    assert "Traceback (most recent call last)" in caplog_ours.text
    assert len(seen.calls) == 1
    assert isinstance(seen.calls[0][1], ZeroDivisionError)


async def test_an_observer_that_raises_changes_nothing(caplog_ours: pytest.LogCaptureFixture) -> None:
    """A failing observer is logged; the outcome is unchanged and the next observer still runs."""
    seen = Seen()
    pipeline = Pipeline(steps=(Recording("only", [], outcome=DONE),), observers=(Broken(), seen))

    with caplog_ours.at_level(logging.ERROR, logger="confluence_mcp.pipeline"):
        outcome = await pipeline.run(_call())

    assert outcome is DONE
    assert seen.calls == [(DONE, None)]
    assert [r.getMessage() for r in caplog_ours.records] == ["observer broken failed"]


async def test_an_order_without_a_final_outcome_is_a_configuration_error() -> None:
    """If no step sets an outcome, the runner says which order ended which tool, rather than answering nothing."""
    pipeline = Pipeline(steps=(Recording("first", []), Recording("second", [])), observers=())

    with pytest.raises(RuntimeError, match=r"^the pipeline \(first, second\) ended some_tool without an outcome$"):
        await pipeline.run(_call())


async def test_run_stamps_the_start_time() -> None:
    """``call.started`` is set when the run begins, so observers can time the call."""
    call = _call()

    await Pipeline(steps=(Recording("only", [], outcome=DONE),), observers=()).run(call)

    assert call.started > 0


# the built pipeline end to end, with a fake sender


def _page_answer() -> UpstreamResponse:
    body = json.dumps({"id": "393217", "title": "Roadmap", "version": {"number": 3}}).encode()
    headers = {"content-type": "application/json", "x-ratelimit-limit": "100", "x-ratelimit-remaining": "99"}
    return UpstreamResponse(200, headers, body)


async def _one_by_one(world: World, sender: RecordingSender, call: Call) -> ToolOutcome:
    """Run the six real steps by hand, as the runner would, turning a step's error into its error outcome."""
    upstream = UpstreamClient(sender, RetrySettings())
    steps: tuple[Step, ...] = (
        ResolveServer(world.resolver),
        CheckVisible(),
        ValidateArguments(world.catalog),
        BuildRequest(world.catalog),
        SendUpstream(upstream),
        ShapeResult(world.catalog),
    )
    try:
        for step in steps:
            await step.run(call)
    except (InvalidArguments, UpstreamTimeout) as exc:
        return error_outcome(str(exc))
    assert call.outcome is not None
    return call.outcome


async def _through_pipeline(world: World, sender: RecordingSender, call: Call) -> ToolOutcome:
    pipeline = build_pipeline(world.catalog, world.resolver, UpstreamClient(sender, RetrySettings()))
    return await pipeline.run(call)


@pytest.mark.parametrize(
    ("name", "arguments", "answer"),
    [
        (GET_PAGE, {"id": "393217", "body-format": "storage"}, _page_answer()),
        (GET_PAGE, {"id": "not-a-number"}, _page_answer()),
        (
            UPDATE_PAGE,
            {
                "id": "393217",
                "status": "current",
                "title": "Roadmap",
                "body": {"representation": "storage", "value": "<p>Q3</p>"},
                "version": {"number": 4},
            },
            UpstreamTimeout("Confluence did not answer in time (read timeout) for PUT /wiki/api/v2/pages/393217"),
        ),
    ],
    ids=["read", "invalid arguments", "write timed out"],
)
async def test_the_built_pipeline_answers_as_the_steps_one_by_one(
    world: World, name: str, arguments: Mapping[str, Any], answer: UpstreamResponse | UpstreamTimeout
) -> None:
    """The built pipeline's outcome, and what it sent upstream, equal those of its steps run by hand."""
    by_hand, piped = RecordingSender(answer), RecordingSender(answer)

    expected = await _one_by_one(world, by_hand, Call(token=world.open_token, name=name, arguments=arguments))
    outcome = await _through_pipeline(world, piped, Call(token=world.open_token, name=name, arguments=arguments))

    assert outcome == expected
    assert piped.sent == by_hand.sent


async def test_a_read_end_to_end_reaches_the_account_site_and_shapes_the_answer(world: World) -> None:
    """A page read goes once to the account's site with its credentials, and comes back structured with limits."""
    sender = RecordingSender(_page_answer())

    outcome = await _through_pipeline(
        world, sender, Call(token=world.open_token, name=GET_PAGE, arguments={"id": "393217"})
    )

    assert [(target.base_url, request.method, request.path) for target, request in sender.sent] == [
        ("https://product-ops.atlassian.net", "GET", "/wiki/api/v2/pages/393217")
    ]
    assert outcome.structured == {"id": "393217", "title": "Roadmap", "version": {"number": 3}}
    assert outcome.headers == {"ratelimit-limit": "100", "ratelimit-remaining": "99"}
    assert not outcome.is_error


async def test_a_write_that_timed_out_end_to_end_warns_it_may_have_been_applied(world: World) -> None:
    """A PUT whose upstream timed out is an error outcome that tells the agent to read before retrying."""
    sender = RecordingSender(UpstreamTimeout("Confluence did not answer in time (read timeout) for PUT /x"))
    arguments = {
        "id": "393217",
        "status": "current",
        "title": "Roadmap",
        "body": {"representation": "storage", "value": "<p>Q3</p>"},
        "version": {"number": 4},
    }

    outcome = await _through_pipeline(
        world, sender, Call(token=world.open_token, name=UPDATE_PAGE, arguments=arguments)
    )

    assert outcome == ToolOutcome(
        text="Confluence did not answer in time (read timeout) for PUT /x. "
        "The change may or may not have been applied: read the object before retrying.",
        is_error=True,
    )


async def test_a_filtered_tool_end_to_end_is_refused_and_nothing_is_sent(world: World) -> None:
    """On a read-only server an update is an unknown tool: UnknownTool propagates and Confluence is not asked."""
    sender = RecordingSender(_page_answer())
    call = Call(token=world.read_token, name=UPDATE_PAGE, arguments={"id": "393217"})

    with pytest.raises(UnknownTool, match=rf"^Unknown tool: {UPDATE_PAGE}$"):
        await _through_pipeline(world, sender, call)

    assert sender.sent == []


async def test_end_to_end_debug_logs_name_the_call_but_never_its_secrets(
    world: World, caplog_ours: pytest.LogCaptureFixture
) -> None:
    """At DEBUG, a whole call logs its tool and result, never the URL token, the account's token or a value."""
    sender = RecordingSender(_page_answer())
    call = Call(token=world.open_token, name=GET_PAGE, arguments={"id": "8675309", "body-format": "storage"})

    with caplog_ours.at_level(logging.DEBUG, logger="confluence_mcp"):
        await _through_pipeline(world, sender, call)

    lines = [r.getMessage() for r in caplog_ours.records if r.name == "confluence_mcp.calls"]
    assert len(lines) == 1
    assert lines[0].startswith(f"tool {GET_PAGE!r} ok upstream=200 ")
    for secret in (world.open_token, ATLASSIAN_TOKEN, "8675309"):
        assert secret not in caplog_ours.text
