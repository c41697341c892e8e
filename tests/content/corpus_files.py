"""The conversion corpus: storage documents and Markdown documents, read from ``corpus/``."""

from __future__ import annotations

import re
from pathlib import Path

from confluence_mcp.content.storage_xml import Node, canonical, parse_storage, tag_of

__all__ = ["CORPUS", "MARKDOWN_DOCS", "STORAGE_DOCS", "differences", "element_at", "same_tree", "unhashed"]

CORPUS = Path(__file__).resolve().parent / "corpus"
STORAGE_DOCS = sorted((CORPUS / "storage").glob("*.xhtml"))
MARKDOWN_DOCS = sorted((CORPUS / "markdown").glob("*.md"))


def same_tree(left: str, right: str) -> bool:
    """Say whether two storage bodies hold the same elements (attribute order and spacing aside)."""
    return canonical(parse_storage(left)) == canonical(parse_storage(right))


def unhashed(markdown: str) -> str:
    """Return ``markdown`` without the fingerprints of its references (``info#1~3f2a`` → ``info#1``)."""
    return re.sub(r"(#[0-9]+)~[0-9a-f]{4}", r"\1", markdown)


def differences(old: Node, new: Node, path: str = "") -> list[str]:
    """Return the paths of the smallest elements that differ between two trees."""
    if canonical(old) == canonical(new):
        return []
    if tag_of(old) != tag_of(new) or old.attrib != new.attrib or len(old) != len(new) or len(old) == 0:
        return [path or "/"]
    if (old.text or "").strip() != (new.text or "").strip():
        return [path or "/"]
    if any((a.tail or "").strip() != (b.tail or "").strip() for a, b in zip(old, new, strict=True)):
        return [path or "/"]
    found: list[str] = []
    for number, (a, b) in enumerate(zip(old, new, strict=True)):
        found.extend(differences(a, b, f"{path}/{number}:{tag_of(a)}"))
    return found


def element_at(root: Node, path: str) -> Node:
    """Return the element a path from ``differences`` names."""
    element = root
    for step in path.strip("/").split("/"):
        element = element[int(step.split(":")[0])]
    return element
