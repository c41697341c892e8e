"""The admin API fuzzed from its own OpenAPI document (/admin/openapi.json), over real HTTP.

For every operation the document lists: path ids real and made up, query parameters and bodies generated from
the declared schemas, then spoiled (wrong types, missing and unknown fields, not JSON at all), with a good, a
missing, a foreign or a garbage token. Every answer is a success or the admin error shape with a status the
document declares for that operation, never a 5xx, a traceback or a server path; the server stays up.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import given
from hypothesis import strategies as st

from tests.support.admin import ACCOUNTS_UNCHECKED, an_account_body, running_admin_app
from tests.support.fuzzing import assert_alive, budget
from tests.support.schema_values import mistyped_arguments_for, value_for
from tests.support.soundness import assert_admin_answer

EXAMPLES = 25
ALWAYS_POSSIBLE = frozenset({307, 401, 405, 413})
"""Answers any operation may give before its own rules run: a trailing-slash redirect (an id ending in '/'),
no token, wrong method, a body over the limit."""


@dataclass(frozen=True)
class Admin:
    """The running app: base URL, its document, the admin token, and one real account and MCP server."""

    base_url: str
    document: dict[str, Any]
    token: str
    ids: dict[str, str]


@pytest.fixture(scope="module")
def admin() -> Iterator[Admin]:
    """Serve the app on its own thread; create one account and one MCP server to aim real ids at."""
    with (
        start_blocking_portal(backend="asyncio") as portal,
        portal.wrap_async_context_manager(running_admin_app()) as app,
        httpx.Client(base_url=app.base_url, headers={"Authorization": f"Bearer {app.api_token}"}) as client,
    ):
        account = client.post(ACCOUNTS_UNCHECKED, json=an_account_body()).json()
        server = client.post(f"/integrated-account/{account['id']}/mcp", json={"name": "fuzzed"}).json()
        document = client.get("/admin/openapi.json").json()
        yield Admin(app.base_url, document, app.api_token, {"account_id": account["id"], "mcp_id": server["id"]})


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]]:
    """Every (method, path, operation, parameters) the document declares."""
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
                found.append((method.upper(), path, operation, parameters))
    return found


@st.composite
def _requests(draw: st.DrawFn, admin: Admin, path: str, operation: dict[str, Any], parameters: list[Any]) -> Any:
    """One request to the operation: (path, query, body bytes or None, headers)."""
    url = path
    query: dict[str, Any] = {}
    for parameter in parameters:
        name, schema = parameter["name"], parameter.get("schema", {})
        if parameter["in"] == "path":
            real = admin.ids.get(name, "x")
            value = draw(st.just(real) | st.sampled_from(list(admin.ids.values())) | value_for(schema).map(str))
            url = url.replace("{" + name + "}", quote(str(value), safe="") or "%20")
        elif draw(st.booleans()):
            query[name] = draw(value_for(schema) | st.text(max_size=20))
    body: bytes | None = None
    declared = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if declared is not None or draw(st.integers(0, 9)) == 0:
        how = draw(st.sampled_from(["valid", "spoiled", "raw"]))
        if how == "valid" and declared is not None:
            body = httpx.Request("POST", "/", json=draw(value_for(declared, admin.document))).content
        elif how == "spoiled" and declared is not None:
            _, _, spoiled = draw(mistyped_arguments_for(_resolved(declared, admin.document), admin.document))
            body = httpx.Request("POST", "/", json=spoiled).content
        else:
            body = draw(st.binary(max_size=40) | st.just(b'{"a":' * 5000))
    token = draw(st.sampled_from([admin.token, admin.token, admin.token, None, "cmat_nope", "\u00e9"]))
    headers = {"Content-Type": b"application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}".encode()
    return url, {k: v if isinstance(v, str) else str(v) for k, v in query.items()}, body, headers


def _resolved(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """The schema a top-level ``$ref`` points at."""
    if "$ref" not in schema:
        return schema
    target: Any = document
    for part in schema["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    resolved: dict[str, Any] = target
    return resolved


def test_the_document_lists_every_admin_operation(admin: Admin) -> None:
    """The fuzzed document covers accounts, MCP servers and the audit log, with a body schema for each write."""
    operations = _operations(admin.document)
    assert len(operations) >= 12
    for method, _, operation, _ in operations:
        assert method not in ("POST", "PATCH") or "requestBody" in operation, operation["operationId"]


def _fuzz_operation(client: httpx.Client, admin: Admin, method: str, path: str, operation: dict[str, Any]) -> None:
    """Send generated requests to one operation; each answer is documented, shaped and leak-free."""
    parameters = operation["x-parameters"]
    documented = {int(status) for status in operation["responses"] if status.isdigit()} | ALWAYS_POSSIBLE

    @given(request=_requests(admin, path, operation, parameters))
    @budget(EXAMPLES)
    def answered(request: Any) -> None:
        url, query, body, headers = request
        response = client.request(method, url, params=query, content=body, headers=headers)
        assert_admin_answer(response)
        assert response.status_code in documented, (method, url, response.status_code, response.text[:300])

    answered()


def test_every_admin_operation_answers_generated_requests_soundly(admin: Admin) -> None:
    """Generated and spoiled requests to each operation: documented statuses, the error shape, nothing leaked."""
    with httpx.Client(base_url=admin.base_url, timeout=30) as client:
        for method, path, operation, parameters in _operations(admin.document):
            _fuzz_operation(client, admin, method, path, {**operation, "x-parameters": parameters})
            assert_alive(client)
