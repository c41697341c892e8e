"""``Answers``: the result (or the error) of initialize, server/discover, ping, tools/list, tools/call and listen.

Results here are era-neutral, as the SDK's handlers return them; what an era adds on the wire
(``resultType``, ``ttlMs``, server info in ``_meta``) is the transport's job: ``rpc/wire.py`` for the lean
path, the SDK itself for the SDK path. Refusals are our exceptions; ``error_answers.answer_for`` gives their code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from confluence_mcp.errors import (
    ConfluenceMcpError,
    InvalidParams,
    ServiceUnavailable,
    StoreError,
    StreamNotAccepted,
)
from confluence_mcp.pipeline import Call, Pipeline
from confluence_mcp.pipeline.catalog import ToolView
from confluence_mcp.pipeline.resolver import Resolved, TokenResolver
from confluence_mcp.rpc.envelope import json_type
from confluence_mcp.rpc.versions import (
    CAPABILITIES,
    HANDSHAKE_VERSIONS,
    INSTRUCTIONS,
    LATEST_HANDSHAKE_VERSION,
    MODERN_CAPABILITIES,
    MODERN_VERSIONS,
    SERVER_INFO,
    SUBSCRIPTION_ID_META,
)
from confluence_mcp.upstream.results import ToolOutcome


@dataclass(frozen=True, slots=True)
class ToolsPage:
    """One tools/list page of a view; transports cache its serialization in ``rendered`` under ``cursor``."""

    tools: tuple[dict[str, Any], ...]
    next_cursor: str | None
    cursor: str
    rendered: dict[tuple[object, ...], Any]
    """The view's own cache of serialized pages (``ToolView.rendered``), bounded by its pages and eras."""


