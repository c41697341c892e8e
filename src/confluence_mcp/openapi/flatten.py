"""Flatten an operation's path, query, header and body inputs into one argument object plus its binding.

Rules (documented in openapi/README.md):
- every parameter becomes an argument of its own name; when two parameters in different locations
  share a name, the later one (path, then query, then header) is renamed ``<location>_<name>``;
- the properties of an object body become arguments of their own names; a body property that shares
  a name with a parameter shares its argument: one value fills both (``PUT /pages/{id}``: ``id``);
- a body that is not a plain object with properties (an array, a scalar, a map, a oneOf) is one
  argument named ``body`` (``request_body`` if ``body`` is taken).
"""

from __future__ import annotations

from typing import Any

from confluence_mcp.openapi.models import ArgumentBinding, Binding, Operation

_OBJECTISH = ("object", ["object", "null"])


def flatten(operation: Operation) -> tuple[dict[str, Any], Binding]:
    """Return the tool's inputSchema and the binding that turns arguments back into a request."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    bindings: list[ArgumentBinding] = []
    taken: dict[str, str] = {}  # argument name -> location that owns it
    for param in sorted(operation.parameters, key=lambda p: ("path", "query", "header").index(p.location)):
        argument = param.name
        if argument in taken:
            argument = f"{param.location}_{param.name}"
        taken[argument] = param.location
        properties[argument] = dict(param.schema)
        if param.required:
            required.append(argument)
        bindings.append(ArgumentBinding(argument, param.location, param.name, param.array_style))
    body_argument: str | None = None
    body = operation.body
    if body is not None:
        schema = body.schema
        fields = schema.get("properties")
        is_plain_object = (
            isinstance(fields, dict)
            and fields
            and schema.get("type", "object") in _OBJECTISH
            and not any(k in schema for k in ("oneOf", "anyOf"))
        )
        if is_plain_object:
            assert isinstance(fields, dict)
            body_required = set(schema.get("required", [])) if body.required else set()
            for name, sub in fields.items():
                if name in taken:
                    existing = properties[name]
                    if "description" not in existing and "description" in sub:
                        properties[name] = {**existing, "description": sub["description"]}
                else:
                    properties[name] = sub
                    taken[name] = "body"
                if name in body_required and name not in required:
                    required.append(name)
                bindings.append(ArgumentBinding(name, "body", name))
        else:
            body_argument = "body" if "body" not in taken else "request_body"
            wrapped = dict(schema)
            if body.description and "description" not in wrapped:
                wrapped["description"] = body.description
            properties[body_argument] = wrapped
            if body.required:
                required.append(body_argument)
            bindings.append(ArgumentBinding(body_argument, "body", ""))
    input_schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        input_schema["required"] = required
    input_schema["additionalProperties"] = False
    binding = Binding(
        method=operation.method,
        path=operation.path,
        arguments=tuple(bindings),
        body_media_type=body.media_type if body is not None else None,
        body_argument=body_argument,
    )
    return input_schema, binding
