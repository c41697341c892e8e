"""The audit observer: one queued record per finished call, with keys and outcome but never an argument value."""

from __future__ import annotations

import pytest

from confluence_mcp.errors import UnknownMcpServer, UnknownTool, UpstreamTimeout
from confluence_mcp.pipeline import Call, build_pipeline
from confluence_mcp.pipeline.observers.audit import MAX_KEYS, MAX_TEXT
from confluence_mcp.pipeline.paging import encode_cursor
from confluence_mcp.pipeline.runner import Pipeline
from confluence_mcp.settings import RetrySettings
from confluence_mcp.store.audit_queue import AuditQueue
from confluence_mcp.store.base import AuditRecord
from confluence_mcp.store.tokens import hash_token, mint_mcp_token
from confluence_mcp.upstream.client import UpstreamClient
from confluence_mcp.upstream.sender import UpstreamResponse
from tests.pipeline.doubles import RecordingSender, World

pytestmark = pytest.mark.anyio

GET_PAGE = "get_single_confluence_page_by_id"
UPDATE_PAGE = "update_a_confluence_page_by_id"
GROUPS = "list_all_confluence_groups"
JSON = {"content-type": "application/json"}
CANARY = "9876543210123"  # digits, so it passes as a page id; found nowhere else


def audited(world: World, answer: UpstreamResponse | UpstreamTimeout) -> tuple[Pipeline, AuditQueue]:
    """Return the built pipeline with an audit queue, over a sender that answers ``answer``."""
    queue = AuditQueue()
    upstream = UpstreamClient(RecordingSender(answer), RetrySettings())
    return build_pipeline(world.catalog, world.resolver, upstream, audit=queue), queue


async def server_id(world: World, token: str) -> str:
    """Return the id of the MCP server behind ``token``."""
    resolved = await world.resolver.resolve(token)
    assert resolved is not None
    return resolved.server.id


def only(queue: AuditQueue) -> AuditRecord:
    """Return the one record waiting in ``queue``."""
    (record,) = list(queue)
    return record


async def test_the_audit_observer_comes_after_the_log_observer(world: World) -> None:
    """With a queue the built order ends fair_share, metrics, log, audit; without one there is no audit."""
    pipeline, _ = audited(world, UpstreamResponse(200, JSON, b"{}"))
    assert pipeline.names[-4:] == ("fair_share", "metrics", "log", "audit")
    upstream = UpstreamClient(RecordingSender(UpstreamResponse(200, JSON, b"{}")), RetrySettings())
    assert "audit" not in build_pipeline(world.catalog, world.resolver, upstream).names


async def test_a_successful_call_queues_who_what_keys_status_and_duration_but_no_value(world: World) -> None:
    """The record names the server, the tool, the key ``id``, ok, 200 and a duration; the id's value is absent."""
    pipeline, queue = audited(world, UpstreamResponse(200, JSON, b'{"id": "393217"}'))

    await pipeline.run(Call(world.open_token, GET_PAGE, {"id": CANARY}))

    record = only(queue)
    assert (record.actor, record.action, record.target) == (
        await server_id(world, world.open_token),
        "tools/call",
        GET_PAGE,
    )
    assert (record.argument_keys, record.outcome, record.reason, record.upstream_status) == (("id",), "ok", None, 200)
    assert record.duration_ms is not None
    assert record.duration_ms >= 0
    assert record.id.startswith("aud_")
    assert CANARY not in repr(record)
    assert world.open_token not in repr(record)
    assert hash_token(world.open_token) not in repr(record)


async def test_a_confluence_error_is_an_error_with_its_status(world: World) -> None:
    """Confluence's 404 makes an ``error`` record carrying status 404."""
    pipeline, queue = audited(world, UpstreamResponse(404, JSON, b'{"message": "gone"}'))
    await pipeline.run(Call(world.open_token, GET_PAGE, {"id": "1"}))
    record = only(queue)
    assert (record.outcome, record.upstream_status) == ("error", 404)


async def test_a_call_that_failed_names_the_error_class(world: World) -> None:
    """Bad arguments and a timed-out Confluence are ``error`` records naming InvalidArguments and UpstreamTimeout."""
    pipeline, queue = audited(world, UpstreamTimeout("Confluence did not answer in time"))
    await pipeline.run(Call(world.open_token, GET_PAGE, {"id": "not digits", "surprise": CANARY + "x"}))
    await pipeline.run(Call(world.open_token, GET_PAGE, {"id": "1"}))
    invalid, timed_out = list(queue)
    assert (invalid.outcome, invalid.reason, invalid.upstream_status) == ("error", "InvalidArguments", None)
    assert invalid.argument_keys == ("id", "surprise")
    assert (timed_out.outcome, timed_out.reason) == ("error", "UpstreamTimeout")
    assert CANARY not in repr(list(queue))


async def test_refused_calls_are_refused_records_naming_the_tool_asked_for(world: World) -> None:
    """An unknown tool and a write tool on a read-only server are ``refused`` UnknownTool, with the name tried."""
    pipeline, queue = audited(world, UpstreamResponse(200, JSON, b"{}"))
    with pytest.raises(UnknownTool):
        await pipeline.run(Call(world.open_token, "no_such_tool", {}))
    with pytest.raises(UnknownTool):
        await pipeline.run(Call(world.read_token, UPDATE_PAGE, {"id": "1", "title": "secret plans " + CANARY}))
    unknown, hidden = list(queue)
    assert (unknown.target, unknown.outcome, unknown.reason) == ("no_such_tool", "refused", "UnknownTool")
    assert (hidden.actor, hidden.target, hidden.outcome) == (
        await server_id(world, world.read_token),
        UPDATE_PAGE,
        "refused",
    )
    assert hidden.argument_keys == ("id", "title")


async def test_a_token_no_server_stands_behind_records_nothing(world: World) -> None:
    """A call on an unknown or expired URL is refused and leaves no audit record: there is no actor."""
    pipeline, queue = audited(world, UpstreamResponse(200, JSON, b"{}"))
    for token in (mint_mcp_token(), world.expired_token):
        with pytest.raises(UnknownMcpServer):
            await pipeline.run(Call(token, GET_PAGE, {"id": "1"}))
    assert len(queue) == 0


async def test_a_list_call_records_the_keys_the_agent_sent_not_the_upstream_ones(world: World) -> None:
    """Our cursor becomes Confluence's start upstream, yet the record keeps cursor and limit."""
    pipeline, queue = audited(world, UpstreamResponse(200, JSON, b'{"results": [], "size": 0}'))
    await pipeline.run(Call(world.open_token, GROUPS, {"cursor": encode_cursor("start", 40), "limit": 20}))
    assert only(queue).argument_keys == ("cursor", "limit")


async def test_argument_keys_are_bounded_in_number_and_length(world: World) -> None:
    """A flood of keys keeps the first MAX_KEYS, and a made-up long key keeps MAX_TEXT characters."""
    pipeline, queue = audited(world, UpstreamResponse(200, JSON, b"{}"))
    many = {f"k{n}": n for n in range(MAX_KEYS + 40)}
    await pipeline.run(Call(world.open_token, GET_PAGE, {"id": "1", **many}))
    await pipeline.run(Call(world.open_token, GET_PAGE, {"id": "1", "x" * 1000: 1}))
    flood, long = list(queue)
    assert len(flood.argument_keys) == MAX_KEYS
    assert flood.argument_keys[:2] == ("id", "k0")
    assert long.argument_keys == ("id", "x" * MAX_TEXT)
