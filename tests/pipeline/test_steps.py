"""Each pipeline step alone, on a hand-built Call, over the real catalog, store, resolver and upstream client."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from confluence_mcp.errors import (
    InvalidArguments,
    RateLimited,
    UnknownMcpServer,
    UnknownTool,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamResponseTooLarge,
    UpstreamStatusError,
    UpstreamTimeout,
)
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.context import Call
from confluence_mcp.pipeline.observers.log import LogOutcome
from confluence_mcp.pipeline.resolver import Resolved, TokenResolver
from confluence_mcp.pipeline.steps.arguments import ValidateArguments
from confluence_mcp.pipeline.steps.resolve import ResolveServer
from confluence_mcp.pipeline.steps.send import SendUpstream
from confluence_mcp.pipeline.steps.shape import ShapeResult
from confluence_mcp.pipeline.steps.transform import BuildRequest
from confluence_mcp.pipeline.steps.visibility import CheckVisible
from confluence_mcp.settings import RetrySettings
from confluence_mcp.store.tokens import mint_mcp_token
from confluence_mcp.upstream.client import UpstreamClient
from confluence_mcp.upstream.request import UpstreamRequest
from confluence_mcp.upstream.results import ToolOutcome, error_outcome
from confluence_mcp.upstream.sender import UpstreamResponse
from tests.pipeline.doubles import ATLASSIAN_TOKEN, EMAIL, SITE, RecordingSender, World, new_store

pytestmark = pytest.mark.anyio

GET_PAGE = "get_single_confluence_page_by_id"
UPDATE_PAGE = "update_a_confluence_page_by_id"
GROUP_MEMBERS = "list_all_confluence_group_members"
JSON = {"content-type": "application/json"}
GET_REQUEST = UpstreamRequest("GET", "/wiki/api/v2/pages/393217", [], {}, None, False)


async def _resolved(world: World, token: str) -> Resolved:
    resolved = await world.resolver.resolve(token)
    assert resolved is not None
    return resolved


async def _ready_call(world: World, name: str, arguments: dict[str, object] | None = None) -> Call:
    """Return a call on the open server as the earlier steps leave it: resolved, with its tool."""
    resolved = await _resolved(world, world.open_token)
    return Call(
        token=world.open_token,
        name=name,
        arguments=arguments or {},
        resolved=resolved,
        tool=world.catalog.by_name[name],
    )


def _update_arguments(version: int = 4) -> dict[str, object]:
    return {
        "id": "393217",
        "status": "current",
        "title": "Roadmap",
        "body": {"representation": "storage", "value": "<p>Q3</p>"},
        "version": {"number": version},
    }


# resolve


async def test_resolve_keeps_the_server_the_endpoint_already_resolved(world: World, catalog: Catalog) -> None:
    """A call the endpoint resolved keeps that server; the store is not asked (this one has no such token)."""
    resolved = await _resolved(world, world.open_token)
    empty = TokenResolver(new_store(), catalog, ttl=1.0)
    call = Call(token=world.open_token, name=GET_PAGE, arguments={}, resolved=resolved)

    await ResolveServer(empty).run(call)

    assert call.resolved is resolved


async def test_resolve_finds_the_server_and_account_behind_the_token(world: World) -> None:
    """An unresolved call gets its server, the account's site and basic credentials, and its filtered view."""
    call = Call(token=world.read_token, name=GET_PAGE, arguments={})

    await ResolveServer(world.resolver).run(call)

    assert call.resolved is not None
    assert call.resolved.server.name == "read"
    assert call.resolved.target.base_url == SITE
    assert (
        call.resolved.target.authorization
        == "Basic " + base64.b64encode(f"{EMAIL}:{ATLASSIAN_TOKEN}".encode()).decode()
    )
    assert UPDATE_PAGE not in call.resolved.view.by_name
    assert GET_PAGE in call.resolved.view.by_name


@pytest.mark.parametrize("which", ["unknown", "expired in the store"])
async def test_resolve_refuses_an_unknown_or_expired_token_as_not_found(world: World, which: str) -> None:
    """A token no live server has, or one whose server expired, is refused as UnknownMcpServer 'Not found'."""
    token = mint_mcp_token() if which == "unknown" else world.expired_token
    call = Call(token=token, name=GET_PAGE, arguments={})

    with pytest.raises(UnknownMcpServer) as raised:
        await ResolveServer(world.resolver).run(call)

    assert str(raised.value) == "Not found"
    assert call.resolved is None


