"""v2 pages and blog posts: list, create, get, update (the version rule), delete (trash, purge), versions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from confluence_mcp.simulator.bodies import LIST_FORMATS, SINGLE_FORMATS, body_format, parse_body, require_body
from confluence_mcp.simulator.exchange import Call, JsonObject, Problem, Reply, RouteSpec, encode_json
from confluence_mcp.simulator.paging import cursor_page
from confluence_mcp.simulator.shapes import content_json, label_json
from confluence_mcp.simulator.state import Content, ContentKind, State, Version, now_iso

_NOUN: Final[dict[ContentKind, str]] = {"page": "page", "blogpost": "blog post", "folder": "folder"}
_DEFAULT_STATUSES: Final = ("current", "archived")
_STATUSES: Final = frozenset({"current", "archived", "draft", "trashed", "deleted", "historical", "any"})
_SORTS: Final[dict[str, tuple[Callable[[Content], Any], bool]]] = {
    "id": (lambda c: int(c.id), False),
    "-id": (lambda c: int(c.id), True),
    "created-date": (lambda c: c.created_at, False),
    "-created-date": (lambda c: c.created_at, True),
    "modified-date": (lambda c: c.version.created_at, False),
    "-modified-date": (lambda c: c.version.created_at, True),
    "title": (lambda c: c.title.casefold(), False),
    "-title": (lambda c: c.title.casefold(), True),
}
MAX_BODY_BYTES: Final = 5 * 1024 * 1024


def numeric_id(value: str, name: str = "id") -> str:
    """Return ``value`` if it is a content id (digits), else raise a 400 ``Problem``."""
    if not value.isdigit():
        raise Problem(400, f"Invalid value for path parameter '{name}': '{value}' is not a number")
    return value


def find_content(state: State, content_id: str, kind: ContentKind, *, name: str = "id") -> Content:
    """Return content ``content_id`` of ``kind`` or raise 404 (400 for a non-numeric id)."""
    item = state.content.get(numeric_id(content_id, name))
    if item is None or item.kind != kind:
        raise Problem(404, f"No {_NOUN[kind]} found with id {content_id}")
    return item


def statuses(call: Call, default: Iterable[str] = _DEFAULT_STATUSES) -> frozenset[str]:
    """Return the ``status`` filter (repeated or comma-joined), validated."""
    wanted = call.args("status")
    for value in wanted:
        if value not in _STATUSES:
            raise Problem(400, f"Invalid value for parameter 'status': '{value}'")
    return frozenset(wanted) if wanted else frozenset(default)


def sort_content(call: Call, items: list[Content]) -> list[Content]:
    """Apply the v2 ``sort`` parameter to ``items`` (which arrive in id order)."""
    raw = call.arg("sort")
    if raw is None or raw in ("", "id"):
        return items
    if raw not in _SORTS:
        raise Problem(400, f"Invalid value for parameter 'sort': '{raw}'")
    key, reverse = _SORTS[raw]
    return sorted(items, key=key, reverse=reverse)


def render_list(call: Call, state: State, items: list[Content]) -> Reply:
    """Return a cursor page of v2 content objects honouring ``body-format``."""
    fmt = body_format(call.arg("body-format"), allowed=LIST_FORMATS)
    return cursor_page(call, items, lambda item: content_json(state, item, call.base, body_format=fmt))


def _list(call: Call, state: State, kind: ContentKind) -> Reply:
    ids = {numeric_id(value, "id") for value in call.args("id")}
    space_ids = {numeric_id(value, "space-id") for value in call.args("space-id")}
    wanted = statuses(call)
    title = call.arg("title")
    items = [
        item
        for item in state.content.values()
        if item.kind == kind
        and item.status in wanted
        and (not ids or item.id in ids)
        and (not space_ids or item.space_id in space_ids)
        and (title is None or item.title == title)
    ]
    return render_list(call, state, sort_content(call, items))


def _duplicate_title(state: State, kind: ContentKind, space_id: str, title: str, exclude: str | None) -> None:
    for item in state.content.values():
        if (
            item.kind == kind
            and item.space_id == space_id
            and item.title == title
            and item.status == "current"
            and item.id != exclude
        ):
            noun = _NOUN[kind]
            raise Problem(
                400,
                f"A {noun} with this title already exists: A {noun} already exists with the same TITLE in this space",
            )


def resolve_parent(state: State, space_id: str, parent_id: object) -> Content:
    """Return the page or folder ``parent_id`` in space ``space_id`` or raise a 400 ``Problem``."""
    parent = state.content.get(str(parent_id))
    if parent is None or parent.kind not in ("page", "folder") or parent.status == "trashed":
        raise Problem(400, f"Invalid parentId '{parent_id}': no page or folder with that id")
    if parent.space_id != space_id:
        raise Problem(400, f"Invalid parentId '{parent_id}': the parent is in another space")
    return parent


def create_content(call: Call, state: State, kind: ContentKind) -> Content:
    """Create a page, blog post or folder from the request body (shared by the create routes)."""
    if len(call.body) > MAX_BODY_BYTES:
        raise Problem(413, "Request entity too large: content bodies are limited to 5 MB")
    data = call.json_object()
    raw_space = data.get("spaceId")
    if raw_space in (None, ""):
        raise Problem(400, "The request is missing the required field 'spaceId'")
    space = state.spaces.get(str(raw_space))
    if space is None:
        raise Problem(400, f"Invalid spaceId '{raw_space}': no space with that id")
    status = data.get("status", "current")
    if status not in ("current", "draft"):
        raise Problem(400, f"Invalid status '{status}': use current or draft")
    title = data.get("title")
    if title is not None and not isinstance(title, str):
        raise Problem(400, "Field 'title' must be a string")
    if not title and (status == "current" or kind == "folder"):
        raise Problem(400, f"A published {_NOUN[kind]} needs a title: the field 'title' is missing or empty")
    body = parse_body(data.get("body"), required=False) if kind != "folder" else None
    parent_id: str | None = None
    if kind != "blogpost":
        if data.get("parentId") not in (None, ""):
            parent_id = resolve_parent(state, space.id, data["parentId"]).id
        elif not call.flag("root-level"):
            parent_id = space.homepage_id
    if kind != "folder" and status == "current" and title:
        _duplicate_title(state, kind, space.id, title, None)
    storage = body.storage if body is not None else ""
    adf = body.adf if body is not None else None
    created = now_iso()
    account = state.current_account_id
    siblings = state.children(parent_id) if parent_id is not None else []
    item = Content(
        id=state.new_content_id(),
        kind=kind,
        space_id=space.id,
        title=title or "",
        status=status,
        parent_id=parent_id,
        author_id=account,
        owner_id=account,
        created_at=created,
        storage=storage,
        adf=adf,
        versions=[Version(1, "", created, account, title=title or "", storage=storage, adf=adf)],
        position=(max((c.position for c in siblings), default=0) + 100) if kind != "blogpost" else 0,
    )
    return state.add_content(item)


def _written_format(item: Content) -> str:
    return "atlas_doc_format" if item.adf is not None else "storage"


def _create(call: Call, state: State, kind: ContentKind) -> Reply:
    item = create_content(call, state, kind)
    return Reply(200, content_json(state, item, call.base, body_format=_written_format(item)))


def version_conflict(current: int, provided: object, noun: str = "page") -> Problem:
    """Return Confluence's 409 for a stale ``version.number`` (exact live wording, status as a string)."""
    return Problem(
        409,
        f"Version must be incremented when updating a {noun}. Current Version: [{current}]. "
        f"Provided version: [{provided}]",
        status_as_text=True,
    )


