"""Tool binding + arguments -> method, URL, query, headers and body; path values stay inside their segment."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from confluence_mcp.errors import InvalidArguments
from confluence_mcp.openapi.models import ArgumentBinding, Binding

_TEMPLATE = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """Everything needed to send one call: the path is already encoded and relative to the site root."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    json_body: Any
    has_body: bool

    def encoded_body(self) -> bytes:
        """Return the JSON body as compact UTF-8 bytes (empty when the request has none)."""
        if not self.has_body:
            return b""
        return json.dumps(self.json_body, separators=(",", ":"), ensure_ascii=False).encode()


class RequestPlan:
    """A binding compiled once per tool, so a call only fills values in."""

    __slots__ = ("_body", "_body_argument", "_headers", "_path_parts", "_query", "method", "path_template")

    def __init__(self, binding: Binding) -> None:
        self.method = binding.method
        self.path_template = binding.path
        by_name = {b.name: b.argument for b in binding.arguments if b.location == "path"}
        parts: list[tuple[bool, str]] = []  # (is_argument, literal text or argument name)
        position = 0
        for match in _TEMPLATE.finditer(binding.path):
            parts.append((False, binding.path[position : match.start()]))
            parts.append((True, by_name.get(match.group(1), match.group(1))))
            position = match.end()
        parts.append((False, binding.path[position:]))
        self._path_parts = tuple(p for p in parts if p[0] or p[1])
        self._query = tuple(b for b in binding.arguments if b.location == "query")
        self._headers = tuple(b for b in binding.arguments if b.location == "header")
        self._body = tuple(b for b in binding.arguments if b.location == "body" and b.name)
        self._body_argument = binding.body_argument

    def build(self, arguments: Mapping[str, Any]) -> UpstreamRequest:
        """Return the request for validated ``arguments``; raise InvalidArguments for an unusable path value."""
        path = "".join(_segment(text, arguments.get(text)) if is_arg else text for is_arg, text in self._path_parts)
        query: list[tuple[str, str]] = []
        for binding in self._query:
            value = arguments.get(binding.argument)
            if value is not None:
                _add_query(query, binding, value)
        headers: dict[str, str] = {}
        for binding in self._headers:
            value = arguments.get(binding.argument)
            if value is not None:
                text = _scalar(value)
                if "\r" in text or "\n" in text:
                    raise InvalidArguments(f"argument {binding.argument!r}: a header value cannot contain line breaks")
                headers[binding.name] = text
        body: Any = None
        has_body = False
        if self._body_argument is not None and self._body_argument in arguments:
            body, has_body = arguments[self._body_argument], True
        elif self._body:
            fields = {b.name: arguments[b.argument] for b in self._body if b.argument in arguments}
            if fields or self.method in ("POST", "PUT", "PATCH"):
                body, has_body = fields, True
        return UpstreamRequest(self.method, path, query, headers, body, has_body)


def _segment(argument: str, value: Any) -> str:
    if value is None:
        raise InvalidArguments(f"argument {argument!r} is required (it is part of the URL path)")
    text = _scalar(value)
    if text == "":
        raise InvalidArguments(f"argument {argument!r} must not be empty (it is part of the URL path)")
    # safe="" encodes '/', '?', '#', '%' and ':' so a value is exactly one segment; a value of only dots
    # would still be read as '.' or '..' by servers that normalize paths, so its dots are encoded too.
    encoded = quote(text, safe="")
    if set(text) == {"."}:
        encoded = "%2E" * len(text)
    return encoded


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _add_query(query: list[tuple[str, str]], binding: ArgumentBinding, value: Any) -> None:
    if isinstance(value, list | tuple):
        items = [_scalar(v) for v in value if v is not None]
        if binding.array_style == "csv":
            query.append((binding.name, ",".join(items)))
        else:
            query.extend((binding.name, item) for item in items)
    else:
        query.append((binding.name, _scalar(value)))
