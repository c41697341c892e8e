"""Our OpenAPI document describes only what Atlassian's official v1 and v2 documents contain."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
OUR_DOCUMENT = REPO_ROOT / "openapi" / "confluence.yaml"
# CI clones the repository next to shared/, as on the development machine (/work/main, /work/shared).
OFFICIAL_DIR = REPO_ROOT.parent / "shared" / "openapi-official"
V2_PREFIX = "/wiki/api/v2"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
HINT_KEYS = ("x-mcp-resource", "x-mcp-singular", "x-mcp-method", "x-mcp-tags")
NAME_TEMPLATES = {
    "list": "list_all_{integration}_{resource}",
    "get": "get_single_{integration}_{singular}_by_id",
    "create": "create_a_{integration}_{singular}",
    "update": "update_a_{integration}_{singular}_by_id",
    "delete": "delete_a_{integration}_{singular}_by_id",
}
CUSTOM_NAME_TEMPLATE = "{integration}_{resource}_{method}"
MIN_DESCRIPTION = 60
# Nesting allowed when collecting body properties through allOf/oneOf/anyOf/items; v1 has a $ref cycle.
MAX_BODY_DEPTH = 4

Document = Mapping[str, Any]


def load_ours() -> Document:
    """Return our document as parsed YAML."""
    with OUR_DOCUMENT.open(encoding="utf-8") as stream:
        document: Document = yaml.safe_load(stream)
    return document


@cache
def load_official(version: str) -> Document:
    """Return Atlassian's official document for `v1` or `v2`, read in place and never copied."""
    with (OFFICIAL_DIR / f"confluence-{version}.json").open(encoding="utf-8") as stream:
        document: Document = json.load(stream)
    return document


def resolve(document: Document, node: Any) -> Any:
    """Follow local `$ref`s from `node` until it is no longer a reference."""
    seen: set[str] = set()
    while isinstance(node, Mapping) and "$ref" in node:
        pointer = node["$ref"]
        if not isinstance(pointer, str) or not pointer.startswith("#/"):
            raise ValueError(f"not a local reference: {pointer!r}")
        if pointer in seen:
            raise ValueError(f"reference cycle at {pointer}")
        seen.add(pointer)
        target: Any = document
        for part in pointer[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def iter_refs(node: Any) -> Iterator[str]:
    """Yield every `$ref` string found anywhere under `node`."""
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from iter_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_refs(item)


def iter_operations(document: Document) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """Yield (method, path, operation) for every operation of a document."""
    for path, item in document.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield method, path, item[method]


def parameter_keys(
    document: Document, path_item: Mapping[str, Any], operation: Mapping[str, Any]
) -> set[tuple[str, str]]:
    """Return the (name, location) pairs declared on a path item and its operation."""
    declared = [*path_item.get("parameters", []), *operation.get("parameters", [])]
    return {(parameter["name"], parameter["in"]) for parameter in (resolve(document, raw) for raw in declared)}


def body_properties(document: Document, schema: Any, depth: int = 0) -> set[str]:
    """Return a body schema's top-level property names, through refs, allOf/oneOf/anyOf and array items."""
    schema = resolve(document, schema)
    if depth > MAX_BODY_DEPTH or not isinstance(schema, Mapping):
        return set()
    names = set(schema.get("properties", {}))
    for keyword in ("allOf", "oneOf", "anyOf"):
        for branch in schema.get(keyword, []):
            names |= body_properties(document, branch, depth + 1)
    if "items" in schema:
        names |= body_properties(document, schema["items"], depth + 1)
    return names


def json_body_schema(document: Document, operation: Mapping[str, Any]) -> Any:
    """Return the `application/json` request-body schema of an operation, or None when it has none."""
    if "requestBody" not in operation:
        return None
    content = resolve(document, operation["requestBody"]).get("content", {})
    return content.get("application/json", {}).get("schema")


def official_source(path: str) -> tuple[str, str]:
    """Return which official document holds a full path ("v1" or "v2") and the path as written there."""
    if path.startswith(V2_PREFIX + "/"):
        return "v2", path.removeprefix(V2_PREFIX)
    return "v1", path


def mismatches(ours: Document, method: str, path: str) -> list[str]:
    """List every way one of our operations departs from the official one; empty when it matches."""
    version, official_path = official_source(path)
    official = load_official(version)
    official_item = official.get("paths", {}).get(official_path)
    if official_item is None or method not in official_item:
        return [f"{method.upper()} {official_path} is not in the official {version} document"]
    official_operation = official_item[method]
    our_item = ours["paths"][path]
    our_operation = our_item[method]

    problems: list[str] = []
    official_parameters = parameter_keys(official, official_item, official_operation)
    for name, location in sorted(parameter_keys(ours, our_item, our_operation) - official_parameters):
        problems.append(f"parameter {name!r} in {location} is not in the official operation")

    our_schema = json_body_schema(ours, our_operation)
    if our_schema is not None:
        official_schema = json_body_schema(official, official_operation)
        if official_schema is None:
            problems.append("the official operation has no application/json request body")
        else:
            missing = body_properties(ours, our_schema) - body_properties(official, official_schema)
            problems.extend(f"body field {name!r} is not in the official request body" for name in sorted(missing))
    return problems


def tool_name(operation: Mapping[str, Any], integration: str) -> str:
    """Return the tool name the naming rule gives an operation's x-mcp-* hints."""
    method = operation["x-mcp-method"]
    template = NAME_TEMPLATES.get(method, CUSTOM_NAME_TEMPLATE)
    return template.format(
        integration=integration,
        resource=operation["x-mcp-resource"],
        singular=operation["x-mcp-singular"],
        method=method,
    )


OURS = load_ours()
OPERATIONS = [(method, path) for method, path, _ in iter_operations(OURS)]
OPERATION_IDS = [f"{method.upper()} {path}" for method, path in OPERATIONS]


def test_document_describes_at_least_fifty_operations() -> None:
    """Our document describes at least fifty operations."""
    assert len(OPERATIONS) >= 50


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=OPERATION_IDS)
def test_operation_exists_in_official_document_with_our_parameters_and_body_fields(method: str, path: str) -> None:
    """The official operation exists and has every parameter and top-level body field we describe."""
    assert mismatches(OURS, method, path) == []


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=OPERATION_IDS)
def test_operation_carries_hints_operation_id_and_agent_description(method: str, path: str) -> None:
    """Every operation sets the four x-mcp-* hints, an operationId and a description of 60+ characters.

    Descriptions are short on purpose (tools/list has a context budget, tests/test_context_budget.py);
    what every tool shares is in the server instructions.
    """
    operation = OURS["paths"][path][method]
    assert [key for key in HINT_KEYS if key not in operation] == []
    assert isinstance(operation["x-mcp-tags"], list)
    assert operation["x-mcp-tags"]
    assert isinstance(operation.get("operationId"), str)
    assert len(operation.get("description", "")) >= MIN_DESCRIPTION


