"""v2 attachments: site-wide and per-page lists, get, and delete (trash, then ``purge``); v1's download redirect."""

from __future__ import annotations

import re
from typing import Final

from confluence_mcp.simulator.exchange import Call, Problem, Reply, RouteSpec
from confluence_mcp.simulator.media import media_location
from confluence_mcp.simulator.paging import cursor_page
from confluence_mcp.simulator.routes_pages import find_content, statuses
from confluence_mcp.simulator.shapes import attachment_json
from confluence_mcp.simulator.state import Attachment, State

# v2 takes `(att)?[0-9]+` in attachment paths [spec].
_ATTACHMENT_ID: Final = re.compile(r"(att)?([0-9]+)")


def _find(state: State, raw: str) -> Attachment:
    match = _ATTACHMENT_ID.fullmatch(raw)
    if match is None:
        raise Problem(400, f"Invalid value for path parameter 'id': '{raw}' (expected att123 or 123)")
    attachment = state.attachments.get("att" + match.group(2))
    if attachment is None:
        raise Problem(404, f"No attachment found with id {raw}")
    return attachment


def _filtered(call: Call, found: list[Attachment]) -> list[Attachment]:
    wanted = statuses(call, ("current",))
    media_type = call.arg("mediaType")
    filename = call.arg("filename")
    return [
        attachment
        for attachment in found
        if attachment.status in wanted
        and (media_type is None or attachment.media_type == media_type)
        and (filename is None or attachment.title == filename)
    ]


def _page_attachments(call: Call, state: State) -> Reply:
    item = find_content(state, call.params["id"], "page")
    found = _filtered(call, [a for a in state.attachments.values() if a.container_id == item.id])
    return cursor_page(call, found, lambda a: attachment_json(a, call.base), default_limit=50)


def _attachments(call: Call, state: State) -> Reply:
    found = _filtered(call, list(state.attachments.values()))
    return cursor_page(call, found, lambda a: attachment_json(a, call.base), default_limit=50)


def _attachment(call: Call, state: State) -> Reply:
    return Reply(200, attachment_json(_find(state, call.params["id"]), call.base))


def _delete(call: Call, state: State) -> Reply:
    attachment = _find(state, call.params["id"])
    if call.flag("purge"):
        del state.attachments[attachment.id]
    elif attachment.status == "trashed":
        raise Problem(404, f"No attachment found with id {call.params['id']}: it is already in the trash")
    else:
        attachment.status = "trashed"
    return Reply(204)


def _download(call: Call, state: State) -> Reply:
    # v1 REST download: a 302 to a signed media URL, never the bytes themselves [obs].
    attachment = _find(state, call.params["attachmentId"])
    if attachment.container_id != call.params["id"] or attachment.status != "current":
        raise Problem(404, f"No attachment {call.params['attachmentId']} on content {call.params['id']}")
    origin = call.base.removesuffix("/wiki")
    return Reply(302, headers=[("location", media_location(state, attachment, origin))])


ROUTES: Final[tuple[RouteSpec, ...]] = (
    ("GET", "/wiki/api/v2/pages/{id}/attachments", _page_attachments),
    ("GET", "/wiki/api/v2/attachments", _attachments),
    ("GET", "/wiki/api/v2/attachments/{id}", _attachment),
    ("DELETE", "/wiki/api/v2/attachments/{id}", _delete),
    ("GET", "/wiki/rest/api/content/{id}/child/attachment/{attachmentId}/download", _download),
)
