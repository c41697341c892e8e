"""The generator: loading, $ref and allOf handling, flattening, names, annotations and tags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from confluence_mcp.errors import SpecError
from confluence_mcp.openapi import Tool, generate_tools
from confluence_mcp.openapi.naming import TOOL_NAME_RE, derive_parts


def _doc(paths: dict[str, Any], *, version: str = "3.1.0", **extra: Any) -> dict[str, Any]:
    return {"openapi": version, "info": {"title": "t", "version": "1"}, "paths": paths, **extra}


def _write(tmp_path: Path, doc: dict[str, Any], name: str = "doc.yaml") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc) if name.endswith(".json") else yaml.safe_dump(doc), encoding="utf-8")
    return path


def _tools(tmp_path: Path, doc: dict[str, Any], name: str = "doc.yaml") -> dict[str, Tool]:
    return {t.name: t for t in generate_tools([_write(tmp_path, doc, name)])}


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/pages", "list_all_confluence_pages"),
        ("GET", "/pages/{id}", "get_single_confluence_page_by_id"),
        ("POST", "/pages", "create_a_confluence_page"),
        ("PUT", "/pages/{id}", "update_a_confluence_page_by_id"),
        ("DELETE", "/pages/{id}", "delete_a_confluence_page_by_id"),
        ("GET", "/wiki/api/v2/pages/{id}/footer-comments", "list_all_confluence_page_footer_comments"),
        ("GET", "/wiki/rest/api/group", "list_all_confluence_groups"),
        ("GET", "/wiki/rest/api/space/{spaceKey}", "get_single_confluence_space_by_id"),
        ("GET", "/blogposts/{id}/likes/users", "list_all_confluence_blogpost_like_users"),
        ("GET", "/pages/{id}/direct-children", "list_all_confluence_page_direct_children"),
        ("POST", "/pages/{id}/redact", "confluence_pages_redact"),
        ("POST", "/user/access/invite-by-email", "confluence_user_access_invite_by_email"),
        ("GET", "/categories", "list_all_confluence_categories"),
    ],
)
def test_names_follow_truto_convention_from_method_and_path(
    tmp_path: Path, method: str, path: str, expected: str
) -> None:
    """Without hints, the HTTP method and the path shape give Truto-style names."""
    doc = _doc({path: {method.lower(): {"responses": {"200": {"description": "ok"}}}}})
    assert list(_tools(tmp_path, doc)) == [expected]


def test_hints_override_derived_names_and_custom_methods_use_resource_prefix(tmp_path: Path) -> None:
    """x-mcp-resource, x-mcp-singular and x-mcp-method name a tool; a custom method gives confluence_<plural>_<m>."""
    doc = _doc(
        {
            "/wiki/rest/api/group/userByGroupId": {
                "delete": {"x-mcp-resource": "groups", "x-mcp-method": "remove_member", "responses": {}},
                "post": {"x-mcp-resource": "groups", "x-mcp-method": "add_member", "responses": {}},
            },
            "/wiki/rest/api/search": {
                "get": {"x-mcp-resource": "search", "x-mcp-singular": "search", "x-mcp-method": "list", "responses": {}}
            },
            "/wiki/rest/api/user/memberof": {
                "get": {"x-mcp-resource": "user_groups", "x-mcp-method": "list", "responses": {}}
            },
        }
    )
    tools = _tools(tmp_path, doc)
    assert set(tools) == {
        "confluence_groups_remove_member",
        "confluence_groups_add_member",
        "list_all_confluence_search",
        "list_all_confluence_user_groups",
    }
    assert tools["confluence_groups_remove_member"].method == "remove_member"
    assert tools["confluence_groups_remove_member"].group == "custom"
    assert tools["list_all_confluence_search"].group == "read"


def test_integration_word_comes_from_info_extension(tmp_path: Path) -> None:
    """info.x-mcp-integration replaces 'confluence' in every name."""
    doc = _doc({"/pages": {"get": {"responses": {}}}})
    doc["info"]["x-mcp-integration"] = "wiki"
    assert list(_tools(tmp_path, doc)) == ["list_all_wiki_pages"]


def test_colliding_names_get_an_operation_suffix_independent_of_order(tmp_path: Path) -> None:
    """Two operations with one derived name: the shorter path keeps it, the other gets a stable suffix."""
    ops: dict[str, Any] = {
        "/wiki/rest/api/space/{key}": {"get": {"responses": {}}},
        "/wiki/api/v2/spaces/{id}": {"get": {"responses": {}}},
    }
    first = _tools(tmp_path, _doc(ops), "a.yaml")
    second = _tools(tmp_path, _doc(dict(reversed(list(ops.items())))), "b.yaml")
    assert set(first) == set(second)
    assert "get_single_confluence_space_by_id" in first
    (other,) = set(first) - {"get_single_confluence_space_by_id"}
    assert other.startswith("get_single_confluence_space_by_id_")
    assert len(other) == len("get_single_confluence_space_by_id") + 7
    assert first["get_single_confluence_space_by_id"].binding.path == "/wiki/api/v2/spaces/{id}"


def test_hinted_operation_keeps_its_name_over_a_derived_one(tmp_path: Path) -> None:
    """An operation named by hints wins a collision against one named by its path shape."""
    ops = {
        "/pages": {"get": {"responses": {}}},
        "/wiki/api/v2/pages": {"get": {"x-mcp-resource": "pages", "x-mcp-method": "list", "responses": {}}},
    }
    tools = _tools(tmp_path, _doc(ops))
    assert tools["list_all_confluence_pages"].binding.path == "/wiki/api/v2/pages"


def test_two_identical_explicit_names_are_refused(tmp_path: Path) -> None:
    """Two operations given the same x-mcp-name make a SpecError naming the pointer."""
    ops = {
        "/a": {"get": {"x-mcp-name": "same", "responses": {}}},
        "/b": {"get": {"x-mcp-name": "same", "responses": {}}},
    }
    with pytest.raises(SpecError, match=r"x-mcp-name: tool name 'same'"):
        _tools(tmp_path, _doc(ops))


def test_long_names_are_cut_to_128_characters_with_suffix(tmp_path: Path) -> None:
    """A name past 128 characters is cut and suffixed, and stays a valid MCP name."""
    path = "/" + "/".join(f"segment{i}/{{p{i}}}" for i in range(12))
    (name,) = _tools(tmp_path, _doc({path: {"get": {"responses": {}}}}))
    assert len(name) <= 128
    assert TOOL_NAME_RE.match(name)


def test_server_url_path_is_prefixed_to_short_paths(tmp_path: Path) -> None:
    """A server URL with a path (the official v2 style) makes full upstream paths."""
    doc = _doc({"/pages/{id}": {"get": {"responses": {}}}}, servers=[{"url": "https://{your-domain}/wiki/api/v2"}])
    (tool,) = _tools(tmp_path, doc).values()
    assert tool.binding.path == "/wiki/api/v2/pages/{id}"


def test_input_schema_merges_path_query_and_body_and_shares_id(tmp_path: Path) -> None:
    """PUT /pages/{id}: path, query and body fields form one object; one id fills path and body."""
    doc = _doc(
        {
            "/pages/{id}": {
                "put": {
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                        {"name": "body-format", "in": "query", "schema": {"type": "string", "enum": ["storage"]}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["id", "title"],
                                    "properties": {
                                        "id": {"type": "string", "description": "Page id."},
                                        "title": {"type": "string", "default": "x"},
                                        "createdAt": {"type": "string", "readOnly": True},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {},
                }
            }
        }
    )
    (tool,) = _tools(tmp_path, doc).values()
    schema = tool.input_schema
    assert set(schema["properties"]) == {"id", "body-format", "title"}
    assert schema["required"] == ["id", "title"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["title"]["default"] == "x"
    routes = {(b.argument, b.location, b.name) for b in tool.binding.arguments}
    assert routes == {
        ("id", "path", "id"),
        ("body-format", "query", "body-format"),
        ("id", "body", "id"),
        ("title", "body", "title"),
    }


def test_array_body_is_wrapped_under_body(tmp_path: Path) -> None:
    """A body that is not an object becomes one 'body' argument, bound to the whole request body."""
    doc = _doc(
        {
            "/content/{id}/label": {
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                                }
                            }
                        },
                    },
                    "responses": {},
                }
            }
        }
    )
    (tool,) = _tools(tmp_path, doc).values()
    assert tool.input_schema["properties"]["body"]["type"] == "array"
    assert "body" in tool.input_schema["required"]
    assert tool.binding.body_argument == "body"


def test_parameter_name_clash_across_locations_renames_the_later_one(tmp_path: Path) -> None:
    """A query parameter named like a path parameter becomes query_<name>."""
    doc = _doc(
        {
            "/x/{id}": {
                "get": {
                    "parameters": [
                        {"name": "id", "in": "query", "schema": {"type": "string"}},
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    ],
                    "responses": {},
                }
            }
        }
    )
    (tool,) = _tools(tmp_path, doc).values()
    assert set(tool.input_schema["properties"]) == {"id", "query_id"}
    assert {(b.argument, b.location) for b in tool.binding.arguments} == {("id", "path"), ("query_id", "query")}


def test_openapi_30_nullable_exclusive_bounds_and_example_become_2020_12(tmp_path: Path) -> None:
    """OpenAPI 3.0 nullable, boolean exclusive bounds and example are mapped to JSON Schema 2020-12."""
    doc = _doc(
        {
            "/x": {
                "get": {
                    "parameters": [
                        {
                            "name": "n",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "nullable": True,
                                "minimum": 0,
                                "exclusiveMinimum": True,
                                "example": 3,
                            },
                        },
                        {
                            "name": "e",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["a"], "nullable": True, "xml": {"name": "q"}},
                        },
                    ],
                    "responses": {},
                }
            }
        },
        version="3.0.3",
    )
    (tool,) = _tools(tmp_path, doc, "doc.json").values()
    n = tool.input_schema["properties"]["n"]
    assert n == {"type": ["integer", "null"], "exclusiveMinimum": 0, "examples": [3]}
    assert tool.input_schema["properties"]["e"] == {"type": ["string", "null"], "enum": ["a", None]}
    Draft202012Validator.check_schema(tool.input_schema)


def test_refs_cycles_allof_and_oneof_are_resolved(tmp_path: Path) -> None:
    """Local refs are inlined, a cycle is cut at the depth bound, allOf merges, oneOf survives."""
    doc = _doc(
        {
            "/nodes": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}},
                    "responses": {},
                }
            }
        },
        components={
            "schemas": {
                "Base": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
                "Node": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Base"},
                        {
                            "type": "object",
                            "properties": {
                                "child": {"$ref": "#/components/schemas/Node"},
                                "value": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                            },
                        },
                    ]
                },
            }
        },
    )
    (tool,) = _tools(tmp_path, doc).values()
    props = tool.input_schema["properties"]
    assert set(props) == {"name", "child", "value"}
    assert props["value"]["oneOf"] == [{"type": "string"}, {"type": "integer"}]
    depth = 0
    node: dict[str, Any] = props["child"]
    while "properties" in node:
        node = node["properties"]["child"]
        depth += 1
    assert node["type"] == "object"
    assert "nested structure omitted" in node["description"]
    assert 1 <= depth <= 4
    Draft202012Validator.check_schema(tool.input_schema)


def test_a_parameter_description_wins_over_its_shared_schema_description(tmp_path: Path) -> None:
    """A parameter's own text describes the argument; the generic text of a $ref'd schema is not repeated."""
    doc = _doc(
        {
            "/pages/{id}": {
                "get": {
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "description": "Page id.",
                            "schema": {"$ref": "#/components/schemas/Id"},
                        },
                        {"name": "v", "in": "query", "schema": {"$ref": "#/components/schemas/Id"}},
                    ],
                    "responses": {},
                }
            }
        },
        components={"schemas": {"Id": {"type": "string", "pattern": "^[0-9]+$", "description": "A numeric id."}}},
    )
    (tool,) = _tools(tmp_path, doc).values()
    props = tool.input_schema["properties"]
    assert props["id"] == {"type": "string", "pattern": "^[0-9]+$", "description": "Page id."}
    assert props["v"]["description"] == "A numeric id."


def test_an_array_that_describes_itself_sheds_its_item_description(tmp_path: Path) -> None:
    """An array's items lose their description when the array has one; every constraint stays."""
    item = {"type": "string", "pattern": "^[0-9]+$", "description": "A numeric id."}
    doc = _doc(
        {
            "/pages": {
                "get": {
                    "parameters": [
                        {
                            "name": "ids",
                            "in": "query",
                            "description": "Page ids.",
                            "schema": {"type": "array", "maxItems": 5, "items": item},
                        },
                        {"name": "bare", "in": "query", "schema": {"type": "array", "items": item}},
                    ],
                    "responses": {},
                }
            }
        }
    )
    (tool,) = _tools(tmp_path, doc).values()
    props = tool.input_schema["properties"]
    assert props["ids"] == {
        "type": "array",
        "maxItems": 5,
        "items": {"type": "string", "pattern": "^[0-9]+$"},
        "description": "Page ids.",
    }
    assert props["bare"]["items"] == item
    Draft202012Validator.check_schema(tool.input_schema)