def new_version_number(data: JsonObject, current: int, noun: str = "page") -> tuple[int, str]:
    """Return ``(number, message)`` of ``data["version"]`` after enforcing ``number == current + 1``."""
    version = data.get("version")
    if not isinstance(version, dict) or not isinstance(version.get("number"), int):
        raise Problem(400, "Field 'version' must be an object with an integer 'number'")
    number = version["number"]
    if number != current + 1:
        raise version_conflict(current, number, noun)
    message = version.get("message", "")
    return number, message if isinstance(message, str) else ""


def _update(call: Call, state: State, kind: ContentKind) -> Reply:
    if len(call.body) > MAX_BODY_BYTES:
        raise Problem(413, "Request entity too large: content bodies are limited to 5 MB")
    data = call.json_object()
    for name in ("id", "status", "title", "body", "version"):
        if data.get(name) is None:
            raise Problem(400, f"The request is missing the required field '{name}'")
    if str(data["id"]) != call.params["id"]:
        raise Problem(400, f"The id in the body ('{data['id']}') does not match the id in the path")
    item = find_content(state, call.params["id"], kind)
    number, message = new_version_number(data, item.version.number)
    status = data["status"]
    if status not in ("current", "draft", "archived"):
        raise Problem(400, f"Invalid status '{status}': use current, draft or archived")
    title = data["title"]
    if not isinstance(title, str) or not title:
        raise Problem(400, "Field 'title' must be a non-empty string")
    if data.get("spaceId") not in (None, "") and str(data["spaceId"]) != item.space_id:
        raise Problem(400, "A page cannot be moved to another space: spaceId must stay the same")
    restoring = item.status == "trashed" and status == "current"
    body = require_body(data["body"])
    if kind == "page" and data.get("parentId") not in (None, "") and str(data["parentId"]) != item.parent_id:
        parent = resolve_parent(state, item.space_id, data["parentId"])
        if parent.id == item.id or item in state.ancestors(parent):
            raise Problem(400, "Invalid parentId: a page cannot be moved under itself")
        item.parent_id = parent.id
    if status == "current" and title != item.title:
        _duplicate_title(state, kind, item.space_id, title, item.id)
    if not restoring:
        item.storage, item.adf = body.storage, body.adf
    if isinstance(data.get("ownerId"), str) and data["ownerId"] in state.users:
        item.owner_id = data["ownerId"]
    item.title = title
    item.status = status
    minor = bool(data["version"].get("minorEdit", False))
    item.versions.append(
        Version(number, message, now_iso(), state.current_account_id, minor, item.title, item.storage, item.adf)
    )
    state.refresh_links(item)
    return Reply(200, content_json(state, item, call.base, body_format=_written_format(item)))


