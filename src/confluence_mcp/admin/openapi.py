"""The admin API's OpenAPI 3.1 document, built from the same operation table that builds the routes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from confluence_mcp.admin.models import ErrorView

__all__ = ["OperationSpec", "build_document"]

_PATH_PARAMETER = re.compile(r"\{([a-z_]+)\}")

_ERROR_TEXT = {
    400: "The body is not JSON (invalid_json), or a field or query parameter breaks a rule (invalid_value);"
    " details name them.",
    401: "No or a bad 'Authorization: Bearer <API token>', or an MCP client token (scope mcp) instead of an admin one.",
    404: "No such record (or an MCP server under another account).",
    409: "The record is declared in the settings file; change it there.",
    413: "The body is over server.max_body_bytes.",
    422: "The body does not match the schema: a wrong type, a missing or an unknown field; details name them.",
    503: "The store cannot be reached (store_unavailable); retry after the Retry-After seconds.",
}

_DESCRIPTION = """\
Manage integrated accounts (a Confluence Cloud site and its credentials) and the MCP servers bound to them.
Every MCP server is a secret URL `<public_url>/mcp/<token>`; the token is shown once, when the server is created.

Every route except this document needs `Authorization: Bearer <API token>` with an admin token (scope `admin`,
the default of `confluence-mcp api-tokens create NAME`); MCP client tokens (scope `mcp`) are refused here.
Errors answer `{"error": CODE, "message": TEXT, "details": ...}`. Secrets are write-only: responses show
`auth: {type, username}`, never the password. Times are ISO-8601 UTC.

The audit log (`GET /audit-log`; one MCP server's tool calls at `.../mcp/{mcp_id}/logs`) records every tool call
and every change made here or with the CLI: who, what, which record or tool, the argument keys (never values),
the outcome and how long it took. Pages run newest first; pass `next_cursor` as `cursor` for older ones."""


_Refs = dict[tuple[Any, JsonSchemaMode], dict[str, Any]]  # (model, mode) -> {"$ref": ...}


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """One admin operation as documented: method, path, models and success status."""

    method: Literal["GET", "POST", "PATCH", "DELETE"]
    path: str
    operation_id: str
    summary: str
    status: int
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    public: bool = False
    """True for a route that needs no API token."""
    query: type[BaseModel] | None = None
    """The model of the query parameters, when the operation takes any."""
    names_records: bool = False
    """True when the body names a record by id (404 when it is gone), like a path with ids does."""


def build_document(operations: Sequence[OperationSpec], *, version: str) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document describing ``operations``."""
    refs, schemas = _schemas(operations)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        item = paths.setdefault(op.path, {})
        names = _PATH_PARAMETER.findall(op.path)
        if names:
            item["parameters"] = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in names
            ]
        operation: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "responses": _responses(op, refs, bool(names)),
        }
        if op.query is not None:
            operation["parameters"] = _query_parameters(op.query)
        if op.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        if op.public:
            operation["security"] = []
        item[op.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "confluence-mcp admin API", "version": version, "description": _DESCRIPTION},
        "security": [{"apiToken": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An admin token from 'confluence-mcp api-tokens create NAME' (not --scope mcp).",
                }
            },
            "schemas": schemas,
            "responses": {
                str(status): {
                    "description": text,
                    "content": {"application/json": {"schema": refs[(ErrorView, "serialization")]}},
                }
                for status, text in _ERROR_TEXT.items()
            },
        },
    }


def _schemas(
    operations: Sequence[OperationSpec],
) -> tuple[_Refs, dict[str, Any]]:
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorView, "serialization")]
    for op in operations:
        if op.body is not None and (op.body, "validation") not in wanted:
            wanted.append((op.body, "validation"))
        if op.response is not None and (op.response, "serialization") not in wanted:
            wanted.append((op.response, "serialization"))
    refs, top = models_json_schema(wanted, ref_template="#/components/schemas/{model}")
    return dict(refs), dict(top.get("$defs", {}))


def _responses(op: OperationSpec, refs: _Refs, has_ids: bool) -> dict[str, Any]:
    success: dict[str, Any] = {"description": op.summary}
    if op.response is not None:
        success["content"] = {"application/json": {"schema": refs[(op.response, "serialization")]}}
    elif op.status != 204:
        success["content"] = {"application/json": {"schema": {"type": "object"}}}
    responses: dict[str, Any] = {str(op.status): success}
    errors: list[int] = [] if op.public else [401, 503]
    if op.body is not None:
        errors += [400, 413, 422]
    elif op.query is not None:
        errors.append(400)
    if has_ids or op.names_records:
        errors.append(404)
    if has_ids and op.method in ("PATCH", "DELETE"):
        errors.append(409)
    for status in sorted(errors):
        responses[str(status)] = {"$ref": f"#/components/responses/{status}"}
    return responses


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """Return the OpenAPI query parameters of ``model``'s fields, each with its schema and description."""
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", ()))
    parameters: list[dict[str, Any]] = []
    for name, field_schema in schema["properties"].items():
        field_schema = dict(field_schema)
        field_schema.pop("title", None)
        description = field_schema.pop("description", None)
        options = [option for option in field_schema.pop("anyOf", []) if option != {"type": "null"}]
        if len(options) == 1:  # an optional parameter is left out, never sent as null
            field_schema.update(options[0])
        if "default" in field_schema and field_schema["default"] is None:
            del field_schema["default"]
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": field_schema}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters
