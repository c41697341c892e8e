"""Read OpenAPI 3.0/3.1 documents (JSON or YAML) into Operations; errors name file and JSON pointer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import yaml

from confluence_mcp.errors import SpecError
from confluence_mcp.openapi.models import ArrayStyle, HttpMethod, Operation, Parameter, RequestBody
from confluence_mcp.openapi.refs import Resolver, escape_pointer
from confluence_mcp.openapi.schema import to_json_schema

_HTTP_METHODS: dict[str, HttpMethod] = {
    "get": "GET",
    "post": "POST",
    "put": "PUT",
    "patch": "PATCH",
    "delete": "DELETE",
}
_PARAM_LOCATIONS = ("path", "query", "header")
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_document(path: Path) -> dict[str, Any]:
    """Parse one document file; JSON by content or extension, YAML otherwise."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(source, "/", f"cannot read file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(source, "/", f"not UTF-8 text: {exc.reason}") from exc
    try:
        if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader, C or pure Python
    except json.JSONDecodeError as exc:
        raise SpecError(source, "/", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(source, "/", f"invalid YAML{where}: {problem}") from exc
    if not isinstance(data, dict):
        raise SpecError(source, "/", f"expected an OpenAPI object, found {type(data).__name__}")
    return cast(dict[str, Any], data)


def server_prefix(doc: Mapping[str, Any]) -> str:
    """Return the path part of the first server URL ('/wiki/api/v2' for the official v2 document)."""
    servers = doc.get("servers")
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        return ""
    url = str(servers[0].get("url", ""))
    # Strip scheme and host; variables in the host ("https://{your-domain}") are not a path.
    rest = url.split("://", 1)[1] if "://" in url else url.removeprefix("//")
    slash = rest.find("/")
    if url.startswith("/") and not url.startswith("//"):
        return url.rstrip("/")
    return rest[slash:].rstrip("/") if slash >= 0 else ""


def read_operations(doc: Mapping[str, Any], source: str) -> list[Operation]:
    """Return every operation of a parsed document, parameters and body schemas resolved."""
    version = doc.get("openapi")
    if not isinstance(version, str) or not version.startswith(("3.0", "3.1")):
        got = "missing" if version is None else repr(version)
        raise SpecError(source, "/openapi", f"only OpenAPI 3.0 and 3.1 are supported; 'openapi' is {got}")
    paths = doc.get("paths", {})
    if not isinstance(paths, dict):
        raise SpecError(source, "/paths", "'paths' must be an object")
    resolver = Resolver(doc, source)
    prefix = server_prefix(doc)
    operations: list[Operation] = []
    for raw_path, item in paths.items():
        item_pointer = f"/paths/{escape_pointer(str(raw_path))}"
        if not str(raw_path).startswith("/"):
            raise SpecError(source, item_pointer, f"path {raw_path!r} must start with '/'")
        item, item_pointer = resolver.follow(item, item_pointer)
        if not isinstance(item, dict):
            raise SpecError(source, item_pointer, "a path item must be an object")
        shared = item.get("parameters", [])
        for key, op in item.items():
            method = _HTTP_METHODS.get(key)
            if method is None:
                continue
            pointer = f"{item_pointer}/{key}"
            if not isinstance(op, dict):
                raise SpecError(source, pointer, "an operation must be an object")
            operations.append(_operation(resolver, op, shared, method, prefix + str(raw_path), pointer, item_pointer))
    return operations


def _operation(
    resolver: Resolver,
    op: dict[str, Any],
    shared: Any,
    method: HttpMethod,
    path: str,
    pointer: str,
    item_pointer: str,
) -> Operation:
    source = resolver.source
    merged: dict[tuple[str, str], Parameter] = {}
    # Path-level parameters first; an operation's own parameter with the same name and location wins.
    for params, base in ((shared, f"{item_pointer}/parameters"), (op.get("parameters", []), f"{pointer}/parameters")):
        if not isinstance(params, list):
            raise SpecError(source, base, "'parameters' must be an array")
        for index, raw in enumerate(params):
            param = _parameter(resolver, raw, f"{base}/{index}")
            if param is not None:
                merged[(param.location, param.name)] = param
    for name in _template_names(path):
        if ("path", name) not in merged:
            # Some documents leave a templated segment undeclared; a required string keeps the tool callable.
            merged[("path", name)] = Parameter(name=name, location="path", required=True, schema={"type": "string"})
    tags = op.get("tags", [])
    summary = op.get("summary", "")
    description = op.get("description", "")
    operation_id = op.get("operationId")
    hints = {k: v for k, v in op.items() if isinstance(k, str) and k.startswith("x-mcp-")}
    return Operation(
        source=source,
        pointer=pointer,
        method=method,
        path=path,
        operation_id=operation_id if isinstance(operation_id, str) else None,
        summary=summary.strip() if isinstance(summary, str) else "",
        description=description.strip() if isinstance(description, str) else "",
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        parameters=tuple(merged.values()),
        body=_request_body(resolver, op.get("requestBody"), f"{pointer}/requestBody"),
        deprecated=bool(op.get("deprecated", False)),
        hints=hints,
    )


def _template_names(path: str) -> list[str]:
    names: list[str] = []
    for segment in path.split("/"):
        start = segment.find("{")
        while start >= 0:
            end = segment.find("}", start)
            if end < 0:
                break
            names.append(segment[start + 1 : end])
            start = segment.find("{", end)
    return names


def _parameter(resolver: Resolver, raw: Any, pointer: str) -> Parameter | None:
    source = resolver.source
    node, pointer = resolver.follow(raw, pointer)
    if not isinstance(node, dict):
        raise SpecError(source, pointer, "a parameter must be an object")
    name = node.get("name")
    location = node.get("in")
    if not isinstance(name, str) or not name:
        raise SpecError(source, pointer, "a parameter needs a non-empty 'name'")
    if location == "cookie":
        return None  # Cookies are never ours to send: we choose every upstream header.
    if location not in _PARAM_LOCATIONS:
        raise SpecError(source, f"{pointer}/in", f"parameter {name!r}: 'in' must be path, query or header")
    if "schema" in node:
        schema = to_json_schema(resolver, node["schema"], f"{pointer}/schema")
    elif isinstance(node.get("content"), dict) and node["content"]:
        media = next(iter(node["content"].values()))
        schema = to_json_schema(resolver, media.get("schema", {}), f"{pointer}/content")
    else:
        schema = {"type": "string"}
    description = node.get("description")
    if isinstance(description, str) and description.strip():
        # The parameter's own text is about this argument; a shared schema's (NumericId) is generic.
        schema = {**schema, "description": description.strip()}
    style = node.get("style", "form" if location == "query" else "simple")
    explode = node.get("explode", style == "form")
    # Only query arrays have a wire choice to make; path and header arrays are rare and comma-joined.
    array_style: ArrayStyle = "repeat" if explode or location != "query" else "csv"
    return Parameter(
        name=name,
        location=location,
        required=bool(node.get("required", False)) or location == "path",
        schema=schema,
        description=description.strip() if isinstance(description, str) else "",
        array_style=array_style,
    )


_MEDIA_PREFERENCE = ("application/json", "multipart/form-data", "application/x-www-form-urlencoded")


def _request_body(resolver: Resolver, raw: Any, pointer: str) -> RequestBody | None:
    if raw is None:
        return None
    source = resolver.source
    node, pointer = resolver.follow(raw, pointer)
    if not isinstance(node, dict):
        raise SpecError(source, pointer, "'requestBody' must be an object")
    content = node.get("content")
    if not isinstance(content, dict) or not content:
        return None
    media_type = next((m for m in _MEDIA_PREFERENCE if m in content), None)
    if media_type is None:
        media_type = next((m for m in content if "json" in m), next(iter(content)))
    media = content[media_type]
    media_pointer = f"{pointer}/content/{escape_pointer(media_type)}"
    if not isinstance(media, dict):
        raise SpecError(source, media_pointer, "a media type entry must be an object")
    schema = to_json_schema(resolver, media.get("schema", {}), f"{media_pointer}/schema")
    description = node.get("description")
    return RequestBody(
        media_type=media_type,
        required=bool(node.get("required", False)),
        schema=schema,
        description=description.strip() if isinstance(description, str) else "",
    )
