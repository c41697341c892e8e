"""Steps markdown and markdown_body, and the finisher markdown: Markdown bodies both ways (``pipeline/markdown.py``).

``markdown`` runs before ``version``: a read asking ``body-format=markdown`` asks Confluence for storage; a
Markdown body is checked at once, so Markdown that storage cannot hold is refused before anything is sent, and a
create's body is converted there. An update's body needs the object's current storage (its placeholders are
references into it), so ``markdown`` asks the ``version`` step's one read for storage, and ``markdown_body``
converts after it (reading the object itself for writes that are not safe updates, such as comments). The
finisher turns every storage body of a successful read into ``{"representation": "markdown", "value"}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from confluence_mcp.content import to_storage
from confluence_mcp.errors import PlaceholderUnresolved
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.context import Call
from confluence_mcp.pipeline.current import CurrentReader
from confluence_mcp.pipeline.markdown import (
    BODY_FORMAT,
    MARKDOWN,
    bodies_as_markdown,
    current_storage,
    markdown_body,
)
from confluence_mcp.policy.json_text import compact_json


def _storage_body(body: Mapping[str, Any], storage: str) -> dict[str, Any]:
    return {**body, "representation": "storage", "value": storage}


class AskForStorage:
    """Markdown reads ask for storage; Markdown writes are checked, and converted when nothing is referenced."""

    name = "markdown"

    def __init__(self, catalog: Catalog) -> None:
        self._reads = catalog.markdown_reads
        self._writes = catalog.markdown_writes

    async def run(self, call: Call) -> None:
        """Swap ``body-format=markdown`` for storage; convert or check a Markdown ``body``."""
        assert call.tool is not None  # visible runs first
        name = call.tool.name
        arguments = call.arguments
        if name in self._reads:
            if arguments.get(BODY_FORMAT) == MARKDOWN:
                call.markdown_out = True
                call.replace_arguments({**arguments, BODY_FORMAT: "storage"})
            return
        write = self._writes.get(name)
        markdown = markdown_body(arguments) if write is not None else None
        if write is None or markdown is None:
            return
        if write.reader is None:  # a create: placeholders could only name elements of a page that does not exist
            call.replace_arguments({**arguments, "body": _storage_body(arguments["body"], to_storage(markdown))})
            return
        try:  # refuse what storage cannot hold before the read; references need the page, so they wait for it
            call.replace_arguments({**arguments, "body": _storage_body(arguments["body"], to_storage(markdown))})
        except PlaceholderUnresolved:
            call.markdown_in = markdown
            call.current_storage = True


class ConvertAgainstCurrent:
    """An update's Markdown body becomes storage, its placeholders resolved against the object's current storage."""

    name = "markdown_body"

    def __init__(self, catalog: Catalog, reader: CurrentReader) -> None:
        self._writes = catalog.markdown_writes
        self._reader = reader

    async def run(self, call: Call) -> None:
        """Convert ``call.markdown_in`` with the current storage (one read, shared with ``version``)."""
        markdown = call.markdown_in
        if markdown is None:
            return
        assert call.tool is not None
        write = self._writes[call.tool.name]
        assert write.reader is not None  # only writes with a reader leave markdown_in set
        assert write.id_argument is not None
        assert write.reader_id_argument is not None
        object_id = call.arguments[write.id_argument]
        current = await self._reader.read(call, write.reader, {write.reader_id_argument: object_id}, storage=True)
        if current is None:  # the read failed; its explained answer is the call's outcome
            return
        storage = to_storage(markdown, current_storage(current))
        call.replace_arguments({**call.arguments, "body": _storage_body(call.arguments["body"], storage)})


class BodiesAsMarkdown:
    """A successful Markdown read: every storage body becomes Markdown, the text re-serialized to match."""

    name = "markdown_result"

    async def run(self, call: Call) -> None:
        """Convert the bodies of a read that asked for ``body-format=markdown``; anything else passes."""
        outcome = call.outcome
        if not call.markdown_out or outcome is None or outcome.is_error or outcome.structured is None:
            return
        structured, unread = bodies_as_markdown(outcome.structured)
        if unread:
            structured["markdown_note"] = (
                f"{unread} body(ies) are not well-formed XHTML and stay in storage format (at body.storage.value)."
            )
        call.outcome = dataclasses.replace(outcome, text=compact_json(structured), structured=structured)
