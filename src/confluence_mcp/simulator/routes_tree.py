"""v2 spaces, folders and the page tree: direct children, descendants, ancestors and a space's pages."""

from __future__ import annotations

from typing import Final

from confluence_mcp.simulator.exchange import Call, JsonObject, Problem, Reply, RouteSpec
from confluence_mcp.simulator.paging import cursor_page
from confluence_mcp.simulator.routes_pages import (
    create_content,
    delete_content,
    find_content,
    numeric_id,
    render_list,
    sort_content,
    statuses,
)
from confluence_mcp.simulator.shapes import content_json, space_json
from confluence_mcp.simulator.state import Content, Space, State

_SPACE_TYPES: Final = frozenset({"global", "personal", "collaboration", "knowledge_base", "onboarding"})
_SPACE_STATUSES: Final = frozenset({"current", "archived"})


def _child_json(item: Content) -> JsonObject:
    return {
        "id": item.id,
        "status": item.status,
        "title": item.title,
        "type": item.kind,
        "spaceId": item.space_id,
        "childPosition": item.position,
    }


def _direct_children(call: Call, state: State) -> Reply:
    item = find_content(state, call.params["id"], "page")
    return cursor_page(call, state.children(item.id), _child_json)


def _folder_children(call: Call, state: State) -> Reply:
    item = find_content(state, call.params["id"], "folder")
    return cursor_page(call, state.children(item.id), _child_json)


def _descendants(call: Call, state: State) -> Reply:
    root = find_content(state, call.params["id"], "page")
    max_depth = call.int_arg("depth", 5, low=1, high=5)
    found: list[tuple[Content, int]] = []
    level = [root]
    for depth in range(1, max_depth + 1):
        next_level: list[Content] = []
        for parent in level:
            for child in state.children(parent.id):
                found.append((child, depth))
                next_level.append(child)
        level = next_level

    def render(entry: tuple[Content, int]) -> JsonObject:
        item, depth = entry
        data = _child_json(item)
        data["parentId"] = item.parent_id
        data["depth"] = depth
        return data

    return cursor_page(call, found, render)


def _ancestors(call: Call, state: State) -> Reply:
    item = find_content(state, call.params["id"], "page")
    limit = call.int_arg("limit", 25, low=1, high=250)
    # Confluence has no cursor here: it answers the `limit` nearest ancestors, highest first, and the ones
    # above come from asking again with the first (highest) id returned.
    chain = state.ancestors(item)[-limit:]
    results = [{"id": parent.id, "type": parent.kind} for parent in chain]
    return Reply(200, {"results": results, "_links": {"base": call.base}})


def _find_space(state: State, space_id: str) -> Space:
    space = state.spaces.get(numeric_id(space_id))
    if space is None:
        raise Problem(404, f"No space found with id {space_id}")
    return space


def _space_pages(call: Call, state: State) -> Reply:
    space = _find_space(state, call.params["id"])
    depth = call.arg("depth") or "all"
    if depth not in ("all", "root"):
        raise Problem(400, f"Invalid value for parameter 'depth': '{depth}' (allowed: all, root)")
    wanted = statuses(call)
    title = call.arg("title")
    items = [
        item
        for item in state.content.values()
        if item.kind == "page"
        and item.space_id == space.id
        and item.status in wanted
        and (depth == "all" or item.parent_id is None)
        and (title is None or item.title == title)
    ]
    return render_list(call, state, sort_content(call, items))


def _description_format(call: Call) -> str | None:
    fmt = call.arg("description-format")
    if fmt not in (None, "", "plain", "view"):
        raise Problem(400, f"Invalid value for parameter 'description-format': '{fmt}' (allowed: plain, view)")
    return fmt or None


def _spaces(call: Call, state: State) -> Reply:
    ids = {numeric_id(value, "ids") for value in call.args("ids")}
    keys = set(call.args("keys"))
    space_type = call.arg("type")
    if space_type is not None and space_type not in _SPACE_TYPES:
        raise Problem(400, f"Invalid value for parameter 'type': '{space_type}'")
    status = call.arg("status")
    if status is not None and status not in _SPACE_STATUSES:
        raise Problem(400, f"Invalid value for parameter 'status': '{status}'")
    fmt = _description_format(call)
    found = [
        space
        for space in state.spaces.values()
        if (not ids or space.id in ids)
        and (not keys or space.key in keys)
        and (space_type is None or space.type == space_type)
        and (status is None or space.status == status)
    ]
    found.sort(key=lambda space: int(space.id))
    if call.arg("sort") in ("name", "-name"):
        found.sort(key=lambda space: space.name.casefold(), reverse=call.arg("sort") == "-name")
    elif call.arg("sort") in ("key", "-key"):
        found.sort(key=lambda space: space.key, reverse=call.arg("sort") == "-key")
    elif call.arg("sort") == "-id":
        found.reverse()
    return cursor_page(call, found, lambda space: space_json(space, description_format=fmt))


def _space(call: Call, state: State) -> Reply:
    space = _find_space(state, call.params["id"])
    return Reply(200, space_json(space, description_format=_description_format(call)))


def _folder(call: Call, state: State) -> Reply:
    item = find_content(state, call.params["id"], "folder")
    return Reply(200, content_json(state, item, call.base))


def _create_folder(call: Call, state: State) -> Reply:
    item = create_content(call, state, "folder")
    return Reply(200, content_json(state, item, call.base))


def _delete_folder(call: Call, state: State) -> Reply:
    return delete_content(call, state, "folder")


ROUTES: Final[tuple[RouteSpec, ...]] = (
    ("GET", "/wiki/api/v2/pages/{id}/direct-children", _direct_children),
    ("GET", "/wiki/api/v2/pages/{id}/descendants", _descendants),
    ("GET", "/wiki/api/v2/pages/{id}/ancestors", _ancestors),
    ("GET", "/wiki/api/v2/spaces", _spaces),
    ("GET", "/wiki/api/v2/spaces/{id}", _space),
    ("GET", "/wiki/api/v2/spaces/{id}/pages", _space_pages),
    ("GET", "/wiki/api/v2/folders/{id}", _folder),
    ("POST", "/wiki/api/v2/folders", _create_folder),
    ("DELETE", "/wiki/api/v2/folders/{id}", _delete_folder),
    ("GET", "/wiki/api/v2/folders/{id}/direct-children", _folder_children),
)
