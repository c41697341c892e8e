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

from confluence_mcp.content.markdown_syntax import PLACEHOLDER_TOKEN, is_task, parse_markdown, table_rows
from confluence_mcp.content.placeholders_in import PlaceholderBuilder
from confluence_mcp.content.references import (
    Index,
    content_kind,
)
from confluence_mcp.content.storage_xml import (
    append_text,
    clark,
    clear,
    detached_copy,
    new_root,
    parse_storage,
    sub,
    write_storage,
)
from confluence_mcp.content.tasks_in import TaskItem, Tasks
from confluence_mcp.errors import MarkdownRefused, StorageUnreadable

__all__ = ["storage_tree"]

Node = ET.Element
_PARAMETER: Final = clark("ac:parameter")
_NAME: Final = clark("ac:name")


class _Builder(PlaceholderBuilder):
    """Builds storage elements from one Markdown syntax tree; ``base`` is the line the Markdown starts after."""

    def __init__(self, index: Index, base: int, tasks: Tasks) -> None:
        self.index = index
        self.base = base
        self.tasks = tasks

    def line(self, node: SyntaxTreeNode) -> int:
        while node.map is None and node.parent is not None:
            node = node.parent
        return self.base + (node.map[0] if node.map else 0) + 1

    def nested(self, markdown: str, fence: SyntaxTreeNode) -> tuple[SyntaxTreeNode, _Builder]:
        return parse_markdown(markdown), _Builder(self.index, self.line(fence), self.tasks)

    def blocks(self, nodes: Sequence[SyntaxTreeNode], parent: Node) -> None:
        for node in nodes:
            self.block(node, parent)

    def block(self, node: SyntaxTreeNode, parent: Node) -> None:
        kind = node.type
        if kind == "paragraph":
            self.paragraph(node, parent)
        elif kind == "heading":
            self.inline(node.children[0].children, sub(parent, node.tag), self.line(node))
        elif kind in ("bullet_list", "ordered_list"):
            self.listing(node, parent)
        elif kind == "list_item":
            self.blocks(node.children, sub(parent, "li"))
        elif kind == "blockquote":
            self.blocks(node.children, sub(parent, "blockquote"))
        elif kind == "fence":
            self.fence(node, parent)
        elif kind == "code_block":
            self.code(parent, None, None, node)
        elif kind == "hr":
            sub(parent, "hr")
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
            self.inline(inline, sub(parent, "p"), self.line(node))

    def listing(self, node: SyntaxTreeNode, parent: Node) -> None:
        items = node.children
        if _task_list(node):
            self.tasks.build(self.task_items(node), parent)
            return
        name = "ul" if node.type == "bullet_list" else "ol"
        listing = sub(parent, name)
        start = node.attrs.get("start")
        if name == "ol" and start is not None and str(start) != "1":
            listing.set("start", str(start))
        for item in items:
            li = sub(listing, "li")
            if is_task(item):
                append_text(li, "[x] " if _checked(item) else "[ ] ")
                paragraph = item.children[0]
                self.inline(_after_checkbox(paragraph.children[0].children), li, self.line(item))
                self.blocks(item.children[1:], li)
            else:
                self.blocks(item.children, li)

    def task_items(self, node: SyntaxTreeNode) -> list[TaskItem]:
        """Build each item's body; a task list nested in an item is one nested in the storage list after it."""
        items: list[TaskItem] = []
        for item in node.children:
            first, rest = (item.children[0] if item.children else None), item.children[1:]
            nested = rest[0] if len(rest) == 1 and _task_list(rest[0]) else None
            if first is None or first.type != "paragraph" or (rest and nested is None):
                raise MarkdownRefused("a task with nested blocks", self.line(item), "a Confluence task holds one line")
            body = Node(clark("ac:task-body"))
            self.inline(_after_checkbox(first.children[0].children), body, self.line(item))
            items.append(TaskItem(body, _checked(item), self.task_items(nested) if nested is not None else []))
        return items

    def task(self, item: SyntaxTreeNode, task: Node) -> None:
        status = task.find(clark("ac:task-status"))
        if status is None:
            status = sub(task, "ac:task-status")
        status.text = "complete" if _checked(item) else "incomplete"
        body = task.find(clark("ac:task-body"))
        if body is None:
            body = sub(task, "ac:task-body")
        clear(body)
        if len(item.children) != 1 or item.children[0].type != "paragraph":
            raise MarkdownRefused("a task with nested blocks", self.line(item), "a Confluence task holds one line")
        self.inline(_after_checkbox(item.children[0].children[0].children), body, self.line(item))

    def table(self, node: SyntaxTreeNode, parent: Node) -> None:
        table = sub(parent, "table")
        body = sub(table, "tbody")
        for row in table_rows(node):
            tr = sub(body, "tr")
            for cell in row.children:
                target = sub(tr, cell.tag, {"style": str(cell.attrs["style"])} if "style" in cell.attrs else None)
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
        target = sub(parent, "p") if kind == "inline" else parent
        append_text(target, holder.text or "")
        for child in list(holder):
            target.append(child)

    def raw_html(self, html: str, parent: Node, construct: str, line: int) -> None:
        try:
            fragment = parse_storage(html, what="it")
        except StorageUnreadable as exc:
            raise MarkdownRefused(construct, line, f"{exc}; write Markdown or well-formed XHTML") from None
        append_text(parent, fragment.text or "")
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
        image = sub(parent, "ac:image", attributes)
        if src.startswith("attachment:"):
            sub(image, "ri:attachment", {"ri:filename": unquote(src.removeprefix("attachment:"))})
        else:
            sub(image, "ri:url", {"ri:value": src})

    def code(self, parent: Node, language: str | None, reference: str | None, node: SyntaxTreeNode) -> None:
        content = node.content[:-1] if node.content.endswith("\n") else node.content
        if reference is None:
            macro = sub(parent, "ac:structured-macro", {"ac:name": "code"})
            if language:
                sub(macro, "ac:parameter", {"ac:name": "language"}, language)
            sub(macro, "ac:plain-text-body", text=content)
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
            body = sub(macro, "ac:plain-text-body")
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
            append_text(parent, node.content)
        elif kind == "softbreak":
            append_text(parent, " ")
        elif kind == "hardbreak":
            sub(parent, "br")
        elif kind in ("em", "strong", "s"):
            self.inline(node.children, sub(parent, kind), line)
        elif kind == "code_inline":
            sub(parent, "code", text=node.content)
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
            self.inline(node.children, sub(parent, "a", attributes), line)
            return
        scheme, _, target = href.partition(":")
        target, hash_mark, anchor = target.partition("#")
        link = sub(parent, "ac:link", {"ac:anchor": unquote(anchor)} if hash_mark else None)
        if scheme == "attachment":
            shown = unquote(target)
            sub(link, "ri:attachment", {"ri:filename": shown})
        else:
            space, slash, title = target.partition("/")
            shown = unquote(title if slash else target)
            attributes = {"ri:space-key": unquote(space)} if slash else {}
            sub(link, "ri:page", {**attributes, "ri:content-title": shown})
        plain = all(child.type == "text" for child in node.children)
        if plain and _plain_text(node.children) == shown:
            return  # the text Confluence shows for a link without a body
        if node.children and plain:
            sub(link, "ac:plain-text-link-body", text=_plain_text(node.children))
        elif node.children:
            self.inline(node.children, sub(link, "ac:link-body"), line)


