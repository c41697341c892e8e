"""Placeholder references: ``kind#n`` names the n-th element of one kind in a page, and what it shows.

A kind is a macro's name (``info``, ``status``), ``mention`` for a user link, or an element's local name
(``table``, ``layout-section``, ``emoticon``, ``span``). Numbering counts every element of that kind in
document order, whether or not it became a placeholder, so a reference depends only on the page.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from typing import Final, Literal

from confluence_mcp.content.storage_xml import (
    RI,
    Node,
    canonical,
    children_text,
    clark,
    clear,
    detached_copy,
    new_root,
    tag_of,
    visible_text,
)
from confluence_mcp.errors import PlaceholderUnresolved

__all__ = ["REFERENCE", "Index", "Part", "SlotMode", "fingerprint", "header_of", "kind_of", "slot_mode", "slot_of"]

REFERENCE: Final = re.compile(r"[A-Za-z0-9._:-]+#[0-9]+(?:~[0-9a-f]{4})?")
SlotMode = Literal["blocks", "inline", "table", "tasks"]
# What a placeholder takes from the page: the whole element, its shell (content comes from the Markdown), or a
# code macro without its code and language. The fingerprint after ``~`` covers exactly that part.
Part = Literal["whole", "shell", "code"]

_MACROS: Final = frozenset({"ac:structured-macro", "ac:macro"})
# Elements that hold blocks; any other element beside them makes a mixed body.
BLOCK_TAGS: Final = frozenset(
    {
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "hr", "pre", "div", "section",
        "ac:layout", "ac:layout-section", "ac:layout-cell", "ac:task-list", "ac:adf-extension",
    }
)  # fmt: skip
# Elements that only appear among text; macros, images and links can be either, so they count as neither.
INLINE_TAGS: Final = frozenset(
    {
        "strong", "em", "b", "i", "u", "s", "del", "ins", "sub", "sup", "code", "span", "a", "br", "small", "big",
        "font", "time", "ac:emoticon", "ac:inline-comment-marker", "ac:placeholder", "kbd", "mark", "cite", "q",
    }
)  # fmt: skip
_TELLING_PARAMETERS: Final = (
    "title", "key", "diagramName", "name", "colour", "url", "jqlQuery", "cql", "maxLevel", "spaceKey",
)  # fmt: skip
_TELLING_ATTRIBUTES: Final = {
    "layout-section": ("ac:type",),
    "time": ("datetime",),
    "emoticon": ("ac:name",),
    "image": ("ac:alt",),
}
# Elements whose content is a line of text, so an empty one is an empty paragraph rather than no blocks.
_INLINE_HOLDERS: Final = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "th", "td", "li", "ac:task-body", "ac:link-body", "ac:adf-content"}
)
_HEADER_LIMIT: Final = 60
_AC_NAME: Final = "{http://atlassian.com/content}name"


def kind_of(element: Node) -> str:
    """Return the kind a reference names ``element`` by."""
    name = tag_of(element)
    if name == "!--":
        return "xml-comment"
    if name in _MACROS:
        return element.get("{http://atlassian.com/content}name") or "macro"
    if name == "ac:link" and element.find(f"{{{RI}}}user") is not None:
        return "mention"
    return name.split(":", 1)[-1]


class Index:
    """Every element of a page by kind, in document order; the table references are made from and resolved in."""

    def __init__(self, root: Node | None) -> None:
        self._by_kind: dict[str, list[Node]] = {}
        self._number: dict[int, int] = {}
        self._position: dict[int, int] = {}
        self.max_task_id = 0
        self.task_bodies: dict[int, object] = {}  # each task's comparable body, filled as tasks_in needs them
        # The page tree is never changed (edits work on detached copies), so an element's print is computed once.
        self._prints: dict[tuple[int, Part], str] = {}
        self.task_places: dict[int, tuple[Node, int]] = {}  # each task's list and place among its tasks
        if root is None:
            self.present = False
            return
        self.present = True
        for position, element in enumerate(root.iter()):
            self._position[id(element)] = position
            name = tag_of(element)
            if name == "ac:confluence" or name.startswith("ri:"):
                continue
            same = self._by_kind.setdefault(kind_of(element), [])
            same.append(element)
            self._number[id(element)] = len(same)
            if name == "ac:task-list":
                tasks = [child for child in element if tag_of(child) == "ac:task"]
                self.task_places.update((id(task), (element, number)) for number, task in enumerate(tasks))
            if name == "ac:task-id" and (element.text or "").strip().isdigit():
                self.max_task_id = max(self.max_task_id, int((element.text or "").strip()))

    def position(self, element: Node) -> int:
        """Return ``element``'s place in the page's document order (an ancestor comes before its descendants)."""
        return self._position[id(element)]

    def of_kind(self, kind: str) -> list[Node]:
        """Return the page's elements of ``kind`` in document order."""
        return list(self._by_kind.get(kind, []))

    def reference(self, element: Node, part: Part) -> str:
        """Return ``kind#n~hash`` for an element of the indexed page; the hash fingerprints the ``part`` taken."""
        return f"{kind_of(element)}#{self._number[id(element)]}~{self._print(element, part)}"

    def _print(self, element: Node, part: Part) -> str:
        key = (id(element), part)
        found = self._prints.get(key)
        if found is None:
            found = self._prints[key] = fingerprint(element, part)
        return found

    def resolve(self, reference: str, line: int, part_of: Callable[[Node], Part]) -> Node:
        """Return the element ``reference`` names, or raise ``PlaceholderUnresolved``.

        Without a fingerprint (a reference an agent typed) the position decides. With one, the element at that
        position must still match it; if another element of the kind matches (something was inserted before
        it), that one is taken; if none does, the element was changed or deleted and the reference is refused.
        """
        if not self.present:
            raise PlaceholderUnresolved(reference, line, "no original storage was given to resolve it against")
        kind, _, rest = reference.rpartition("#")
        number, _, digest = rest.partition("~")
        same = self._by_kind.get(kind, [])
        if not same:
            raise PlaceholderUnresolved(reference, line, f"the page has no {kind} element")
        position = int(number) - 1
        if not digest:
            if not 0 <= position < len(same):
                found = f"the page has {len(same)} {kind} element(s), not {number}"
                raise PlaceholderUnresolved(reference, line, found)
            return same[position]
        nearest = sorted(range(len(same)), key=lambda i: abs(i - position))
        for candidate in nearest:
            if self._print(same[candidate], part_of(same[candidate])) == digest:
                return same[candidate]
        raise PlaceholderUnresolved(
            reference, line, f"no {kind} element of the page matches it any more (it was changed or deleted)"
        )