async def test_resolve_refuses_an_already_resolved_server_whose_expiry_has_passed(world: World) -> None:
    """A server the endpoint resolved but which expired since is refused, though the store still has it."""
    live = await _resolved(world, world.open_token)
    expired_server = dataclasses.replace(live.server, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    call = Call(
        token=world.open_token,
        name=GET_PAGE,
        arguments={},
        resolved=Resolved(server=expired_server, target=live.target, view=live.view, listing=live.view),
    )

    with pytest.raises(UnknownMcpServer, match=r"^Not found$"):
        await ResolveServer(world.resolver).run(call)


# visible


async def test_visible_sets_the_tool_when_the_view_shows_it(world: World) -> None:
    """A tool in the read-only server's view becomes ``call.tool``, the catalog's own Tool."""
    call = Call(token=world.read_token, name=GET_PAGE, arguments={}, resolved=await _resolved(world, world.read_token))

    await CheckVisible().run(call)

    assert call.tool is world.catalog.by_name[GET_PAGE]


@pytest.mark.parametrize(
    ("server", "name"),
    [
        ("read", UPDATE_PAGE),  # filtered out by methods: [read]
        ("spaces", GET_PAGE),  # filtered out by tags: [spaces]
        ("open", "no_such_confluence_tool"),  # does not exist at all
    ],
)
async def test_visible_refuses_filtered_and_nonexistent_tools_alike(world: World, server: str, name: str) -> None:
    """A tool outside the view, whether filtered out or nonexistent, is refused as 'Unknown tool: NAME'."""
    token = {"read": world.read_token, "spaces": world.spaces_token, "open": world.open_token}[server]
    call = Call(token=token, name=name, arguments={}, resolved=await _resolved(world, token))

    with pytest.raises(UnknownTool) as raised:
        await CheckVisible().run(call)

    assert str(raised.value) == f"Unknown tool: {name}"
    assert raised.value.name == name
    assert call.tool is None


# arguments


async def test_arguments_that_match_the_schema_pass_unchanged(world: World) -> None:
    """Valid arguments raise nothing and are left as sent; nothing is built yet."""
    arguments = {"id": "393217", "body-format": "storage", "include-labels": True}
    call = await _ready_call(world, GET_PAGE, arguments)

    await ValidateArguments(world.catalog).run(call)

    assert call.arguments == {"id": "393217", "body-format": "storage", "include-labels": True}
    assert call.request is None


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"id": 393217}, "argument 'id': 393217 is not of type 'string'"),
        ({}, "argument 'id' is required"),
        ({"id": "393217", "colour": "red"}, "Additional properties are not allowed ('colour' was unexpected)"),
    ],
    ids=["wrong type", "missing required", "unknown argument"],
)
async def test_bad_arguments_are_refused_naming_the_argument(
    world: World, arguments: dict[str, object], problem: str
) -> None:
    """A wrong type, a missing required or an unknown argument raises InvalidArguments naming it and the tool."""
    call = await _ready_call(world, GET_PAGE, arguments)

    with pytest.raises(InvalidArguments) as raised:
        await ValidateArguments(world.catalog).run(call)

    message = str(raised.value)
    assert message.startswith(f"Invalid arguments for {GET_PAGE}: {problem}")
    assert message.endswith(".")


async def test_an_unknown_argument_is_answered_with_the_valid_ones(world: World) -> None:
    """The message for an unexpected argument lists the tool's argument names, so the agent can fix it."""
    call = await _ready_call(world, GROUP_MEMBERS, {"groupId": "g1", "size": 5})

    with pytest.raises(InvalidArguments) as raised:
        await ValidateArguments(world.catalog).run(call)

    assert str(raised.value).endswith("valid arguments are: cursor, groupId, limit, shouldReturnTotalSize.")


# transform


async def test_transform_builds_method_path_and_query_from_arguments(world: World) -> None:
    """Path arguments fill the template, query arguments become pairs in binding order, booleans become text."""
    call = await _ready_call(world, GET_PAGE, {"id": "393217", "include-labels": True, "body-format": "storage"})

    await BuildRequest(world.catalog).run(call)

    assert call.request == UpstreamRequest(
        method="GET",
        path="/wiki/api/v2/pages/393217",
        query=[("body-format", "storage"), ("include-labels", "true")],
        headers={},
        json_body=None,
        has_body=False,
    )


