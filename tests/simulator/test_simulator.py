"""The Confluence simulator's content API: auth, pages, blog posts, bodies, pagination, tree, spaces, folders."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest

from confluence_mcp.simulator import NO_ROUTE_HEADER, SEED, Simulator, create_simulator

pytestmark = pytest.mark.anyio

V2 = "/wiki/api/v2"
V1 = "/wiki/rest/api"
SITE = "https://example.atlassian.net"


def storage(value: str) -> dict[str, str]:
    """Return a flat storage-format body."""
    return {"representation": "storage", "value": value}


async def create_page(
    client: httpx.AsyncClient, title: str, *, space_id: str = SEED.ops_space_id, value: str = "<p>Body</p>"
) -> dict[str, Any]:
    """Create a page and return its JSON."""
    response = await client.post(f"{V2}/pages", json={"spaceId": space_id, "title": title, "body": storage(value)})
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_requests_without_valid_credentials_get_401_with_a_basic_challenge(
    sim: Simulator, anonymous: httpx.AsyncClient
) -> None:
    """Missing or wrong credentials answer 401 in the path's dialect with ``WWW-Authenticate: Basic``."""
    v2 = await anonymous.get(f"{V2}/pages/{SEED.ops_homepage_id}")
    assert v2.status_code == 401
    assert v2.headers["www-authenticate"] == 'Basic realm="Confluence"'
    assert v2.json()["errors"][0]["status"] == 401
    v1 = await anonymous.get(f"{V1}/user/current", auth=(sim.email, "wrong-token"))
    assert v1.status_code == 401
    assert v1.json()["statusCode"] == 401
    assert v1.json()["reason"] == "Unauthorized"


async def test_basic_and_bearer_credentials_are_accepted(sim: Simulator, anonymous: httpx.AsyncClient) -> None:
    """Basic ``email:token`` and ``Bearer token`` both authenticate as the seeded agent."""
    basic = await anonymous.get(f"{V1}/user/current", auth=sim.auth)
    bearer = await anonymous.get(f"{V1}/user/current", headers={"Authorization": f"Bearer {sim.api_token}"})
    assert basic.status_code == bearer.status_code == 200
    assert basic.json()["displayName"] == "Agent Smith"
    assert bearer.json()["accountId"] == SEED.agent_account_id
    assert basic.json()["email"] == "agent@example.com"


async def test_custom_credentials_are_the_only_ones_accepted() -> None:
    """``create_simulator(email=, api_token=)`` sets the accepted pair."""
    sim = create_simulator(email="ops@example.org", api_token="tok-1")
    token = base64.b64encode(b"ops@example.org:tok-1").decode()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url=SITE) as http:
        assert (await http.get(f"{V1}/user/current", headers={"Authorization": f"Basic {token}"})).status_code == 200
        assert (await http.get(f"{V1}/user/current", auth=("agent@example.com", "sim-token"))).status_code == 401


async def test_page_create_get_and_update_follow_the_version_rule(client: httpx.AsyncClient) -> None:
    """Create gives version 1; GET shows a body only with body-format; an update must send current + 1."""
    page = await create_page(client, "Release checklist 2", value="<p>Steps</p>")
    assert page["version"]["number"] == 1
    assert page["spaceId"] == SEED.ops_space_id
    assert page["parentId"] == SEED.ops_homepage_id
    assert page["parentType"] == "page"
    assert page["authorId"] == SEED.agent_account_id
    assert set(page["_links"]) >= {"webui", "editui", "tinyui"}
    plain = await client.get(f"{V2}/pages/{page['id']}")
    assert "body" not in plain.json()
    with_body = await client.get(f"{V2}/pages/{page['id']}", params={"body-format": "storage"})
    assert with_body.json()["body"] == {"storage": {"representation": "storage", "value": "<p>Steps</p>"}}
    update = {
        "id": page["id"],
        "status": "current",
        "title": "Release checklist 2",
        "body": storage("<p>Steps v2</p>"),
        "version": {"number": 2, "message": "add rollback step"},
    }
    updated = await client.put(f"{V2}/pages/{page['id']}", json=update)
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"]["number"] == 2
    assert updated.json()["version"]["message"] == "add rollback step"
    stale = await client.put(f"{V2}/pages/{page['id']}", json=update)
    assert stale.status_code == 409


