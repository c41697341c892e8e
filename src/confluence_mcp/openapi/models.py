"""The frozen intermediate representation: what an OpenAPI operation becomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
Location = Literal["path", "query", "header", "body"]
MethodGroup = Literal["read", "write", "custom"]
ArrayStyle = Literal["csv", "repeat"]

STANDARD_METHODS: tuple[str, ...] = ("list", "get", "create", "update", "delete")
READ_METHODS = frozenset({"list", "get"})
WRITE_METHODS = frozenset({"create", "update", "delete"})

JsonSchema = Mapping[str, Any]


def group_of(method: str) -> MethodGroup:
    """Return the filter group a method class belongs to."""
    if method in READ_METHODS:
        return "read"
    if method in WRITE_METHODS:
        return "write"
    return "custom"


@dataclass(frozen=True, slots=True)
class Parameter:
    """One path, query or header parameter of an operation, schema already resolved."""

    name: str
    location: Literal["path", "query", "header"]
    required: bool
    schema: JsonSchema
    description: str = ""
    array_style: ArrayStyle = "repeat"


@dataclass(frozen=True, slots=True)
class RequestBody:
    """The JSON (or form) request body of an operation, schema already resolved."""

    media_type: str
    required: bool
    schema: JsonSchema
    description: str = ""


@dataclass(frozen=True, slots=True)
class Operation:
    """One HTTP operation as read from a document, before naming and flattening."""

    source: str
    pointer: str
    method: HttpMethod
    path: str
    operation_id: str | None
    summary: str
    description: str
    tags: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    body: RequestBody | None
    deprecated: bool
    hints: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ArgumentBinding:
    """Where one tool argument goes in the upstream request, and under which real name."""

    argument: str
    location: Location
    name: str
    array_style: ArrayStyle = "repeat"


@dataclass(frozen=True, slots=True)
class Binding:
    """How a tool call becomes an HTTP request: method, path template and argument routes."""

    method: HttpMethod
    path: str
    arguments: tuple[ArgumentBinding, ...]
    body_media_type: str | None = None
    body_argument: str | None = None
    """Set when the whole body is one argument (a body that is not a plain object)."""


@dataclass(frozen=True, slots=True)
class Annotations:
    """MCP tool annotations; all four hints are always set."""

    title: str
    read_only_hint: bool
    destructive_hint: bool
    idempotent_hint: bool
    open_world_hint: bool = True

    def as_dict(self) -> dict[str, Any]:
        """Return the wire (camelCase) form."""
        return {
            "title": self.title,
            "readOnlyHint": self.read_only_hint,
            "destructiveHint": self.destructive_hint,
            "idempotentHint": self.idempotent_hint,
            "openWorldHint": self.open_world_hint,
        }


@dataclass(frozen=True, slots=True)
class Tool:
    """One MCP tool generated from one operation."""

    name: str
    title: str
    description: str
    input_schema: JsonSchema
    annotations: Annotations
    method: str
    group: MethodGroup
    tags: tuple[str, ...]
    binding: Binding
    operation_id: str | None = None
    source: str = ""
    deprecated: bool = False
    """Atlassian's document marks the operation ``deprecated``."""
    replaced_by: str | None = None
    """The served tool to use instead of a deprecated one (``openapi/twins.py``), when there is one."""

    def as_dict(self) -> dict[str, Any]:
        """Return the full definition, as ``tools list --json`` prints it."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": self.input_schema,
            "annotations": self.annotations.as_dict(),
            "tags": list(self.tags),
            "method": self.method,
            "group": self.group,
            "http": {"method": self.binding.method, "path": self.binding.path},
            "binding": [
                {"argument": a.argument, "in": a.location, "name": a.name}
                | ({"style": a.array_style} if a.array_style != "repeat" else {})
                for a in self.binding.arguments
            ],
            "operationId": self.operation_id,
        } | ({"deprecated": True, "replacedBy": self.replaced_by} if self.deprecated else {})
