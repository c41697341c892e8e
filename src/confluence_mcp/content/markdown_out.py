"""Storage → Markdown: each block is written as ordinary GFM when that converts back to the same storage.

Every block is checked by converting its Markdown back; when the result differs, the next form is tried: GFM
with inline elements as ``{{kind#n}}…{{/kind#n}}`` pairs, then a ```` ```confluence kind#n ```` container whose
body is the element's content, then a read-only placeholder. So storage → Markdown → storage keeps every element.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Final

from confluence_mcp.content.inline_out import InlineWriter, Item
from confluence_mcp.content.markdown_in import storage_tree
from confluence_mcp.content.references import (
    BLOCK_TAGS,
    INLINE_TAGS,
    REFERENCE,
    Index,
    cell_inline,
    content_kind,
    header_of,
    kind_of,
    rows_of,
    slot_mode,
    slot_of,
)
from confluence_mcp.content.storage_xml import (
    Node,
    canonical,
    children_text,
    detached_copy,
    new_root,
    tag_of,
    visible_text,
)
from confluence_mcp.errors import ConfluenceMcpError

__all__ = ["markdown_of"]

# The cell styles markdown-it writes for a GFM alignment row, and back.
_ALIGNMENT: Final = {"text-align:left": ":---", "text-align:right": "---:", "text-align:center": ":---:"}
_AC_NAME: Final = "{http://atlassian.com/content}name"
# Lists whose Markdown would run together when adjacent with the same marker (a task list is a bullet list).
_LIST_FAMILY: Final = {"ul": "bullet", "ac:task-list": "bullet", "ol": "ordered"}


def _fence(info: str, body: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{body}\n{ticks}" if body else f"{ticks}{info}\n{ticks}"


def _indent(text: str, width: int) -> str:
    lines = text.split("\n")
    return "\n".join([lines[0], *((" " * width + line) if line else "" for line in lines[1:])])


class _Writer(InlineWriter):
    """Writes one page's elements as Markdown; every block is verified against its own conversion back."""

    def __init__(self, index: Index) -> None:
        super().__init__(index)
        self.done: dict[tuple[int, int], str] = {}

    # Blocks

    def blocks(self, container: Node, separator: str = "\n\n") -> str:
        return self.sequence(list(children_text(container)), separator)

    def sequence(self, items: list[Item], separator: str) -> str:
        parts: list[str] = []
        run: list[Item] = []
        previous: str | None = None
        variant = 0
        for text, child in items:
            if child is None:
                if text is not None and (text.strip() or run):
                    run.append((text, None))
                continue
            name = tag_of(child)
            if name not in BLOCK_TAGS and (run or name in INLINE_TAGS):
                run.append((None, child))
                continue
            if run:
                parts.append(self.inline_items(run, safe=False))
                run, previous = [], None
            listing = _LIST_FAMILY.get(name)
            variant = 1 - variant if listing is not None and listing == previous else 0
            parts.append(self.block(child, variant))
            previous = listing
        if run:
            parts.append(self.inline_items(run, safe=False))
        return separator.join(part for part in parts if part)

    def block(self, element: Node, variant: int = 0) -> str:
        key = (id(element), variant)
        if key not in self.done:
            self.done[key] = self._block(element, variant)
        return self.done[key]

    def _block(self, element: Node, variant: int) -> str:
        attempts: Iterable[Callable[[], str | None]] = (
            lambda: self.ordinary(element, variant, safe=False),
            lambda: self.ordinary(element, variant, safe=True),
            lambda: self.container(element, safe=False),
            lambda: self.container(element, safe=True),
        )
        if tag_of(element) == "!--":
            return self.leaf(element)
        expected = canonical(_alone(element))
        for attempt in attempts:
            markdown = attempt()
            if markdown and self.same(markdown, expected, element):
                return markdown
        return self.leaf(element)

    def same(self, markdown: str, expected: object, element: Node) -> bool:
        try:
            return canonical(storage_tree(markdown, self.index, element)) == expected
        except ConfluenceMcpError:
            return False

    def ordinary(self, element: Node, variant: int, *, safe: bool) -> str | None:
        name = tag_of(element)
        plain = not element.attrib
        if name == "p" and plain:
            return self.inline(element, safe=safe) or None
        if name in ("h1", "h2", "h3", "h4", "h5", "h6") and plain:
            text = self.inline(element, safe=safe)
            if text.endswith("#") and not text.endswith("\\#"):
                text = text[:-1] + "\\#"
            return f"{'#' * int(name[1])} {text}" if text else None
        if name in ("ul", "ol"):
            return self.listing(element, variant, safe=safe)
        if name == "ac:task-list":
            return self.task_list(element, "*" if variant else "-", safe=safe)
        if name == "blockquote" and plain and content_kind(element) == "blocks":
            return "\n".join(f"> {line}" if line else ">" for line in self.blocks(element).split("\n"))
        if name == "hr" and plain and not len(element) and not (element.text or "").strip():
            return "---"
        if name == "table" and _plain_table(element):
            return self.table(element, safe=safe)
        if name in ("ac:structured-macro", "ac:macro") and kind_of(element) == "code":
            return self.code(element)
        if name == "ac:image":
            return self.image(element)
        return None

    def container(self, element: Node, *, safe: bool) -> str | None:
        mode = slot_mode(element)
        slot = slot_of(element)
        if mode is None or slot is None:
            return None
        if mode == "blocks":
            body = self.blocks(slot)
        elif mode == "inline":
            body = self.inline(slot, safe=safe)
        elif mode == "table":
            body = self.table(element, safe=safe)
        else:
            body = self.tasks(element, safe=safe)
        header = header_of(element)
        return _fence(f"confluence {self.index.reference(element, 'shell')}{' ' + header if header else ''}", body)

    def leaf(self, element: Node) -> str:
        words = ["confluence", self.index.reference(element, "whole")]
        if slot_mode(element) is not None:
            words.append("read-only")
        if header := header_of(element):
            words.append(header)
        return _fence(" ".join(words), visible_text(element))

    def listing(self, element: Node, variant: int, *, safe: bool) -> str | None:
        name = tag_of(element)
        start = element.get("start", "1")
        if set(element.attrib) - ({"start"} if name == "ol" else set()) or not start.isdigit():
            return None
        items = [child for child in element if tag_of(child) != "!--"]
        if any(tag_of(li) != "li" or li.attrib for li in items) or any(
            t for t, _ in children_text(element) if t and t.strip()
        ):
            return None
        loose = any(any(tag_of(c) == "p" for c in li) for li in items)
        if loose and any(content_kind(li) not in ("blocks", "empty") for li in items):
            return None
        lines: list[str] = []
        for number, li in enumerate(items):
            marker = ("*" if variant else "-") if name == "ul" else f"{int(start) + number}{')' if variant else '.'}"
            body = self.blocks(li) if loose else self.tight_item(li, safe=safe)
            if body is None:
                return None
            lines.append(f"{marker} {_indent(body, len(marker) + 1)}".rstrip(" "))
        return ("\n\n" if loose else "\n").join(lines)

    def tight_item(self, li: Node, *, safe: bool) -> str | None:
        items = list(children_text(li))
        split = next((i for i, (_, c) in enumerate(items) if c is not None and tag_of(c) in BLOCK_TAGS), len(items))
        if any(text is not None and text.strip() for text, _ in items[split:]):
            return None
        head = self.inline_items(items[:split], safe=safe)
        rest = self.sequence([item for item in items[split:] if item[1] is not None], "\n")
        return "\n".join(part for part in (head, rest) if part) if rest else head

    def table(self, table: Node, *, safe: bool) -> str:
        lines: list[str] = []
        for number, row in enumerate(rows_of(table)):
            cells = [cell for cell in row if tag_of(cell) in ("th", "td")]
            texts = []
            for cell in cells:
                inner = cell_inline(cell)
                texts.append(self.inline(inner, safe=safe) if inner is not None else "")
            lines.append("| " + " | ".join(texts) + " |")
            if number == 0:
                lines.append("|" + "".join(_ALIGNMENT.get(c.get("style", ""), "---") + "|" for c in cells))
        return "\n".join(lines)

    def task_list(self, task_list: Node, marker: str, *, safe: bool) -> str | None:
        """Write a task list as GFM ``- [ ]`` items; a list nested after a task is indented under it."""
        lines: list[str] = []
        for text, child in children_text(task_list):
            if child is None:
                if text is not None and text.strip():
                    return None
                continue
            name = tag_of(child)
            if name == "ac:task":
                body = child.find("{http://atlassian.com/content}task-body")
                if body is not None and content_kind(body) not in ("inline", "empty"):
                    return None
                lines.append(self.task(child, marker, safe=safe))
            elif name == "ac:task-list" and lines:
                nested = self.task_list(child, "-", safe=safe)
                if nested is None:
                    return None
                lines[-1] += "\n" + " " * (len(marker) + 1) + _indent(nested, len(marker) + 1)
            else:
                return None
        return "\n".join(lines) or None

    def task(self, task: Node, marker: str, *, safe: bool) -> str:
        status = task.find("{http://atlassian.com/content}task-status")
        done = status is not None and (status.text or "").strip() == "complete"
        body = task.find("{http://atlassian.com/content}task-body")
        text = self.inline(body, safe=safe) if body is not None else ""
        return f"{marker} [{'x' if done else ' '}] " + _indent(text, len(marker) + 5)

    def tasks(self, task_list: Node, *, safe: bool) -> str:
        tasks = [task for task in task_list if tag_of(task) == "ac:task"]
        return "\n".join(self.task(task, "-", safe=safe) for task in tasks)

    def code(self, macro: Node) -> str | None:
        parameters = [c for c in macro if tag_of(c) == "ac:parameter"]
        body = macro.find("{http://atlassian.com/content}plain-text-body")
        if macro.find("{http://atlassian.com/content}rich-text-body") is not None:
            return None
        language = next(("".join(p.itertext()) for p in parameters if p.get(_AC_NAME) == "language"), "")
        if any(c in language for c in " `\n") or REFERENCE.fullmatch(language) or language == "confluence":
            return None
        plain = (
            set(macro.attrib) == {_AC_NAME}
            and all(p.get(_AC_NAME) == "language" and len(p.attrib) == 1 for p in parameters)
            and (body is None or not body.attrib)
            and all(tag_of(c) in ("ac:parameter", "ac:plain-text-body") for c in macro)
        )
        info = " ".join(word for word in (language, "" if plain else self.index.reference(macro, "code")) if word)
        text = (body.text or "") if body is not None else ""
        longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
        ticks = "`" * max(3, longest + 1)
        return f"{ticks}{info}\n{text}\n{ticks}"


def _plain_table(table: Node) -> bool:
    sections = [c for c in table if tag_of(c) != "!--"]
    if table.attrib or len(sections) != 1 or tag_of(sections[0]) != "tbody" or sections[0].attrib:
        return False
    rows = rows_of(table)
    if not rows or slot_mode(table) != "table":
        return False
    columns: list[tuple[str | None, ...]] = []
    for number, row in enumerate(rows):
        cells = [c for c in row if tag_of(c) != "!--"]
        wanted = "th" if number == 0 else "td"
        if row.attrib or any(tag_of(c) != wanted or cell_inline(c) is not c for c in cells):
            return False
        styles = [c.attrib for c in cells]
        if any(set(a) - {"style"} or a.get("style", "text-align:left") not in _ALIGNMENT for a in styles):
            return False
        columns.append(tuple(a.get("style") for a in styles))
    return len(set(columns)) == 1


def _alone(element: Node) -> Node:
    root = new_root()
    root.append(detached_copy(element))
    return root


def markdown_of(root: Node) -> str:
    """Return the Markdown for a parsed storage body (its placeholders refer to ``root`` itself)."""
    markdown = _Writer(Index(root)).blocks(root)
    return markdown + "\n" if markdown else ""
