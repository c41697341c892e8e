"""The Markdown dialect we read: CommonMark + GFM tables, strikethrough, task lists, and inline placeholders.

An inline placeholder is ``{{kind#n words}}`` (an element kept from the page) or a pair ``{{kind#n}}…{{/kind#n}}``
around Markdown that becomes that element's content. Footnotes are parsed only so they can be refused by line.
"""

from __future__ import annotations

import re
from typing import Final

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.tree import SyntaxTreeNode
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

__all__ = ["PLACEHOLDER_TOKEN", "is_task", "parse_markdown", "table_rows"]

PLACEHOLDER_TOKEN: Final = "confluence_ref"  # noqa: S105  # a token type name, not a secret
# A tokenizer rule over Markdown source (not over markup): the words never hold braces or newlines.
_INLINE: Final = re.compile(r"\{\{(/?)([A-Za-z0-9._:-]+#[0-9]+(?:~[0-9a-f]{4})?)(?: ([^{}\n]*?))?\}\}")


def _placeholder_rule(state: StateInline, silent: bool) -> bool:
    if not state.src.startswith("{{", state.pos):
        return False
    match = _INLINE.match(state.src, state.pos)
    if match is None:
        return False
    if not silent:
        token = state.push(PLACEHOLDER_TOKEN, "", 0)
        token.content = match[0]
        token.meta = {"closing": bool(match[1]), "ref": match[2], "words": (match[3] or "").strip()}
    state.pos = match.end()
    return True


class _Markdown(MarkdownIt):
    """markdown-it that keeps link targets exactly as written (Confluence checks them, not us)."""

    def validateLink(self, url: str) -> bool:  # markdown-it's own method name
        """Accept every link target: ``page:`` and ``attachment:`` are ours, the rest Confluence's to judge."""
        return True

    def normalizeLink(self, url: str) -> str:
        """Keep the target as written, so a round trip does not percent-encode it."""
        return url

    def normalizeLinkText(self, link: str) -> str:
        """Keep the text as written."""
        return link


def _build() -> MarkdownIt:
    md = _Markdown("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.use(tasklists_plugin).use(footnote_plugin)
    md.disable("footnote_tail")  # keep definitions in the stream, so they are refused rather than dropped
    md.inline.ruler.before("text", "confluence_placeholder", _placeholder_rule)
    return md


_MD: Final = _build()


def parse_markdown(markdown: str) -> SyntaxTreeNode:
    """Return the syntax tree of ``markdown`` in our dialect."""
    return SyntaxTreeNode(_MD.parse(markdown))


def table_rows(table: SyntaxTreeNode) -> list[SyntaxTreeNode]:
    """Return a Markdown table's rows, header row first."""
    return [row for section in table.children for row in section.children]


def is_task(item: SyntaxTreeNode) -> bool:
    """Say whether a list item is a GFM task (``- [ ]``)."""
    return "task-list-item" in str(item.attrs.get("class", ""))
