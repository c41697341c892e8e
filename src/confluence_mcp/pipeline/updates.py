"""Safe updates: page and blog-post updates with ``version`` optional and an ``expected_version`` guard.

What agents see is computed once, when the catalog is built: ``version`` (and its ``number``) stop being
required and ``expected_version`` is added; ``openapi/`` keeps Confluence's own shape. Per call, the
``version`` step (``steps/version.py``) reads the current object when the agent left ``version.number`` out or
gave ``expected_version``, and sends current + 1; the read goes through ``pipeline/current.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from confluence_mcp.openapi.models import Tool

EXPECTED_VERSION: Final = "expected_version"
"""The argument that makes an update refuse to overwrite a version it did not expect."""

# The update tools made safe, by their Confluence path, with the noun their messages use.
_SAFE_PATHS: Final = {"/wiki/api/v2/pages/{id}": "page", "/wiki/api/v2/blogposts/{id}": "blog post"}
_VERSION_HELP: Final = "Omit to send current + 1."
_EXPECTED_SCHEMA: Final = {"type": "integer", "minimum": 1, "description": "Write only if this is the current version."}


@dataclass(frozen=True, slots=True)
class SafeUpdate:
    """One update tool made safe: the tool that reads what it updates, and how to address that object."""

    tool: str
    reader: str
    """The get tool on the same path, which reads the current object (its version, and its body if asked)."""
    noun: str
    id_argument: str
    """The update tool's path argument holding the object's id."""
    reader_id_argument: str
    """The reader's path argument the id goes to."""


def safe_updates(tools: Iterable[Tool]) -> dict[str, SafeUpdate]:
    """Return the safe-update spec of every page and blog-post update tool among ``tools``, by tool name."""
    tools = tuple(tools)
    readers = {t.binding.path: t for t in tools if t.binding.method == "GET"}
    found: dict[str, SafeUpdate] = {}
    for tool in tools:
        noun = _SAFE_PATHS.get(tool.binding.path)
        reader = readers.get(tool.binding.path)
        if noun is None or reader is None or tool.binding.method != "PUT" or tool.method != "update":
            continue
        id_argument, reader_id = path_argument(tool), path_argument(reader)
        if id_argument is None or reader_id is None or "version" not in tool.input_schema.get("properties", {}):
            continue
        found[tool.name] = SafeUpdate(tool.name, reader.name, noun, id_argument, reader_id)
    return found


def path_argument(tool: Tool) -> str | None:
    """Return the one path argument of ``tool`` (the object's id), or None when it has none or several."""
    names = [b.argument for b in tool.binding.arguments if b.location == "path"]
    return names[0] if len(names) == 1 else None


def safe_update_tool(tool: Tool) -> Tool:
    """Return ``tool`` as agents see it: ``version`` optional (so is its ``number``), ``expected_version`` added."""
    properties = dict(tool.input_schema.get("properties", {}))
    version = dict(properties["version"])
    version["description"] = _VERSION_HELP
    version_required = [name for name in version.get("required", ()) if name != "number"]
    if version_required:
        version["required"] = version_required
    else:
        version.pop("required", None)
    properties["version"] = version
    properties[EXPECTED_VERSION] = dict(_EXPECTED_SCHEMA)
    schema = dict(tool.input_schema)
    schema["properties"] = properties
    schema["required"] = [name for name in schema.get("required", ()) if name != "version"]
    return dataclasses.replace(tool, input_schema=schema)


def current_version(current: Mapping[str, Any]) -> int | None:
    """Return ``version.number`` of an object as Confluence answered it, or None when it has none."""
    version = current.get("version")
    number = version.get("number") if isinstance(version, Mapping) else None
    return number if type(number) is int else None


def conflict_message(spec: SafeUpdate, object_id: object, expected: int, current: int | None) -> str:
    """Return the conflict result's text, naming the expected version and the current one."""
    now = f"version {current}" if current is not None else "a newer version"
    retry = f"retry with expected_version {current}" if current is not None else "retry with its current version"
    return (
        f"Version conflict on {spec.noun} {object_id}: expected_version is {expected}, but the {spec.noun} is at "
        f"{now}; nothing was written. Someone saved it since you read it: read it again, merge their changes, "
        f"and {retry}."
    )