def fingerprint(element: Node, part: Part) -> str:
    """Return four hex digits identifying the ``part`` of ``element`` a placeholder takes from the page."""
    taken = detached_copy(element)
    if part == "shell":
        slot = slot_of(taken)
        if slot is not None:
            clear(slot)
    elif part == "code":
        for child in list(taken):
            language = tag_of(child) == "ac:parameter" and child.get(_AC_NAME) == "language"
            if language or tag_of(child) == "ac:plain-text-body":
                taken.remove(child)
    root = new_root()
    root.append(taken)
    return hashlib.blake2s(repr(canonical(root)).encode(), digest_size=2).hexdigest()


def _sanitized(value: str) -> str:
    value = " ".join(value.split())
    for bad, good in (("`", "'"), ("{", "("), ("}", ")"), ("\\", "/"), ("&", "+"), ('"', "'")):
        value = value.replace(bad, good)
    return value if len(value) <= _HEADER_LIMIT else value[: _HEADER_LIMIT - 1] + "…"


def _parameters(element: Node) -> Iterator[tuple[str, str]]:
    for child in element:
        if tag_of(child) == "ac:parameter":
            yield child.get(_AC_NAME) or "", "".join(child.itertext())


def header_of(element: Node, *, with_text: bool = False) -> str:
    """Return the read-only words a placeholder shows after its reference: one or two telling values."""
    pairs: list[tuple[str, str]] = []
    if tag_of(element) in _MACROS:
        parameters = dict(_parameters(element))
        pairs = [(name, parameters[name]) for name in _TELLING_PARAMETERS if parameters.get(name)][:2]
        if not pairs and parameters.get(""):
            pairs = [("", parameters[""])]
    else:
        target = element.find(f"{{{RI}}}attachment") if tag_of(element) == "ac:image" else None
        if target is not None and target.get(f"{{{RI}}}filename"):
            pairs.append(("file", target.get(f"{{{RI}}}filename") or ""))
        for attribute in _TELLING_ATTRIBUTES.get(kind_of(element), ()):
            key = clark(attribute)
            if element.get(key):
                pairs.append((attribute.split(":")[-1], element.get(key) or ""))
    if with_text and (text := visible_text(element)):
        pairs.append(("text", text))
    return " ".join(f'{name}="{_sanitized(value)}"' if name else f'"{_sanitized(value)}"' for name, value in pairs)