@pytest.mark.parametrize(
    ("method", "read_only", "destructive", "idempotent"),
    [
        ("get", True, False, True),
        ("post", False, False, False),
        ("put", False, True, True),
        ("delete", False, True, True),
        ("patch", False, True, False),
    ],
)
def test_annotations_follow_the_http_method(
    tmp_path: Path, method: str, read_only: bool, destructive: bool, idempotent: bool
) -> None:
    """All four hints are set from the HTTP method, and openWorldHint is always true."""
    (tool,) = _tools(tmp_path, _doc({"/x/{id}": {method: {"summary": "Do x", "responses": {}}}})).values()
    assert tool.annotations.as_dict() == {
        "title": "Do x",
        "readOnlyHint": read_only,
        "destructiveHint": destructive,
        "idempotentHint": idempotent,
        "openWorldHint": True,
    }


def test_annotation_overrides_and_tags_come_from_hints(tmp_path: Path) -> None:
    """x-mcp-annotations overrides single hints and x-mcp-tags replaces derived tags."""
    op = {"x-mcp-annotations": {"destructiveHint": False}, "x-mcp-tags": ["labels", "pages"], "responses": {}}
    (tool,) = _tools(tmp_path, _doc({"/x/{id}": {"delete": op}})).values()
    assert tool.annotations.destructive_hint is False
    assert tool.annotations.read_only_hint is False
    assert tool.tags == ("labels", "pages")


