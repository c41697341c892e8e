"""The conversion corpus: storage documents and Markdown documents, read from ``corpus/``."""

from __future__ import annotations

import re
from pathlib import Path

from confluence_mcp.content.storage_xml import canonical, parse_storage

__all__ = ["CORPUS", "MARKDOWN_DOCS", "STORAGE_DOCS", "same_tree", "unhashed"]

CORPUS = Path(__file__).resolve().parent / "corpus"
STORAGE_DOCS = sorted((CORPUS / "storage").glob("*.xhtml"))
MARKDOWN_DOCS = sorted((CORPUS / "markdown").glob("*.md"))


def same_tree(left: str, right: str) -> bool:
    """Say whether two storage bodies hold the same elements (attribute order and spacing aside)."""
    return canonical(parse_storage(left)) == canonical(parse_storage(right))


def unhashed(markdown: str) -> str:
    """Return ``markdown`` without the fingerprints of its references (``info#1~3f2a`` → ``info#1``)."""
    return re.sub(r"(#[0-9]+)~[0-9a-f]{4}", r"\1", markdown)
