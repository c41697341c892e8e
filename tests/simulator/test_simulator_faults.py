"""The Confluence simulator's rate-limit headers, faults, request log, control API, routing and real server."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import yaml

from confluence_mcp.simulator import NO_ROUTE_HEADER, SEED, Fault, FaultPlan, SimulatedDrop, Simulator, create_simulator

pytestmark = pytest.mark.anyio

V2 = "/wiki/api/v2"
V1 = "/wiki/rest/api"
OPENAPI = Path(__file__).resolve().parents[2] / "openapi" / "confluence.yaml"

# Every operation our tools cover: the list openapi/confluence.yaml describes, kept here while it is being written.
OPERATIONS: list[tuple[str, str]] = [
    ("GET", "/wiki/api/v2/pages"),
    ("GET", "/wiki/api/v2/pages/{id}"),
    ("POST", "/wiki/api/v2/pages"),
    ("PUT", "/wiki/api/v2/pages/{id}"),
    ("DELETE", "/wiki/api/v2/pages/{id}"),
    ("GET", "/wiki/api/v2/pages/{id}/direct-children"),
    ("GET", "/wiki/api/v2/pages/{id}/descendants"),
    ("GET", "/wiki/api/v2/pages/{id}/ancestors"),
    ("GET", "/wiki/api/v2/pages/{id}/versions"),
    ("GET", "/wiki/api/v2/pages/{page-id}/versions/{version-number}"),
    ("GET", "/wiki/api/v2/spaces/{id}/pages"),
    ("GET", "/wiki/api/v2/blogposts"),
    ("GET", "/wiki/api/v2/blogposts/{id}"),
    ("POST", "/wiki/api/v2/blogposts"),
    ("PUT", "/wiki/api/v2/blogposts/{id}"),
    ("DELETE", "/wiki/api/v2/blogposts/{id}"),
    ("GET", "/wiki/api/v2/spaces"),
    ("GET", "/wiki/api/v2/spaces/{id}"),
    ("GET", "/wiki/rest/api/search"),
    ("GET", "/wiki/rest/api/search/user"),
    ("GET", "/wiki/rest/api/user"),
    ("GET", "/wiki/rest/api/user/current"),
    ("GET", "/wiki/rest/api/user/memberof"),
    ("POST", "/wiki/api/v2/users-bulk"),
    ("GET", "/wiki/rest/api/group"),
    ("GET", "/wiki/rest/api/group/by-id"),
    ("GET", "/wiki/rest/api/group/picker"),
    ("GET", "/wiki/rest/api/group/{groupId}/membersByGroupId"),
    ("POST", "/wiki/rest/api/group/userByGroupId"),
    ("DELETE", "/wiki/rest/api/group/userByGroupId"),
    ("GET", "/wiki/api/v2/pages/{id}/footer-comments"),
    ("GET", "/wiki/api/v2/blogposts/{id}/footer-comments"),
    ("GET", "/wiki/api/v2/footer-comments/{comment-id}"),
    ("POST", "/wiki/api/v2/footer-comments"),
    ("PUT", "/wiki/api/v2/footer-comments/{comment-id}"),
    ("DELETE", "/wiki/api/v2/footer-comments/{comment-id}"),
    ("GET", "/wiki/api/v2/footer-comments/{id}/children"),
    ("GET", "/wiki/api/v2/pages/{id}/inline-comments"),
    ("GET", "/wiki/api/v2/inline-comments/{comment-id}"),
    ("GET", "/wiki/api/v2/pages/{id}/labels"),
    ("POST", "/wiki/rest/api/content/{id}/label"),
    ("DELETE", "/wiki/rest/api/content/{id}/label"),
    ("GET", "/wiki/api/v2/labels"),
    ("GET", "/wiki/api/v2/labels/{id}/pages"),
    ("GET", "/wiki/api/v2/pages/{id}/attachments"),
    ("GET", "/wiki/api/v2/attachments"),
    ("GET", "/wiki/api/v2/attachments/{id}"),
    ("DELETE", "/wiki/api/v2/attachments/{id}"),
    ("GET", "/wiki/api/v2/folders/{id}"),
    ("POST", "/wiki/api/v2/folders"),
    ("DELETE", "/wiki/api/v2/folders/{id}"),
    ("GET", "/wiki/api/v2/folders/{id}/direct-children"),
]


def storage(value: str) -> dict[str, str]:
    """Return a flat storage-format body."""
    return {"representation": "storage", "value": value}


def fill(template: str) -> str:
    """Replace every ``{param}`` of a path template with a number."""
    return re.sub(r"\{[^}]+\}", "1", template)


async def create_page(
    client: httpx.AsyncClient, title: str, *, space_id: str = SEED.ops_space_id, value: str = "<p>Body</p>"
) -> dict[str, Any]:
    """Create a page and return its JSON."""
    response = await client.post(f"{V2}/pages", json={"spaceId": space_id, "title": title, "body": storage(value)})
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_every_response_carries_rate_limit_headers_and_a_request_id(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    """Successes, 204s, 4xx and 401s all carry the burst dialect; ``Remaining`` counts down per request."""
    responses = [
        await client.get(f"{V2}/pages/{SEED.ops_homepage_id}"),
        await client.get(f"{V2}/pages/999999"),
        await client.get(f"{V1}/search", params={"cql": "title ~"}),
        await client.get("/wiki/api/v2/no-such-thing"),
        await anonymous.get(f"{V2}/spaces"),
        await client.post(
            f"{V1}/group/userByGroupId", params={"groupId": SEED.users_group_id}, json={"accountId": "x"}
        ),
        await client.delete(f"{V1}/group/userByGroupId", params={"groupId": SEED.users_group_id, "accountId": "x"}),
    ]
    remaining = [int(response.headers["x-ratelimit-remaining"]) for response in responses]
    assert remaining == list(range(remaining[0], remaining[0] - len(responses), -1))
    for response in responses:
        assert int(response.headers["x-ratelimit-limit"]) > remaining[0]
        reset = response.headers["x-ratelimit-reset"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?Z", reset)
        assert datetime.fromisoformat(reset) > datetime.fromisoformat("2025-01-01T00:00Z")
        assert response.headers["atl-request-id"]
    assert len({response.headers["atl-request-id"] for response in responses}) == len(responses)


@pytest.mark.parametrize(
    ("dialect", "present", "absent"),
    [
        ("burst", {"retry-after": "7", "x-ratelimit-remaining": "0"}, ["ratelimit-policy"]),
        (
            "quota",
            {
                "retry-after": "7",
                "ratelimit-policy": '"tenant-app-quota";q=65000;w=3600',
                "ratelimit": '"tenant-app-quota";r=0;t=7',
                "ratelimit-reason": "confluence-quota-tenant-based",
            },
            ["x-ratelimit-limit"],
        ),
        (
            "gateway",
            {
                "x-failure-category": "FAILURE CLIENT RATE LIMITED",
                "x-ratelimit-limit": "360000",
                "x-ratelimit-remaining": "0",
            },
            ["retry-after"],
        ),
        (
            "pathological",
            {"retry-after": "9223372036854775807", "x-ratelimit-limit": "0", "x-ratelimit-remaining": "0"},
            [],
        ),
    ],
)
async def test_rate_limit_faults_answer_429_in_each_dialect(
    sim: Simulator, client: httpx.AsyncClient, dialect: Any, present: dict[str, str], absent: list[str]
) -> None:
    """Each 429 dialect sends its own headers and a body marked as simulated; the next request succeeds."""
    sim.faults.rate_limit(dialect, path="/pages", retry_after=7)
    response = await client.get(f"{V2}/pages/{SEED.ops_homepage_id}")
    assert response.status_code == 429
    for name, value in present.items():
        assert response.headers[name] == value
    for name in absent:
        assert name not in response.headers
    assert response.json()["simulated"] is True
    assert "simulated" in response.json()["message"]
    assert (await client.get(f"{V2}/pages/{SEED.ops_homepage_id}")).status_code == 200


async def test_status_faults_answer_with_confluence_shaped_bodies(sim: Simulator, client: httpx.AsyncClient) -> None:
    """A 5xx fault answers in the v2 or v1 shape of the path, with ``Retry-After`` when asked, ``count`` times."""
    sim.faults.fail(503, count=2, retry_after=3)
    v2 = await client.get(f"{V2}/spaces")
    assert v2.status_code == 503
    assert v2.json()["errors"][0]["code"] == "SERVICE_UNAVAILABLE"
    assert v2.headers["retry-after"] == "3"
    v1 = await client.get(f"{V1}/group")
    assert v1.status_code == 503
    assert v1.json()["statusCode"] == 503
    assert (await client.get(f"{V2}/spaces")).status_code == 200
    assert len(sim.faults) == 0


async def test_faults_match_by_method_and_path_regex(sim: Simulator, client: httpx.AsyncClient) -> None:
    """A fault limited to ``PUT`` on one path leaves other requests alone."""
    sim.faults.fail(500, method="put", path=rf"^{V2}/pages/\d+$")
    assert (await client.get(f"{V2}/pages/{SEED.ops_homepage_id}")).status_code == 200
    assert (await client.get(f"{V2}/pages/{SEED.ops_homepage_id}/versions")).status_code == 200
    update = {"id": SEED.ops_homepage_id, "status": "current", "title": "Home", "body": storage("")}
    failed = await client.put(f"{V2}/pages/{SEED.ops_homepage_id}", json={**update, "version": {"number": 2}})
    assert failed.status_code == 500
    assert (
        await client.put(f"{V2}/pages/{SEED.ops_homepage_id}", json={**update, "version": {"number": 2}})
    ).is_success


async def test_latency_fault_delays_the_answer(sim: Simulator, client: httpx.AsyncClient) -> None:
    """``latency_ms`` holds the answer back at least that long, then answers normally."""
    sim.faults.latency(80, path="/spaces", count=1)
    started = anyio.current_time()
    response = await client.get(f"{V2}/spaces")
    assert anyio.current_time() - started >= 0.08
    assert response.status_code == 200
    assert len(sim.faults) == 0


async def test_malformed_json_fault_answers_200_with_a_truncated_body(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    """``malformed_json`` keeps the JSON media type but cuts the body so it does not parse."""
    sim.faults.malformed_json(path="/pages/")
    response = await client.get(f"{V2}/pages/{SEED.ops_homepage_id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.text.startswith('{"id":')
    with pytest.raises(ValueError, match=r"Unterminated|Expecting"):
        response.json()


async def test_drop_fault_raises_a_remote_protocol_error_in_process(sim: Simulator, client: httpx.AsyncClient) -> None:
    """Through ``ASGITransport`` a dropped connection surfaces as ``httpx.RemoteProtocolError``."""
    sim.faults.drop(path="/spaces")
    with pytest.raises(httpx.RemoteProtocolError) as caught:
        await client.get(f"{V2}/spaces")
    assert isinstance(caught.value, SimulatedDrop)
    assert (await client.get(f"{V2}/spaces")).status_code == 200


async def test_the_request_log_records_exactly_what_was_sent(sim: Simulator, client: httpx.AsyncClient) -> None:
    """Method, path, ordered query pairs with repeats, lower-cased headers, parsed JSON and raw bytes are kept."""
    raw = b'{"accountIds": ["a", "b"]}'
    await client.post(
        f"{V2}/users-bulk",
        params=[("x", "1"), ("x", "2"), ("empty", "")],
        content=raw,
        headers={"Content-Type": "application/json", "X-Custom": "Yes"},
    )
    await client.get(f"{V2}/pages/{SEED.ops_homepage_id}")
    assert len(sim.requests) == 2
    first, second = sim.requests
    assert first.method == "POST"
    assert first.path == f"{V2}/users-bulk"
    assert first.query == [("x", "1"), ("x", "2"), ("empty", "")]
    assert first.headers["x-custom"] == "Yes"
    assert first.headers["content-type"] == "application/json"
    assert first.headers["authorization"].startswith("Basic ")
    assert first.json == {"accountIds": ["a", "b"]}
    assert first.body == raw
    assert (second.method, second.json, second.body, second.query) == ("GET", None, b"", [])


async def test_control_endpoints_work_over_http_without_auth_and_are_not_logged(
    sim: Simulator, anonymous: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    """``/__sim/faults``, ``/__sim/requests`` and ``/__sim/reset`` need no auth and never enter the log."""
    posted = await anonymous.post(
        "/__sim/faults", json={"faults": [{"method": "GET", "path": "/spaces$", "status": 502, "count": 1}]}
    )
    assert posted.status_code == 200
    assert posted.json()["faults"][0]["status"] == 502
    assert (await anonymous.get("/__sim/faults")).json()["faults"][0]["count"] == 1
    assert (await client.get(f"{V2}/spaces")).status_code == 502
    assert (await anonymous.get("/__sim/faults")).json() == {"faults": []}
    await anonymous.post("/__sim/faults", json={"rate_limit": "gateway"})
    await anonymous.post("/__sim/faults", json={"faults": [{"latency_ms": 1}], "replace": True})
    assert [fault.latency_ms for fault in sim.faults.faults] == [1]
    assert (await anonymous.delete("/__sim/faults")).status_code == 204
    bad = await anonymous.post("/__sim/faults", json={"status": 200})
    assert bad.status_code == 400
    assert "status" in bad.json()["error"]
    assert (await anonymous.post("/__sim/faults", json={"colour": "red"})).status_code == 400
    logged = (await anonymous.get("/__sim/requests")).json()["requests"]
    assert [(entry["method"], entry["path"]) for entry in logged] == [("GET", f"{V2}/spaces")]
    assert logged[0]["query"] == []
    await client.post(f"{V2}/pages", json={"spaceId": SEED.ops_space_id, "title": "Scratch"})
    assert (await anonymous.post("/__sim/reset")).status_code == 204
    assert sim.requests == []
    assert (await client.get(f"{V2}/pages", params={"title": "Scratch"})).json()["results"] == []
    assert "x-ratelimit-limit" not in (await anonymous.get("/__sim/requests")).headers


async def test_unrouted_paths_get_a_distinguishable_404(client: httpx.AsyncClient) -> None:
    """The simulator's own 404 carries ``x-simulator-no-route``; a missing object's 404 does not."""
    unrouted = await client.get("/wiki/api/v2/widgets")
    assert unrouted.status_code == 404
    assert unrouted.headers[NO_ROUTE_HEADER] == "true"
    assert unrouted.json()["simulator"] == "no-route"
    missing = await client.get(f"{V2}/pages/123")
    assert missing.status_code == 404
    assert NO_ROUTE_HEADER not in missing.headers
    wrong_method = await client.patch(f"{V2}/pages/123")
    assert wrong_method.status_code == 405


@pytest.mark.parametrize(("method", "template"), OPERATIONS)
async def test_every_documented_operation_is_routed(client: httpx.AsyncClient, method: str, template: str) -> None:
    """Each operation of our tool list reaches a handler, never the no-route 404."""
    response = await client.request(method, fill(template))
    assert NO_ROUTE_HEADER not in response.headers
    assert response.status_code != 405


def _openapi_operations() -> list[tuple[str, str]]:
    if not OPENAPI.is_file():
        return []
    document = yaml.safe_load(OPENAPI.read_text(encoding="utf-8")) or {}
    servers = document.get("servers") or [{"url": ""}]
    prefix = re.sub(r"^[a-z]+://[^/]+", "", str(servers[0].get("url", ""))).rstrip("/")
    found: list[tuple[str, str]] = []
    for path, item in (document.get("paths") or {}).items():
        full = path if path.startswith("/wiki") else prefix + path
        for method in ("get", "put", "post", "delete", "patch"):
            if isinstance(item, dict) and method in item:
                found.append((method.upper(), full))
    return found


async def test_every_operation_in_our_openapi_document_is_routed(client: httpx.AsyncClient) -> None:
    """Every (method, path) in ``openapi/confluence.yaml`` reaches a simulator handler."""
    operations = _openapi_operations()
    assert len(operations) >= 50  # the document exists and describes our operations; an empty one is a bug
    unrouted = []
    for method, template in operations:
        response = await client.request(method, fill(template))
        if NO_ROUTE_HEADER in response.headers or response.status_code == 405:
            unrouted.append(f"{method} {template}")
    assert unrouted == []


async def test_simulators_are_independent_and_reset_restores_the_seed(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    """Two simulators share nothing; ``reset()`` brings back the seed, clears faults, log and counters."""
    other = create_simulator(seed=False)
    assert other.state.content == {}
    assert list(other.state.users) == [SEED.agent_account_id]
    await create_page(client, "Temporary")
    sim.faults.fail(500)
    sim.reset()
    assert len(sim.faults) == 0
    assert sim.requests == []
    assert all(item.title != "Temporary" for item in sim.state.content.values())
    assert sim.state.content[SEED.release_checklist_id].version.number == 3
    again = await create_page(client, "Temporary")
    assert again["id"] == "655361"


def test_fault_plan_refuses_bad_rules() -> None:
    """Out-of-range statuses, unknown dialects, bad regexes and zero counts raise ``ValueError``."""
    plan = FaultPlan()
    for bad in (
        {"status": 302},
        {"rate_limit": "polite"},
        {"path": "("},
        {"count": 0},
        {"latency_ms": -1},
        {"drop": "yes"},
        {"count": True},
    ):
        with pytest.raises(ValueError, match=r"fault|Fault"):
            plan.add(Fault.from_json(bad))
    assert len(plan) == 0


def test_shadowed_faults_keep_their_count() -> None:
    """Only the first answering fault is spent; latency faults add up and are spent alongside it."""
    plan = FaultPlan()
    first = plan.fail(500, count=1)
    second = plan.fail(502, count=1)
    delay = plan.latency(5, count=2)
    action = plan.consume("GET", "/x")
    assert action is not None
    assert action.fault is first
    assert action.latency_ms == 5
    assert plan.faults == [second, delay]
    assert second.count == 1
    assert delay.count == 1


async def test_a_real_uvicorn_server_serves_pages_and_a_drop_closes_the_connection(
    sim: Simulator, server_url: str
) -> None:
    """Over loopback HTTP the simulator answers normally, and a ``drop`` fault makes httpx raise."""
    with anyio.fail_after(10):
        async with httpx.AsyncClient(base_url=server_url, auth=sim.auth) as http:
            page = await http.get(f"{V2}/pages/{SEED.release_checklist_id}", params={"body-format": "storage"})
            assert page.status_code == 200
            assert page.json()["_links"]["base"] == f"{server_url}/wiki"
            assert page.headers["x-ratelimit-remaining"]
            listed = await http.get(f"{V2}/pages", params={"limit": 2})
            assert listed.json()["_links"]["next"].startswith("/wiki/api/v2/pages?")
            assert (
                await http.post("/__sim/faults", json={"drop": True, "path": "/spaces", "count": 1})
            ).status_code == 200
            with pytest.raises(httpx.RemoteProtocolError):
                await http.get(f"{V2}/spaces")
            assert (await http.get(f"{V2}/spaces")).status_code == 200
            logged = (await http.get("/__sim/requests")).json()["requests"]
            assert [entry["path"] for entry in logged][-2:] == [f"{V2}/spaces", f"{V2}/spaces"]
