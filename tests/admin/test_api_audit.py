"""The admin API's audit: its changes are recorded by token id, and both log routes page and validate queries."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from confluence_mcp.admin.service import AdminService
from confluence_mcp.server.app import Runtime
from tests.support.admin import SECRET, AdminApp, admin_settings, error_body, error_fields, running_admin_app

pytestmark = pytest.mark.anyio

DEADLINE = 10.0


async def written(runtime: Runtime) -> None:
    """Wait, under a deadline, until the writer has stored every queued audit record."""
    assert runtime.audit is not None
    with anyio.fail_after(DEADLINE):
        await runtime.audit.drained()


async def audit_log(admin: AdminApp, **params: Any) -> dict[str, Any]:
    """GET /audit-log with ``params`` once the writer is done; return the page."""
    await written(admin.runtime)
    response = await admin.client.get("/audit-log", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_admin_api_changes_are_recorded_by_token_id_with_field_names_and_no_secret(admin: AdminApp) -> None:
    """Create, change and delete an account: three ok records by the admin token's id; the password is nowhere."""
    (token,) = await admin.store.list_api_tokens()
    account = await admin.create_account()
    patched = await admin.client.patch(f"/integrated-account/{account['id']}", json={"label": "Acme 2"})
    assert patched.status_code == 200
    assert (await admin.client.delete(f"/integrated-account/{account['id']}")).status_code == 204

    page = await audit_log(admin)

    assert [(e["actor"], e["action"], e["target"], e["outcome"]) for e in page["result"]] == [
        (token.id, "account.delete", account["id"], "ok"),
        (token.id, "account.update", account["id"], "ok"),
        (token.id, "account.create", account["id"], "ok"),
    ]
    created = page["result"][-1]
    # check: the connection check was skipped (no test serves acme.atlassian.net), and the log says so.
    assert created["argument_keys"] == ["label", "instance_url", "auth.type", "auth.username", "auth.password", "check"]
    assert page["result"][1]["argument_keys"] == ["label"]
    assert created["upstream_status"] is None
    assert created["duration_ms"] >= 0
    assert page["next_cursor"] is None
    text = str(page)
    for value in (SECRET, admin.api_token, "Acme 2", "john.smith@example.com", token.token_hash):
        assert value not in text


async def test_a_change_a_rule_refuses_is_recorded_as_refused_with_its_error_class(admin: AdminApp) -> None:
    """An MCP server under a missing account and an http:// site are refused NotFound and InvalidInput."""
    assert (await admin.create_mcp_server("acc_missing")).status_code == 404
    bad = await admin.client.post(
        "/integrated-account", json={"label": "x", "instance_url": "http://evil.example", "auth": {"password": SECRET}}
    )
    assert bad.status_code == 400

    server_refusal, account_refusal = (await audit_log(admin))["result"][::-1]

    assert (server_refusal["action"], server_refusal["target"]) == ("mcp_server.create", None)
    assert (server_refusal["outcome"], server_refusal["reason"]) == ("refused", "NotFound")
    assert server_refusal["argument_keys"] == ["name"]
    assert (account_refusal["outcome"], account_refusal["reason"]) == ("refused", "InvalidInput")
    assert "evil.example" not in str(account_refusal)


