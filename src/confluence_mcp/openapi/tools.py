"""Operation -> Tool: names, description, annotations, method class, group and tags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from confluence_mcp.errors import SpecError
from confluence_mcp.openapi import naming
from confluence_mcp.openapi.compact import compact_schema
from confluence_mcp.openapi.flatten import flatten
from confluence_mcp.openapi.loader import read_document, read_operations
from confluence_mcp.openapi.models import Annotations, Operation, Tool, group_of
from confluence_mcp.openapi.twins import Endpoint, replacements

# Tags an agent or operator filters by; a path segment containing the key earns the tag.
_KNOWN_TAGS: tuple[tuple[str, str], ...] = (
    ("blogpost", "blogposts"),
    ("page", "pages"),
    ("space", "spaces"),
    ("search", "search"),
    ("user", "users"),
    ("group", "groups"),
    ("comment", "comments"),
    ("label", "labels"),
    ("attachment", "attachments"),
    ("folder", "folders"),
)

# (readOnly, destructive, idempotent) per HTTP method; see the MCP spec's annotation defaults.
_HINTS: dict[str, tuple[bool, bool, bool]] = {
    "GET": (True, False, True),
    "POST": (False, False, False),
    "PUT": (False, True, True),
    "PATCH": (False, True, False),
    "DELETE": (False, True, True),
}
_ANNOTATION_KEYS = {
    "title": "title",
    "readOnlyHint": "read_only_hint",
    "destructiveHint": "destructive_hint",
    "idempotentHint": "idempotent_hint",
    "openWorldHint": "open_world_hint",
}


def generate_tools(paths: Sequence[Path]) -> tuple[Tool, ...]:
    """Load documents and return their tools, names unique across all of them."""
    operations: list[tuple[Operation, str]] = []
    for path in paths:
        doc = read_document(path)
        integration = _integration(doc, str(path))
        operations.extend((op, integration) for op in read_operations(doc, str(path)))
    return tools_from_operations(operations)


def tools_from_operations(operations: Iterable[tuple[Operation, str]]) -> tuple[Tool, ...]:
    """Build tools for (operation, integration) pairs and resolve name collisions."""
    drafts = [_draft(op, integration) for op, integration in operations]
    by_name: dict[str, list[_Draft]] = {}
    for draft in drafts:
        by_name.setdefault(draft.name, []).append(draft)
    for name, group in by_name.items():
        if len(group) < 2:
            continue
        explicit = [d for d in group if d.explicit_name]
        if len(explicit) > 1:
            first, second = explicit[0].operation, explicit[1].operation
            raise SpecError(
                second.source,
                f"{second.pointer}/x-mcp-name",
                f"tool name {name!r} is also given to {first.method} {first.path} ({first.source})",
            )
        group.sort(
            key=lambda d: (
                not d.explicit_name,
                not d.hinted,
                len(d.operation.path),
                d.operation.path,
                d.operation.method,
            )
        )
        for draft in group[1:]:
            op = draft.operation
            draft.name = naming.fit(f"{name}_{naming.operation_suffix(op.method, op.path)}", op.method, op.path)
    seen: dict[str, _Draft] = {}
    for draft in drafts:
        if draft.name in seen:  # a suffixed name met a natural one: extremely unlikely, still refused
            op = draft.operation
            raise SpecError(op.source, op.pointer, f"tool name {draft.name!r} is not unique")
        seen[draft.name] = draft
    endpoints: dict[Endpoint, str] = {(d.operation.method, d.operation.path): d.name for d in drafts}
    replaced = replacements(
        endpoints, [(d.operation.method, d.operation.path) for d in drafts if d.operation.deprecated]
    )
    return tuple(_build(d, replaced.get((d.operation.method, d.operation.path))) for d in drafts)


class _Draft:
    __slots__ = ("explicit_name", "hinted", "integration", "method", "name", "operation", "plural")

    def __init__(self, operation: Operation, integration: str) -> None:
        self.operation = operation
        self.integration = integration
        hints = operation.hints
        derived = naming.derive_parts(operation.method, operation.path)
        plural = _hint_str(operation, "x-mcp-resource") or derived.plural
        singular = _hint_str(operation, "x-mcp-singular") or (
            naming.singular(plural) if "x-mcp-resource" in hints else derived.singular
        )
        method = _hint_str(operation, "x-mcp-method") or derived.method
        self.method = naming.snake(method)
        self.plural = naming.snake(plural)
        self.hinted = any(k in hints for k in ("x-mcp-resource", "x-mcp-singular", "x-mcp-method", "x-mcp-name"))
        explicit = _hint_str(operation, "x-mcp-name")
        self.explicit_name = explicit is not None
        if explicit is not None:
            if not naming.TOOL_NAME_RE.match(explicit):
                raise SpecError(
                    operation.source,
                    f"{operation.pointer}/x-mcp-name",
                    f"{explicit!r} is not a valid MCP tool name (1-128 of A-Z a-z 0-9 _ . -)",
                )
            self.name = explicit
        else:
            parts = naming.NameParts(plural=self.plural, singular=naming.snake(singular), method=self.method)
            self.name = naming.fit(naming.compose(integration, parts), operation.method, operation.path)


def _draft(operation: Operation, integration: str) -> _Draft:
    return _Draft(operation, integration)


def _hint_str(operation: Operation, key: str) -> str | None:
    value = operation.hints.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SpecError(operation.source, f"{operation.pointer}/{key}", f"{key} must be a non-empty string")
    return value.strip()


def _build(draft: _Draft, replaced_by: str | None) -> Tool:
    op = draft.operation
    input_schema, binding = flatten(op)
    input_schema = compact_schema(input_schema)
    title = _hint_str(op, "x-mcp-title") or op.summary or draft.name.replace("_", " ")
    description = op.description or op.summary or title
    if op.deprecated:  # first, so an agent reading only the start still sees it
        instead = f"use {replaced_by}" if replaced_by else "no replacement tool"
        description = f"Deprecated by Confluence ({instead}). {description}"
    return Tool(
        name=draft.name,
        title=title,
        description=description,
        input_schema=input_schema,
        annotations=_annotations(op, title),
        method=draft.method,
        group=group_of(draft.method),
        tags=_tags(op, draft),
        binding=binding,
        operation_id=op.operation_id,
        source=op.source,
        deprecated=op.deprecated,
        replaced_by=replaced_by if op.deprecated else None,
    )


def _annotations(op: Operation, title: str) -> Annotations:
    read_only, destructive, idempotent = _HINTS[op.method]
    values: dict[str, Any] = {
        "title": title,
        "read_only_hint": read_only,
        "destructive_hint": destructive,
        "idempotent_hint": idempotent,
        "open_world_hint": True,
    }
    overrides = op.hints.get("x-mcp-annotations")
    if overrides is not None:
        pointer = f"{op.pointer}/x-mcp-annotations"
        if not isinstance(overrides, Mapping):
            raise SpecError(op.source, pointer, "x-mcp-annotations must be an object")
        for key, value in overrides.items():
            field = _ANNOTATION_KEYS.get(str(key))
            if field is None:
                raise SpecError(op.source, f"{pointer}/{key}", f"unknown annotation {key!r}")
            expected = str if field == "title" else bool
            if not isinstance(value, expected):
                raise SpecError(op.source, f"{pointer}/{key}", f"{key} must be a {expected.__name__}")
            values[field] = value
    return Annotations(**values)


def _tags(op: Operation, draft: _Draft) -> tuple[str, ...]:
    hinted = op.hints.get("x-mcp-tags")
    if hinted is not None:
        if not isinstance(hinted, list) or not all(isinstance(t, str) and t for t in hinted):
            raise SpecError(op.source, f"{op.pointer}/x-mcp-tags", "x-mcp-tags must be a list of non-empty strings")
        return tuple(dict.fromkeys(hinted))
    words = [naming.snake(s) for s in naming.static_segments(op.path)]
    found = [tag for key, tag in _KNOWN_TAGS if any(key in w for w in words)]
    if "blogposts" in found and "pages" in found and not any("page" in w.replace("blogpost", "") for w in words):
        found.remove("pages")  # "blogposts" contains no page; only the substring test thought so
    if not found:
        found = [naming.plural(words[0])] if words else [draft.plural]
    return tuple(sorted(dict.fromkeys(found)))


def _integration(doc: Mapping[str, Any], source: str) -> str:
    info = doc.get("info")
    value = info.get("x-mcp-integration", "confluence") if isinstance(info, Mapping) else "confluence"
    if not isinstance(value, str) or not naming.TOOL_NAME_RE.match(value):
        raise SpecError(source, "/info/x-mcp-integration", "x-mcp-integration must be a short word like 'confluence'")
    return value
