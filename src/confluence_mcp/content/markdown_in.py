"""Markdown → storage: ordinary GFM becomes plain storage, placeholders become the elements they name.

Placeholders are resolved against the page's original storage (``Index``); a container placeholder keeps the
original element's shell (name, attributes, parameters) and takes its content from the Markdown inside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from urllib.parse import unquote
from xml.etree import ElementTree as ET

from markdown_it.tree import SyntaxTreeNode

from confluence_mcp.content.markdown_syntax import PLACEHOLDER_TOKEN, parse_markdown
from confluence_mcp.content.references import (
    REFERENCE,
    Index,
    cell_inline,
    content_kind,
    header_of,
    rows_of,
    slot_mode,
    slot_of,
)
from confluence_mcp.content.storage_xml import (
    clark,
    clear,
    detached_copy,
    new_root,
    parse_storage,
    tag_of,
    visible_text,
    write_storage,
)
from confluence_mcp.errors import MarkdownRefused, StorageUnreadable

__all__ = ["storage_tree"]

Node = ET.Element
_PARAMETER: Final = clark("ac:parameter")
_NAME: Final = clark("ac:name")


def _sub(parent: Node, name: str, attributes: dict[str, str] | None = None, text: str | None = None) -> Node:
    element = ET.SubElement(parent, clark(name), {clark(k): v for k, v in (attributes or {}).items()})
    element.text = text
    return element


def _append_text(parent: Node, text: str) -> None:
    if not text:
        return
    if len(parent):
        parent[-1].tail = (parent[-1].tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def _same_words(given: str, expected: str) -> bool:
    return " ".join(given.split()) == " ".join(expected.split())


class _TaskIds:
    """Hands out task ids above every id the original page uses."""

    def __init__(self, start: int) -> None:
        self.last = start

    def next(self) -> str:
        self.last += 1
        return str(self.last)


class _Builder:
    """Builds storage elements from one Markdown syntax tree; ``base`` is the line the Markdown starts after."""

    def __init__(self, index: Index, base: int, task_ids: _TaskIds) -> None:
        self.index = index
        self.base = base
        self.task_ids = task_ids

    def line(self, node: SyntaxTreeNode) -> int:
        while node.map is None and node.parent is not None:
            node = node.parent
        return self.base + (node.map[0] if node.map else 0) + 1

    def nested(self, markdown: str, fence: SyntaxTreeNode) -> tuple[SyntaxTreeNode, _Builder]:
        return parse_markdown(markdown), _Builder(self.index, self.line(fence), self.task_ids)

    def blocks(self, nodes: Sequence[SyntaxTreeNode], parent: Node) -> None:
        for node in nodes:
            self.block(node, parent)

    def block(self, node: SyntaxTreeNode, parent: Node) -> None:
        kind = node.type
        if kind == "paragraph":
            self.paragraph(node, parent)
        elif kind == "heading":
            self.inline(node.children[0].children, _sub(parent, node.tag), self.line(node))
        elif kind in ("bullet_list", "ordered_list"):
            self.listing(node, parent)
        elif kind == "list_item":
            self.blocks(node.children, _sub(parent, "li"))
        elif kind == "blockquote":
            self.blocks(node.children, _sub(parent, "blockquote"))
        elif kind == "fence":
            self.fence(node, parent)
        elif kind == "code_block":
            self.code(parent, None, None, node)
        elif kind == "hr":
            _sub(parent, "hr")
        elif kind == "table":
            self.table(node, parent)
        elif kind == "html_block":
            self.html_block(node, parent)
        elif kind == "footnote_reference":
            raise MarkdownRefused("a footnote definition", self.line(node), "storage has no footnotes; use text")
        else:
            raise MarkdownRefused(f"the Markdown construct {kind!r}", self.line(node), "storage has no equivalent")

    def paragraph(self, node: SyntaxTreeNode, parent: Node) -> None:
        inline = node.children[0].children if node.children else []
        if node.hidden:
            self.inline(inline, parent, self.line(node))
        elif len(inline) == 1 and inline[0].type == "image":
            self.image(inline[0], parent)
        else:
            self.inline(inline, _sub(parent, "p"), self.line(node))

    def listing(self, node: SyntaxTreeNode, parent: Node) -> None:
        items = node.children
        if node.type == "bullet_list" and items and all(_is_task(item) for item in items):
            task_list = _sub(parent, "ac:task-list")
            for item in items:
                task = _sub(task_list, "ac:task")
                _sub(task, "ac:task-id", text=self.task_ids.next())
                self.task(item, task)
            return
        name = "ul" if node.type == "bullet_list" else "ol"
        listing = _sub(parent, name)
        start = node.attrs.get("start")
        if name == "ol" and start is not None and str(start) != "1":
            listing.set("start", str(start))
        for item in items:
            li = _sub(listing, "li")
            if _is_task(item):
                _append_text(li, "[x] " if _checked(item) else "[ ] ")
                paragraph = item.children[0]
                self.inline(_after_checkbox(paragraph.children[0].children), li, self.line(item))
                self.blocks(item.children[1:], li)
            else:
                self.blocks(item.children, li)

    def task(self, item: SyntaxTreeNode, task: Node) -> None:
        status = task.find(clark("ac:task-status"))
        if status is None:
            status = _sub(task, "ac:task-status")
        status.text = "complete" if _checked(item) else "incomplete"
        body = task.find(clark("ac:task-body"))
        if body is None:
            body = _sub(task, "ac:task-body")
        clear(body)
        if len(item.children) != 1 or item.children[0].type != "paragraph":
            raise MarkdownRefused("a task with nested blocks", self.line(item), "a Confluence task holds one line")
        self.inline(_after_checkbox(item.children[0].children[0].children), body, self.line(item))

    def table(self, node: SyntaxTreeNode, parent: Node) -> None:
        table = _sub(parent, "table")
        body = _sub(table, "tbody")
        for row in _rows(node):
            tr = _sub(body, "tr")
            for cell in row.children:
                target = _sub(tr, cell.tag, {"style": str(cell.attrs["style"])} if "style" in cell.attrs else None)
                self.inline(cell.children[0].children if cell.children else [], target, self.line(row))

    def html_block(self, node: SyntaxTreeNode, parent: Node) -> None:
        """Keep a well-formed XHTML block; text outside any block element goes into a paragraph, as in Markdown."""
        holder = new_root()
        self.raw_html(node.content, holder, "raw HTML block", self.line(node))
        kind = content_kind(holder)
        if kind == "mixed":
            raise MarkdownRefused(
                "raw HTML block", self.line(node), "it mixes text and block elements; wrap the text in <p>"
            )
        target = _sub(parent, "p") if kind == "inline" else parent
        _append_text(target, holder.text or "")
        for child in list(holder):
            target.append(child)

    def raw_html(self, html: str, parent: Node, construct: str, line: int) -> None:
        try:
            fragment = parse_storage(html, what="it")
        except StorageUnreadable as exc:
            raise MarkdownRefused(construct, line, f"{exc}; write Markdown or well-formed XHTML") from None
        _append_text(parent, fragment.text or "")
        for child in list(fragment):
            parent.append(child)

    def image(self, node: SyntaxTreeNode, parent: Node) -> None:
        src = str(node.attrs.get("src", ""))
        attributes = {}
        alt = _plain_text(node.children)
        if alt:
            attributes["ac:alt"] = alt
        if node.attrs.get("title"):
            attributes["ac:title"] = str(node.attrs["title"])
        image = _sub(parent, "ac:image", attributes)
        if src.startswith("attachment:"):
            _sub(image, "ri:attachment", {"ri:filename": unquote(src.removeprefix("attachment:"))})
        else:
            _sub(image, "ri:url", {"ri:value": src})

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
            if len(only) != 1 or only[0].type != "bullet_list" or not all(_is_task(i) for i in only[0].children):
                raise MarkdownRefused(f"placeholder {reference}", line, "its body must be one task list (- [ ] …)")
            tasks = [child for child in shell if tag_of(child) == "ac:task"]
            clear(shell)
            for position, item in enumerate(only[0].children):
                if position < len(tasks):
                    task = tasks[position]
                    shell.append(task)
                else:
                    task = _sub(shell, "ac:task")
                    _sub(task, "ac:task-id", text=self.task_ids.next())
                builder.task(item, task)

    def table_into(self, shell: Node, node: SyntaxTreeNode) -> None:
        """Put a Markdown table's rows into a copy of the original table, keeping its sections and cell shells."""
        old_rows = rows_of(shell)
        parents = {id(row): section for section in [shell, *shell] for row in section if tag_of(row) == "tr"}
        for old in old_rows:
            parents[id(old)].remove(old)
        fallback = shell.find("tbody")
        for number, row in enumerate(_rows(node)):
            template = old_rows[min(number, len(old_rows) - 1)] if old_rows else None
            exact = number < len(old_rows)
            if template is not None:
                section = parents[id(template)]
            else:
                section = fallback if fallback is not None else _sub(shell, "tbody")
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

    def code(self, parent: Node, language: str | None, reference: str | None, node: SyntaxTreeNode) -> None:
        content = node.content[:-1] if node.content.endswith("\n") else node.content
        if reference is None:
            macro = _sub(parent, "ac:structured-macro", {"ac:name": "code"})
            if language:
                _sub(macro, "ac:parameter", {"ac:name": "language"}, language)
            _sub(macro, "ac:plain-text-body", text=content)
            return
        macro = detached_copy(self.index.resolve(reference, self.line(node), lambda _: "code"))
        current = next((p for p in macro.iter(_PARAMETER) if p.get(_NAME) == "language"), None)
        if language and current is not None:
            current.text = language
        elif language:
            parameter = ET.Element(_PARAMETER, {_NAME: "language"})
            parameter.text = language
            macro.insert(0, parameter)
        elif current is not None:
            macro.remove(current)
        body = macro.find(clark("ac:plain-text-body"))
        if body is None:
            body = _sub(macro, "ac:plain-text-body")
        body.text = content
        parent.append(macro)

    def inline(self, nodes: Sequence[SyntaxTreeNode], parent: Node, line: int) -> None:
        if any(node.type == "html_inline" and not _whole_element(node.content) for node in nodes):
            self.inline_with_html(nodes, parent, line)
            return
        position = 0
        while position < len(nodes):
            node = nodes[position]
            if node.type == PLACEHOLDER_TOKEN:
                position = self.placeholder(nodes, position, parent, line)
                continue
            self.inline_node(node, parent, line)
            position += 1

    def inline_with_html(self, nodes: Sequence[SyntaxTreeNode], parent: Node, line: int) -> None:
        """Join raw tags with the storage of the Markdown between them and parse the whole as XHTML."""
        pieces: list[str] = []
        run: list[SyntaxTreeNode] = []
        for node in [*nodes, None]:
            if node is not None and node.type != "html_inline":
                run.append(node)  # Markdown between two tags is converted together, so placeholder pairs hold
                continue
            if run:
                holder = new_root()
                self.inline(run, holder, line)
                pieces.append(write_storage(holder))
                run = []
            if node is not None:
                pieces.append(node.content)
        tags = " ".join(node.content for node in nodes if node.type == "html_inline")
        self.raw_html("".join(pieces), parent, f"inline raw HTML {tags}", line)

    def inline_node(self, node: SyntaxTreeNode, parent: Node, line: int) -> None:
        kind = node.type
        if kind == "text":
            _append_text(parent, node.content)
        elif kind == "softbreak":
            _append_text(parent, " ")
        elif kind == "hardbreak":
            _sub(parent, "br")
        elif kind in ("em", "strong", "s"):
            self.inline(node.children, _sub(parent, kind), line)
        elif kind == "code_inline":
            _sub(parent, "code", text=node.content)
        elif kind == "link":
            self.link(node, parent, line)
        elif kind == "image":
            self.image(node, parent)
        elif kind == "html_inline":
            self.raw_html(node.content, parent, f"inline raw HTML {node.content}", line)
        elif kind in ("footnote_ref", "footnote_inline"):
            raise MarkdownRefused("a footnote reference", line, "storage has no footnotes; use text")
        else:
            raise MarkdownRefused(f"the Markdown construct {kind!r}", line, "storage has no equivalent")

    def link(self, node: SyntaxTreeNode, parent: Node, line: int) -> None:
        href = str(node.attrs.get("href", ""))
        if not href.startswith(("page:", "attachment:")):
            attributes = {"href": href}
            if node.attrs.get("title"):
                attributes["title"] = str(node.attrs["title"])
            self.inline(node.children, _sub(parent, "a", attributes), line)
            return
        scheme, _, target = href.partition(":")
        target, hash_mark, anchor = target.partition("#")
        link = _sub(parent, "ac:link", {"ac:anchor": unquote(anchor)} if hash_mark else None)
        if scheme == "attachment":
            _sub(link, "ri:attachment", {"ri:filename": unquote(target)})
        else:
            space, slash, title = target.partition("/")
            attributes = {"ri:space-key": unquote(space), "ri:content-title": unquote(title)} if slash else {}
            _sub(link, "ri:page", attributes or {"ri:content-title": unquote(target)})
        if node.children and all(child.type == "text" for child in node.children):
            _sub(link, "ac:plain-text-link-body", text=_plain_text(node.children))
        elif node.children:
            self.inline(node.children, _sub(link, "ac:link-body"), line)

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
            parent.append(shell)
            return position + 1
        slot = slot_of(shell)
        if slot is None or slot_mode(original) != "inline":
            raise MarkdownRefused(f"{{{{{reference}}}}}", line, "this element holds no text to put between the pair")
        clear(slot)
        self.inline(nodes[position + 1 : close], slot, line)
        parent.append(shell)
        return close + 1


