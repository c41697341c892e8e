"""Step 7, shape: Confluence's answer -> what the agent gets (JSON as structured content, errors explained)."""

from __future__ import annotations

from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.context import Call
from confluence_mcp.upstream.results import outcome_from_response


class ShapeResult:
    """Sets ``call.outcome`` from the upstream response, with normalized rate-limit figures."""

    name = "shape"

    def __init__(self, catalog: Catalog) -> None:
        self._shapers = catalog.shapers
        self._twins = catalog.twins

    async def run(self, call: Call) -> None:
        """Turn ``call.response`` into the call's outcome."""
        assert call.tool is not None  # the earlier steps set these
        assert call.request is not None
        assert call.response is not None
        shaper = self._shapers.get(call.tool.name)
        if shaper is not None:  # search and fetch answer in ChatGPT's shapes
            call.outcome = shaper(call.request, call.response)
        else:
            twin = self._twins.get(call.tool.name)
            # A twin this server's filters hide cannot be called: the error then says to ask the operator.
            offered = twin is None or call.resolved is None or twin in call.resolved.view.by_name
            call.outcome = outcome_from_response(
                call.tool.name, call.request, call.response, twin=twin, twin_offered=offered
            )
