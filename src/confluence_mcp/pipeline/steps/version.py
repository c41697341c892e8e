"""Step version and the finisher conflict: safe page and blog-post updates (see ``pipeline/updates.py``).

``version`` reads the current object (one GET, through ``pipeline/current.py``) only when the agent left
``version.number`` out or gave ``expected_version``; an update that carries its number and no expectation goes
out as before, with no read. ``conflict`` rewrites Confluence's 409 on an update that gave ``expected_version``
(another writer saved between our read and our write) into the same conflict result the read gives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from confluence_mcp.errors import InvalidArguments, UpstreamError, VersionConflict
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.context import Call
from confluence_mcp.pipeline.current import CurrentReader
from confluence_mcp.pipeline.updates import EXPECTED_VERSION, conflict_message, current_version
from confluence_mcp.upstream.results import confluence_message, version_in_conflict


class FillVersion:
    """For a safe update: refuse a stale ``expected_version``, fill ``version.number`` with current + 1."""

    name = "version"

    def __init__(self, catalog: Catalog, reader: CurrentReader) -> None:
        self._specs = catalog.safe_updates
        self._reader = reader

    async def run(self, call: Call) -> None:
        """Read the current version when needed; raise VersionConflict when it is not the expected one."""
        assert call.tool is not None  # visible runs first
        spec = self._specs.get(call.tool.name)
        if spec is None:
            return
        arguments = call.arguments
        expected = arguments.get(EXPECTED_VERSION)
        version: Mapping[str, Any] = arguments.get("version") or {}
        number = version.get("number")
        if expected is None and number is not None and not call.current_storage:
            return  # the agent chose its number: sent as it is, Confluence checks it
        if expected is not None and number is not None and number != expected + 1:
            raise InvalidArguments(
                f"Invalid arguments for {call.tool.name}: version.number {number} does not follow expected_version "
                f"{expected}; send {expected + 1}, or leave version.number out and the server sends it."
            )
        call.expected_version = expected
        object_id = arguments[spec.id_argument]
        current = await self._reader.read(call, spec.reader, {spec.reader_id_argument: object_id})
        if current is None:  # the read failed; its explained answer is the call's outcome
            return
        now = current_version(current)
        if now is None:
            raise UpstreamError(f"Confluence's answer for {spec.noun} {object_id} has no version.number to update")
        if expected is not None and now != expected:
            raise VersionConflict(conflict_message(spec, object_id, expected, now))
        if number is None:
            call.replace_arguments({**arguments, "version": {**version, "number": now + 1}})


class ExplainConflict:
    """For a safe update that gave ``expected_version``: Confluence's 409 becomes the conflict result."""

    name = "conflict"

    def __init__(self, catalog: Catalog) -> None:
        self._specs = catalog.safe_updates

    async def run(self, call: Call) -> None:
        """Rewrite a 409's text to name the expected and the current version; anything else passes."""
        expected, outcome, response = call.expected_version, call.outcome, call.response
        if expected is None or outcome is None or response is None or response.status != 409:
            return
        assert call.tool is not None
        spec = self._specs[call.tool.name]
        detail = confluence_message(response.content)
        text = conflict_message(spec, call.arguments.get(spec.id_argument), expected, version_in_conflict(detail))
        call.outcome = dataclasses.replace(outcome, text=f"{text} Confluence said: {detail}" if detail else text)