async def test_single_page_reads_reflect_every_change_including_direct_state_edits(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    """Repeated GETs of one page never serve a stale answer, whether it changed over HTTP or in ``sim.state``."""
    url = f"{V2}/pages/{SEED.onboarding_guide_id}"
    first = await client.get(url, params={"body-format": "storage"})
    assert (await client.get(url, params={"body-format": "storage"})).content == first.content
    sim.state.content[SEED.onboarding_guide_id].title = "Renamed in state"
    assert (await client.get(url, params={"body-format": "storage"})).json()["title"] == "Renamed in state"
    update = {
        "id": SEED.onboarding_guide_id,
        "status": "current",
        "title": "Onboarding guide",
        "body": storage("<p>New</p>"),
        "version": {"number": 2},
    }
    assert (await client.put(url, json=update)).status_code == 200
    latest = (await client.get(url, params={"body-format": "storage"})).json()
    assert (latest["title"], latest["version"]["number"]) == ("Onboarding guide", 2)
    assert latest["body"]["storage"]["value"] == "<p>New</p>"
    assert "body" not in (await client.get(url)).json()
    assert "version" not in (await client.get(url, params={"include-version": "false"})).json()


async def test_stale_version_gets_confluences_exact_409(client: httpx.AsyncClient) -> None:
    """Sending the current number again answers Confluence's 409 wording with the status as a string."""
    update = {
        "id": SEED.release_checklist_id,
        "status": "current",
        "title": "Release checklist",
        "body": storage("<p>Steps</p>"),
        "version": {"number": 3},
    }
    response = await client.put(f"{V2}/pages/{SEED.release_checklist_id}", json=update)
    assert response.status_code == 409
    assert response.json() == {
        "errors": [
            {
                "status": "409",
                "code": "CONFLICT",
                "title": "Version must be incremented when updating a page. Current Version: [3]. "
                "Provided version: [3]",
                "detail": None,
            }
        ]
    }


@pytest.mark.parametrize("missing", ["id", "status", "title", "body", "version"])
async def test_update_without_a_required_field_answers_400(client: httpx.AsyncClient, missing: str) -> None:
    """``id``, ``status``, ``title``, ``body`` and ``version`` are all required on update."""
    update: dict[str, Any] = {
        "id": SEED.release_checklist_id,
        "status": "current",
        "title": "Release checklist",
        "body": storage("<p>x</p>"),
        "version": {"number": 4},
    }
    del update[missing]
    response = await client.put(f"{V2}/pages/{SEED.release_checklist_id}", json=update)
    assert response.status_code == 400
    assert missing in response.json()["errors"][0]["title"]


@pytest.mark.parametrize(
    "value",
    [
        "<p>plain</p>",
        "<p>a&nbsp;b &mdash; c &ndash; d&hellip; &copy; &rsquo;&lsquo;&ldquo;&rdquo; &amp; &lt;</p>",
        '<ac:link><ri:page ri:content-title="Rollback plan" /></ac:link>',
        '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[if a < b:]]></ac:plain-text-body>'
        "</ac:structured-macro>",
        '<at:var at:name="x" />',
        "text without tags",
        "",
    ],
)
async def test_well_formed_storage_is_accepted(client: httpx.AsyncClient, value: str) -> None:
    """XHTML with the ac/ri/at prefixes, CDATA and common HTML entities passes validation."""
    response = await client.post(
        f"{V2}/pages", json={"spaceId": SEED.eng_space_id, "title": "T", "body": storage(value)}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "value", ["<p>unclosed", "<p>a</b>", "<foo:bar/>", "<p>&bogus;</p>", "<p a=1>x</p>", "<p>a & b</p>"]
)
async def test_malformed_storage_answers_400_error_parsing_xhtml(client: httpx.AsyncClient, value: str) -> None:
    """Ill-formed XHTML, undeclared prefixes and unknown entities are refused like Confluence does."""
    response = await client.post(
        f"{V2}/pages", json={"spaceId": SEED.eng_space_id, "title": "T", "body": storage(value)}
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "INVALID_REQUEST_PARAMETER"
    assert error["title"].startswith("Error parsing xhtml: ")


async def test_bad_xhtml_on_update_answers_400_and_keeps_the_page(client: httpx.AsyncClient) -> None:
    """A correct version with a broken body is refused and the page stays at its version."""
    update = {
        "id": SEED.release_checklist_id,
        "status": "current",
        "title": "Release checklist",
        "body": storage("<p>broken"),
        "version": {"number": 4},
    }
    response = await client.put(f"{V2}/pages/{SEED.release_checklist_id}", json=update)
    assert response.status_code == 400
    assert response.json()["errors"][0]["title"].startswith("Error parsing xhtml")
    page = await client.get(f"{V2}/pages/{SEED.release_checklist_id}")
    assert page.json()["version"]["number"] == 3


async def test_adf_bodies_must_be_a_serialised_doc(client: httpx.AsyncClient) -> None:
    """An ``atlas_doc_format`` value must be a JSON string of an object with ``type: doc``."""
    doc = '{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"Hi"}]}]}'
    good = await client.post(
        f"{V2}/pages",
        json={
            "spaceId": SEED.ops_space_id,
            "title": "ADF",
            "body": {"representation": "atlas_doc_format", "value": doc},
        },
    )
    assert good.status_code == 200
    stored = await client.get(f"{V2}/pages/{good.json()['id']}", params={"body-format": "storage"})
    assert stored.json()["body"]["storage"]["value"] == "<p>Hi</p>"
    for bad in ("not json", '{"type":"paragraph"}', "[]"):
        body = {"representation": "atlas_doc_format", "value": bad}
        response = await client.post(f"{V2}/pages", json={"spaceId": SEED.ops_space_id, "title": "Bad", "body": body})
        assert response.status_code == 400


async def test_create_refuses_missing_space_duplicate_title_and_non_json(client: httpx.AsyncClient) -> None:
    """Create needs a known spaceId, a title unique in the space, and a JSON body."""
    assert (await client.post(f"{V2}/pages", json={"title": "x"})).status_code == 400
    assert (await client.post(f"{V2}/pages", json={"spaceId": "999", "title": "x"})).status_code == 400
    duplicate = await client.post(f"{V2}/pages", json={"spaceId": SEED.ops_space_id, "title": "Release checklist"})
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.json()["errors"][0]["title"]
    wrong_type = await client.post(f"{V2}/pages", content=b"title=x", headers={"content-type": "text/plain"})
    assert wrong_type.status_code == 415


async def test_delete_moves_a_page_to_the_trash_and_purge_erases_it(client: httpx.AsyncClient) -> None:
    """DELETE trashes (status ``trashed``, hidden from lists); ``purge=true`` removes it for good."""
    page = await create_page(client, "Short-lived")
    assert (await client.delete(f"{V2}/pages/{page['id']}")).status_code == 204
    trashed = await client.get(f"{V2}/pages/{page['id']}")
    assert trashed.json()["status"] == "trashed"
    listed = await client.get(f"{V2}/pages", params={"space-id": SEED.ops_space_id, "limit": 250})
    assert page["id"] not in [item["id"] for item in listed.json()["results"]]
    in_trash = await client.get(f"{V2}/pages", params={"status": "trashed"})
    assert [item["id"] for item in in_trash.json()["results"]] == [page["id"]]
    assert (await client.delete(f"{V2}/pages/{page['id']}", params={"purge": "true"})).status_code == 204
    gone = await client.get(f"{V2}/pages/{page['id']}")
    assert gone.status_code == 404
    assert gone.json()["errors"][0]["code"] == "NOT_FOUND"
    assert NO_ROUTE_HEADER not in gone.headers


async def test_page_list_filters_by_space_title_status_and_id(client: httpx.AsyncClient) -> None:
    """``space-id``, ``title``, ``status`` and ``id`` narrow ``GET /pages``."""
    eng = await client.get(f"{V2}/pages", params={"space-id": SEED.eng_space_id})
    assert [page["title"] for page in eng.json()["results"]] == [
        "Engineering Home",
        "Architecture overview",
        "On-call runbook",
    ]
    titled = await client.get(f"{V2}/pages", params={"title": "Rollback plan"})
    assert [page["id"] for page in titled.json()["results"]] == [SEED.rollback_plan_id]
    by_id = await client.get(f"{V2}/pages", params=[("id", SEED.runbook_id), ("id", SEED.architecture_id)])
    assert {page["id"] for page in by_id.json()["results"]} == {SEED.runbook_id, SEED.architecture_id}
    drafts = await client.get(f"{V2}/pages", params={"status": "draft"})
    assert drafts.json()["results"] == []


async def test_cursor_pagination_walks_every_page_through_links_next_and_the_link_header(
    client: httpx.AsyncClient,
) -> None:
    """Following ``_links.next`` or the ``Link`` header visits every page once; the last page has neither."""
    for number in range(5):
        await create_page(client, f"Paged {number}")
    everything = await client.get(f"{V2}/pages", params={"limit": 250})
    expected = [page["id"] for page in everything.json()["results"]]
    assert len(expected) == 14
    seen_by_body: list[str] = []
    url: str | None = f"{V2}/pages?limit=4"
    while url is not None:
        response = await client.get(url)
        data = response.json()
        seen_by_body += [page["id"] for page in data["results"]]
        assert data["_links"]["base"] == f"{SITE}/wiki"
        url = data["_links"].get("next")
        if url is not None:
            assert url.startswith("/wiki/api/v2/pages?")
            assert "limit=4" in url
            assert response.headers["link"] == f'<{url}>; rel="next", <{SITE}/wiki>; rel="base"'
        else:
            assert "link" not in response.headers
    assert seen_by_body == expected
    seen_by_header: list[str] = []
    link: str | None = f"{V2}/pages?limit=6"
    while link is not None:
        response = await client.get(link)
        seen_by_header += [page["id"] for page in response.json()["results"]]
        match = re.match(r'<([^>]+)>; rel="next"', response.headers.get("link", ""))
        link = match.group(1) if match else None
    assert seen_by_header == expected


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "251"}, {"limit": "many"}, {"cursor": "not-a-cursor"}])
async def test_bad_limit_or_cursor_answers_400(client: httpx.AsyncClient, query: dict[str, str]) -> None:
    """``limit`` must be 1..250 and ``cursor`` one the simulator issued."""
    response = await client.get(f"{V2}/pages", params=query)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "INVALID_REQUEST_PARAMETER"


