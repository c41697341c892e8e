"""Pure conversion between Confluence storage format and GFM Markdown (no I/O).

``to_markdown`` writes ordinary constructs as GFM and everything else as short placeholders (``kind#n``
references); ``to_storage`` turns Markdown back, resolving placeholders against the page's original storage,
so storage → Markdown → storage keeps every element. See the README's "Markdown" section.
"""

from __future__ import annotations

from confluence_mcp.content.markdown_in import storage_tree
from confluence_mcp.content.markdown_out import markdown_of
from confluence_mcp.content.references import Index
from confluence_mcp.content.storage_xml import parse_storage, write_storage

__all__ = ["to_markdown", "to_storage"]


def to_markdown(storage: str) -> str:
    """Return GFM for a storage-format body; raise ``StorageUnreadable`` when it is not well-formed."""
    return markdown_of(parse_storage(storage))


def to_storage(markdown: str, original: str | None = None) -> str:
    """Return storage for ``markdown``; placeholders are resolved against ``original`` (the page's storage).

    Raises ``MarkdownRefused`` (naming the construct and line) for Markdown storage cannot hold, and
    ``PlaceholderUnresolved`` for a reference that names no element of ``original``.
    """
    index = Index(parse_storage(original, what="the original storage") if original is not None else None)
    return write_storage(storage_tree(markdown, index))
