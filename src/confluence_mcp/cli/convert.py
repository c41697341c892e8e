"""``confluence-mcp convert``: storage ⇄ Markdown, the same conversion the tools use.

Reads FILE, or stdin when none is given, and prints the result on stdout. A body that cannot be converted
(Markdown storage cannot hold, an unresolved placeholder, storage that is not well-formed) exits 2 with the
reason on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from confluence_mcp.content import to_markdown, to_storage
from confluence_mcp.errors import InvalidInput

__all__ = ["add_commands"]


def add_commands(commands: Any) -> None:
    """Register ``convert`` on ``commands``."""
    convert = commands.add_parser(
        "convert",
        help="convert a body between storage format and Markdown",
        description="Convert a page body: storage → Markdown, or Markdown → storage (placeholders resolved "
        "against --original, the storage the Markdown was made from).",
    )
    convert.add_argument("--from", dest="source", choices=("storage", "markdown"), required=True)
    convert.add_argument("--to", dest="target", choices=("storage", "markdown"), required=True)
    convert.add_argument("--original", type=Path, metavar="STORAGE_FILE", help="the storage the Markdown was made from")
    convert.add_argument("file", nargs="?", type=Path, metavar="FILE", help="the body to convert (default: stdin)")
    convert.set_defaults(handler=_convert)


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {what} {path}: {exc}") from None


def _convert(args: argparse.Namespace) -> int:
    if args.source == args.target:
        raise InvalidInput(f"--from and --to are both {args.source}: nothing to convert")
    body = _read(args.file, "FILE") if args.file is not None else sys.stdin.read()
    if args.source == "storage":
        if args.original is not None:
            raise InvalidInput("--original applies to --from markdown only")
        result = to_markdown(body)
    else:
        original = _read(args.original, "--original") if args.original is not None else None
        result = to_storage(body, original)
    sys.stdout.write(result if result.endswith("\n") or not result else result + "\n")
    return 0
