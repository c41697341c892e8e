"""The admin REST API over real loopback HTTP: bodies that are not JSON, break the schema or the limit, and 500s."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from confluence_mcp.errors import StoreError
from tests.support.admin import (
    AdminApp,
    admin_settings,
    an_account_body,
    error_body,
    error_fields,
    running_admin_app,
)

pytestmark = pytest.mark.anyio


# Request bodies


async def test_a_body_that_is_not_json_answers_400_invalid_json(admin: AdminApp) -> None:
    """Unparseable, empty and non-UTF-8 bodies answer 400 with a JSON error naming the problem."""
    for content in (b'{"label": ', b"", b"\xff\xfe\x00{", b"[" * 100_000):
        response = await admin.client.post(
            "/integrated-account", content=content, headers={"Content-Type": "application/json"}
        )
        body = error_body(response, 400, "invalid_json")
        assert body["message"].startswith("the request body is")


async def test_wrong_types_and_missing_fields_answer_422_naming_each_field(admin: AdminApp) -> None:
    """A body against the schema answers 422 listing every bad field as a path."""
    response = await admin.client.post(
        "/integrated-account",
        json={"label": 5, "auth": {"type": "digest", "password": "x"}, "api_token_expires_at": "soon"},
    )
    body = error_body(response, 422, "invalid_body")
    assert set(error_fields(body)) == {"label", "instance_url", "auth.type", "api_token_expires_at"}
    account = await admin.create_account()
    nested = await admin.create_mcp_server(account["id"], config={"methods": ["read", 7]})
    assert error_fields(error_body(nested, 422, "invalid_body")) == ["config.methods[1]"]
    not_object = await admin.client.post("/integrated-account", json=["label"])
    assert error_fields(error_body(not_object, 422, "invalid_body")) == ["(body)"]


async def test_an_unknown_field_is_named(admin: AdminApp) -> None:
    """extra='forbid': an unknown key, top-level or nested, answers 422 naming it."""
    response = await admin.client.post("/integrated-account", json=an_account_body(color="blue"))
    body = error_body(response, 422, "invalid_body")
    assert body["details"] == [{"field": "color", "message": "unknown field"}]
    account = await admin.create_account()
    nested = await admin.create_mcp_server(account["id"], config={"method": ["read"]})
    assert error_fields(error_body(nested, 422, "invalid_body")) == ["config.method"]


async def test_null_for_a_key_that_cannot_be_cleared_answers_422(admin: AdminApp) -> None:
    """PATCH with name: null or config: null is refused rather than silently ignored."""
    account = await admin.create_account()
    server = (await admin.create_mcp_server(account["id"])).json()
    path = f"/integrated-account/{account['id']}/mcp/{server['id']}"
    assert error_fields(error_body(await admin.client.patch(path, json={"name": None}), 422, "invalid_body")) == [
        "name"
    ]
    label = await admin.client.patch(f"/integrated-account/{account['id']}", json={"label": None})
    assert error_fields(error_body(label, 422, "invalid_body")) == ["label"]


async def test_a_body_over_the_limit_answers_413() -> None:
    """A body larger than server.max_body_bytes answers 413 with a JSON error, before it is parsed."""
    async with running_admin_app(admin_settings(server={"max_body_bytes": 2048})) as admin:
        response = await admin.client.post("/integrated-account", json=an_account_body(label="x" * 4096))
        error_body(response, 413, "payload_too_large")

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(8):
                yield b" " * 512  # no Content-Length: the limit holds for streamed bodies too

        streamed = await admin.client.post("/integrated-account", content=chunks())
        error_body(streamed, 413, "payload_too_large")


async def test_an_unsupported_method_answers_405_with_allow(admin: AdminApp) -> None:
    """PUT on an admin path answers a JSON 405 naming the methods it takes."""
    response = await admin.client.put("/integrated-account", json={})
    error_body(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, POST"


@pytest.mark.parametrize(
    ("failure", "code", "message"),
    [
        (RuntimeError("boom: internal detail"), "internal_error", "internal error; see the server log"),
        (StoreError("database is locked"), "store_error", "database is locked"),
    ],
)
async def test_a_failure_inside_answers_500_json_without_a_traceback(
    admin: AdminApp, monkeypatch: pytest.MonkeyPatch, failure: Exception, code: str, message: str
) -> None:
    """A store failure answers its message, a bug a fixed one; neither answers a traceback."""

    async def fail(*args: object) -> None:
        raise failure

    monkeypatch.setattr(admin.store, "list_accounts", fail)
    response = await admin.client.get("/integrated-account")
    assert error_body(response, 500, code)["message"] == message
    assert "Traceback" not in response.text