async def test_single_versions_and_history_of_a_page(client: httpx.AsyncClient) -> None:
    """The seeded checklist has three versions, listed newest first and readable one by one."""
    listed = await client.get(f"{V2}/pages/{SEED.release_checklist_id}/versions")
    assert [version["number"] for version in listed.json()["results"]] == [3, 2, 1]
    first = await client.get(f"{V2}/pages/{SEED.release_checklist_id}/versions/1")
    assert first.json()["number"] == 1
    assert first.json()["nextVersion"] == 2
    assert (await client.get(f"{V2}/pages/{SEED.release_checklist_id}/versions/9")).status_code == 404
    old = await client.get(f"{V2}/pages/{SEED.release_checklist_id}", params={"version": "1", "body-format": "storage"})
    assert old.json()["body"]["storage"]["value"] == "<p>Steps</p>"
    assert old.json()["version"]["number"] == 1


async def test_tree_operations_follow_the_seeded_hierarchy(client: httpx.AsyncClient) -> None:
    """Children, descendants and ancestors reflect the seeded OPS page tree, folders included."""
    children = await client.get(f"{V2}/pages/{SEED.ops_homepage_id}/direct-children")
    assert [(c["title"], c["type"]) for c in children.json()["results"]] == [
        ("Release checklist", "page"),
        ("Onboarding guide", "page"),
        ("Team notes", "folder"),
    ]
    descendants = await client.get(f"{V2}/pages/{SEED.ops_homepage_id}/descendants", params={"depth": 2})
    assert {d["id"]: d["depth"] for d in descendants.json()["results"]} == {
        SEED.release_checklist_id: 1,
        SEED.onboarding_guide_id: 1,
        SEED.team_notes_folder_id: 1,
        SEED.rollback_plan_id: 2,
        SEED.vendor_contacts_id: 2,
    }
    ancestors = await client.get(f"{V2}/pages/{SEED.rollback_drill_id}/ancestors")
    assert [a["id"] for a in ancestors.json()["results"]] == [
        SEED.ops_homepage_id,
        SEED.release_checklist_id,
        SEED.rollback_plan_id,
    ]
    roots = await client.get(f"{V2}/spaces/{SEED.ops_space_id}/pages", params={"depth": "root"})
    assert [p["id"] for p in roots.json()["results"]] == [SEED.ops_homepage_id]
    in_folder = await client.get(f"{V2}/pages/{SEED.vendor_contacts_id}")
    assert in_folder.json()["parentType"] == "folder"