async def test_the_audit_log_filters_by_actor_action_and_since_and_pages_by_cursor(admin: AdminApp) -> None:
    """Five changes page two at a time, newest first; actor, action and since narrow the list."""
    (token,) = await admin.store.list_api_tokens()
    accounts = [await admin.create_account(label=f"Site {n}") for n in range(5)]
    page = await audit_log(admin, limit=2)
    seen = [e["target"] for e in page["result"]]
    while page["next_cursor"] is not None:
        page = await audit_log(admin, limit=2, cursor=page["next_cursor"])
        seen += [e["target"] for e in page["result"]]
    assert seen == [a["id"] for a in reversed(accounts)]

    assert len((await audit_log(admin, actor=token.id, action="account.create"))["result"]) == 5
    assert (await audit_log(admin, actor="cli"))["result"] == []
    assert (await audit_log(admin, action="tools/call"))["result"] == []
    assert len((await audit_log(admin, since="1h"))["result"]) == 5
    assert (await audit_log(admin, since="2100-01-01T00:00:00Z"))["result"] == []


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/audit-log", {"limit": "0"}, "limit"),
        ("/audit-log", {"limit": "many"}, "limit"),
        ("/audit-log", {"limit": "501"}, "limit"),
        ("/audit-log", {"since": "yesterday"}, "since"),
        ("/audit-log", {"cursor": "not-ours"}, "cursor"),
        ("/audit-log", {"tool": "x"}, "tool"),
        ("LOGS", {"status": "fine"}, "status"),
        ("LOGS", {"status": "4040"}, "status"),
        ("LOGS", {"actor": "mcp_other"}, "actor"),
    ],
)
async def test_a_bad_query_parameter_is_a_400_naming_it(
    admin: AdminApp, path: str, params: dict[str, str], field: str
) -> None:
    """A limit out of range, a since or status we cannot read, a foreign cursor or an unknown parameter: 400."""
    if path == "LOGS":
        account = await admin.create_account()
        server = (await admin.create_mcp_server(account["id"])).json()
        path = f"/integrated-account/{account['id']}/mcp/{server['id']}/logs"
    body = error_body(await admin.client.get(path, params=params), 400, "invalid_value")
    assert error_fields(body) == [field]
    assert body["message"].startswith(field)


async def test_the_logs_of_a_server_under_another_account_or_of_none_are_404(admin: AdminApp) -> None:
    """The logs route answers 404 like the server route: for a missing server and for one under another account."""
    first, second = await admin.create_account(), await admin.create_account()
    server = (await admin.create_mcp_server(first["id"])).json()
    for account_id, server_id in ((second["id"], server["id"]), (first["id"], "mcp_missing")):
        error_body(await admin.client.get(f"/integrated-account/{account_id}/mcp/{server_id}/logs"), 404, "not_found")
    ok = await admin.client.get(f"/integrated-account/{first['id']}/mcp/{server['id']}/logs")
    assert ok.json() == {"result": [], "next_cursor": None}


async def test_the_openapi_document_describes_both_log_routes_and_their_queries(admin: AdminApp) -> None:
    """Each log route lists its query parameters with schemas, answers an AuditLogPage, and may answer 400."""
    document = (await admin.client.get("/admin/openapi.json")).json()
    for path, names in (
        ("/audit-log", ["actor", "action", "since", "cursor", "limit"]),
        ("/integrated-account/{account_id}/mcp/{mcp_id}/logs", ["tool", "status", "since", "cursor", "limit"]),
    ):
        operation = document["paths"][path]["get"]
        parameters = operation["parameters"]
        assert [p["name"] for p in parameters] == names
        assert all(p["in"] == "query" and p["required"] is False and p["description"] for p in parameters)
        limit = parameters[-1]["schema"]
        assert (limit["type"], limit["minimum"], limit["maximum"], limit["default"]) == ("integer", 1, 500, 50)
        assert {"200", "400", "401"} <= set(operation["responses"])
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/AuditLogPage")
    page = document["components"]["schemas"]["AuditLogPage"]
    assert set(page["properties"]) == {"result", "next_cursor"}


async def test_with_retention_zero_nothing_is_recorded_and_the_routes_answer_empty() -> None:
    """audit.retention_days 0 turns the audit log off: no queue, no record, an empty list."""
    async with running_admin_app(admin_settings(audit={"retention_days": 0})) as admin:
        assert admin.runtime.audit is None
        await admin.create_account()
        response = await admin.client.get("/audit-log")
        assert response.json() == {"result": [], "next_cursor": None}


READS = {"mcp_url", "list_accounts", "get_account", "list_mcp_servers", "get_mcp_server", "list_api_tokens"}


def test_every_admin_service_method_that_changes_something_is_audited() -> None:
    """Each public AdminService method but the reads carries @audited, so a new change cannot skip the log."""
    # connector() changes nothing: it hands out the AccountConnector, whose complete() is audited itself.
    reads = READS | {"audit_log", "mcp_server_logs", "test_connection", "check_account", "connector"}
    public = {name: member for name, member in vars(AdminService).items() if callable(member) and name[0] != "_"}
    assert reads <= set(public)
    unaudited = [name for name, member in public.items() if name not in reads and not hasattr(member, "__wrapped__")]
    assert unaudited == []
    assert {name for name, member in public.items() if hasattr(member, "__wrapped__")} == set(public) - reads