def test_derived_tags_use_known_resource_words(tmp_path: Path) -> None:
    """Tags are derived from path words: a page's footer comments are pages and comments."""
    doc = _doc({"/pages/{id}/footer-comments": {"get": {"responses": {}}}, "/blogposts": {"get": {"responses": {}}}})
    tools = _tools(tmp_path, doc)
    assert tools["list_all_confluence_page_footer_comments"].tags == ("comments", "pages")
    assert tools["list_all_confluence_blogposts"].tags == ("blogposts",)


@pytest.mark.parametrize(
    ("content", "name", "fragment"),
    [
        ("openapi: [unclosed", "bad.yaml", r"bad\.yaml#/: invalid YAML at line \d+ column \d+: did not find"),
        ('{"openapi": "3.1.0", "paths": ', "bad.json", r"bad\.json#/: invalid JSON at line 1"),
        ("swagger: '2.0'\npaths: {}\n", "old.yaml", r"old\.yaml#/openapi: only OpenAPI 3.0 and 3.1"),
        ("- a\n- b\n", "list.yaml", r"list\.yaml#/: expected an OpenAPI object, found list"),
    ],
)
def test_unreadable_documents_name_file_and_pointer(tmp_path: Path, content: str, name: str, fragment: str) -> None:
    """A malformed file gives a SpecError naming the file, the JSON pointer and the problem."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SpecError, match=fragment):
        generate_tools([path])


@pytest.mark.parametrize(
    ("op", "fragment"),
    [
        (
            {"parameters": [{"$ref": "#/components/parameters/Nope"}]},
            r"#/paths/~1x/get/parameters/0: unresolvable reference",
        ),
        ({"parameters": [{"$ref": "other.yaml#/P"}]}, r"only local references"),
        (
            {"parameters": [{"name": "a", "in": "body"}]},
            r"parameters/0/in: parameter 'a': 'in' must be path, query or header",
        ),
        ({"parameters": [{"in": "query"}]}, r"parameters/0: a parameter needs a non-empty 'name'"),
        ({"x-mcp-method": ""}, r"get/x-mcp-method: x-mcp-method must be a non-empty string"),
        ({"x-mcp-annotations": {"sparkly": True}}, r"x-mcp-annotations/sparkly: unknown annotation"),
        ({"x-mcp-name": "has space"}, r"x-mcp-name: 'has space' is not a valid MCP tool name"),
        (
            {"parameters": [{"name": "a", "in": "query", "schema": {"type": "strang"}}]},
            r"schema/type: unknown schema type",
        ),
    ],
)
def test_bad_operations_name_the_json_pointer(tmp_path: Path, op: dict[str, Any], fragment: str) -> None:
    """A bad operation gives a SpecError whose message names the pointer and the problem."""
    doc = _doc({"/x": {"get": {**op, "responses": {}}}})
    with pytest.raises(SpecError, match=fragment):
        _tools(tmp_path, doc)


def test_reference_loop_is_reported_not_followed_forever(tmp_path: Path) -> None:
    """Two references pointing at each other give a clear error instead of hanging."""
    doc = _doc(
        {"/x": {"get": {"parameters": [{"$ref": "#/components/parameters/A"}], "responses": {}}}},
        components={
            "parameters": {"A": {"$ref": "#/components/parameters/B"}, "B": {"$ref": "#/components/parameters/A"}}
        },
    )
    with pytest.raises(SpecError, match="reference loop"):
        _tools(tmp_path, doc)


def test_derive_parts_separates_action_words_from_collections() -> None:
    """A trailing action word becomes the method; the rest names the resource."""
    parts = derive_parts("POST", "/wiki/api/v2/pages/{id}/classification-level/reset")
    assert (parts.plural, parts.method) == ("page_classification_levels", "reset")