async def test_transform_puts_body_arguments_into_a_json_body(world: World) -> None:
    """An update's body arguments become the JSON body of a PUT to the page's path."""
    call = await _ready_call(world, UPDATE_PAGE, _update_arguments())

    await BuildRequest(world.catalog).run(call)

    assert call.request is not None
    assert (call.request.method, call.request.path, call.request.has_body) == ("PUT", "/wiki/api/v2/pages/393217", True)
    assert call.request.json_body == _update_arguments()
    assert json.loads(call.request.encoded_body()) == _update_arguments()


@pytest.mark.parametrize(
    ("value", "segment"),
    [("../x", "..%2Fx"), ("..", "%2E%2E"), ("a/b?c#d%", "a%2Fb%3Fc%23d%25")],
)
async def test_a_path_value_stays_one_encoded_segment(world: World, value: str, segment: str) -> None:
    """Slashes, dots, '?', '#' and '%' in a path value are encoded, so it cannot leave its segment."""
    call = await _ready_call(world, GROUP_MEMBERS, {"groupId": value})

    await BuildRequest(world.catalog).run(call)

    assert call.request is not None
    assert call.request.path == f"/wiki/rest/api/group/{segment}/membersByGroupId"


async def test_an_empty_path_value_is_an_argument_error_naming_it(world: World) -> None:
    """An empty path value would change the URL's shape, so it is refused as InvalidArguments naming it."""
    call = await _ready_call(world, GROUP_MEMBERS, {"groupId": ""})

    with pytest.raises(InvalidArguments) as raised:
        await BuildRequest(world.catalog).run(call)

    assert str(raised.value) == (
        f"Invalid arguments for {GROUP_MEMBERS}: argument 'groupId' must not be empty (it is part of the URL path)."
    )
    assert call.request is None


# send


def _sending(sender: RecordingSender) -> SendUpstream:
    return SendUpstream(UpstreamClient(sender, RetrySettings()))


async def test_send_sets_the_response_the_sender_returned(world: World) -> None:
    """The request goes once to the resolved account's target, and the answer becomes ``call.response``."""
    answer = UpstreamResponse(200, JSON, b'{"id":"393217"}')
    sender = RecordingSender(answer)
    call = await _ready_call(world, GET_PAGE, {"id": "393217"})
    call.request = GET_REQUEST

    await _sending(sender).run(call)

    assert call.response is answer
    assert call.resolved is not None
    assert sender.sent == [(call.resolved.target, GET_REQUEST)]


async def test_a_failed_read_says_it_is_safe_to_retry(world: World) -> None:
    """A GET that timed out raises UpstreamTimeout whose message ends 'Reading is safe to retry.'."""
    original = UpstreamTimeout("Confluence did not answer in time (read timeout) for GET /wiki/api/v2/pages/393217")
    call = await _ready_call(world, GET_PAGE, {"id": "393217"})
    call.request = GET_REQUEST

    with pytest.raises(UpstreamTimeout) as raised:
        await _sending(RecordingSender(original)).run(call)

    assert str(raised.value) == (
        "Confluence did not answer in time (read timeout) for GET /wiki/api/v2/pages/393217. Reading is safe to retry."
    )
    assert raised.value.__cause__ is original
    assert call.response is None


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_a_failed_write_says_it_may_have_been_applied(world: World, method: str) -> None:
    """A POST or PUT whose connection dropped says the change may or may not have been applied."""
    request = UpstreamRequest(method, "/wiki/api/v2/pages/393217", [], {}, {"title": "Roadmap"}, True)
    dropped = UpstreamConnectionError(f"could not reach Confluence for {method} /wiki/api/v2/pages/393217")
    call = await _ready_call(world, UPDATE_PAGE, _update_arguments())
    call.request = request

    with pytest.raises(UpstreamConnectionError) as raised:
        await _sending(RecordingSender(dropped)).run(call)

    assert str(raised.value) == (
        f"could not reach Confluence for {method} /wiki/api/v2/pages/393217. "
        "The change may or may not have been applied: read the object before retrying."
    )


@pytest.mark.parametrize(
    ("method", "advice"),
    [
        ("GET", "Ask for less: a smaller limit, fewer expansions or a narrower query."),
        ("PUT", "Confluence answered, so the change was probably applied: read the object to check."),
    ],
)
async def test_an_answer_too_large_advises_asking_for_less_not_retrying(world: World, method: str, advice: str) -> None:
    """Retrying a read whose answer was too large gets the same answer; a write that got one was applied."""
    request = UpstreamRequest(method, "/wiki/api/v2/pages/393217", [], {}, None, False)
    call = await _ready_call(world, GET_PAGE if method == "GET" else UPDATE_PAGE, {"id": "393217"})
    call.request = request
    original = UpstreamResponseTooLarge(1000, f"{method} /wiki/api/v2/pages/393217")

    with pytest.raises(UpstreamResponseTooLarge) as raised:
        await _sending(RecordingSender(original)).run(call)

    assert str(raised.value) == f"{original}. {advice}"
    assert vars(raised.value) == vars(original)  # limit, where, decompressed


