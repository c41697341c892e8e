"""What an MCP server's filters would let through, computed by the server's own catalog and filter rules.

The methods and tags are cleaned and checked by ``admin.rules`` (as creating the server would), the view
comes from ``pipeline.catalog.Catalog`` (as tools/list would serve it), and the size is that of the
``tools/list`` results an agent would receive, every page added up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from confluence_mcp.admin.rules import clean_methods, clean_tags, invalid, require_tools
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.policy.filters import GROUPS, HIDE_DEPRECATED, HideDeprecated, ToolFilter

__all__ = ["ToolPreview", "filter_choices", "preview_tools"]


@dataclass(frozen=True, slots=True)
class ToolPreview:
    """The tools a server with these filters would expose."""

    names: tuple[str, ...]
    """The tools an agent may call."""
    listed: tuple[str, ...]
    """What tools/list shows: ``names``, or the three meta tools in discovery mode."""
    list_bytes: int
    """The bytes of the tools/list results (all pages), as JSON on the wire."""

    def as_json(self) -> dict[str, Any]:
        """Return the preview as the preview endpoint answers it."""
        return {
            "count": len(self.names),
            "names": list(self.names),
            "listed": list(self.listed),
            "bytes": self.list_bytes,
        }


def preview_tools(
    catalog: Catalog, methods: list[str], tags: list[str], exposure: str, hide_deprecated: str = "replaced"
) -> ToolPreview:
    """Return the preview; raise InvalidInput naming ``config.methods[i]``, ``config.tags[i]`` or ``config``."""
    clean_m, clean_t = clean_methods(methods), clean_tags(tags)
    require_tools(catalog.tools, clean_m, clean_t)
    if hide_deprecated not in HIDE_DEPRECATED:
        raise invalid("config.hide_deprecated", f"choose one of {', '.join(HIDE_DEPRECATED)}")
    hidden = cast(HideDeprecated, hide_deprecated)
    view = catalog.view(ToolFilter(methods=frozenset(clean_m), tags=frozenset(clean_t), hide_deprecated=hidden))
    listing = catalog.discovery_view() if exposure == "discovery" else view
    size = 0
    for page in listing.pages:
        size += len(json.dumps({"tools": list(page)}, separators=(",", ":"), ensure_ascii=False).encode())
    return ToolPreview(
        names=tuple(t.name for t in view.tools), listed=tuple(t.name for t in listing.tools), list_bytes=size
    )


def filter_choices(catalog: Catalog) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the method entries (groups first, then each method) and the tags a server form offers."""
    methods = sorted({t.method for t in catalog.tools})
    tags = sorted({tag for t in catalog.tools for tag in t.tags})
    return (*GROUPS, *(m for m in methods if m not in GROUPS)), tuple(tags)