TOOLS_LIST_CHANGED = "notifications/tools/list_changed"
WATCH_SECONDS = 0.5
"""How often an open listen stream looks at its MCP server again (through the resolver's short cache), so a change
or a revocation made on any replica reaches the stream within about a second."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """One ``subscriptions/listen`` stream: its id (the request's) and the notification kinds it is sent."""

    id: str | int
    honored: Mapping[str, Any]
    """The requested kinds we deliver, as acknowledged: ``{"toolsListChanged": True}`` or nothing."""

    @property
    def meta(self) -> dict[str, Any]:
        """The ``_meta`` every frame of the stream carries: the subscription id."""
        return {SUBSCRIPTION_ID_META: self.id}


class Answers:
    """Computes every method's answer for a resolved MCP server; shared by the lean and the SDK paths."""

    def __init__(self, pipeline: Pipeline, resolver: TokenResolver | None = None) -> None:
        self._pipeline = pipeline
        self._resolver = resolver
        """Where listen streams look their MCP server up again; None: streams end at once (tests without one)."""
        self._closing = anyio.Event()

    def close_streams(self) -> None:
        """End every open listen stream with its closing frame (at shutdown, so none holds the graceful timeout)."""
        self._closing.set()

    @staticmethod
    def initialize(params: Mapping[str, Any]) -> dict[str, Any]:
        """Answer ``initialize`` (handshake era): echo a version we speak, else offer our latest one."""
        requested = params.get("protocolVersion")
        version = requested if requested in HANDSHAKE_VERSIONS else LATEST_HANDSHAKE_VERSION
        return {
            "capabilities": CAPABILITIES,
            "instructions": INSTRUCTIONS,
            "protocolVersion": version,
            "serverInfo": SERVER_INFO,
        }

    @staticmethod
    def discover() -> dict[str, Any]:
        """Answer ``server/discover`` (2026-07-28): the versions we speak, capabilities and instructions."""
        return {
            "capabilities": MODERN_CAPABILITIES,
            "instructions": INSTRUCTIONS,
            "supportedVersions": sorted(MODERN_VERSIONS),
        }

    @staticmethod
    def ping() -> dict[str, Any]:
        """Answer ``ping`` (handshake era only) with an empty result."""
        return {}

    @staticmethod
    def tools_page(view: ToolView, cursor: object) -> ToolsPage:
        """Answer ``tools/list``: the page at ``cursor``; raise InvalidParams for a cursor that is not ours."""
        if cursor is not None and not isinstance(cursor, str):
            raise InvalidParams(f"Invalid params: 'params.cursor' must be a string, got {json_type(cursor)}")
        try:
            tools, next_cursor = view.page(cursor)
        except ValueError as exc:
            raise InvalidParams(f"Invalid cursor: {exc}") from exc
        return ToolsPage(tools=tools, next_cursor=next_cursor, cursor=cursor or "", rendered=view.rendered)

    async def call_tool(self, token: str, resolved: Resolved | None, params: Mapping[str, Any]) -> ToolOutcome:
        """Answer ``tools/call`` through the pipeline; raise InvalidParams or UnknownTool to refuse it."""
        name = params.get("name")
        arguments = params.get("arguments")
        # The SDK would only say "Invalid request parameters"; naming the field helps the agent fix it.
        if not isinstance(name, str):
            raise InvalidParams(f"Invalid params: 'params.name' must be a string naming a tool, got {json_type(name)}")
        if arguments is not None and not isinstance(arguments, dict):
            raise InvalidParams(
                f"Invalid params: 'params.arguments' of {name} must be an object of named arguments, "
                f"got {json_type(arguments)}"
            )
        return await self._pipeline.run(Call(token=token, name=name, arguments=arguments or {}, resolved=resolved))

    @staticmethod
    def subscription(request_id: str | int | None, notifications: Mapping[str, Any]) -> Subscription:
        """Answer the opening of ``subscriptions/listen`` (2026-07-28): which of the requested kinds are delivered.

        Only tools/list changes happen here (no prompts or resources), so only ``toolsListChanged`` is honoured.
        """
        if request_id is None:
            raise InvalidParams("subscriptions/listen is a request: give it an id, the subscription's id")
        honored = {"toolsListChanged": True} if notifications.get("toolsListChanged") is True else {}
        return Subscription(id=request_id, honored=honored)

    async def changes(
        self, token: str, resolved: Resolved, subscription: Subscription, bearer: str = ""
    ) -> AsyncIterator[str]:
        """Yield a notification method each time something the stream asked for changes; end once it is revoked.

        Unasked kinds are never yielded; the stream still ends when its MCP server is deleted or expires, or,
        on a server requiring API-token auth, when the ``bearer`` that opened it no longer opens it.
        """
        resolver = self._resolver
        if resolver is None:
            return
        wanted = bool(subscription.honored.get("toolsListChanged"))
        seen = _listed_names(resolved)
        while True:
            with anyio.move_on_after(WATCH_SECONDS):
                await self._closing.wait()
            if self._closing.is_set():
                return
            try:
                current = await resolver.resolve(token)
                if current is not None and current.server.require_api_token_auth:
                    record = await resolver.api_token(bearer) if bearer else None
                    if record is None or not record.opens_mcp_server(current.server.id):
                        return
            except (ServiceUnavailable, StoreError):  # the store is away for now: keep the stream, look again later
                continue
            if current is None:
                return
            names = _listed_names(current)
            if names != seen:
                seen = names
                if wanted:
                    yield TOOLS_LIST_CHANGED


LISTEN = "subscriptions/listen"


def listen_refusal(accept: str | None, message: Mapping[str, Any]) -> ConfluenceMcpError | None:
    """Return why a 2026-07-28 ``subscriptions/listen`` cannot be opened, naming what to fix, or None when it can.

    Checked before either transport sees it, so both answer alike and better than the SDK's bare 406 or its
    "Invalid request parameters".
    """
    if message.get("method") != LISTEN:
        return None
    if accept is None or not any(kind in accept for kind in ("text/event-stream", "text/*", "*/*")):
        return StreamNotAccepted(
            "subscriptions/listen answers with a notification stream: "
            "send 'Accept: application/json, text/event-stream'"
        )
    params = message.get("params")
    notifications = params.get("notifications") if isinstance(params, dict) else None
    if not isinstance(notifications, dict):
        got = "it is missing" if notifications is None else f"got {json_type(notifications)}"
        return InvalidParams(
            "Invalid params: 'params.notifications' must be an object of the notifications wanted, "
            f'such as {{"toolsListChanged": true}}; {got}'
        )
    return None


def _listed_names(resolved: Resolved) -> tuple[str, ...]:
    return tuple(tool.name for tool in resolved.listing.tools)


def call_result(outcome: ToolOutcome) -> dict[str, Any]:
    """Return the era-neutral CallToolResult for an outcome, as the SDK's model would hold it."""
    content = list(outcome.content) if outcome.content else [{"type": "text", "text": outcome.text}]
    result: dict[str, Any] = {"content": content, "isError": outcome.is_error}
    if outcome.structured is not None:
        result["structuredContent"] = outcome.structured
    if outcome.meta:
        result["_meta"] = dict(outcome.meta)
    return result
