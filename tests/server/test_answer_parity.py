"""The lean path and the SDK path give the same answer to every method, in both eras, for every error class.

The cases are generated: every request shape below crossed with every era, plus every token class
crossed with the methods. Each case goes to two stacks (lean path on, lean path off) with the same
simulator fault armed, in the same order, so even the simulator's rate-limit budget matches.

Bodies are compared as canonical JSON bytes (keys sorted, compact): the SDK orders keys differently on
its two legs (the handshake leg sorts them, the 2026-07-28 leg follows its models), and JSON object
order carries no meaning. Only the simulator's port and the seconds-until-reset figure are masked.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from confluence_mcp.pipeline.catalog import encode_cursor
from confluence_mcp.pipeline.paging import encode_cursor as list_cursor
from confluence_mcp.pipeline.text_cap import Continuation, encode_continuation
from confluence_mcp.simulator import SEED, Simulator
from confluence_mcp.simulator.faults import FaultPlan
from confluence_mcp.simulator.paging import encode_cursor as simulator_cursor
from tests.support.stack import JSON_HEADERS, Stack, running_stack

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"
ERAS: dict[str, str | None] = {"2025-11-25": "2025-11-25", "no version header": None, MODERN: MODERN}
PAGE = {"name": "get_single_confluence_page_by_id", "arguments": {"id": SEED.release_checklist_id}}
MEDIA = {"media_hosts": ["127.0.0.1"]}
INIT = {"capabilities": {}, "clientInfo": {"name": "parity", "version": "1"}}
CAP = 2_000
"""Both stacks cut results at this many characters, so a long list is cut and continued in the cases."""
PAGES = {"name": "list_all_confluence_pages", "arguments": {"limit": 250}}
PAGES_ON = {**PAGES, "arguments": {"limit": 250, "continue_from": encode_continuation(Continuation(("results",), 3))}}


@dataclass(frozen=True)
class Case:
    """One request shape; ``lean_eras`` are the eras whose lean path must answer it itself."""

    label: str
    method: str
    params: dict[str, Any] | None = None
    server: str = "all"
    fault: Callable[[FaultPlan], object] | None = None
    lean_eras: frozenset[str] = field(default_factory=frozenset)
    bearer: bool = False
    setup: Callable[[Simulator], object] | None = None
    """Changes the simulated site before the request (attachments to download, where downloads redirect)."""


LEGACY = frozenset({"2025-11-25", "no version header"})
ALL = frozenset(ERAS)


def _attach(title: str, media_type: str, data: bytes, size: int | None = None) -> Callable[[Simulator], object]:
    def setup(sim: Simulator) -> None:
        seeded = sim.state.attachments[SEED.attachment_id]
        sim.state.attachments["att900100"] = dataclasses.replace(
            seeded, id="att900100", title=title, media_type=media_type, file_size=size or len(data), data=data
        )

    return setup


def _download(label: str, setup: Callable[[Simulator], object] | None, ident: str = "att900100") -> Case:
    params = {"name": "confluence_attachments_download", "arguments": {"id": ident}}
    return Case(f"tools/call download, {label}", "tools/call", params, lean_eras=ALL, setup=setup)


def _redirect_elsewhere(sim: Simulator) -> None:
    sim.state.media_url = "http://localhost:1"


def _upstream(status: int) -> Case:
    return Case(f"tools/call upstream {status}", "tools/call", PAGE, fault=lambda f: f.fail(status), lean_eras=ALL)


REQUESTS = [
    Case("initialize", "initialize", {"protocolVersion": "2025-06-18", **INIT}, lean_eras=LEGACY),
    Case("initialize, unsupported version", "initialize", {"protocolVersion": "2099-01-01", **INIT}, lean_eras=LEGACY),
    Case("initialize, no clientInfo", "initialize", {"protocolVersion": "2025-06-18", "capabilities": {}}),
    Case("server/discover", "server/discover", {}, lean_eras=frozenset({MODERN})),
    Case("ping", "ping", None, lean_eras=LEGACY),
    Case("notification", "notifications/initialized", None),
    Case("unknown method", "resources/list", {}),
    # A listen that opens streams forever; this one cannot open (no filter), so every era answers at once.
    Case("subscriptions/listen without a filter", "subscriptions/listen", {}),
    Case("tools/list", "tools/list", {}, lean_eras=ALL),
    Case("tools/list, no params", "tools/list", None, lean_eras=ALL),
    Case("tools/list, page 2", "tools/list", {"cursor": encode_cursor(1)}, lean_eras=ALL),
    Case("tools/list, filtered server", "tools/list", {}, server="read", lean_eras=ALL),
    Case("tools/list, cursor not ours", "tools/list", {"cursor": "zzz"}, lean_eras=ALL),
    Case("tools/list, cursor past the end", "tools/list", {"cursor": encode_cursor(99)}, lean_eras=ALL),
    Case("tools/call", "tools/call", PAGE, lean_eras=ALL),
    Case(
        "tools/call with a query",
        "tools/call",
        {"name": "list_all_confluence_spaces", "arguments": {"keys": ["OPS"], "limit": 1}},
        lean_eras=ALL,
    ),
    Case(
        "tools/call, a list's second page by next_cursor",
        "tools/call",
        {
            "name": "list_all_confluence_spaces",
            "arguments": {"limit": 1, "cursor": list_cursor("cursor", simulator_cursor(1))},
        },
        lean_eras=ALL,
    ),
    Case(
        "tools/call, a list cursor not ours",
        "tools/call",
        {"name": "list_all_confluence_groups", "arguments": {"cursor": "zzz"}},
        lean_eras=ALL,
    ),
    Case(
        "tools/call answered 204",
        "tools/call",
        {"name": "confluence_groups_remove_member", "arguments": {"groupId": SEED.users_group_id, "accountId": "x"}},
        lean_eras=ALL,
    ),
    Case("tools/call unknown tool", "tools/call", {"name": "nope", "arguments": {}}, lean_eras=ALL),
    Case(
        "tools/call filtered-out tool",
        "tools/call",
        {"name": "delete_a_confluence_page_by_id", "arguments": {"id": SEED.release_checklist_id}},
        server="read",
        lean_eras=ALL,
    ),
    Case("tools/call, argument of the wrong type", "tools/call", {**PAGE, "arguments": {"id": True}}, lean_eras=ALL),
    Case("tools/call, id sent as a number", "tools/call", {**PAGE, "arguments": {"id": 393218}}, lean_eras=ALL),
    Case("tools/call, argument missing", "tools/call", {**PAGE, "arguments": {}}, lean_eras=ALL),
    Case("tools/call, unknown argument", "tools/call", {**PAGE, "arguments": {"id": "1", "x": 2}}, lean_eras=ALL),
    Case("tools/call, no arguments", "tools/call", {"name": "list_all_confluence_spaces"}, lean_eras=ALL),
    Case(
        "tools/call version conflict (409)",
        "tools/call",
        {
            "name": "update_a_confluence_page_by_id",
            "arguments": {
                "id": SEED.release_checklist_id,
                "status": "current",
                "title": "Release checklist",
                "body": {"representation": "storage", "value": "<p>x</p>"},
                "version": {"number": 2},
            },
        },
        lean_eras=ALL,
    ),
    Case("tools/call, a server keeping whole results", "tools/call", PAGE, server="full", lean_eras=ALL),
    Case(
        "tools/call, update with a stale expected_version",
        "tools/call",
        {
            "name": "update_a_confluence_page_by_id",
            "arguments": {
                "id": SEED.release_checklist_id,
                "status": "current",
                "title": "Release checklist",
                "body": {"representation": "storage", "value": "<p>x</p>"},
                "expected_version": 1,
            },
        },
        lean_eras=ALL,
    ),
    Case("tools/call, a list over the text cap", "tools/call", PAGES, lean_eras=ALL),
    Case("tools/call, the list continued", "tools/call", PAGES_ON, lean_eras=ALL),
    Case(
        "call_tool, the list continued",
        "tools/call",
        {"name": "call_tool", "arguments": {"tool_name": PAGES["name"], "arguments": PAGES_ON["arguments"]}},
        server="discovery",
        lean_eras=ALL,
    ),
    Case(
        "tools/call, continue_from not ours",
        "tools/call",
        {**PAGE, "arguments": {"id": SEED.release_checklist_id, "continue_from": "zzz"}},
        lean_eras=ALL,
    ),
    *(_upstream(status) for status in (400, 401, 403, 404, 500, 503)),
    Case("tools/call rate limited", "tools/call", PAGE, fault=lambda f: f.rate_limit(retry_after=7), lean_eras=ALL),
    Case("tools/call dropped connection", "tools/call", PAGE, fault=lambda f: f.drop(), lean_eras=ALL),
    Case("tools/call malformed JSON", "tools/call", PAGE, fault=lambda f: f.malformed_json(), lean_eras=ALL),
    Case("tools/call v1 endpoint gone (410)", "tools/call", PAGE, fault=lambda f: f.fail(410), lean_eras=ALL),
    _download("an image", None, SEED.attachment_id),
    _download("a text file", _attach("a.txt", "text/plain", b"hello")),
    _download("a binary as a resource", _attach("a.pdf", "application/pdf", b"%PDF-\x00\xff")),
    _download("over the cap", _attach("big.bin", "application/zip", b"", size=50_000_000)),
    _download("redirected to a host not allowed", _redirect_elsewhere, SEED.attachment_id),
]

# Token classes are answered before the method is looked at, by the endpoint, for both paths alike.
TOKENS = [
    Case("unknown token", "tools/list", {}, server="unknown"),
    Case("expired token", "tools/call", PAGE, server="expired"),
    Case("API token required, none sent", "tools/call", PAGE, server="auth"),
    Case("API token required and sent", "tools/call", PAGE, server="auth", bearer=True, lean_eras=ALL),
]

CASES = [(era, case) for era in ERAS for case in [*REQUESTS, *TOKENS]]


def _request(stack: Stack, era: str, case: Case) -> tuple[str, dict[str, str], dict[str, Any]]:
    version = ERAS[era]
    headers = dict(JSON_HEADERS)
    body: dict[str, Any] = {"jsonrpc": "2.0", "method": case.method}
    if not case.method.startswith("notifications/"):
        body["id"] = 7 if era != MODERN else "m-7"
    params = dict(case.params) if case.params is not None else None
    if version is not None:
        headers["MCP-Protocol-Version"] = version
    if version == MODERN:
        headers["Mcp-Method"] = case.method
        if case.method == "tools/call" and params is not None:
            headers["Mcp-Name"] = params["name"]
        meta = {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "parity", "version": "1"},
        }
        params = {**(params or {}), "_meta": meta}
    if params is not None:
        body["params"] = params
    if case.bearer:
        headers["Authorization"] = f"Bearer {stack.mcp_api_token}"
    token = "cmcp_unknown" if case.server == "unknown" else stack.tokens[case.server]
    return f"{stack.base_url}/mcp/{token}", headers, body


def _canonical(stack: Stack, response: httpx.Response) -> tuple[int, str | None, dict[str, str], bytes]:
    text = response.text.replace(stack.sim_url.rsplit(":", 1)[1], "PORT")
    # The simulator's rate-limit window turns at wall-clock minutes, so a turn can fall between the two
    # stacks' answers: the remaining budget and the seconds to reset are masked, the limit is not.
    text = re.sub(r'"ratelimit-(reset|remaining)":\d+', r'"ratelimit-\1":"S"', text)
    text = re.sub(r"reset in \d+s", "reset in Ss", text)
    text = re.sub(r"remaining \d+", "remaining N", text)
    body = json.dumps(json.loads(text), sort_keys=True, separators=(",", ":")).encode() if text else b""
    limits = {k: v for k, v in response.headers.items() if k.startswith("ratelimit-")}
    limits.update({k: "S" for k in limits if k in ("ratelimit-reset", "ratelimit-remaining")})
    return response.status_code, response.headers.get("content-type"), limits, body


def _recording(stack: Stack) -> list[bool]:
    """Record, per request, whether the lean path answered it (True) or handed it to the SDK (False)."""
    lean = stack.app.state.mcp_endpoint.lean
    answered: list[bool] = []
    original = lean.try_handle

    async def try_handle(*args: Any) -> bool:
        handled: bool = await original(*args)
        answered.append(handled)
        return handled

    lean.try_handle = try_handle
    return answered


def _arm(sim: Simulator, case: Case) -> None:
    sim.faults.clear()
    sim.state.media_url = ""  # the site's own /__media/, on 127.0.0.1, which both stacks allow
    if case.fault is not None:
        case.fault(sim.faults)
    if case.setup is not None:
        case.setup(sim)


async def test_every_case_is_answered_alike_by_the_lean_path_and_the_sdk() -> None:
    """Status, content type, rate-limit headers and canonical body agree for every generated case."""
    mismatches: list[str] = []
    wrongly_routed: list[str] = []
    async with (
        running_stack(
            server={"fast_path": True, "tools_page_size": 20}, results={"max_text_chars": CAP}, upstream=MEDIA
        ) as lean,
        running_stack(
            server={"fast_path": False, "tools_page_size": 20}, results={"max_text_chars": CAP}, upstream=MEDIA
        ) as sdk,
        httpx.AsyncClient(timeout=30) as client,
    ):
        answered = _recording(lean)
        for era, case in CASES:
            views = []
            for stack in (lean, sdk):
                _arm(stack.sim, case)
                url, headers, body = _request(stack, era, case)
                views.append(_canonical(stack, await client.post(url, json=body, headers=headers)))
            if views[0] != views[1]:
                mismatches.append(f"{era} / {case.label}:\n  lean {views[0]!r}\n  sdk  {views[1]!r}")
            reached_lean = bool(answered) and answered.pop()
            answered.clear()
            if reached_lean != (era in case.lean_eras):
                wrongly_routed.append(f"{era} / {case.label}: lean path answered={reached_lean}")
    assert mismatches == [], "\n".join(mismatches)
    assert wrongly_routed == [], "\n".join(wrongly_routed)
    assert len(CASES) == len(ERAS) * (len(REQUESTS) + len(TOKENS))


async def test_lean_path_walks_tools_list_pages_like_the_sdk() -> None:
    """Following nextCursor gives the same pages in the same order on both paths."""
    pages: list[list[list[str]]] = []
    async with (
        running_stack(server={"fast_path": True, "tools_page_size": 20}) as lean,
        running_stack(server={"fast_path": False, "tools_page_size": 20}) as sdk,
    ):
        for stack in (lean, sdk):
            names: list[list[str]] = []
            cursor: str | None = None
            while True:
                response = await stack.rpc("tools/list", {"cursor": cursor} if cursor else {})
                result = response.json()["result"]
                names.append([t["name"] for t in result["tools"]])
                cursor = result.get("nextCursor")
                if not cursor:
                    break
            pages.append(names)
    assert pages[0] == pages[1]
    assert len(pages[0]) > 1