async def test_ancestors_have_no_cursor_and_limit_keeps_the_nearest(client: httpx.AsyncClient) -> None:
    """As on Confluence, ``limit`` keeps the nearest ancestors (highest first); asking again from the first id
    returned gives the ones above, and no answer carries a next link."""
    nearest = await client.get(f"{V2}/pages/{SEED.rollback_drill_id}/ancestors", params={"limit": 2})
    assert [a["id"] for a in nearest.json()["results"]] == [SEED.release_checklist_id, SEED.rollback_plan_id]
    assert "next" not in nearest.json()["_links"]
    assert "link" not in nearest.headers
    above = await client.get(f"{V2}/pages/{SEED.release_checklist_id}/ancestors", params={"limit": 2})
    assert [a["id"] for a in above.json()["results"]] == [SEED.ops_homepage_id]
    assert (await client.get(f"{V2}/pages/{SEED.rollback_drill_id}/ancestors", params={"limit": 0})).status_code == 400


async def test_blog_posts_are_created_listed_updated_and_trashed(client: httpx.AsyncClient) -> None:
    """Blog posts have their own CRUD with the same version rule and no parent."""
    created = await client.post(
        f"{V2}/blogposts", json={"spaceId": SEED.ops_space_id, "title": "Weekly notes", "body": storage("<p>Hi</p>")}
    )
    assert created.status_code == 200
    post = created.json()
    assert "parentId" not in post
    assert "/blog/" in post["_links"]["webui"]
    listed = await client.get(f"{V2}/blogposts", params={"space-id": SEED.ops_space_id})
    assert [p["title"] for p in listed.json()["results"]] == ["Q3 release recap", "Weekly notes"]
    update = {"id": post["id"], "status": "current", "title": "Weekly notes", "body": storage("<p>Hello</p>")}
    assert (
        await client.put(f"{V2}/blogposts/{post['id']}", json={**update, "version": {"number": 1}})
    ).status_code == 409
    assert (
        await client.put(f"{V2}/blogposts/{post['id']}", json={**update, "version": {"number": 2}})
    ).status_code == 200
    assert (await client.delete(f"{V2}/blogposts/{post['id']}")).status_code == 204
    assert (await client.get(f"{V2}/pages/{SEED.ops_blogpost_id}")).status_code == 404


