"""The Confluence simulator's search, people, groups, labels, comments and attachments."""

from __future__ import annotations

import httpx
import pytest

from confluence_mcp.simulator import SEED, Simulator

pytestmark = pytest.mark.anyio

V2 = "/wiki/api/v2"
V1 = "/wiki/rest/api"
SITE = "https://example.atlassian.net"


def storage(value: str) -> dict[str, str]:
    """Return a flat storage-format body."""
    return {"representation": "storage", "value": value}


@pytest.mark.parametrize(
    ("cql", "titles"),
    [
        ('type = page AND space = "ENG"', ["Engineering Home", "Architecture overview", "On-call runbook"]),
        ('title ~ "rollback"', ["Rollback plan", "Rollback drill log"]),
        ('title = "Rollback plan"', ["Rollback plan"]),
        ('type = blogpost AND text ~ "runbook"', ["Incident review: March outage"]),
        ('type = space AND title ~ "ops"', ["Product Ops"]),
        ("type = page AND label = runbook", ["On-call runbook"]),
        ('type = page AND (title ~ "vendor" OR title ~ "onboarding")', ["Onboarding guide", "Vendor contacts"]),
        (f"ancestor = {SEED.release_checklist_id}", ["Rollback plan", "Rollback drill log"]),
        ('type = user AND title ~ "John"', ["John Smith"]),
        ('type = page AND space = OPS ORDER BY title DESC', [
            "Vendor contacts", "Rollback plan", "Rollback drill log", "Release checklist", "Product Ops Home",
            "Onboarding guide",
        ]),
    ],
)  # fmt: skip
async def test_cql_search_supports_a_useful_subset(client: httpx.AsyncClient, cql: str, titles: list[str]) -> None:
    """type, space, title (~ and =), text, label, ancestor, AND/OR, parentheses and ORDER BY work."""
    response = await client.get(f"{V1}/search", params={"cql": cql})
    assert response.status_code == 200, response.text
    data = response.json()
    assert [result["title"] for result in data["results"]] == titles
    assert data["size"] == len(titles)
    assert data["_links"]["base"] == f"{SITE}/wiki"


async def test_search_results_are_shaped_like_confluences(client: httpx.AsyncClient) -> None:
    """A content hit carries ``content``, ``title``, ``excerpt``, ``url`` and ``entityType``."""
    response = await client.get(f"{V1}/search", params={"cql": 'title ~ "Rollback plan"'})
    hit = response.json()["results"][0]
    assert hit["entityType"] == "content"
    assert hit["content"]["id"] == SEED.rollback_plan_id
    assert hit["content"]["type"] == "page"
    assert hit["url"] == "/spaces/OPS/pages/393219/Rollback+plan"
    assert hit["excerpt"].startswith("Revert the deployment")
    assert hit["resultGlobalContainer"]["title"] == "Product Ops"


async def test_search_pages_through_a_cursor_in_links_next(client: httpx.AsyncClient) -> None:
    """With more hits than ``limit``, ``_links.next`` (relative to base) carries a cursor to the rest."""
    seen: list[str] = []
    url: str | None = f"{V1}/search?cql=type%20%3D%20page&limit=4"
    while url is not None:
        data = (await client.get(url)).json()
        seen += [hit["content"]["id"] for hit in data["results"]]
        following = data["_links"].get("next")
        assert following is None or ("cursor=" in following and following.startswith("/rest/api/search?"))
        url = f"/wiki{following}" if following else None
    assert len(seen) == len(set(seen)) == 9


@pytest.mark.parametrize(
    "cql",
    ["title ~", 'title ~ "unterminated', "type = page AND", "(type = page", "text = 'x'", "bogus = 1", "type page"],
)
async def test_unparsable_cql_answers_400_in_the_v1_shape(client: httpx.AsyncClient, cql: str) -> None:
    """CQL the simulator cannot parse answers 400 with "Could not parse cql" and a reason."""
    response = await client.get(f"{V1}/search", params={"cql": cql})
    assert response.status_code == 400
    data = response.json()
    assert data["statusCode"] == 400
    assert data["message"] == f"Could not parse cql : {cql}"
    assert data["data"]["errors"][0]["message"]["translation"]


