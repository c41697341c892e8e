"""Inline content and images as Markdown: escaped text, marks, code spans, links, page links, placeholders.

Text is escaped only where Markdown would read it otherwise; an inline element GFM cannot say (or, in safe
mode, any mark) becomes ``{{kind#n~hash}}…{{/kind#n~hash}}`` around its content, or ``{{kind#n~hash words}}``.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import quote

from confluence_mcp.content.references import Index, header_of, slot_mode, slot_of
from confluence_mcp.content.storage_xml import RI, Node, children_text, tag_of

__all__ = ["LINK_SAFE", "InlineWriter", "Item"]

_SPACES: Final = re.compile(r"[ \t\r\n]+")
_ENTITY: Final = re.compile(r"&(#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
_ORDERED: Final = re.compile(r"[0-9]{1,9}[.)](?= |$)")
_ALWAYS: Final = frozenset("\\`*[]<|~")
LINK_SAFE: Final = " -._~!$'*+,;=:@()"
_MARKS: Final = {"strong": "**", "em": "*", "s": "~~"}
Item = tuple[str | None, Node | None]


def _destination(target: str) -> str:
    if target and not any(c in target for c in " <>()\\") and all(c.isprintable() for c in target):
        return target
    return "<" + target.replace("\\", "\\\\").replace("<", "\\<").replace(">", "\\>") + ">"


def _title(title: str | None) -> str:
    return "" if not title else ' "' + title.replace("\\", "\\\\").replace('"', '\\"') + '"'


class InlineWriter:
    """Writes inline content of one page; ``line_start`` says whether the next text begins a Markdown line."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.line_start = False

    def image(self, image: Node) -> str | None:
        if set(image.attrib) - {"{http://atlassian.com/content}alt", "{http://atlassian.com/content}title"}:
            return None
        targets = [c for c in image if tag_of(c) != "!--"]
        if len(targets) != 1 or len(targets[0]) or (image.text or "").strip():
            return None
        target = targets[0]
        name, attributes = tag_of(target), set(target.attrib)
        if name == "ri:attachment" and attributes == {f"{{{RI}}}filename"}:
            source = "attachment:" + quote(target.get(f"{{{RI}}}filename", ""), safe=LINK_SAFE)
        elif name == "ri:url" and attributes == {f"{{{RI}}}value"}:
            source = target.get(f"{{{RI}}}value", "")
            if source.startswith(("page:", "attachment:")):
                return None
        else:
            return None
        alt = self.text(image.get("{http://atlassian.com/content}alt", ""))
        title = image.get("{http://atlassian.com/content}title")
        return f"![{alt}]({_destination(source)}{_title(title)})"

    def inline(self, element: Node, *, safe: bool, block: bool = True) -> str:
        return self.inline_items(list(children_text(element)), safe=safe, block=block)

    def inline_items(self, items: list[Item], *, safe: bool, block: bool = True) -> str:
        """Write inline content; a ``block`` (a paragraph, a cell) starts a line and drops edge whitespace."""
        if block:
            self.line_start = True
        out: list[str] = []
        for position, (text, child) in enumerate(items):
            if text is not None:
                if block and position == 0:
                    text = text.lstrip(" \t\r\n")
                if block and position == len(items) - 1:
                    text = text.rstrip(" \t\r\n")
                out.append(self.text(text))
            elif child is not None:
                out.append(self.inline_element(child, safe=safe))
        return "".join(out).strip(" ") if block else "".join(out)

    def text(self, raw: str) -> str:
        text = _SPACES.sub(" ", raw)
        if self.line_start:
            text = text.lstrip(" ")
        out: list[str] = []
        for position, char in enumerate(text):
            before = text[position - 1] if position else ""
            after = text[position + 1] if position + 1 < len(text) else ""
            if (
                char in _ALWAYS
                or (char == "_" and not (before.isalnum() and after.isalnum()))
                or (char == "{" and after == "{")
                or (char == "&" and _ENTITY.match(text, position))
                or (self.line_start and not out and char in "#>-+=")
            ):
                out.append("\\")
            elif self.line_start and not out and _ORDERED.match(text):
                ordered = _ORDERED.match(text)
                assert ordered is not None
                out.append(text[: ordered.end() - 1] + "\\")
                out.append(text[ordered.end() - 1 :])
                break
            out.append(char)
        if text:
            self.line_start = False
        return "".join(out)

    def inline_element(self, element: Node, *, safe: bool) -> str:
        name = tag_of(element)
        plain = not element.attrib
        if name == "br" and plain and not len(element) and not element.text:
            self.line_start = True
            return "\\\n"
        if not safe:
            written = self.ordinary_inline(element, name, plain)
            if written is not None:
                self.line_start = False
                return written
        self.line_start = False
        slot = slot_of(element)
        if slot is not None and slot_mode(element) == "inline":
            reference = self.index.reference(element, "shell")
            return f"{{{{{reference}}}}}{self.inline(slot, safe=safe, block=False)}{{{{/{reference}}}}}"
        reference = self.index.reference(element, "whole")
        header = header_of(element, with_text=True)
        return f"{{{{{reference}{' ' + header if header else ''}}}}}"

    def ordinary_inline(self, element: Node, name: str, plain: bool) -> str | None:
        if name in _MARKS and plain:
            full = "".join(element.itertext())
            if not full or full != full.strip():
                return None
            inner = self.inline(element, safe=False, block=False)
            return f"{_MARKS[name]}{inner}{_MARKS[name]}"
        if name == "code" and plain and not len(element) and element.text and element.text.strip():
            content = _SPACES.sub(" ", element.text)  # Confluence, like the comparison, collapses spaces
            longest = max((len(run) for run in re.findall(r"`+", content)), default=0)
            ticks = "`" * (longest + 1)
            pad = " " if content.startswith(("`", " ")) or content.endswith(("`", " ")) else ""
            return f"{ticks}{pad}{content}{pad}{ticks}"
        if name == "a" and set(element.attrib) <= {"href", "title"} and "href" in element.attrib:
            inner = self.inline(element, safe=False, block=False)
            return f"[{inner}]({_destination(element.get('href', ''))}{_title(element.get('title'))})"
        if name == "ac:link":
            return self.page_link(element)
        if name == "ac:image":
            return self.image(element)
        return None

    def page_link(self, link: Node) -> str | None:
        if set(link.attrib) - {"{http://atlassian.com/content}anchor"}:
            return None
        targets = [c for c in link if tag_of(c) not in ("ac:plain-text-link-body", "!--")]
        bodies = [c for c in link if tag_of(c) == "ac:plain-text-link-body"]
        if len(targets) != 1 or len(targets[0]) or len(bodies) > 1 or (bodies and bodies[0].attrib):
            return None
        target, name = targets[0], tag_of(targets[0])
        attributes = {key.split("}")[-1]: value for key, value in target.attrib.items()}
        if name == "ri:page" and set(attributes) in ({"content-title"}, {"content-title", "space-key"}):
            shown = attributes["content-title"]
            title = quote(shown, safe=LINK_SAFE)
            space = attributes.get("space-key")
            if space is not None and (not space or "/" in space):
                return None
            destination = f"page:{quote(space, safe=LINK_SAFE)}/{title}" if space else f"page:{title}"
            if space is None and "/" in attributes["content-title"]:
                return None
        elif name == "ri:attachment" and set(attributes) == {"filename"}:
            shown = attributes["filename"]
            destination = "attachment:" + quote(shown, safe=LINK_SAFE)
        else:
            return None
        anchor = link.get("{http://atlassian.com/content}anchor")
        if anchor is not None:
            destination += "#" + quote(anchor, safe=LINK_SAFE)
        # A link without a body shows its target's title (or file name) in Confluence, so the Markdown does too.
        text = bodies[0].text or "" if bodies else shown
        if bodies and not text:
            return None
        return f"[{self.text(text)}]({_destination(destination)})"