def purge_content(state: State, item: Content) -> None:
    """Erase ``item`` with its comments and attachments; its children move up to its parent."""
    del state.content[item.id]
    for child in state.content.values():
        if child.parent_id == item.id:
            child.parent_id = item.parent_id
    for comment_id in [c.id for c in state.comments.values() if c.container_id == item.id]:
        del state.comments[comment_id]
    for attachment_id in [a.id for a in state.attachments.values() if a.container_id == item.id]:
        del state.attachments[attachment_id]


def delete_content(call: Call, state: State, kind: ContentKind) -> Reply:
    """Trash ``{id}`` (204); ``purge=true`` erases it; ``draft=true`` discards a draft."""
    item = find_content(state, call.params["id"], kind)
    if call.flag("purge"):
        purge_content(state, item)
    elif call.flag("draft"):
        if item.status != "draft":
            raise Problem(404, f"No draft {_NOUN[kind]} found with id {item.id}")
        purge_content(state, item)
    elif item.status == "trashed":
        raise Problem(404, f"No {_NOUN[kind]} found with id {item.id}: it is already in the trash")
    else:
        item.status = "trashed"
    return Reply(204)


def _freshness(state: State, item: Content) -> tuple[object, ...]:
    # Everything content_json reads; any change (even a direct mutation in a test) invalidates the cache entry.
    version = item.version
    return (
        item.status,
        item.title,
        item.space_id,
        item.parent_id,
        state.parent_kind(item),
        item.position,
        item.author_id,
        item.owner_id,
        item.created_at,
        item.storage,
        item.adf,
        item.links,
        version,
        version.number,
        version.message,
        version.created_at,
        version.author_id,
        version.minor_edit,
        version.title,
    )


