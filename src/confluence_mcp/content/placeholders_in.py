"""Markdown placeholders → storage: the page's element (or its shell, filled from the Markdown inside).

``PlaceholderBuilder`` is the half of the Markdown reader that resolves ``kind#n~hash`` references: ```` ```confluence
```` blocks, ``{{…}}`` inline placeholders and pairs, and tables and task lists kept in their page's shell.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree import ElementTree as ET

from markdown_it.tree import SyntaxTreeNode

from confluence_mcp.content.markdown_syntax import PLACEHOLDER_TOKEN, is_task, table_rows
from confluence_mcp.content.references import REFERENCE, Index, cell_inline, header_of, rows_of, slot_mode, slot_of
from confluence_mcp.content.storage_xml import Node, clear, detached_copy, sub, tag_of, visible_text
from confluence_mcp.content.tasks_in import Tasks
from confluence_mcp.errors import MarkdownRefused

__all__ = ["PlaceholderBuilder"]


class PlaceholderBuilder:
    """Resolves placeholders; the Markdown reader (``markdown_in._Builder``) supplies the ordinary constructs."""

    index: Index
    tasks: Tasks

    def line(self, node: SyntaxTreeNode) -> int:
        """Return the 1-based line of ``node`` in the whole Markdown."""
        raise NotImplementedError

    def nested(self, markdown: str, fence: SyntaxTreeNode) -> tuple[SyntaxTreeNode, PlaceholderBuilder]:
        """Parse a placeholder's body; return its tree and a reader whose lines count from the fence."""
        raise NotImplementedError

    def blocks(self, nodes: Sequence[SyntaxTreeNode], parent: Node) -> None:
        """Append the storage of block nodes to ``parent``."""
        raise NotImplementedError

    def inline(self, nodes: Sequence[SyntaxTreeNode], parent: Node, line: int) -> None:
        """Append the storage of inline nodes to ``parent``."""
        raise NotImplementedError

    def task(self, item: SyntaxTreeNode, task: Node) -> None:
        """Fill an ``ac:task`` from a ``- [ ]`` item."""
        raise NotImplementedError

    def code(self, parent: Node, language: str | None, reference: str | None, node: SyntaxTreeNode) -> None:
        """Append a code macro for a fenced block (in the page's shell when ``reference`` names one)."""
        raise NotImplementedError

    def fence(self, node: SyntaxTreeNode, parent: Node) -> None:
        words = node.info.split()
        if not words or words[0] != "confluence":
            reference = next((w for w in words[:2] if w.startswith("code#") and REFERENCE.fullmatch(w)), None)
            language = words[0] if words and words[0] != reference else None
            self.code(parent, language, reference, node)
            return
        line = self.line(node)
        if len(words) < 2 or not REFERENCE.fullmatch(words[1]):
            raise MarkdownRefused("a ```confluence block", line, "its first word must be a reference such as info#1")
        reference, rest = words[1], words[2:]
        read_only = rest[:1] == ["read-only"]
        original = self.index.resolve(
            reference, line, lambda e: "whole" if read_only or slot_mode(e) is None else "shell"
        )
        _check_words(reference, " ".join(rest[1:] if read_only else rest), header_of(original), line)
        mode = None if read_only else slot_mode(original)
        if mode in (None, "tasks"):
            self.tasks.claim(original)  # tasks inside a body are matched when the body is read
        shell = detached_copy(original)
        if mode is None:
            preview = node.content.strip()
            if preview and not _same_words(preview, visible_text(original)):
                raise MarkdownRefused(
                    f"placeholder {reference}", line, "its text is a read-only preview; keep it as it was or remove it"
                )
        else:
            self.fill(shell, mode, node)
        parent.append(shell)

    def fill(self, shell: Node, mode: str, fence: SyntaxTreeNode) -> None:
        tree, builder = self.nested(fence.content, fence)
        reference = fence.info.split()[1]
        slot = slot_of(shell)
        assert slot is not None  # slot_mode said the element has one
        if mode == "blocks":
            clear(slot)
            builder.blocks(tree.children, slot)
            return
        only = list(tree.children)
        line = self.line(fence)
        if mode == "inline":
            if only and (len(only) > 1 or only[0].type != "paragraph"):
                raise MarkdownRefused(f"placeholder {reference}", line, "its body must be one paragraph of text")
            clear(slot)
            if only:
                builder.inline(only[0].children[0].children, slot, line)
        elif mode == "table":
            if len(only) != 1 or only[0].type != "table":
                raise MarkdownRefused(f"placeholder {reference}", line, "its body must be one Markdown table")
            builder.table_into(shell, only[0])
        else:
            if len(only) != 1 or only[0].type != "bullet_list" or not all(is_task(i) for i in only[0].children):
                raise MarkdownRefused(f"placeholder {reference}", line, "its body must be one task list (- [ ] …)")
            tasks = [child for child in shell if tag_of(child) == "ac:task"]
            clear(shell)
            for position, item in enumerate(only[0].children):
                if position < len(tasks):
                    task = tasks[position]
                    shell.append(task)
                else:
                    task = sub(shell, "ac:task")
                    sub(task, "ac:task-id", text=self.tasks.next_id())
                builder.task(item, task)

    def table_into(self, shell: Node, node: SyntaxTreeNode) -> None:
        """Put a Markdown table's rows into a copy of the original table, keeping its sections and cell shells."""
        old_rows = rows_of(shell)
        parents = {id(row): section for section in [shell, *shell] for row in section if tag_of(row) == "tr"}
        for old in old_rows:
            parents[id(old)].remove(old)
        fallback = shell.find("tbody")
        for number, row in enumerate(table_rows(node)):
            template = old_rows[min(number, len(old_rows) - 1)] if old_rows else None
            exact = number < len(old_rows)
            if template is not None:
                section = parents[id(template)]
            else:
                section = fallback if fallback is not None else sub(shell, "tbody")
            tr = ET.SubElement(section, "tr", dict(template.attrib) if template is not None and exact else {})
            old_cells = [c for c in template if tag_of(c) in ("th", "td")] if template is not None else []
            for column, cell in enumerate(row.children):
                model = old_cells[min(column, len(old_cells) - 1)] if old_cells else None
                same = exact and column < len(old_cells)
                name = tag_of(model) if model is not None else ("th" if number == 0 else "td")
                target = ET.SubElement(tr, name, dict(model.attrib) if model is not None and same else {})
                if "style" in cell.attrs:
                    target.set("style", str(cell.attrs["style"]))
                inner = cell_inline(model) if model is not None else None
                if inner is not None and inner is not model:
                    target = ET.SubElement(target, "p", dict(inner.attrib) if same else {})
                self.inline(cell.children[0].children if cell.children else [], target, self.line(row))

    def placeholder(self, nodes: Sequence[SyntaxTreeNode], position: int, parent: Node, line: int) -> int:
        """Put the element a ``{{…}}`` placeholder names into ``parent``; return the position after it."""
        meta = nodes[position].meta
        reference, words = str(meta["ref"]), str(meta["words"])
        if meta["closing"]:
            raise MarkdownRefused(f"{{{{/{reference}}}}}", line, "it closes a placeholder that is not open here")
        close = next(
            (i for i in range(position + 1, len(nodes)) if _closes(nodes[i], reference)),
            None,
        )
        original = self.index.resolve(reference, line, lambda _: "whole" if close is None else "shell")
        shell = detached_copy(original)
        if close is None:
            _check_words(reference, words, header_of(original, with_text=True), line)
            self.tasks.claim(original)
            parent.append(shell)
            return position + 1
        slot = slot_of(shell)
        if slot is None or slot_mode(original) != "inline":
            raise MarkdownRefused(f"{{{{{reference}}}}}", line, "this element holds no text to put between the pair")
        clear(slot)
        self.inline(nodes[position + 1 : close], slot, line)
        parent.append(shell)
        return close + 1


def _closes(node: SyntaxTreeNode, reference: str) -> bool:
    return node.type == PLACEHOLDER_TOKEN and bool(node.meta["closing"]) and node.meta["ref"] == reference


def _check_words(reference: str, given: str, expected: str, line: int) -> None:
    if given and not _same_words(given, expected):
        shown = expected or "nothing"
        raise MarkdownRefused(
            f"placeholder {reference}", line, f"the words after the reference are read-only (the page has: {shown})"
        )


def _same_words(given: str, expected: str) -> bool:
    return " ".join(given.split()) == " ".join(expected.split())
