"""Storage format as an element tree: parse (prefixes and HTML entities declared), write back, canonicalize.

Storage is XHTML with ``ac:``, ``ri:`` and ``at:`` elements and no namespace declarations; it is parsed by
expat inside a root that declares the three prefixes and exactly the HTML entities the text uses.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from html.entities import name2codepoint
from typing import Final
from xml.etree import ElementTree as ET
from xml.parsers import expat

from confluence_mcp.errors import StorageUnreadable

__all__ = [
    "AC",
    "RI",
    "Node",
    "append_text",
    "canonical",
    "children_text",
    "clear",
    "detached_copy",
    "parse_storage",
    "qualified",
    "sub",
    "tag_of",
    "write_storage",
]

AC: Final = "http://atlassian.com/content"
RI: Final = "http://atlassian.com/resource/identifier"
AT: Final = "http://atlassian.com/template"
_PREFIX: Final = {AC: "ac", RI: "ri", AT: "at"}
_URI: Final = {prefix: uri for uri, prefix in _PREFIX.items()}
_OPEN: Final = f'<ac:confluence xmlns:ac="{AC}" xmlns:ri="{RI}" xmlns:at="{AT}">'
_CLOSE: Final = "</ac:confluence>"
_XML_ENTITIES: Final = frozenset({"amp", "lt", "gt", "quot", "apos"})
# Scans text for entity names to declare; it never interprets markup (expat does).
_ENTITY_REF: Final = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_SPACES: Final = re.compile(r"[ \t\r\n]+")
# Bodies of these elements are literal text: Confluence writes them as CDATA and whitespace is significant.
LITERAL: Final = frozenset({"ac:plain-text-body", "ac:plain-text-link-body"})
# Whitespace between and at the edges of these elements' children is insignificant.
BLOCKISH: Final = frozenset(
    {
        "ac:confluence", "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "thead", "tbody",
        "tfoot", "tr", "th", "td", "colgroup", "col", "blockquote", "hr", "pre", "div", "section",
        "ac:structured-macro", "ac:macro", "ac:parameter", "ac:rich-text-body", "ac:layout", "ac:layout-section",
        "ac:layout-cell", "ac:task-list", "ac:task", "ac:task-id", "ac:task-uuid", "ac:task-status",
        "ac:task-body", "ac:image", "ac:link", "ac:adf-extension", "ac:adf-node", "ac:adf-content",
        "ac:adf-fallback", "ac:adf-attribute",
    }
)  # fmt: skip

Node = ET.Element


def tag_of(element: Node) -> str:
    """Return ``element``'s name as storage spells it (``p``, ``ac:link``, ``ri:page``), ``!--`` for a comment."""
    if element.tag is ET.Comment:  # type: ignore[comparison-overlap]  # ElementTree marks comments by identity
        return "!--"
    return qualified(str(element.tag))


def qualified(name: str) -> str:
    """Turn ElementTree's ``{uri}local`` into ``prefix:local``."""
    if name.startswith("{"):
        uri, local = name[1:].split("}", 1)
        return f"{_PREFIX.get(uri, uri)}:{local}"
    return name


def clark(name: str) -> str:
    """Turn ``prefix:local`` into ElementTree's ``{uri}local`` (names without a known prefix stay as they are)."""
    prefix, _, local = name.partition(":")
    return f"{{{_URI[prefix]}}}{local}" if local and prefix in _URI else name


def _doctype(value: str) -> str:
    names = {name for name in _ENTITY_REF.findall(value) if name in name2codepoint and name not in _XML_ENTITIES}
    if not names:
        return ""
    declarations = "".join(f'<!ENTITY {name} "&#{name2codepoint[name]};">' for name in sorted(names))
    return f"<!DOCTYPE ac:confluence [{declarations}]>"


def parse_storage(value: str, *, what: str = "the storage body") -> Node:
    """Return a root element holding ``value``'s nodes; raise ``StorageUnreadable`` naming line and column."""
    # expat loads no external entity and bounds expansion; the only DTD is the one _doctype writes.
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))  # noqa: S314
    prologue = _doctype(value) + _OPEN
    try:
        parser.feed(prologue + value + _CLOSE)
        root = parser.close()
    except ET.ParseError as exc:
        line, column = exc.position
        column = column - len(prologue) + 1 if line == 1 else column + 1
        lines = value.split("\n")
        reason = expat.ErrorString(exc.code) or "malformed XHTML"
        where = f"line {line}, column {column}"
        if line > len(lines) or (line == len(lines) and column > len(lines[-1])):
            where = "the end (an element is not closed)"
        raise StorageUnreadable(f"{what} is not well-formed XHTML: {reason} at {where}") from None
    return root


def new_root() -> Node:
    """Return an empty root element to build storage into."""
    return ET.Element(clark("ac:confluence"))