def _whole_element(html: str) -> bool:
    try:
        parse_storage(html)
    except StorageUnreadable:
        return False
    return True


def _closes(node: SyntaxTreeNode, reference: str) -> bool:
    return node.type == PLACEHOLDER_TOKEN and bool(node.meta["closing"]) and node.meta["ref"] == reference


def _check_words(reference: str, given: str, expected: str, line: int) -> None:
    if given and not _same_words(given, expected):
        shown = expected or "nothing"
        raise MarkdownRefused(
            f"placeholder {reference}", line, f"the words after the reference are read-only (the page has: {shown})"
        )


def _rows(table: SyntaxTreeNode) -> list[SyntaxTreeNode]:
    return [row for section in table.children for row in section.children]


def _plain_text(nodes: Sequence[SyntaxTreeNode]) -> str:
    return "".join(node.content if node.type == "text" else _plain_text(node.children) for node in nodes)


def _is_task(item: SyntaxTreeNode) -> bool:
    return "task-list-item" in str(item.attrs.get("class", ""))


def _checked(item: SyntaxTreeNode) -> bool:
    paragraph = item.children[0] if item.children else None
    inline = paragraph.children[0].children if paragraph is not None and paragraph.children else []
    return bool(inline) and inline[0].type == "html_inline" and "checked=" in inline[0].content


def _after_checkbox(nodes: Sequence[SyntaxTreeNode]) -> list[SyntaxTreeNode]:
    rest = list(nodes)
    if rest and rest[0].type == "html_inline" and "task-list-item-checkbox" in rest[0].content:
        rest = rest[1:]
    if rest and rest[0].type == "text":
        token = rest[0].token
        if token is not None:
            token.content = token.content.removeprefix(" ")
    return rest


def storage_tree(markdown: str, index: Index) -> Node:
    """Return a root element holding the storage ``markdown`` stands for, placeholders resolved in ``index``."""
    root = new_root()
    _Builder(index, 0, _TaskIds(index.max_task_id)).blocks(parse_markdown(markdown).children, root)
    return root
