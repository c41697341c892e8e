"""Content bodies: validate written ``storage``/``atlas_doc_format``/``wiki`` values and render ``body-format`` reads.

Storage format is XHTML with the ``ac:``, ``ri:`` and ``at:`` namespaces and HTML entities; it is parsed with
expat inside a wrapper element that declares those prefixes and exactly the HTML entities the value uses.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from html.entities import name2codepoint
from typing import Any, Final
from xml.parsers import expat

from confluence_mcp.simulator.exchange import JsonObject, Problem

WRITE_FORMATS: Final = frozenset({"storage", "atlas_doc_format", "wiki"})
LIST_FORMATS: Final = frozenset({"storage", "atlas_doc_format"})
SINGLE_FORMATS: Final = frozenset(
    {"storage", "atlas_doc_format", "view", "export_view", "anonymous_export_view", "styled_view", "editor"}
)

_XML_ENTITIES: Final = frozenset({"amp", "lt", "gt", "quot", "apos"})
_ENTITY_REF: Final = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_TAG: Final = re.compile(r"<[^>]*>")
_SPACES: Final = re.compile(r"\s+")
_OPEN: Final = (
    '<ac:confluence xmlns="http://www.w3.org/1999/xhtml" xmlns:ac="http://atlassian.com/content"'
    ' xmlns:ri="http://atlassian.com/resource/identifier" xmlns:at="http://atlassian.com/template">\n'
)
_CLOSE: Final = "\n</ac:confluence>"


@dataclass(frozen=True, slots=True)
class BodyWrite:
    """A validated body: the storage XHTML to keep, and the ADF string when ADF was written."""

    storage: str
    adf: str | None


def _doctype(value: str) -> str:
    names = {name for name in _ENTITY_REF.findall(value) if name in name2codepoint and name not in _XML_ENTITIES}
    if not names:
        return ""
    declarations = "".join(f'<!ENTITY {name} "&#{name2codepoint[name]};">' for name in sorted(names))
    return f"<!DOCTYPE ac:confluence [{declarations}]>"


def check_storage(value: str) -> None:
    """Raise a 400 ``Problem`` (Confluence's "Error parsing xhtml" wording) unless ``value`` is well-formed."""
    parser = expat.ParserCreate(namespace_separator=" ")
    try:
        parser.Parse(_doctype(value) + _OPEN + value + _CLOSE, True)
    except expat.ExpatError as exc:
        last_line = value.count("\n") + 1
        line = min(max(exc.lineno - 1, 1), last_line)
        column = exc.offset + 1 if exc.lineno - 1 == line else len(value.rsplit("\n", 1)[-1]) + 1
        reason = expat.ErrorString(exc.code) or "malformed XHTML"
        raise Problem(400, f"Error parsing xhtml: {reason} at [row,col]: [{line},{column}]") from None


def check_adf(value: str) -> None:
    """Raise a 400 ``Problem`` unless ``value`` is a JSON string of an object with ``type: "doc"``."""
    try:
        document = json.loads(value)
    except ValueError as exc:
        raise Problem(400, f"Error parsing atlas_doc_format: the value is not a JSON document ({exc})") from None
    if not isinstance(document, dict) or document.get("type") != "doc":
        raise Problem(400, 'Error parsing atlas_doc_format: the value must be a JSON object with "type": "doc"')


def plain_text(storage: str) -> str:
    """Return the visible text of storage XHTML, tags dropped and whitespace collapsed."""
    return _SPACES.sub(" ", html.unescape(_TAG.sub(" ", storage))).strip()


def _adf_text(node: Any, out: list[str]) -> None:
    if isinstance(node, dict):
        if node.get("type") == "text" and isinstance(node.get("text"), str):
            out.append(node["text"])
        for child in node.get("content", ()) if isinstance(node.get("content"), list) else ():
            _adf_text(child, out)


def adf_to_storage(value: str) -> str:
    """Return storage XHTML for an ADF string: one paragraph per top-level block (a rough rendering)."""
    document = json.loads(value)
    blocks: list[str] = []
    for block in document.get("content", []) if isinstance(document.get("content"), list) else []:
        texts: list[str] = []
        _adf_text(block, texts)
        blocks.append(f"<p>{html.escape(''.join(texts), quote=False)}</p>")
    return "".join(blocks)


def storage_to_adf(storage: str) -> str:
    """Return an ADF string holding the text of ``storage`` in one paragraph (a rough conversion)."""
    text = plain_text(storage)
    content = [{"type": "paragraph", "content": [{"type": "text", "text": text}]}] if text else []
    return json.dumps({"type": "doc", "version": 1, "content": content}, separators=(",", ":"))


def parse_body(raw: Any, *, required: bool) -> BodyWrite | None:
    """Validate a written ``body`` (flat ``{representation, value}`` or nested ``{storage: {...}}``)."""
    if raw is None:
        if required:
            raise Problem(400, "The request is missing the required field 'body'")
        return None
    if not isinstance(raw, dict):
        raise Problem(400, "Field 'body' must be an object with 'representation' and 'value'")
    if "representation" in raw or "value" in raw:
        representation, value = raw.get("representation"), raw.get("value")
    else:
        nested = [key for key in raw if key in WRITE_FORMATS]
        if len(nested) != 1 or not isinstance(raw[nested[0]], dict):
            raise Problem(400, "Field 'body' must hold exactly one of 'storage', 'atlas_doc_format' or 'wiki'")
        representation = raw[nested[0]].get("representation", nested[0])
        value = raw[nested[0]].get("value")
    if representation not in WRITE_FORMATS:
        raise Problem(400, f"Invalid body representation '{representation}': use storage, atlas_doc_format or wiki")
    if not isinstance(value, str):
        raise Problem(400, "Field 'body.value' must be a string")
    if representation == "storage":
        check_storage(value)
        return BodyWrite(storage=value, adf=None)
    if representation == "atlas_doc_format":
        check_adf(value)
        return BodyWrite(storage=adf_to_storage(value), adf=value)
    return BodyWrite(storage=f"<p>{html.escape(value, quote=False)}</p>", adf=None)


def require_body(raw: Any) -> BodyWrite:
    """Validate a written ``body`` that the operation requires (400 when it is missing)."""
    body = parse_body(raw, required=True)
    if body is None:  # parse_body raises first; this keeps the type narrow without an assert
        raise Problem(400, "The request is missing the required field 'body'")
    return body


def body_format(raw: str | None, *, allowed: frozenset[str]) -> str | None:
    """Return the requested ``body-format`` or raise 400 for one this operation does not offer."""
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        options = ", ".join(sorted(allowed))
        raise Problem(400, f"Invalid value for parameter 'body-format': '{raw}' (allowed: {options})")
    return raw


def render_body(storage: str, adf: str | None, fmt: str) -> JsonObject:
    """Return the ``body`` object of a read in format ``fmt``."""
    if fmt != "atlas_doc_format":
        return {fmt: {"representation": fmt, "value": storage}}
    value = adf if adf is not None else storage_to_adf(storage)
    return {fmt: {"representation": fmt, "value": value}}