def _escape(text: str, *, attribute: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if attribute else text


def _write(element: Node, out: list[str]) -> None:
    name = tag_of(element)
    if name == "!--":
        out.append(f"<!--{element.text or ''}-->")
    else:
        attributes = "".join(f' {qualified(k)}="{_escape(v, attribute=True)}"' for k, v in element.attrib.items())
        if name in LITERAL:
            body = (element.text or "").replace("]]>", "]]]]><![CDATA[>")
            out.append(f"<{name}{attributes}><![CDATA[{body}]]></{name}>")
        elif not element.text and len(element) == 0:
            out.append(f"<{name}{attributes} />")
        else:
            out.append(f"<{name}{attributes}>{_escape(element.text or '')}")
            for child in element:
                _write(child, out)
            out.append(f"</{name}>")
    out.append(_escape(element.tail or ""))


def write_storage(root: Node) -> str:
    """Return the storage text of ``root``'s children (no namespace declarations, CDATA for literal bodies)."""
    out: list[str] = [_escape(root.text or "")]
    for child in root:
        _write(child, out)
    return "".join(out)


def detached_copy(element: Node) -> Node:
    """Return a deep copy of ``element`` without its tail."""
    duplicate = copy.deepcopy(element)
    duplicate.tail = None
    return duplicate


def clear(element: Node) -> None:
    """Remove ``element``'s text and children, keeping its name and attributes."""
    element.text = None
    for child in list(element):
        element.remove(child)


def children_text(element: Node) -> Iterator[tuple[str | None, Node | None]]:
    """Yield ``(text, None)`` and ``(None, child)`` for ``element``'s content in document order."""
    if element.text:
        yield element.text, None
    for child in element:
        yield None, child
        if child.tail:
            yield child.tail, None


def sub(parent: Node, name: str, attributes: dict[str, str] | None = None, text: str | None = None) -> Node:
    """Append a new ``name`` element (prefixed names and attributes allowed) to ``parent`` and return it."""
    element = ET.SubElement(parent, clark(name), {clark(k): v for k, v in (attributes or {}).items()})
    element.text = text
    return element


def append_text(parent: Node, text: str) -> None:
    """Add ``text`` after ``parent``'s last child (or as its text when it has none)."""
    if not text:
        return
    if len(parent):
        parent[-1].tail = (parent[-1].tail or "") + text
    else:
        parent.text = (parent.text or "") + text


Canonical = tuple[object, ...]


def canonical(root: Node) -> Canonical:
    """Return a comparable form of ``root``: attribute order and insignificant whitespace do not count."""
    return _canonical(root)


def _canonical(element: Node, preformatted: bool = False) -> Canonical:
    name = tag_of(element)
    if name == "!--":
        return ("!--", (element.text or "").strip())
    if name in LITERAL:
        return (name, tuple(sorted(element.attrib.items())), element.text or "")
    # Inside <pre> every space and line break shows, so none of them is insignificant.
    preformatted = preformatted or name == "pre"
    items: list[object] = []
    for text, child in children_text(element):
        if text is not None:
            text = text if preformatted else _SPACES.sub(" ", text)
            if items and isinstance(items[-1], str):
                items[-1] += text
            else:
                items.append(text)
        elif child is not None:
            items.append(child)
    out: list[object] = []
    for position, item in enumerate(items):
        if isinstance(item, str):
            before = items[position - 1] if position > 0 else None
            after = items[position + 1] if position + 1 < len(items) else None
            if not preformatted and ((name in BLOCKISH and before is None) or _is_block(before)):
                item = item.lstrip(" ")
            if not preformatted and ((name in BLOCKISH and after is None) or _is_block(after)):
                item = item.rstrip(" ")
            if item:
                out.append(item)
        else:
            assert isinstance(item, ET.Element)
            out.append(_canonical(item, preformatted))
    return (name, tuple(sorted((qualified(k), v) for k, v in element.attrib.items())), tuple(out))


def _is_block(item: object) -> bool:
    if not isinstance(item, ET.Element):
        return False
    name = tag_of(item)
    return name in ("br", "!--") or (name in BLOCKISH and name not in ("ac:link", "ac:image"))


def visible_text(element: Node) -> str:
    """Return the text ``element`` shows, whitespace collapsed."""
    return _SPACES.sub(" ", "".join(_texts(element))).strip()


def _texts(element: Node) -> Iterable[str]:
    name = tag_of(element)
    if name in ("!--", "ac:parameter", "ac:adf-attribute", "ac:adf-fallback"):
        return
    # Rows and cells stay apart in a preview: "a | b / c | d" reads as a table, "a b c d" does not.
    if name in ("table", "thead", "tbody", "tfoot"):
        rows = [visible_text(c) for c in element if tag_of(c) in ("tr", "thead", "tbody", "tfoot")]
        yield " / ".join(row for row in rows if row)
        return
    if name == "tr":
        yield " | ".join(visible_text(cell) for cell in element if tag_of(cell) in ("th", "td"))
        return
    if element.text:
        yield element.text
    for child in element:
        yield from _texts(child)
        yield " " if tag_of(child) in BLOCKISH else ""
        if child.tail:
            yield child.tail