async def test_content_search_rejects_user_fields(client: httpx.AsyncClient) -> None:
    """``/search`` refuses ``user.fullname``; only ``/search/user`` takes user fields."""
    response = await client.get(f"{V1}/search", params={"cql": 'user.fullname ~ "John"'})
    assert response.status_code == 400
    assert "/search/user" in response.json()["data"]["errors"][0]["message"]["translation"]


@pytest.mark.parametrize(
    "cql",
    ['user.fullname~"John"', f'user = "{SEED.john_account_id}"', f'user IN ("{SEED.john_account_id}", "nobody")'],
)
async def test_user_search_finds_john_by_name_or_account_id(client: httpx.AsyncClient, cql: str) -> None:
    """``/search/user`` matches ``user.fullname ~``, ``user =`` and ``user IN``."""
    response = await client.get(f"{V1}/search/user", params={"cql": cql})
    assert response.status_code == 200
    data = response.json()
    assert [hit["user"]["accountId"] for hit in data["results"]] == [SEED.john_account_id]
    assert data["results"][0]["entityType"] == "user"
    assert data["totalSize"] == 1


async def test_user_search_rejects_content_fields(client: httpx.AsyncClient) -> None:
    """``/search/user`` accepts only user fields."""
    response = await client.get(f"{V1}/search/user", params={"cql": 'title ~ "x"'})
    assert response.status_code == 400


async def test_users_are_looked_up_by_account_id(client: httpx.AsyncClient) -> None:
    """``/user?accountId=`` finds John, 404s an unknown id and 400s a missing one; a hidden email is null."""
    john = await client.get(f"{V1}/user", params={"accountId": SEED.john_account_id})
    assert john.json()["displayName"] == "John Smith"
    maria = await client.get(f"{V1}/user", params={"accountId": SEED.maria_account_id})
    assert maria.json()["email"] is None
    unknown = await client.get(f"{V1}/user", params={"accountId": "557058:nobody"})
    assert unknown.status_code == 404
    assert unknown.json()["reason"] == "Not Found"
    assert (await client.get(f"{V1}/user")).status_code == 400


async def test_users_bulk_returns_known_accounts_only(client: httpx.AsyncClient) -> None:
    """``POST /users-bulk`` resolves known ids, skips unknown ones and wants 1..250 ids."""
    response = await client.post(
        f"{V2}/users-bulk", json={"accountIds": [SEED.john_account_id, "nobody", SEED.jane_account_id]}
    )
    assert [user["displayName"] for user in response.json()["results"]] == ["John Smith", "Jane Doe"]
    assert (await client.post(f"{V2}/users-bulk", json={"accountIds": []})).status_code == 400


async def test_memberof_lists_the_groups_of_a_user(client: httpx.AsyncClient) -> None:
    """John is in Contractors and confluence-users, sorted by name."""
    response = await client.get(f"{V1}/user/memberof", params={"accountId": SEED.john_account_id})
    assert [group["name"] for group in response.json()["results"]] == ["confluence-users", "Contractors"]
    assert (await client.get(f"{V1}/user/memberof", params={"accountId": "nobody"})).status_code == 404


async def test_groups_are_listed_by_name_and_paged_by_start_and_limit(client: httpx.AsyncClient) -> None:
    """``/group`` sorts by name; ``start``/``limit`` page it with ``_links.next``."""
    first = (await client.get(f"{V1}/group", params={"limit": 2})).json()
    assert [group["name"] for group in first["results"]] == ["confluence-users", "Contractors"]
    assert (first["start"], first["limit"], first["size"]) == (0, 2, 2)
    assert first["_links"]["next"].startswith("/rest/api/group?")
    second = (await client.get(f"/wiki{first['_links']['next']}")).json()
    assert [group["name"] for group in second["results"]] == ["site-admins"]
    assert "next" not in second["_links"]


