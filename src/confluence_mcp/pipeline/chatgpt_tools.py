"""``search`` and ``fetch``: the two data tools ChatGPT's deep research and company knowledge look for.

Their shapes are fixed by ChatGPT: ``search(query)`` answers one text item holding
``{"results": [{"id", "title", "url"}]}``; ``fetch(id)`` one text item holding
``{"id", "title", "text", "url", "metadata"}``. Each is one upstream request: search is CQL text search over
pages and blog posts (v1, the only search API); fetch reads the page (or, for a ``blogpost:`` id from
search, the blog post) through v2 with its storage body, returned as Markdown (``content/``; plain text for a
body that is not well-formed XHTML).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

from confluence_mcp.content import to_markdown
from confluence_mcp.errors import InvalidArguments, StorageUnreadable
from confluence_mcp.openapi.models import Annotations, Binding, Tool
from confluence_mcp.upstream.request import UpstreamRequest
from confluence_mcp.upstream.results import ToolOutcome, outcome_from_response
from confluence_mcp.upstream.sender import UpstreamResponse

__all__ = ["EXTRA_TOOLS", "ExtraTool"]

_SEARCH_LIMIT = 10
_BLOGPOST_PREFIX = "blogpost:"
_ID = re.compile(r"^(blogpost:)?[0-9]{1,20}$")
# Block elements end a line of text; the rest run together, as a reader sees them.
_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "table", "hr"}
)
_HIDDEN = frozenset({"ac:parameter", "ri:attachment", "ri:page", "ri:user", "script", "style"})


@dataclass(frozen=True, slots=True)
class ExtraTool:
    """A tool not generated from one OpenAPI operation: its definition, request builder and result shaper."""

    tool: Tool
    build: Callable[[Mapping[str, Any]], UpstreamRequest]
    shape: Callable[[UpstreamRequest, UpstreamResponse], ToolOutcome] | None
    """None for a tool whose own step sets the outcome (the attachment download)."""


def _read_only(title: str) -> Annotations:
    return Annotations(title=title, read_only_hint=True, destructive_hint=False, idempotent_hint=True)


def _cql_string(text: str) -> str:
    """Quote ``text`` as a CQL string literal (backslash and double quote escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _build_search(arguments: Mapping[str, Any]) -> UpstreamRequest:
    query = str(arguments["query"]).strip()
    if not query:
        raise InvalidArguments("Invalid arguments for search: argument 'query' must not be blank.")
    cql = f"type in (page, blogpost) AND text ~ {_cql_string(query)}"
    return UpstreamRequest(
        "GET", "/wiki/rest/api/search", [("cql", cql), ("limit", str(_SEARCH_LIMIT))], {}, None, False
    )


def _build_fetch(arguments: Mapping[str, Any]) -> UpstreamRequest:
    raw = str(arguments["id"])
    kind, number = ("blogposts", raw[len(_BLOGPOST_PREFIX) :]) if raw.startswith(_BLOGPOST_PREFIX) else ("pages", raw)
    path = f"/wiki/api/v2/{kind}/{quote(number, safe='')}"
    return UpstreamRequest("GET", path, [("body-format", "storage")], {}, None, False)


def _only_text(payload: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
    # ChatGPT reads exactly one text item holding JSON; structured content mirrors it for other clients.
    return ToolOutcome(
        text=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        structured=payload,
        meta=outcome.meta,
        headers=outcome.headers,
    )


def _shape_search(request: UpstreamRequest, response: UpstreamResponse) -> ToolOutcome:
    outcome = outcome_from_response("search", request, response)
    data = outcome.structured
    if outcome.is_error or data is None:
        return outcome
    base = _base(data)
    results = []
    for item in data.get("results") or []:
        content = item.get("content") if isinstance(item, dict) else None
        if not isinstance(content, dict) or not content.get("id"):
            continue
        kind = content.get("type")
        ident = f"{_BLOGPOST_PREFIX}{content['id']}" if kind == "blogpost" else str(content["id"])
        webui = (content.get("_links") or {}).get("webui") or item.get("url") or ""
        title = content.get("title") or item.get("title") or ""
        results.append({"id": ident, "title": title, "url": base + webui if webui else ""})
    return _only_text({"results": results}, outcome)


def _shape_fetch(request: UpstreamRequest, response: UpstreamResponse) -> ToolOutcome:
    outcome = outcome_from_response("fetch", request, response)
    data = outcome.structured
    if outcome.is_error or data is None:
        return outcome
    kind = "blogpost" if "/blogposts/" in request.path else "page"
    ident = str(data.get("id", ""))
    links = data.get("_links") or {}
    body = ((data.get("body") or {}).get("storage") or {}).get("value") or ""
    version = data.get("version") or {}
    metadata = {
        "type": kind,
        "spaceId": data.get("spaceId"),
        "version": version.get("number"),
        "lastModified": version.get("createdAt"),
    }
    payload = {
        "id": f"{_BLOGPOST_PREFIX}{ident}" if kind == "blogpost" else ident,
        "title": data.get("title") or "",
        "text": _readable(body),
        "url": _base(data) + links.get("webui", "") if links.get("webui") else "",
        "metadata": {k: v for k, v in metadata.items() if v is not None},
    }
    return _only_text(payload, outcome)


def _readable(storage: str) -> str:
    """Return a body as Markdown, or as plain text when it is not well-formed XHTML."""
    try:
        return to_markdown(storage)
    except StorageUnreadable:
        return storage_text(storage)


def _base(data: Mapping[str, Any]) -> str:
    links = data.get("_links")
    return str(links.get("base") or "") if isinstance(links, dict) else ""


class _TextOf(HTMLParser):
    """Collects the text a reader sees in storage XHTML; macro parameters and resource references stay out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0
        self._link: tuple[int, str] | None = None  # (parts before the link, the title of the page it names)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "ac:link":
            self._link = (len(self.parts), "")
        elif tag == "ri:page" and self._link is not None:
            self._link = (self._link[0], dict(attrs).get("ri:content-title") or "")
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "ac:link" and self._link is not None:
            start, title = self._link
            if not "".join(self.parts[start:]).strip():  # a link without a body shows the page's title
                self.parts.append(title)
            self._link = None
        if tag in _HIDDEN:
            self._hidden = max(self._hidden - 1, 0)
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" | ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "ri:page" and self._link is not None:
            self._link = (self._link[0], dict(attrs).get("ri:content-title") or "")
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)

    def unknown_decl(self, data: str) -> None:
        # Link bodies and code macros carry their text as CDATA, which this parser reports as a declaration.
        if data.startswith("CDATA[") and not self._hidden:
            self.parts.append(data[len("CDATA[") :])


def storage_text(storage: str) -> str:
    """Return the readable text of a storage-format body: one line per block, whitespace tidied."""
    parser = _TextOf()
    parser.feed(storage)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


_SEARCH = Tool(
    name="search",
    title="Search Confluence",
    description=(
        "Finds Confluence pages and blog posts whose title or text matches `query` (plain words, not CQL); "
        "answers {results: [{id, title, url}]}, best matches first, at most 10. Read one with fetch(id). "
        "For CQL, filters or paging use list_all_confluence_search."
    ),
    input_schema={
        "type": "object",
        "properties": {"query": {"type": "string", "minLength": 1, "description": "Words to look for."}},
        "required": ["query"],
        "additionalProperties": False,
    },
    annotations=_read_only("Search Confluence"),
    method="list",
    group="read",
    tags=("search",),
    binding=Binding(method="GET", path="/wiki/rest/api/search", arguments=()),
)

_FETCH = Tool(
    name="fetch",
    title="Fetch a Confluence page",
    description=(
        "Reads (fetches) one page or blog post by the id search returned; answers {id, title, text, url, metadata} "
        "with the body as Markdown. To edit, use get_single_confluence_page_by_id with body-format=markdown."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "id": {
                "type": "string",
                "pattern": _ID.pattern,
                "description": "An id from search: digits for a page, blogpost:<digits> for a blog post.",
            }
        },
        "required": ["id"],
        "additionalProperties": False,
    },
    annotations=_read_only("Fetch a Confluence page"),
    method="get",
    group="read",
    tags=("search",),
    binding=Binding(method="GET", path="/wiki/api/v2/pages/{id}", arguments=()),
)

EXTRA_TOOLS: tuple[ExtraTool, ...] = (
    ExtraTool(_SEARCH, _build_search, _shape_search),
    ExtraTool(_FETCH, _build_fetch, _shape_fetch),
)
"""The tools the catalog adds to those generated from the OpenAPI documents."""
