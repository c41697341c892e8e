"""``confluence_attachments_download``: an attachment's bytes as MCP content, and the pure decisions behind it.

Three requests make one download (``steps/download.py`` sends the last two): the v2 attachment (name, media type,
size, container), v1 REST ``…/child/attachment/{id}/download``, which Confluence Cloud answers with a 302 to a signed
URL on its media host, and that URL, fetched without Confluence credentials. (The ``downloadLink`` servlet path of
v2 answers 401 to API tokens since Atlassian's CHANGE-2735 [obs].) Text types come back as text, images as MCP image
content, other files as an embedded resource blob; a file over ``upstream.max_attachment_bytes`` as its links.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import quote

from confluence_mcp.openapi.models import Annotations, Binding, Tool
from confluence_mcp.pipeline.chatgpt_tools import ExtraTool
from confluence_mcp.upstream.request import UpstreamRequest
from confluence_mcp.upstream.results import ToolOutcome

__all__ = ["DOWNLOAD", "DOWNLOAD_TOOL", "AttachmentInfo", "attachment_info", "content_outcome", "too_large_outcome"]

DOWNLOAD_TOOL: Final = "confluence_attachments_download"
_ID: Final = re.compile(r"^(att)?[0-9]{1,20}$")
_TEXT_TYPES: Final = frozenset(
    {"application/json", "application/xml", "application/javascript", "application/x-yaml", "application/yaml"}
)
_TEXT_SUFFIXES: Final = ("+json", "+xml")
_CHARSET: Final = re.compile(r"charset=\"?([A-Za-z0-9_.:-]+)", re.IGNORECASE)

Kind = Literal["text", "image", "blob"]


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    """What the v2 attachment answer tells a download: names, type, size and where the file lives."""

    id: str
    title: str
    media_type: str
    size: int | None
    container_id: str | None
    webui_url: str
    """The attachment's page in the browser (absolute when Confluence gave ``_links.base``)."""

    def download_request(self) -> UpstreamRequest:
        """Return v1 REST's download request for this attachment (Confluence answers it with a redirect)."""
        container = quote(self.container_id or "", safe="")
        path = f"/wiki/rest/api/content/{container}/child/attachment/{quote(self.id, safe='')}/download"
        return UpstreamRequest("GET", path, [], {}, None, False)


def attachment_info(data: Mapping[str, Any]) -> AttachmentInfo:
    """Read the v2 attachment object; missing fields become empty (the download step refuses what it needs)."""
    links = data.get("_links")
    base = str(links.get("base") or "") if isinstance(links, Mapping) else ""
    webui = str(data.get("webuiLink") or "")
    size = data.get("fileSize")
    container = data.get("pageId") or data.get("blogPostId") or data.get("customContentId")
    return AttachmentInfo(
        id=str(data.get("id") or ""),
        title=str(data.get("title") or ""),
        media_type=str(data.get("mediaType") or "application/octet-stream"),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        container_id=str(container) if container else None,
        webui_url=base + webui if webui else "",
    )


def kind_of(media_type: str) -> Kind:
    """Return how a file of ``media_type`` is returned: as text, as an image, or as a blob."""
    bare = media_type.split(";", 1)[0].strip().lower()
    if bare.startswith("text/") or bare in _TEXT_TYPES or bare.endswith(_TEXT_SUFFIXES):
        return "text"  # SVG (image/svg+xml) included: it is XML an agent can read
    if bare.startswith("image/"):
        return "image"
    return "blob"


def _links(info: AttachmentInfo, download_url: str) -> str:
    where = f"open {info.webui_url} in a browser, or " if info.webui_url else ""
    return f"{where}GET {download_url} with Confluence credentials (it redirects to a signed link)"


def too_large_outcome(info: AttachmentInfo, size: int, cap: int, download_url: str) -> ToolOutcome:
    """Return the answer for a file over the cap: its size, the setting, and how to get it instead."""
    text = (
        f"Not downloaded: {info.title or info.id} is {size:,} bytes, over this server's limit of {cap:,} "
        f"(upstream.max_attachment_bytes). To get it, {_links(info, download_url)}."
    )
    structured = {
        "id": info.id,
        "title": info.title,
        "mediaType": info.media_type,
        "fileSize": size,
        "webuiLink": info.webui_url,
        "downloadUrl": download_url,
    }
    return ToolOutcome(text=text, structured=structured)


def content_outcome(info: AttachmentInfo, media_type: str, data: bytes, download_url: str) -> ToolOutcome:
    """Return the file as MCP content: text as text, an image as image content, anything else as a blob resource."""
    kind = kind_of(media_type)
    bare = media_type.split(";", 1)[0].strip().lower() or "application/octet-stream"
    if kind == "text":
        return ToolOutcome(text=data.decode(_charset(media_type), "replace"))
    summary = f"{info.title or info.id} ({bare}, {len(data):,} bytes), attachment {info.id}."
    encoded = base64.b64encode(data).decode("ascii")
    if kind == "image":
        item: dict[str, Any] = {"type": "image", "data": encoded, "mimeType": bare}
    else:
        item = {"type": "resource", "resource": {"uri": download_url, "mimeType": bare, "blob": encoded}}
    return ToolOutcome(text=summary, content=({"type": "text", "text": summary}, item))


def _charset(media_type: str) -> str:
    match = _CHARSET.search(media_type)
    if match is None:
        return "utf-8"
    name = match.group(1).lower()
    try:
        "".encode(name)
    except LookupError:  # an unknown charset is read as UTF-8 rather than failing the call
        return "utf-8"
    return name


def _build(arguments: Mapping[str, Any]) -> UpstreamRequest:
    return UpstreamRequest(
        "GET", f"/wiki/api/v2/attachments/{quote(str(arguments['id']), safe='')}", [], {}, None, False
    )


_TOOL = Tool(
    name=DOWNLOAD_TOOL,
    title="Download an attachment",
    description=(
        "Reads an attachment's file by attachment `id`: text files as text, images as image content, other files "
        "as a blob; too large ones as their links. Ids: list_all_confluence_page_attachments."
    ),
    input_schema={
        "type": "object",
        "properties": {"id": {"type": "string", "pattern": _ID.pattern, "description": "att123 or 123."}},
        "required": ["id"],
        "additionalProperties": False,
    },
    annotations=Annotations(
        title="Download an attachment", read_only_hint=True, destructive_hint=False, idempotent_hint=True
    ),
    method="get",
    group="read",
    tags=("attachments",),
    binding=Binding(method="GET", path="/wiki/api/v2/attachments/{id}", arguments=()),
)

DOWNLOAD: Final = ExtraTool(_TOOL, _build, None)
"""The download tool as the catalog adds it; ``steps/download.py`` answers its calls."""
