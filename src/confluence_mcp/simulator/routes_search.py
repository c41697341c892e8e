"""v1 CQL search (``/wiki/rest/api/search``, cursor-paged) and user search (``/search/user``, offset-paged)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final
from urllib.parse import urlencode

from confluence_mcp.simulator.bodies import plain_text
from confluence_mcp.simulator.cql import USER_FIELDS, Clause, CqlError, Query, fields, matches, parse
from confluence_mcp.simulator.exchange import Call, JsonObject, Problem, Reply, RouteSpec
from confluence_mcp.simulator.paging import decode_cursor, encode_cursor, offset_page, v1_links
from confluence_mcp.simulator.shapes import v1_content_json, v1_space_json, v1_user_json
from confluence_mcp.simulator.state import Content, Space, State, User

_EXCERPT_CHARS: Final = 150
_USER_SEARCH_ONLY: Final = (
    "The user fields (user, user.fullname, user.accountid, user.userkey) are not supported by "
    "/wiki/rest/api/search; use /wiki/rest/api/search/user"
)

Entity = tuple[dict[str, object], Callable[[], JsonObject]]


def _friendly(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%b %d, %Y")


def _parse(call: Call) -> tuple[str, Query]:
    cql = call.arg("cql")
    if not cql:
        raise Problem(400, "The query parameter 'cql' is required")
    try:
        return cql, parse(cql)
    except CqlError as exc:
        raise Problem(400, f"Could not parse cql : {cql}", detail=str(exc)) from None


def _excerpt(call: Call, text: str) -> str:
    if call.arg("excerpt") == "none":
        return ""
    return text if len(text) <= _EXCERPT_CHARS else text[: _EXCERPT_CHARS - 3].rstrip() + "..."


def _content_entity(call: Call, state: State, item: Content) -> Entity:
    space = state.spaces[item.space_id]
    text = plain_text(item.storage)
    attrs: dict[str, object] = {
        "type": item.kind,
        "space": space.key,
        "space.key": space.key,
        "space.title": space.name,
        "space.type": space.type,
        "title": item.title,
        "text": f"{item.title} {text}",
        "label": [state.labels[label_id].name for label_id in item.label_ids],
        "id": item.id,
        "content": item.id,
        "ancestor": [parent.id for parent in state.ancestors(item)],
        "parent": item.parent_id,
        "creator": item.author_id,
        "contributor": sorted({version.author_id for version in item.versions}),
        "created": item.created_at,
        "lastmodified": item.version.created_at,
    }

    def render() -> JsonObject:
        return {
            "content": v1_content_json(state, item, call.base),
            "title": item.title,
            "excerpt": _excerpt(call, text),
            "url": item.links.get("webui", ""),
            "resultGlobalContainer": {"title": space.name, "displayUrl": f"/spaces/{space.key}"},
            "breadcrumbs": [],
            "entityType": "content",
            "iconCssClass": f"aui-icon content-type-{item.kind}",
            "lastModified": item.version.created_at,
            "friendlyLastModified": _friendly(item.version.created_at),
            "score": 0.0,
        }

    return attrs, render


def _space_entity(call: Call, space: Space) -> Entity:
    attrs: dict[str, object] = {
        "type": "space",
        "space": space.key,
        "space.key": space.key,
        "space.title": space.name,
        "space.type": space.type,
        "title": space.name,
        "text": f"{space.name} {space.description}",
        "id": space.id,
        "creator": space.author_id,
        "created": space.created_at,
        "lastmodified": space.created_at,
    }

    def render() -> JsonObject:
        return {
            "space": v1_space_json(space, call.base),
            "title": space.name,
            "excerpt": _excerpt(call, space.description),
            "url": f"/spaces/{space.key}",
            "entityType": "space",
            "iconCssClass": "aui-icon content-type-space",
            "lastModified": space.created_at,
            "friendlyLastModified": _friendly(space.created_at),
            "score": 0.0,
        }

    return attrs, render


def user_result(call: Call, user: User) -> JsonObject:
    """Return one user search result."""
    return {
        "user": v1_user_json(user, call.base),
        "title": user.display_name,
        "excerpt": "",
        "url": f"/people/{user.account_id}",
        "entityType": "user",
        "iconCssClass": "aui-icon content-type-profile",
        "lastModified": "2025-01-15T09:30:00.000Z",
        "score": 0.0,
    }


def _user_attrs(user: User) -> dict[str, object]:
    return {
        "type": "user",
        "title": user.display_name,
        "text": user.display_name,
        "user": user.account_id,
        "user.accountid": user.account_id,
        "user.userkey": user.account_id,
        "user.fullname": user.display_name,
    }


def _user_entity(call: Call, user: User) -> Entity:
    return _user_attrs(user), lambda: user_result(call, user)


def _order(query: Query, entities: list[Entity]) -> list[Entity]:
    for field, descending in reversed(query.order):
        entities.sort(key=lambda entity: str(entity[0].get(field) or "").casefold(), reverse=descending)
    return entities


def _search(call: Call, state: State) -> Reply:
    cql, query = _parse(call)
    clauses = list(fields(query.where))
    if any(clause.field in USER_FIELDS for clause in clauses):
        raise Problem(400, f"Could not parse cql : {cql}", detail=_USER_SEARCH_ONLY)
    limit = call.int_arg("limit", 25, low=0)
    limit = min(limit, 250)
    offset = decode_cursor(call.arg("cursor"))
    wants_users = _mentions_type(clauses, "user")
    account = state.current_account_id
    candidates: list[Entity] = [
        _content_entity(call, state, item)
        for item in state.content.values()
        if item.status == "current" and (item.kind != "folder" or _mentions_type(clauses, "folder"))
    ]
    candidates += [_space_entity(call, space) for space in state.spaces.values() if space.status == "current"]
    if wants_users:
        candidates += [_user_entity(call, user) for user in state.users.values()]
    found = _order(query, [entity for entity in candidates if matches(query.where, entity[0], account)])
    chunk = found[offset : offset + limit]
    links = v1_links(call)
    others = [(key, value) for key, value in call.query if key not in ("cursor", "limit", "start")]
    if offset + limit < len(found) and limit > 0:
        links["next"] = "/rest/api/search?" + urlencode(
            [*others, ("limit", str(limit)), ("cursor", encode_cursor(offset + limit))]
        )
    if offset > 0:
        previous = max(offset - limit, 0)
        links["prev"] = "/rest/api/search?" + urlencode(
            [*others, ("limit", str(limit)), ("cursor", encode_cursor(previous))]
        )
    return Reply(
        200,
        {
            "results": [render() for _, render in chunk],
            "start": offset,
            "limit": limit,
            "size": len(chunk),
            "totalSize": len(found),
            "cqlQuery": cql,
            "searchDuration": 7,
            "_links": links,
        },
    )


def _mentions_type(clauses: list[Clause], type_name: str) -> bool:
    return any(clause.field == "type" and type_name in clause.values for clause in clauses)


def _search_users(call: Call, state: State) -> Reply:
    cql, query = _parse(call)
    for clause in fields(query.where):
        if clause.field not in USER_FIELDS and clause.field != "type":
            raise Problem(
                400,
                f"Could not parse cql : {cql}",
                detail=f"The field '{clause.field}' is not supported by /search/user; use user or user.fullname",
            )
    account = state.current_account_id
    found = [user for user in state.users.values() if matches(query.where, _user_attrs(user), account)]
    return Reply(
        200,
        offset_page(call, found, lambda user: user_result(call, user), default_limit=25, max_limit=1000, total=True),
    )


ROUTES: Final[tuple[RouteSpec, ...]] = (
    ("GET", "/wiki/rest/api/search", _search),
    ("GET", "/wiki/rest/api/search/user", _search_users),
)
