"""``Call``: one tools/call on its way through the pipeline; each step fills in the field it owns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from confluence_mcp.openapi import Tool
    from confluence_mcp.pipeline.paging import Paging
    from confluence_mcp.pipeline.resolver import Resolved
    from confluence_mcp.pipeline.text_cap import Continuation
    from confluence_mcp.upstream.request import UpstreamRequest
    from confluence_mcp.upstream.results import ToolOutcome
    from confluence_mcp.upstream.sender import UpstreamResponse


@dataclass(slots=True, eq=False)
class Call:
    """The state of one call: what came in, and what each step produced so far."""

    token: str
    """The MCP URL token the call arrived on."""
    name: str
    """The tool name the agent asked for."""
    arguments: Mapping[str, Any]
    """The agent's arguments, as sent (``{}`` when none); ``cursor`` swaps a list tool's for the upstream ones."""
    resolved: Resolved | None = None
    """The live MCP server (set by the endpoint when it already checked the token, else by ``resolve``)."""
    tool: Tool | None = None
    paging: Paging | None = None
    """How the tool pages, set by ``cursor`` for paginated list tools only."""
    limit_note: str | None = None
    """Set by ``cursor`` when it lowered ``limit`` to the MCP server's maximum."""
    request: UpstreamRequest | None = None
    response: UpstreamResponse | None = None
    outcome: ToolOutcome | None = None
    """What the agent gets; a step that sets it ends the call early."""
    failure: BaseException | None = None
    """What ended the call, when something did (for observers)."""
    started: float = 0.0
    """``time.perf_counter()`` when the pipeline started the call."""
    upstream_seconds: float = 0.0
    """How long the upstream exchange took (set by ``send``)."""
    sent_arguments: Mapping[str, Any] | None = None
    """The agent's arguments, kept by ``cursor`` when it swaps them (for observers that report what was sent)."""
    current: dict[str, Any] | None = None
    """The object being updated as Confluence holds it now, read once by ``version`` (``pipeline/current.py``)."""
    current_storage: bool = False
    """Set by a step before ``version`` that needs the current body too: that one read then asks for storage."""
    markdown_out: bool = False
    """Set by ``markdown`` when a read asked for ``body-format=markdown``: the finisher converts its bodies."""
    markdown_in: str | None = None
    """An update's Markdown body waiting for the current storage its placeholders name (``markdown_body``)."""
    expected_version: int | None = None
    """The agent's ``expected_version`` on an update (``version``); a 409 then names it."""
    continue_from: Continuation | None = None
    """Where a cut result resumes, taken out of the arguments by ``continue_from`` (``pipeline/text_cap.py``)."""

    def replace_arguments(self, arguments: Mapping[str, Any]) -> None:
        """Send ``arguments`` on; the agent's own stay in ``sent_arguments`` (the first swap keeps them)."""
        if self.sent_arguments is None:  # observers report what the agent sent, not what we send
            self.sent_arguments = self.arguments
        self.arguments = arguments


class Step(Protocol):
    """One stage of a call: reads what earlier steps set, sets its own field, raises our errors to stop."""

    name: str

    async def run(self, call: Call) -> None:
        """Do this step's job for ``call``."""
        ...


class Observer(Protocol):
    """Sees every finished call, successful or not; must be quick and must not raise."""

    name: str

    def observe(self, call: Call) -> None:
        """Record ``call`` (its outcome or its failure)."""
        ...
