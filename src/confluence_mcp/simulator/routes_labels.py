"""Labels: v2 reads (site labels, a page's labels, a label's pages) and the v1 add and remove writes."""

from __future__ import annotations

import re
from typing import Final

from confluence_mcp.simulator.exchange import Call, Problem, Reply, RouteSpec
from confluence_mcp.simulator.paging import cursor_page, v1_links
from confluence_mcp.simulator.routes_pages import find_content, numeric_id, render_list, sort_content
from confluence_mcp.simulator.shapes import label_json, v1_label_json
from confluence_mcp.simulator.state import Content, State

_PREFIXES: Final = frozenset({"global", "my", "team", "system"})
_WRITABLE_PREFIXES: Final = frozenset({"global", "my", "team"})
# Confluence refuses whitespace and these characters in label names.
_BAD_LABEL: Final = re.compile(r"[\s:;,.?&\[\]()#^*@!<>]")


def _prefix_filter(call: Call) -> set[str]:
    prefixes = set(call.args("prefix"))
    if prefixes - _PREFIXES:
        raise Problem(400, f"Invalid value for parameter 'prefix': '{sorted(prefixes - _PREFIXES)[0]}'")
    return prefixes


def _page_labels(call: Call, state: State) -> Reply:
    item = find_content(state, call.params["id"], "page")
    prefixes = _prefix_filter(call)
    labels = [state.labels[label_id] for label_id in item.label_ids]
    labels = [label for label in labels if not prefixes or label.prefix in prefixes]
    if call.arg("sort") in ("name", "-name"):
        labels.sort(key=lambda label: label.name, reverse=call.arg("sort") == "-name")
    return cursor_page(call, labels, label_json)


def _labels(call: Call, state: State) -> Reply:
    ids = {numeric_id(value, "label-id") for value in call.args("label-id")}
    prefixes = _prefix_filter(call)
    labels = [
        label
        for label in state.labels.values()
        if (not ids or label.id in ids) and (not prefixes or label.prefix in prefixes)
    ]
    return cursor_page(call, labels, label_json)


def _label_pages(call: Call, state: State) -> Reply:
    label = state.labels.get(numeric_id(call.params["id"]))
    if label is None:
        raise Problem(404, f"No label found with id {call.params['id']}")
    space_ids = set(call.args("space-id"))
    items = [
        item
        for item in state.content.values()
        if item.kind == "page"
        and item.status == "current"
        and label.id in item.label_ids
        and (not space_ids or item.space_id in space_ids)
    ]
    return render_list(call, state, sort_content(call, items))


def _v1_content(state: State, content_id: str) -> Content:
    item = state.content.get(content_id) if content_id.isdigit() else None
    if item is None or item.status == "trashed":
        raise Problem(404, f"No content found with id: ContentId{{id={content_id}}}")
    return item


def _v1_label_page(call: Call, state: State, item: Content) -> Reply:
    labels = [v1_label_json(state.labels[label_id]) for label_id in item.label_ids]
    return Reply(
        200,
        {"results": labels, "start": 0, "limit": 200, "size": len(labels), "_links": v1_links(call)},
    )


def _add_labels(call: Call, state: State) -> Reply:
    item = _v1_content(state, call.params["id"])
    data = call.json_value()
    entries = data if isinstance(data, list) else [data]
    if not entries:
        raise Problem(400, 'Provide at least one label: [{"prefix": "global", "name": "..."}]')
    wanted: list[tuple[str, str]] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise Problem(400, "Each label must be an object with a non-empty string 'name'")
        prefix = entry.get("prefix") or "global"
        if prefix not in _WRITABLE_PREFIXES:
            raise Problem(400, f"Invalid label prefix '{prefix}': use global, my or team")
        name = entry["name"].lower()
        if _BAD_LABEL.search(name) or len(name) > 255:
            raise Problem(
                400, f"Invalid label name '{entry['name']}': labels cannot contain spaces or :;,.?&[]()#^*@!<>"
            )
        wanted.append((prefix, name))
    for prefix, name in wanted:
        label = state.label(prefix, name)
        if label.id not in item.label_ids:
            item.label_ids.append(label.id)
    return _v1_label_page(call, state, item)


def _remove_label(call: Call, state: State) -> Reply:
    item = _v1_content(state, call.params["id"])
    name = call.arg("name")
    if not name:
        raise Problem(400, "The query parameter 'name' is required")
    lowered = name.lower()
    for label_id in item.label_ids:
        if state.labels[label_id].name == lowered:
            item.label_ids.remove(label_id)
            return Reply(204)
    raise Problem(404, f"Label '{name}' is not on content {item.id}")


ROUTES: Final[tuple[RouteSpec, ...]] = (
    ("GET", "/wiki/api/v2/pages/{id}/labels", _page_labels),
    ("GET", "/wiki/api/v2/labels", _labels),
    ("GET", "/wiki/api/v2/labels/{id}/pages", _label_pages),
    ("POST", "/wiki/rest/api/content/{id}/label", _add_labels),
    ("DELETE", "/wiki/rest/api/content/{id}/label", _remove_label),
)
