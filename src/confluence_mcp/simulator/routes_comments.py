"""v2 footer and inline comments: lists per page and blog post, get, create (201 + Location), update, replies."""

from __future__ import annotations

from typing import Final

from confluence_mcp.simulator.bodies import LIST_FORMATS, SINGLE_FORMATS, body_format, require_body
from confluence_mcp.simulator.exchange import Call, Problem, Reply, RouteSpec
from confluence_mcp.simulator.paging import cursor_page
from confluence_mcp.simulator.routes_pages import find_content, new_version_number, numeric_id
from confluence_mcp.simulator.shapes import comment_json
from confluence_mcp.simulator.state import Comment, CommentKind, ContentKind, State, Version, now_iso

_CONTAINERS: Final[tuple[tuple[str, ContentKind], ...]] = (("pageId", "page"), ("blogPostId", "blogpost"))
_RESOLUTIONS: Final = frozenset({"open", "reopened", "resolved", "dangling"})


def _find_comment(state: State, comment_id: str, kind: CommentKind) -> Comment:
    comment = state.comments.get(numeric_id(comment_id, "comment-id"))
    if comment is None or comment.kind != kind or comment.status != "current":
        raise Problem(404, f"No {kind} comment found with id {comment_id}")
    return comment


def _list_for(call: Call, state: State, container: ContentKind, kind: CommentKind) -> Reply:
    item = find_content(state, call.params["id"], container)
    fmt = body_format(call.arg("body-format"), allowed=LIST_FORMATS)
    resolution = set(call.args("resolution-status"))
    if resolution - _RESOLUTIONS:
        raise Problem(400, f"Invalid value for parameter 'resolution-status': '{sorted(resolution - _RESOLUTIONS)[0]}'")
    found = [
        comment
        for comment in state.comments.values()
        if comment.container_id == item.id
        and comment.kind == kind
        and comment.parent_comment_id is None
        and comment.status == "current"
        and (not resolution or comment.resolution_status in resolution)
    ]
    if call.arg("sort") in ("-created-date", "-modified-date"):
        found.reverse()
    return cursor_page(call, found, lambda comment: comment_json(state, comment, call.base, body_format=fmt))


def _page_footer(call: Call, state: State) -> Reply:
    return _list_for(call, state, "page", "footer")


def _blogpost_footer(call: Call, state: State) -> Reply:
    return _list_for(call, state, "blogpost", "footer")


def _page_inline(call: Call, state: State) -> Reply:
    return _list_for(call, state, "page", "inline")


def _get(call: Call, state: State, kind: CommentKind) -> Reply:
    comment = _find_comment(state, call.params["comment-id"], kind)
    fmt = body_format(call.arg("body-format"), allowed=SINGLE_FORMATS)
    return Reply(200, comment_json(state, comment, call.base, body_format=fmt))


def _get_footer(call: Call, state: State) -> Reply:
    return _get(call, state, "footer")


def _get_inline(call: Call, state: State) -> Reply:
    return _get(call, state, "inline")


def _create_footer(call: Call, state: State) -> Reply:
    data = call.json_object()
    given = [
        key for key in ("pageId", "blogPostId", "parentCommentId", "attachmentId") if data.get(key) not in (None, "")
    ]
    if len(given) != 1:
        raise Problem(400, "Exactly one of pageId, blogPostId, parentCommentId or attachmentId is required")
    body = require_body(data.get("body"))
    parent_id: str | None = None
    if given[0] == "parentCommentId":
        parent = _find_comment(state, str(data["parentCommentId"]), "footer")
        parent_id, container_id, container_kind = parent.id, parent.container_id, parent.container_kind
    elif given[0] == "attachmentId":
        raise Problem(400, "Comments on attachments are not supported by the simulator")
    else:
        container_kind = dict(_CONTAINERS)[given[0]]
        container = state.content.get(str(data[given[0]]))
        if container is None or container.kind != container_kind or container.status == "trashed":
            raise Problem(404, f"No {container_kind} found with id {data[given[0]]}")
        container_id = container.id
    title = f"Re: {state.content[container_id].title}"
    created, account = now_iso(), state.current_account_id
    comment = Comment(
        id=state.new_content_id(),
        kind="footer",
        container_id=container_id,
        container_kind=container_kind,
        parent_comment_id=parent_id,
        title=title,
        status="current",
        storage=body.storage,
        adf=body.adf,
        versions=[Version(1, "", created, account, title=title, storage=body.storage, adf=body.adf)],
        created_at=created,
        author_id=account,
    )
    state.comments[comment.id] = comment
    fmt = "atlas_doc_format" if body.adf is not None else "storage"
    location = f"{call.base}/api/v2/footer-comments/{comment.id}"
    return Reply(201, comment_json(state, comment, call.base, body_format=fmt), [("location", location)])


def _update_footer(call: Call, state: State) -> Reply:
    data = call.json_object()
    comment = _find_comment(state, call.params["comment-id"], "footer")
    number, message = new_version_number(data, comment.version.number, "comment")
    body = require_body(data.get("body"))
    comment.storage, comment.adf = body.storage, body.adf
    comment.versions.append(
        Version(number, message, now_iso(), state.current_account_id, False, comment.title, body.storage, body.adf)
    )
    fmt = "atlas_doc_format" if body.adf is not None else "storage"
    return Reply(200, comment_json(state, comment, call.base, body_format=fmt))


def _delete_footer(call: Call, state: State) -> Reply:
    comment = _find_comment(state, call.params["comment-id"], "footer")
    doomed = {comment.id}
    # Replies go with their comment; a reply's reply is listed after it, so one pass in id order suffices.
    for other in state.comments.values():
        if other.parent_comment_id in doomed:
            doomed.add(other.id)
    for comment_id in doomed:
        del state.comments[comment_id]
    return Reply(204)


def _replies(call: Call, state: State) -> Reply:
    comment = _find_comment(state, call.params["id"], "footer")
    fmt = body_format(call.arg("body-format"), allowed=LIST_FORMATS)
    found = [c for c in state.comments.values() if c.parent_comment_id == comment.id and c.status == "current"]
    return cursor_page(call, found, lambda reply: comment_json(state, reply, call.base, body_format=fmt))


ROUTES: Final[tuple[RouteSpec, ...]] = (
    ("GET", "/wiki/api/v2/pages/{id}/footer-comments", _page_footer),
    ("GET", "/wiki/api/v2/blogposts/{id}/footer-comments", _blogpost_footer),
    ("GET", "/wiki/api/v2/pages/{id}/inline-comments", _page_inline),
    ("GET", "/wiki/api/v2/footer-comments/{comment-id}", _get_footer),
    ("POST", "/wiki/api/v2/footer-comments", _create_footer),
    ("PUT", "/wiki/api/v2/footer-comments/{comment-id}", _update_footer),
    ("DELETE", "/wiki/api/v2/footer-comments/{comment-id}", _delete_footer),
    ("GET", "/wiki/api/v2/footer-comments/{id}/children", _replies),
    ("GET", "/wiki/api/v2/inline-comments/{comment-id}", _get_inline),
)
