"""Local ``$ref`` resolution (JSON pointers into the same document) with a guard against alias loops."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from confluence_mcp.errors import SpecError


def escape_pointer(token: str) -> str:
    """Escape one JSON-pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


class Resolver:
    """Resolves ``#/...`` references in one document; also memoizes converted schemas."""

    __slots__ = ("doc", "memo", "source")

    def __init__(self, doc: Mapping[str, Any], source: str) -> None:
        self.doc = doc
        self.source = source
        self.memo: dict[tuple[str, int], dict[str, Any]] = {}

    def lookup(self, ref: str, pointer: str) -> Any:
        """Return the node ``ref`` points at; ``pointer`` is where the ``$ref`` was found (for errors)."""
        if not ref.startswith("#"):
            # External references could make the generator read files or fetch URLs: refused by design.
            raise SpecError(self.source, pointer, f"only local references ('#/...') are supported, got {ref!r}")
        node: Any = self.doc
        for raw in ref[1:].split("/")[1:] if ref != "#" else []:
            token = _unescape(raw)
            if isinstance(node, Mapping) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise SpecError(self.source, pointer, f"unresolvable reference {ref!r}")
        return node

    def follow(self, node: Any, pointer: str) -> tuple[Any, str]:
        """Follow a chain of pure ``$ref`` nodes to a real one; return it and its own pointer."""
        seen: set[str] = set()
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                raise SpecError(self.source, pointer, f"reference loop through {ref!r}")
            seen.add(ref)
            node = self.lookup(ref, pointer)
            pointer = ref[1:] or "/"
        return node, pointer