@pytest.mark.parametrize(
    "original",
    [
        UpstreamTimeout("read timeout"),
        UpstreamConnectionError("connection reset"),
        UpstreamError("a header value is not Latin-1 text"),
        UpstreamStatusError(502, "bad gateway"),
        RateLimited("slow down", retry_after=7),
    ],
    ids=lambda exc: type(exc).__name__,
)
async def test_a_send_failure_keeps_its_class_and_fields(world: World, original: UpstreamError) -> None:
    """The advised error is of the sender's error class, with its fields (status, retry_after) intact."""
    call = await _ready_call(world, GET_PAGE, {"id": "393217"})
    call.request = GET_REQUEST

    with pytest.raises(UpstreamError) as raised:
        await _sending(RecordingSender(original)).run(call)

    assert type(raised.value) is type(original)
    assert vars(raised.value) == vars(original)
    assert str(raised.value) == f"{original}. Reading is safe to retry."


# shape


async def _shaped(world: World, request: UpstreamRequest, response: UpstreamResponse) -> ToolOutcome:
    call = await _ready_call(world, GET_PAGE if request.method == "GET" else UPDATE_PAGE)
    call.request = request
    call.response = response
    await ShapeResult(world.catalog).run(call)
    assert call.outcome is not None
    return call.outcome


async def test_a_json_answer_becomes_structured_content_and_text(world: World) -> None:
    """A 200 JSON object is the structured content, and its raw text is the text content."""
    body = b'{"id":"393217","title":"Roadmap","version":{"number":3}}'

    outcome = await _shaped(world, GET_REQUEST, UpstreamResponse(200, JSON, body))

    assert outcome == ToolOutcome(
        text=body.decode(),
        is_error=False,
        structured={"id": "393217", "title": "Roadmap", "version": {"number": 3}},
        meta={},
        headers={},
    )


async def test_a_json_array_is_wrapped_as_an_object(world: World) -> None:
    """Structured content must be an object, so a JSON array comes back under 'result'."""
    outcome = await _shaped(world, GET_REQUEST, UpstreamResponse(200, JSON, b'[{"id":"1"}]'))

    assert outcome.structured == {"result": [{"id": "1"}]}
    assert json.loads(outcome.text) == {"result": [{"id": "1"}]}


async def test_a_version_conflict_advises_the_next_version_number(world: World) -> None:
    """A 409 whose Confluence text says 'Current Version: [3]' tells the agent to send version 4."""
    request = UpstreamRequest("PUT", "/wiki/api/v2/pages/393217", [], {}, _update_arguments(3), True)
    body = json.dumps(
        {"statusCode": 409, "message": "Version must be incremented on update. Current Version: [3]"}
    ).encode()

    outcome = await _shaped(world, request, UpstreamResponse(409, JSON, body))

    assert outcome.is_error
    assert outcome.text.startswith("Version conflict (HTTP 409) on PUT /wiki/api/v2/pages/393217: ")
    assert "The current version is 3: send version.number = 4." in outcome.text
    assert outcome.text.endswith("Confluence said: Version must be incremented on update. Current Version: [3]")
    assert outcome.meta == {"upstream_status": 409}


async def test_rate_limit_headers_land_in_meta_and_headers(world: World) -> None:
    """X-RateLimit-* figures come back as ratelimit-* response headers and as integers in meta."""
    headers = {**JSON, "x-ratelimit-limit": "100", "x-ratelimit-remaining": "42", "x-ratelimit-reset": "30"}

    outcome = await _shaped(world, GET_REQUEST, UpstreamResponse(200, headers, b'{"id":"393217"}'))

    assert outcome.headers == {"ratelimit-limit": "100", "ratelimit-remaining": "42", "ratelimit-reset": "30"}
    assert outcome.meta == {"ratelimit-limit": 100, "ratelimit-remaining": 42, "ratelimit-reset": 30}
    assert not outcome.is_error


