"""Measure the Markdown converter over the corpus: round-trip fidelity and Markdown size against storage.

Run ``python -m bench.content_corpus``. Prints the share of storage documents whose storage → Markdown →
storage round trip keeps every element (canonical XML trees compared), and the median of Markdown size /
storage size (characters) over those documents.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from confluence_mcp.content import to_markdown, to_storage
from confluence_mcp.content.storage_xml import canonical, parse_storage
from confluence_mcp.errors import ConfluenceMcpError

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "content" / "corpus" / "storage"


def measure(paths: list[Path]) -> tuple[float, float, list[str]]:
    """Return (share kept whole, median size ratio, names of documents that lost something)."""
    kept: list[str] = []
    lost: list[str] = []
    ratios: list[float] = []
    for path in paths:
        storage = path.read_text(encoding="utf-8")
        try:
            markdown = to_markdown(storage)
            back = to_storage(markdown, storage)
        except ConfluenceMcpError as exc:
            lost.append(f"{path.name}: {exc}")
            continue
        ratios.append(len(markdown) / len(storage))
        if canonical(parse_storage(back)) == canonical(parse_storage(storage)):
            kept.append(path.name)
        else:
            lost.append(path.name)
    return len(kept) / len(paths), statistics.median(ratios), lost


def main() -> int:
    """Print the two figures (and any document that failed); exit 1 when a round trip lost an element."""
    paths = sorted(CORPUS.glob("*.xhtml"))
    share, median, lost = measure(paths)
    print(f"storage documents: {len(paths)}")
    print(f"round trip keeps every element: {share:.0%}")
    print(f"median Markdown size / storage size: {median:.2f}")
    for name in lost:
        print(f"lost: {name}")
    return 0 if not lost else 1


if __name__ == "__main__":
    sys.exit(main())
