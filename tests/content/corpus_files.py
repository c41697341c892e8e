"""The conversion corpus: storage documents and Markdown documents, read from ``corpus/``."""

from __future__ import annotations

from pathlib import Path

from confluence_mcp.content.storage_xml import canonical, parse_storage

__all__ = ["CORPUS", "MARKDOWN_DOCS", "STORAGE_DOCS", "same_tree"]

CORPUS = Path(__file__).resolve().parent / "corpus"
STORAGE_DOCS = sorted((CORPUS / "storage").glob("*.xhtml"))
MARKDOWN_DOCS = sorted((CORPUS / "markdown").glob("*.md"))


def same_tree(left: str, right: str) -> bool:
    """Say whether two storage bodies hold the same elements (attribute order and spacing aside)."""
    return canonical(parse_storage(left)) == canonical(parse_storage(right))