async def test_a_429_carries_retry_after_and_the_upstream_status(world: World) -> None:
    """A 429 is an error outcome saying when to retry, with retry-after and the status in meta."""
    headers = {"retry-after": "7", "x-ratelimit-limit": "100", "x-ratelimit-remaining": "0"}

    outcome = await _shaped(world, GET_REQUEST, UpstreamResponse(429, headers, b""))

    assert outcome.is_error
    assert "Retry after 7 seconds." in outcome.text
    assert outcome.headers["retry-after"] == "7"
    assert outcome.meta["retry-after"] == 7
    assert outcome.meta["upstream_status"] == 429


# observers/log


def _finished(name: str, token: str, arguments: dict[str, object]) -> Call:
    return Call(token=token, name=name, arguments=arguments, started=time.perf_counter())


@pytest.mark.parametrize(
    ("shape", "line"),
    [
        ("ok", r"tool 'get_single_confluence_page_by_id' ok upstream=200 [0-9]+\.[0-9]{2}ms"),
        ("error", r"tool 'get_single_confluence_page_by_id' error upstream=None UpstreamTimeout [0-9]+\.[0-9]{2}ms"),
        ("refused", r"tool 'get_single_confluence_page_by_id' refused upstream=None UnknownTool [0-9]+\.[0-9]{2}ms"),
    ],
    ids=["ok", "error", "refused"],
)
def test_log_writes_one_debug_line_naming_tool_and_result(
    caplog_ours: pytest.LogCaptureFixture, shape: str, line: str
) -> None:
    """At DEBUG, each finished call is one line on confluence_mcp.calls: tool, ok/error/refused, status, duration."""
    call = _finished(GET_PAGE, mint_mcp_token(), {"id": "393217"})
    if shape == "ok":
        call.response = UpstreamResponse(200, JSON, b"{}")
        call.outcome = ToolOutcome(text="{}", structured={})
    elif shape == "error":
        call.failure = UpstreamTimeout("read timeout")
        call.outcome = error_outcome("read timeout")
    else:
        call.failure = UnknownTool(GET_PAGE)

    with caplog_ours.at_level(logging.DEBUG, logger="confluence_mcp.calls"):
        LogOutcome().observe(call)

    levels = [logging.WARNING, logging.DEBUG] if shape == "error" else [logging.DEBUG]
    assert [(r.name, r.levelno) for r in caplog_ours.records] == [("confluence_mcp.calls", lv) for lv in levels]
    assert re.fullmatch(line, caplog_ours.records[-1].getMessage())


def test_log_at_info_is_silent_for_good_calls_and_warns_when_confluence_failed(
    caplog_ours: pytest.LogCaptureFixture,
) -> None:
    """At INFO a successful or refused call logs nothing; a call Confluence failed logs one warning naming its class."""
    good = _finished(GET_PAGE, mint_mcp_token(), {"id": "393217"})
    good.response = UpstreamResponse(200, JSON, b"{}")
    good.outcome = ToolOutcome(text="{}", structured={})
    refused = _finished(GET_PAGE, mint_mcp_token(), {"id": "393217"})
    refused.failure = UnknownTool(GET_PAGE)
    failed = _finished(GET_PAGE, mint_mcp_token(), {"id": "393217"})
    failed.failure = UpstreamTimeout("read timeout on 393217")
    failed.outcome = error_outcome("read timeout")

    with caplog_ours.at_level(logging.INFO, logger="confluence_mcp.calls"):
        for call in (good, refused, failed):
            LogOutcome().observe(call)

    assert [(r.levelno, r.getMessage()) for r in caplog_ours.records] == [
        (logging.WARNING, f"tool {GET_PAGE!r}: Confluence call failed (UpstreamTimeout)")
    ]


def test_log_never_shows_the_token_or_argument_values(caplog_ours: pytest.LogCaptureFixture) -> None:
    """The line names the failure's class only, so a token or value inside its message never reaches the log."""
    token = mint_mcp_token()
    secret_title = "Layoffs-plan-do-not-share"
    call = _finished(UPDATE_PAGE, token, {**_update_arguments(), "title": secret_title})
    call.failure = InvalidArguments(f"argument 'title': {secret_title!r} on /mcp/{token} is too long")
    call.outcome = error_outcome(str(call.failure))

    with caplog_ours.at_level(logging.DEBUG, logger="confluence_mcp.calls"):
        LogOutcome().observe(call)

    assert len(caplog_ours.records) == 1
    message = caplog_ours.records[0].getMessage()
    assert message.startswith(f"tool {UPDATE_PAGE!r} error upstream=None InvalidArguments ")
    for secret in (token, secret_title, "393217", "<p>Q3</p>"):
        assert secret not in caplog_ours.text