def _whole_element(html: str) -> bool:
    try:
        parse_storage(html)
    except StorageUnreadable:
        return False
    return True


def _plain_text(nodes: Sequence[SyntaxTreeNode]) -> str:
    return "".join(node.content if node.type == "text" else _plain_text(node.children) for node in nodes)


def _task_list(node: SyntaxTreeNode) -> bool:
    """Say whether ``node`` is a bullet list whose every item is a GFM task."""
    items = node.children if node.type == "bullet_list" else []
    return bool(items) and all(is_task(item) for item in items)


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


def _refuse_control_characters(markdown: str) -> None:
    """XML 1.0 cannot hold C0 controls (but tab and newlines), lone surrogates, U+FFFE or U+FFFF; name the first."""
    for number, line in enumerate(markdown.split("\n"), start=1):
        bad = next((c for c in line if _not_xml(c)), None)
        if bad is not None:
            raise MarkdownRefused(f"the character U+{ord(bad):04X}", number, "XHTML cannot hold it")


def _not_xml(char: str) -> bool:
    code = ord(char)
    return (code < 0x20 and char not in "\t\r") or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF)


def storage_tree(markdown: str, index: Index, alone: Node | None = None) -> Node:
    """Return a root element holding the storage ``markdown`` stands for, placeholders resolved in ``index``.

    ``alone`` is the page element ``markdown`` was written for, when it is converted without the rest of the page.
    """
    _refuse_control_characters(markdown)
    root = new_root()
    _Builder(index, 0, Tasks(index, alone)).blocks(parse_markdown(markdown).children, root)
    return root