async def test_spaces_filter_by_keys_ids_type_and_status(client: httpx.AsyncClient) -> None:
    """``keys``, ``ids``, ``type`` and ``status`` filter spaces; a single space is found by id."""
    every = await client.get(f"{V2}/spaces")
    assert [s["key"] for s in every.json()["results"]] == ["OPS", "ENG"]
    by_key = await client.get(f"{V2}/spaces", params={"keys": "ENG"})
    assert [s["id"] for s in by_key.json()["results"]] == [SEED.eng_space_id]
    by_ids = await client.get(f"{V2}/spaces", params=[("ids", SEED.ops_space_id), ("ids", SEED.eng_space_id)])
    assert len(by_ids.json()["results"]) == 2
    assert (await client.get(f"{V2}/spaces", params={"type": "personal"})).json()["results"] == []
    assert (await client.get(f"{V2}/spaces", params={"status": "archived"})).json()["results"] == []
    one = await client.get(f"{V2}/spaces/{SEED.ops_space_id}")
    assert one.json()["name"] == "Product Ops"
    assert one.json()["homepageId"] == SEED.ops_homepage_id
    assert (await client.get(f"{V2}/spaces/424242")).status_code == 404


async def test_folders_are_created_read_listed_and_deleted(client: httpx.AsyncClient) -> None:
    """Folder create answers 200; pages created under it list as its children; createdAt is epoch millis."""
    created = await client.post(f"{V2}/folders", json={"spaceId": SEED.eng_space_id, "title": "Designs"})
    assert created.status_code == 200
    folder = created.json()
    assert folder["type"] == "folder"
    assert isinstance(folder["createdAt"], int)
    page = await client.post(
        f"{V2}/pages", json={"spaceId": SEED.eng_space_id, "title": "Design 1", "parentId": folder["id"]}
    )
    assert page.json()["parentType"] == "folder"
    children = await client.get(f"{V2}/folders/{folder['id']}/direct-children")
    assert [c["id"] for c in children.json()["results"]] == [page.json()["id"]]
    assert (await client.get(f"{V2}/folders/{SEED.team_notes_folder_id}")).json()["title"] == "Team notes"
    assert (await client.delete(f"{V2}/folders/{folder['id']}")).status_code == 204
    assert (await client.get(f"{V2}/folders/{SEED.ops_homepage_id}")).status_code == 404