async def test_groups_are_found_by_id_and_by_picker_query(client: httpx.AsyncClient) -> None:
    """``/group/by-id`` and ``/group/picker?query=`` find Contractors."""
    by_id = await client.get(f"{V1}/group/by-id", params={"id": SEED.contractors_group_id})
    assert by_id.json()["name"] == "Contractors"
    assert (await client.get(f"{V1}/group/by-id", params={"id": "nope"})).status_code == 404
    picked = await client.get(f"{V1}/group/picker", params={"query": "contract"})
    assert [group["id"] for group in picked.json()["results"]] == [SEED.contractors_group_id]


async def test_group_members_are_listed_and_limit_over_200_is_refused(client: httpx.AsyncClient) -> None:
    """``membersByGroupId`` lists members; ``limit`` above 200 answers 400."""
    members = await client.get(f"{V1}/group/{SEED.contractors_group_id}/membersByGroupId")
    assert [user["accountId"] for user in members.json()["results"]] == [SEED.john_account_id]
    too_many = await client.get(f"{V1}/group/{SEED.contractors_group_id}/membersByGroupId", params={"limit": 201})
    assert too_many.status_code == 400
    assert too_many.json()["statusCode"] == 400


async def test_adding_a_member_answers_201_and_removing_answers_204_even_for_non_members(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    """Add gives 201 with no body; remove gives 204 whether or not the account was a member."""
    added = await client.post(
        f"{V1}/group/userByGroupId",
        params={"groupId": SEED.contractors_group_id},
        json={"accountId": SEED.jane_account_id},
    )
    assert added.status_code == 201
    assert added.content == b""
    assert SEED.jane_account_id in sim.state.groups[SEED.contractors_group_id].members
    for _ in range(2):
        removed = await client.delete(
            f"{V1}/group/userByGroupId",
            params={"groupId": SEED.contractors_group_id, "accountId": SEED.jane_account_id},
        )
        assert removed.status_code == 204
    assert SEED.jane_account_id not in sim.state.groups[SEED.contractors_group_id].members


async def test_membership_writes_by_a_non_admin_answer_403_in_the_v1_shape(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    """Without site-admins membership, group writes are forbidden."""
    sim.state.groups[SEED.admins_group_id].members.remove(SEED.agent_account_id)
    response = await client.delete(
        f"{V1}/group/userByGroupId", params={"groupId": SEED.contractors_group_id, "accountId": SEED.john_account_id}
    )
    assert response.status_code == 403
    assert response.json()["reason"] == "Forbidden"
    assert response.json()["data"]["authorized"] is False


async def test_forbid_fault_makes_an_operation_answer_403(sim: Simulator, client: httpx.AsyncClient) -> None:
    """``FaultPlan.forbid`` configures a forbidden operation until cleared."""
    sim.faults.forbid(method="GET", path=r"^/wiki/rest/api/group$")
    for _ in range(2):
        response = await client.get(f"{V1}/group")
        assert response.status_code == 403
        assert response.json()["statusCode"] == 403
    sim.faults.clear()
    assert (await client.get(f"{V1}/group")).status_code == 200


async def test_labels_are_added_as_array_or_object_and_removed_by_name(client: httpx.AsyncClient) -> None:
    """v1 add takes a list or one object and answers all labels; v1 remove by ``name`` answers 204."""
    page_id = SEED.onboarding_guide_id
    added = await client.post(
        f"{V1}/content/{page_id}/label", json=[{"prefix": "global", "name": "howto"}, {"name": "Newcomers"}]
    )
    assert added.status_code == 200
    assert [label["name"] for label in added.json()["results"]] == ["howto", "newcomers"]
    assert added.json()["size"] == 2
    single = await client.post(f"{V1}/content/{page_id}/label", json={"prefix": "global", "name": "howto"})
    assert single.json()["size"] == 2
    assert (await client.post(f"{V1}/content/{page_id}/label", json={"name": "two words"})).status_code == 400
    listed = await client.get(f"{V2}/pages/{page_id}/labels")
    assert {label["name"] for label in listed.json()["results"]} == {"howto", "newcomers"}
    removed = await client.delete(f"{V1}/content/{page_id}/label", params={"name": "howto"})
    assert removed.status_code == 204
    listed = await client.get(f"{V2}/pages/{page_id}/labels")
    assert [label["name"] for label in listed.json()["results"]] == ["newcomers"]
    label_id = listed.json()["results"][0]["id"]
    pages = await client.get(f"{V2}/labels/{label_id}/pages")
    assert [page["id"] for page in pages.json()["results"]] == [page_id]
    every = await client.get(f"{V2}/labels")
    assert {label["id"] for label in every.json()["results"]} >= {SEED.release_label_id, label_id}


async def test_footer_comments_are_created_with_location_and_replied_to(client: httpx.AsyncClient) -> None:
    """Create answers 201 with ``Location``; replies list under ``/children``; version rule on update."""
    created = await client.post(
        f"{V2}/footer-comments", json={"pageId": SEED.onboarding_guide_id, "body": storage("<p>Nice</p>")}
    )
    assert created.status_code == 201
    comment = created.json()
    assert created.headers["location"] == f"{SITE}/wiki/api/v2/footer-comments/{comment['id']}"
    assert comment["pageId"] == SEED.onboarding_guide_id
    reply = await client.post(
        f"{V2}/footer-comments", json={"parentCommentId": comment["id"], "body": storage("<p>Thanks</p>")}
    )
    assert reply.status_code == 201
    children = await client.get(f"{V2}/footer-comments/{comment['id']}/children")
    assert [c["id"] for c in children.json()["results"]] == [reply.json()["id"]]
    listed = await client.get(f"{V2}/pages/{SEED.onboarding_guide_id}/footer-comments")
    assert [c["id"] for c in listed.json()["results"]] == [comment["id"]]
    stale = {"body": storage("<p>Edited</p>"), "version": {"number": 1}}
    assert (await client.put(f"{V2}/footer-comments/{comment['id']}", json=stale)).status_code == 409
    fresh = {"body": storage("<p>Edited</p>"), "version": {"number": 2}}
    assert (await client.put(f"{V2}/footer-comments/{comment['id']}", json=fresh)).status_code == 200
    assert (await client.delete(f"{V2}/footer-comments/{comment['id']}")).status_code == 204
    assert (await client.get(f"{V2}/footer-comments/{reply.json()['id']}")).status_code == 404


async def test_seeded_comments_are_readable(client: httpx.AsyncClient) -> None:
    """Seeded footer, inline and blog post comments come back with their containers."""
    inline = await client.get(f"{V2}/inline-comments/{SEED.inline_comment_id}", params={"body-format": "storage"})
    assert inline.json()["resolutionStatus"] == "open"
    assert inline.json()["properties"]["inlineOriginalSelection"] == "Freeze the branch"
    page_inline = await client.get(f"{V2}/pages/{SEED.release_checklist_id}/inline-comments")
    assert [c["id"] for c in page_inline.json()["results"]] == [SEED.inline_comment_id]
    blog = await client.get(f"{V2}/blogposts/{SEED.ops_blogpost_id}/footer-comments")
    assert [c["blogPostId"] for c in blog.json()["results"]] == [SEED.ops_blogpost_id]
    assert (await client.get(f"{V2}/footer-comments/{SEED.inline_comment_id}")).status_code == 404


async def test_attachments_are_listed_read_and_trashed(client: httpx.AsyncClient) -> None:
    """The seeded attachment is listed per page and site-wide, found with or without ``att``, then trashed."""
    per_page = await client.get(f"{V2}/pages/{SEED.release_checklist_id}/attachments")
    assert [a["id"] for a in per_page.json()["results"]] == [SEED.attachment_id]
    numeric = SEED.attachment_id.removeprefix("att")
    assert (await client.get(f"{V2}/attachments/{numeric}")).json()["title"] == "release-flow.png"
    assert (await client.get(f"{V2}/attachments/att-x")).status_code == 400
    assert (await client.delete(f"{V2}/attachments/{SEED.attachment_id}")).status_code == 204
    assert (await client.get(f"{V2}/attachments")).json()["results"] == []
    assert (await client.get(f"{V2}/attachments/{SEED.attachment_id}")).json()["status"] == "trashed"