def content_kind(element: Node) -> Literal["blocks", "inline", "mixed", "empty"]:
    """Say whether ``element`` holds blocks, inline content (text among inline elements), both, or nothing."""
    inline = blocks = anything = False
    for text, child in children_text(element):
        if text is not None and text.strip():
            inline = anything = True
        elif child is not None and tag_of(child) != "!--":
            anything = True
            name = tag_of(child)
            inline = inline or name in INLINE_TAGS
            blocks = blocks or name in BLOCK_TAGS
    if inline and blocks:
        return "mixed"
    if inline:
        return "inline"
    return "blocks" if anything else "empty"


def slot_of(element: Node) -> Node | None:
    """Return the element whose children a placeholder's Markdown body replaces (None for a leaf)."""
    name = tag_of(element)
    if name in _MACROS:
        return element.find("{http://atlassian.com/content}rich-text-body")
    if name == "ac:link":
        return element.find("{http://atlassian.com/content}link-body")
    if name in ("!--", "ac:image", "ac:emoticon", "ac:adf-extension", "hr", "br", "col", "colgroup", "time"):
        return None
    return element


def slot_mode(element: Node) -> SlotMode | None:
    """Return how a placeholder's Markdown body maps into ``element`` (None: it has no editable body)."""
    slot = slot_of(element)
    if slot is None:
        return None
    name = tag_of(element)
    if name == "table":
        return "table" if _grid(element) is not None else None
    if name == "ac:task-list":
        return "tasks" if _simple_tasks(element) else None
    kind = content_kind(slot)
    if kind == "mixed":
        return None
    if kind == "empty":
        return "inline" if tag_of(slot) in INLINE_TAGS or tag_of(slot) in _INLINE_HOLDERS else "blocks"
    return kind


def rows_of(table: Node) -> list[Node]:
    """Return a table's rows in order, whatever section holds them."""
    rows: list[Node] = []
    for child in table:
        name = tag_of(child)
        if name == "tr":
            rows.append(child)
        elif name in ("thead", "tbody", "tfoot"):
            rows.extend(row for row in child if tag_of(row) == "tr")
    return rows


def _grid(table: Node) -> list[list[Node]] | None:
    """Return the cells row by row when every cell is a plain one (no spans, inline content), else None."""
    for child in table:
        if tag_of(child) not in ("thead", "tbody", "tfoot", "tr", "colgroup", "!--"):
            return None
    grid: list[list[Node]] = []
    for row in rows_of(table):
        cells = [cell for cell in row if tag_of(cell) != "!--"]
        if not cells or any(tag_of(c) not in ("th", "td") or c.get("colspan", "1") != "1" for c in cells):
            return None
        if any(c.get("rowspan", "1") != "1" or cell_inline(c) is None for c in cells):
            return None
        grid.append(cells)
    width = {len(cells) for cells in grid}
    return grid if len(width) == 1 else None


def cell_inline(cell: Node) -> Node | None:
    """Return the element holding a cell's inline content: the cell, or its one ``<p>``; None for block content."""
    kind = content_kind(cell)
    if kind in ("inline", "empty"):
        return cell
    only = [c for c in cell if tag_of(c) != "!--"]
    text = (cell.text or "").strip() or any((c.tail or "").strip() for c in cell)
    if kind == "blocks" and len(only) == 1 and tag_of(only[0]) == "p" and not text:
        return only[0] if content_kind(only[0]) in ("inline", "empty") else None
    return None


def _simple_tasks(task_list: Node) -> bool:
    for task in task_list:
        if tag_of(task) == "!--":
            continue
        if tag_of(task) != "ac:task":
            return False
        body = task.find("{http://atlassian.com/content}task-body")
        if body is not None and content_kind(body) not in ("inline", "empty"):
            return False
    return True
