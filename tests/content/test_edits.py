"""Editing one paragraph of a page's Markdown changes that paragraph only, wherever it sits (also inside a panel)."""

from __future__ import annotations

from pathlib import Path

import pytest

from confluence_mcp.content import to_markdown, to_storage
from confluence_mcp.content.markdown_syntax import parse_markdown
from confluence_mcp.content.storage_xml import parse_storage
from tests.content.corpus_files import STORAGE_DOCS, differences, element_at, unhashed

EDIT = " EDITED"


def _paragraph_lines(markdown: str) -> list[int]:
    """Lines (0-based) holding a whole one-line paragraph at the top level of the Markdown."""
    return [
        node.map[0]
        for node in parse_markdown(markdown).children
        if node.type == "paragraph" and node.map is not None and node.map[1] - node.map[0] == 1
    ]


def _edited(markdown: str, line: int) -> str:
    lines = markdown.split("\n")
    lines[line] += EDIT
    return "\n".join(lines)


EDITABLE = [path for path in STORAGE_DOCS if _paragraph_lines(to_markdown(path.read_text(encoding="utf-8")))]


def test_most_corpus_documents_have_a_paragraph_to_edit() -> None:
    """The edit test below runs over most of the corpus, not a handful of documents."""
    assert len(EDITABLE) >= 25


@pytest.mark.parametrize("path", EDITABLE, ids=lambda p: p.stem)
def test_editing_one_paragraph_changes_only_that_paragraph(path: Path) -> None:
    """Each top-level paragraph edited in turn: the new storage differs from the old in that paragraph alone."""
    storage = path.read_text(encoding="utf-8")
    markdown = to_markdown(storage)
    old = parse_storage(storage)
    for line in _paragraph_lines(markdown):
        new = parse_storage(to_storage(_edited(markdown, line), storage))
        changed = differences(old, new)
        assert len(changed) == 1, (line, changed)
        assert EDIT.strip() in "".join(element_at(new, changed[0]).itertext())


PANEL = (
    '<p>Intro.</p><ac:structured-macro ac:name="warning" ac:schema-version="1" ac:macro-id="9a0b1c2d-3e4f-4a5b">'
    '<ac:parameter ac:name="title">Careful</ac:parameter><ac:rich-text-body><p>First point.</p><p>Second point.</p>'
    "</ac:rich-text-body></ac:structured-macro><p>Outro.</p>"
)


def test_editing_text_inside_a_panel_keeps_the_macro_and_its_other_paragraphs() -> None:
    """The panel body is Markdown inside the placeholder; the macro shell (id, parameters) comes from the page."""
    markdown = to_markdown(PANEL)
    assert unhashed(markdown) == (
        'Intro.\n\n```confluence warning#1 title="Careful"\nFirst point.\n\nSecond point.\n```\n\nOutro.\n'
    )
    storage = to_storage(markdown.replace("Second point.", "Second point, **revised**."), PANEL)
    assert differences(parse_storage(PANEL), parse_storage(storage)) == [
        "/1:ac:structured-macro/1:ac:rich-text-body/1:p"
    ]
    assert 'ac:macro-id="9a0b1c2d-3e4f-4a5b"' in storage
    assert "<p>Second point, <strong>revised</strong>.</p>" in storage


def test_a_new_paragraph_and_a_deleted_placeholder_change_nothing_else() -> None:
    """Adding a paragraph inserts one element; deleting a placeholder deletes that element alone."""
    markdown = to_markdown(PANEL)
    added = to_storage(markdown.replace("Outro.", "Outro.\n\nA new *closing* line."), PANEL)
    assert added == PANEL + "<p>A new <em>closing</em> line.</p>"
    start = markdown.index("```confluence")
    end = markdown.index("```\n\nOutro") + len("```\n\n")
    removed = to_storage(markdown[:start] + markdown[end:], PANEL)
    assert removed == "<p>Intro.</p><p>Outro.</p>"


def test_editing_a_task_keeps_its_id_and_a_new_task_gets_a_fresh_one() -> None:
    """Tasks come back with their ids; a task the agent adds gets an id above every id on the page."""
    page = (
        "<ac:task-list><ac:task><ac:task-id>7</ac:task-id><ac:task-status>incomplete</ac:task-status>"
        "<ac:task-body>Write docs</ac:task-body></ac:task></ac:task-list>"
    )
    markdown = to_markdown(page)
    assert markdown == "- [ ] Write docs\n"
    storage = to_storage(markdown.replace("- [ ] Write docs", "- [x] Write docs\n- [ ] Review docs"), page)
    assert storage == (
        "<ac:task-list><ac:task><ac:task-id>7</ac:task-id><ac:task-status>complete</ac:task-status>"
        "<ac:task-body>Write docs</ac:task-body></ac:task><ac:task><ac:task-id>8</ac:task-id>"
        "<ac:task-status>incomplete</ac:task-status><ac:task-body>Review docs</ac:task-body></ac:task></ac:task-list>"
    )


def test_editing_a_cell_of_a_cloud_table_keeps_its_layout_and_cell_paragraphs() -> None:
    """A table with Confluence-only attributes is a placeholder around a GFM table; edits keep colgroup and <p>."""
    page = (
        '<table data-layout="default" ac:local-id="t1"><colgroup><col style="width: 200px;" /><col /></colgroup>'
        "<tbody><tr><th><p>Key</p></th><th><p>Value</p></th></tr><tr><td><p>a</p></td><td><p>b</p></td></tr>"
        "</tbody></table>"
    )
    markdown = to_markdown(page)
    assert unhashed(markdown) == "```confluence table#1\n| Key | Value |\n|---|---|\n| a | b |\n```\n"
    storage = to_storage(markdown.replace("| a | b |", "| a | **c** |"), page)
    assert storage == page.replace("<p>b</p>", "<p><strong>c</strong></p>")