def test_operation_ids_are_unique_camel_case() -> None:
    """No two operations share an operationId, and each is camelCase."""
    operation_ids = [operation["operationId"] for _, _, operation in iter_operations(OURS)]
    assert len(set(operation_ids)) == len(operation_ids)
    assert [oid for oid in operation_ids if not (oid[:1].islower() and oid.isalnum())] == []


def test_tool_names_are_unique() -> None:
    """The naming rule gives every operation a different tool name."""
    integration = OURS["info"]["x-mcp-integration"]
    names = [tool_name(operation, integration) for _, _, operation in iter_operations(OURS)]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("get", "/wiki/rest/api/search", "list_all_confluence_search"),
        ("get", "/wiki/api/v2/pages/{id}", "get_single_confluence_page_by_id"),
        ("post", "/wiki/api/v2/pages", "create_a_confluence_page"),
        ("put", "/wiki/api/v2/pages/{id}", "update_a_confluence_page_by_id"),
        ("get", "/wiki/api/v2/spaces", "list_all_confluence_spaces"),
        ("get", "/wiki/rest/api/search/user", "list_all_confluence_users"),
        ("get", "/wiki/rest/api/group", "list_all_confluence_groups"),
        ("get", "/wiki/rest/api/user/memberof", "list_all_confluence_user_groups"),
        ("delete", "/wiki/rest/api/group/userByGroupId", "confluence_groups_remove_member"),
    ],
)
def test_key_operations_get_their_documented_tool_names(method: str, path: str, expected: str) -> None:
    """The hints of the key operations yield the tool names the rest of the project relies on."""
    assert tool_name(OURS["paths"][path][method], OURS["info"]["x-mcp-integration"]) == expected


def test_every_local_ref_resolves() -> None:
    """Every `$ref` in our document points at something inside it."""
    for pointer in iter_refs(OURS):
        assert resolve(OURS, {"$ref": pointer}) is not None, pointer


def test_servers_point_at_the_site_root() -> None:
    """The only server is the site root, so the full paths are used as written."""
    assert [server["url"] for server in OURS["servers"]] == ["https://{site}"]
    assert all(path.startswith(("/wiki/api/v2/", "/wiki/rest/api/")) for _, path in OPERATIONS)


def test_checker_reports_a_made_up_parameter() -> None:
    """The comparison names a query parameter that the official operation lacks."""
    doctored = copy.deepcopy(dict(OURS))
    doctored["paths"]["/wiki/api/v2/pages"]["get"]["parameters"].append(
        {"name": "space-key", "in": "query", "schema": {"type": "string"}}
    )
    assert mismatches(doctored, "get", "/wiki/api/v2/pages") == [
        "parameter 'space-key' in query is not in the official operation"
    ]


def test_checker_reports_a_parameter_in_the_wrong_location() -> None:
    """The comparison tells a real parameter name apart from the same name in another location."""
    doctored = copy.deepcopy(dict(OURS))
    doctored["paths"]["/wiki/rest/api/group/userByGroupId"]["delete"]["parameters"].append(
        {"name": "groupId", "in": "header", "schema": {"type": "string"}}
    )
    assert mismatches(doctored, "delete", "/wiki/rest/api/group/userByGroupId") == [
        "parameter 'groupId' in header is not in the official operation"
    ]


def test_checker_reports_a_made_up_body_field_and_path() -> None:
    """The comparison names an invented body field and an invented path."""
    doctored = copy.deepcopy(dict(OURS))
    doctored["paths"]["/wiki/rest/api/content/{id}/label"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]["items"] = {"type": "object", "properties": {"name": {"type": "string"}, "colour": {"type": "string"}}}
    doctored["paths"]["/wiki/api/v2/pages/{id}/lock"] = {"post": {}}
    assert mismatches(doctored, "post", "/wiki/rest/api/content/{id}/label") == [
        "body field 'colour' is not in the official request body"
    ]
    assert mismatches(doctored, "post", "/wiki/api/v2/pages/{id}/lock") == [
        "POST /pages/{id}/lock is not in the official v2 document"
    ]