def _get(call: Call, state: State, kind: ContentKind) -> Reply:
    item = find_content(state, call.params["id"], kind)
    fmt = body_format(call.arg("body-format"), allowed=SINGLE_FORMATS)
    plain = not call.arg("version") and not call.flag("include-labels")
    if plain:
        # The benchmark hammers this route: reuse the encoded answer while the page is unchanged.
        include_version = call.flag("include-version", True)
        key = (item.id, fmt, include_version, call.base)
        freshness = _freshness(state, item)
        cached = state.rendered.get(key)
        if cached is not None and cached[0] == freshness:
            return Reply(200, raw=cached[1])
        encoded = encode_json(content_json(state, item, call.base, body_format=fmt, include_version=include_version))
        state.rendered[key] = (freshness, encoded)
        return Reply(200, raw=encoded)
    version: Version | None = None
    wanted = call.arg("version")
    if wanted:
        number = call.int_arg("version", 0, low=1)
        if number > len(item.versions):
            raise Problem(404, f"Version {number} of {_NOUN[kind]} {item.id} was not found")
        version = item.versions[number - 1]
    data = content_json(
        state, item, call.base, body_format=fmt, include_version=call.flag("include-version", True), version=version
    )
    if call.flag("include-labels"):
        labels = [label_json(state.labels[label_id]) for label_id in item.label_ids]
        data["labels"] = {"results": labels, "meta": {"hasMore": False, "cursor": ""}, "_links": {}}
    return Reply(200, data)


def _versions(call: Call, state: State) -> Reply:
    item = find_content(state, call.params["id"], "page")
    fmt = body_format(call.arg("body-format"), allowed=LIST_FORMATS)
    sort = call.arg("sort") or "-modified-date"
    if sort not in ("modified-date", "-modified-date"):
        raise Problem(400, f"Invalid value for parameter 'sort': '{sort}'")
    history = list(item.versions) if sort == "modified-date" else list(reversed(item.versions))

    def render(version: Version) -> JsonObject:
        data: JsonObject = {
            "number": version.number,
            "message": version.message,
            "minorEdit": version.minor_edit,
            "authorId": version.author_id,
            "createdAt": version.created_at,
            "page": {"id": item.id, "title": version.title},
        }
        if fmt is not None:
            data["body"] = {fmt: {"representation": fmt, "value": version.storage}}
        return data

    return cursor_page(call, history, render)


def _version(call: Call, state: State) -> Reply:
    item = find_content(state, call.params["page-id"], "page", name="page-id")
    raw = call.params["version-number"]
    if not raw.isdigit():
        raise Problem(400, f"Invalid value for path parameter 'version-number': '{raw}' is not a number")
    number = int(raw)
    if not 1 <= number <= len(item.versions):
        raise Problem(404, f"Version {number} of page {item.id} was not found")
    version = item.versions[number - 1]
    return Reply(
        200,
        {
            "number": version.number,
            "authorId": version.author_id,
            "message": version.message,
            "createdAt": version.created_at,
            "minorEdit": version.minor_edit,
            "contentTypeModified": False,
            "collaborators": [version.author_id],
            "prevVersion": number - 1 if number > 1 else None,
            "nextVersion": number + 1 if number < len(item.versions) else None,
        },
    )


def _bind(function: Callable[[Call, State, ContentKind], Reply], kind: ContentKind) -> Callable[[Call, State], Reply]:
    def handler(call: Call, state: State) -> Reply:
        return function(call, state, kind)

    return handler


ROUTES: Final[tuple[RouteSpec, ...]] = (
    ("GET", "/wiki/api/v2/pages/{id}", _bind(_get, "page")),
    ("GET", "/wiki/api/v2/pages", _bind(_list, "page")),
    ("POST", "/wiki/api/v2/pages", _bind(_create, "page")),
    ("PUT", "/wiki/api/v2/pages/{id}", _bind(_update, "page")),
    ("DELETE", "/wiki/api/v2/pages/{id}", _bind(delete_content, "page")),
    ("GET", "/wiki/api/v2/pages/{id}/versions", _versions),
    ("GET", "/wiki/api/v2/pages/{page-id}/versions/{version-number}", _version),
    ("GET", "/wiki/api/v2/blogposts/{id}", _bind(_get, "blogpost")),
    ("GET", "/wiki/api/v2/blogposts", _bind(_list, "blogpost")),
    ("POST", "/wiki/api/v2/blogposts", _bind(_create, "blogpost")),
    ("PUT", "/wiki/api/v2/blogposts/{id}", _bind(_update, "blogpost")),
    ("DELETE", "/wiki/api/v2/blogposts/{id}", _bind(delete_content, "blogpost")),
)
