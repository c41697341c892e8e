"""``CurrentReader``: one read of the object a write is about to change, kept on the call for every step.

The ``version`` step reads it for its version number; a step that needs the current body as well (a Markdown
write resolving its placeholders against the page's storage) sets ``call.current_storage`` before ``version``
runs, so the same single GET asks for ``body-format=storage``; a step after it calls ``read`` with
``storage=True`` and gets the kept object, or one read when nothing was read yet.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from confluence_mcp.errors import UpstreamError
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.context import Call
from confluence_mcp.upstream.client import UpstreamClient
from confluence_mcp.upstream.results import outcome_from_response


class CurrentReader:
    """Reads the current object through its get tool's request plan (path values encoded as for any call)."""

    def __init__(self, catalog: Catalog, upstream: UpstreamClient) -> None:
        self._plans = catalog.plans
        self._upstream = upstream

    async def read(
        self, call: Call, reader: str, arguments: Mapping[str, Any], *, storage: bool = False
    ) -> dict[str, Any] | None:
        """Return ``call.current``, reading it once with ``reader``'s plan; None when the read failed.

        A failed read (the object is gone, a 403, a 429) sets ``call.outcome`` to Confluence's answer, explained
        as for any call, which ends the steps: nothing is written.
        """
        current = call.current
        storage = storage or call.current_storage
        if current is not None and (not storage or _has_storage(current)):
            return current
        query = {**arguments, "body-format": "storage"} if storage else dict(arguments)
        assert call.resolved is not None  # resolve runs first
        request = self._plans[reader].build(query)
        started = time.perf_counter()
        response = await self._upstream.send(call.resolved.target, request)
        call.upstream_seconds += time.perf_counter() - started
        if not 200 <= response.status < 300:
            call.outcome = outcome_from_response(reader, request, response)
            return None
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise UpstreamError(
                f"Confluence answered {request.method} {request.path} with something other than a JSON object; "
                "nothing was written"
            )
        call.current = data
        return data


def _has_storage(current: Mapping[str, Any]) -> bool:
    body = current.get("body")
    return isinstance(body, Mapping) and isinstance(body.get("storage"), Mapping)
