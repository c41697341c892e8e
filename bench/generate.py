"""Time tool generation for Atlassian's 348 official operations (and for our own document)."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from confluence_mcp.openapi import default_documents, generate_tools

OFFICIAL = Path(__file__).resolve().parents[1].parent / "shared" / "openapi-official"


def main() -> None:
    """Generate tools repeatedly and print the median and best time per document set."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--official-dir", type=Path, default=OFFICIAL)
    args = parser.parse_args()
    sets = {
        "official v1+v2": [args.official_dir / "confluence-v1.json", args.official_dir / "confluence-v2.json"],
        "ours (openapi/)": default_documents(),
    }
    report = {}
    for label, paths in sets.items():
        times = []
        count = 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            count = len(generate_tools(paths))
            times.append(time.perf_counter() - start)
        report[label] = {"tools": count, "median_ms": statistics.median(times) * 1000, "best_ms": min(times) * 1000}
        median_ms, best_ms = report[label]["median_ms"], report[label]["best_ms"]
        print(f"{label:18} {count:4} tools  median {median_ms:7.1f} ms  best {best_ms:7.1f} ms")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
