"""Users and groups: v1 user get/current/memberof, v2 users-bulk, v1 groups, picker, members and membership."""

from __future__ import annotations

from typing import Final

from confluence_mcp.simulator.exchange import Call, Problem, Reply, RouteSpec
from confluence_mcp.simulator.paging import offset_page, v1_links
from confluence_mcp.simulator.shapes import group_json, v1_user_json, v2_user_json
from confluence_mcp.simulator.state import Group, State, User

_ADMINS_GROUP: Final = "site-admins"
_MAX_BULK: Final = 250


def _user(state: State, account_id: str | None) -> User:
    if not account_id:
        raise Problem(400, "The query parameter 'accountId' is required")
    user = state.users.get(account_id)
    if user is None:
        raise Problem(404, f"No user found with accountId: {account_id}")
    return user


def _get_user(call: Call, state: State) -> Reply:
    user = _user(state, call.arg("accountId"))
    return Reply(200, {**v1_user_json(user, call.base), "_links": {**v1_links(call), "self": _self(call, user)}})


def _self(call: Call, user: User) -> str:
    return f"{call.base}/rest/api/user?accountId={user.account_id}"


def _current_user(call: Call, state: State) -> Reply:
    user = state.users[state.current_account_id]
    data = v1_user_json(user, call.base)
    data["_links"] = {**v1_links(call), "self": _self(call, user)}
    return Reply(200, data)


def _groups_sorted(groups: list[Group]) -> list[Group]:
    return sorted(groups, key=lambda group: group.name.casefold())


def _member_of(call: Call, state: State) -> Reply:
    user = _user(state, call.arg("accountId"))
    groups = _groups_sorted([group for group in state.groups.values() if user.account_id in group.members])
    return Reply(200, offset_page(call, groups, lambda g: group_json(g, call.base), default_limit=200, max_limit=200))


def _users_bulk(call: Call, state: State) -> Reply:
    data = call.json_object()
    ids = data.get("accountIds")
    if not isinstance(ids, list) or not all(isinstance(value, str) for value in ids):
        raise Problem(400, "Field 'accountIds' must be an array of account id strings")
    if not 1 <= len(ids) <= _MAX_BULK:
        raise Problem(400, f"Field 'accountIds' must hold between 1 and {_MAX_BULK} ids, not {len(ids)}")
    found = [v2_user_json(state.users[account_id]) for account_id in dict.fromkeys(ids) if account_id in state.users]
    return Reply(200, {"results": found, "_links": {"base": call.base}})


def _groups(call: Call, state: State) -> Reply:
    access = call.arg("accessType")
    if access is not None and access not in ("user", "admin", "site-admin"):
        raise Problem(400, f"Invalid value for parameter 'accessType': '{access}' (allowed: user, admin, site-admin)")
    groups = _groups_sorted(list(state.groups.values()))
    return Reply(200, offset_page(call, groups, lambda g: group_json(g, call.base), default_limit=200, max_limit=200))


def _find_group(state: State, group_id: str | None) -> Group:
    if not group_id:
        raise Problem(400, "The query parameter 'groupId' is required")
    group = state.groups.get(group_id)
    if group is None:
        raise Problem(404, f"No group found with id: {group_id}")
    return group


def _group_by_id(call: Call, state: State) -> Reply:
    if not call.arg("id"):
        raise Problem(400, "The query parameter 'id' is required")
    return Reply(200, group_json(_find_group(state, call.arg("id")), call.base))


def _picker(call: Call, state: State) -> Reply:
    query = call.arg("query")
    if query is None:
        raise Problem(400, "The query parameter 'query' is required")
    needle = query.casefold()
    groups = _groups_sorted([group for group in state.groups.values() if needle in group.name.casefold()])
    page = offset_page(call, groups, lambda g: group_json(g, call.base), default_limit=200, max_limit=200, total=True)
    return Reply(200, page)


def _members(call: Call, state: State) -> Reply:
    group = _find_group(state, call.params["groupId"])
    users = sorted((state.users[a] for a in group.members if a in state.users), key=lambda u: u.display_name.casefold())
    page = offset_page(
        call,
        users,
        lambda user: v1_user_json(user, call.base),
        default_limit=200,
        max_limit=200,
        reject_over_max=True,
        total=call.flag("shouldReturnTotalSize"),
    )
    return Reply(200, page)


def _require_site_admin(state: State) -> None:
    # Membership writes need a site admin; a site without a site-admins group lets everyone write.
    admins = next((group for group in state.groups.values() if group.name == _ADMINS_GROUP), None)
    if admins is not None and state.current_account_id not in admins.members:
        raise Problem(403, "Could not update group membership: only site administrators can change group members")


def _add_member(call: Call, state: State) -> Reply:
    group = _find_group(state, call.arg("groupId"))
    data = call.json_object()
    account_id = data.get("accountId")
    if not isinstance(account_id, str) or not account_id:
        raise Problem(400, "Field 'accountId' is required")
    user = _user(state, account_id)
    _require_site_admin(state)
    if user.account_id not in group.members:
        group.members.append(user.account_id)
    return Reply(201)


def _remove_member(call: Call, state: State) -> Reply:
    group = _find_group(state, call.arg("groupId"))
    account_id = call.arg("accountId")
    if not account_id:
        raise Problem(400, "The query parameter 'accountId' is required")
    _require_site_admin(state)
    # Confluence answers 204 even when the account is not a member (or unknown).
    if account_id in group.members:
        group.members.remove(account_id)
    return Reply(204)


ROUTES: Final[tuple[RouteSpec, ...]] = (
    ("GET", "/wiki/rest/api/user", _get_user),
    ("GET", "/wiki/rest/api/user/current", _current_user),
    ("GET", "/wiki/rest/api/user/memberof", _member_of),
    ("POST", "/wiki/api/v2/users-bulk", _users_bulk),
    ("GET", "/wiki/rest/api/group", _groups),
    ("GET", "/wiki/rest/api/group/by-id", _group_by_id),
    ("GET", "/wiki/rest/api/group/picker", _picker),
    ("GET", "/wiki/rest/api/group/{groupId}/membersByGroupId", _members),
    ("POST", "/wiki/rest/api/group/userByGroupId", _add_member),
    ("DELETE", "/wiki/rest/api/group/userByGroupId", _remove_member),
)
