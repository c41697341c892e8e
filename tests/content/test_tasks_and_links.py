"""Task lists are ordinary GFM that keeps each task's id; links without a body show their target's name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from confluence_mcp.content import to_markdown, to_storage
from confluence_mcp.content.storage_xml import parse_storage
from tests.content.corpus_files import STORAGE_DOCS, differences, element_at, same_tree


def _task(number: int, body: str, *, done: bool = False, uuid: str | None = None) -> str:
    extra = f"<ac:task-uuid>{uuid}</ac:task-uuid>" if uuid else ""
    status = "complete" if done else "incomplete"
    return (
        f"<ac:task><ac:task-id>{number}</ac:task-id>{extra}<ac:task-status>{status}</ac:task-status>"
        f"<ac:task-body>{body}</ac:task-body></ac:task>"
    )


NESTED = (
    "<ac:task-list>"
    + _task(4, "Plan the release", uuid="0f6d2c1a-9b8e-4d7c-a1b2-c3d4e5f60718")
    + "<ac:task-list>"
    + _task(5, "Write the <strong>notes</strong>", done=True)
    + _task(6, "Tell support")
    + "</ac:task-list>"
    + _task(9, "Ship it")
    + "</ac:task-list>"
)
TASK_DOCS = [path for path in STORAGE_DOCS if "<ac:task-list" in path.read_text(encoding="utf-8")]


def test_several_corpus_documents_hold_task_lists() -> None:
    """The corpus tests below run over real task lists, not a single one."""
    assert len(TASK_DOCS) >= 4


@pytest.mark.parametrize("path", TASK_DOCS, ids=lambda p: p.stem)
def test_corpus_task_lists_are_plain_gfm_and_ticking_a_box_changes_only_its_status(path: Path) -> None:
    """No task list of the corpus is a placeholder; ticking each open box in turn changes that one status."""
    storage = path.read_text(encoding="utf-8")
    markdown = to_markdown(storage)
    assert "task-list#" not in markdown
    old = parse_storage(storage)
    open_boxes = [match.start() for match in re.finditer(r"^ *[-*] \[ \] ", markdown, re.MULTILINE)]
    assert open_boxes
    for start in open_boxes:
        box = markdown.index("[ ]", start)
        ticked = markdown[:box] + "[x]" + markdown[box + 3 :]
        new = parse_storage(to_storage(ticked, storage))
        changed = differences(old, new)
        assert len(changed) == 1, changed
        assert changed[0].endswith(":ac:task-status")
        assert element_at(new, changed[0]).text == "complete"


def test_a_nested_task_list_is_a_nested_gfm_list_that_keeps_ids_and_uuids() -> None:
    """Storage nests a task list after its parent task; the Markdown indents it under that task."""
    markdown = to_markdown(NESTED)
    assert markdown == "- [ ] Plan the release\n  - [x] Write the **notes**\n  - [ ] Tell support\n- [ ] Ship it\n"
    assert to_storage(markdown, NESTED) == NESTED
    ticked = to_storage(markdown.replace("[ ] Tell support", "[x] Tell support"), NESTED)
    assert ticked == NESTED.replace(_task(6, "Tell support"), _task(6, "Tell support", done=True))


def test_edited_moved_and_new_tasks_keep_or_get_ids() -> None:
    """A reworded task keeps its id by position, a moved one by text, a new one gets an id above the page's."""
    markdown = to_markdown(NESTED)
    edited = (
        markdown.replace("Tell support", "Tell support and sales")
        .replace("- [ ] Ship it\n", "")
        .replace("- [ ] Plan the release\n", "- [ ] Ship it\n- [ ] Book the room\n- [ ] Plan the release\n")
    )
    assert to_storage(edited, NESTED) == (
        "<ac:task-list>"
        + _task(9, "Ship it")
        + _task(10, "Book the room")
        + _task(4, "Plan the release", uuid="0f6d2c1a-9b8e-4d7c-a1b2-c3d4e5f60718")
        + "<ac:task-list>"
        + _task(5, "Write the <strong>notes</strong>", done=True)
        + _task(6, "Tell support and sales")
        + "</ac:task-list></ac:task-list>"
    )


def test_tasks_with_the_same_text_in_two_lists_each_keep_their_own_id() -> None:
    """Matching by text takes the page's tasks in order, so twin lists come back exactly."""
    page = f"<ac:task-list>{_task(1, 'TBD')}</ac:task-list><p>Then</p><ac:task-list>{_task(2, 'TBD')}</ac:task-list>"
    markdown = to_markdown(page)
    assert markdown == "- [ ] TBD\n\nThen\n\n- [ ] TBD\n"
    assert to_storage(markdown, page) == page
    ticked = "- [ ] TBD\n\nThen\n\n- [x] TBD\n"
    assert to_storage(ticked, page) == page.replace(_task(2, "TBD"), _task(2, "TBD", done=True))


def test_a_task_list_inside_a_panel_is_plain_gfm_and_keeps_its_ids() -> None:
    """A task list in a panel's body is GFM inside the placeholder; a twin after the panel keeps its own id."""
    panel = f'<ac:structured-macro ac:name="info"><ac:rich-text-body><ac:task-list>{_task(1, "TBD")}</ac:task-list>'
    page = panel + f"</ac:rich-text-body></ac:structured-macro><ac:task-list>{_task(2, 'TBD')}</ac:task-list>"
    markdown = to_markdown(page)
    assert re.fullmatch(r"```confluence info#1~[0-9a-f]{4}\n- \[ \] TBD\n```\n\n- \[ \] TBD\n", markdown)
    assert to_storage(markdown, page) == page
    ticked = to_storage(markdown.replace("[ ]", "[x]"), page)
    assert ticked == page.replace(_task(1, "TBD"), _task(1, "TBD", done=True)).replace(
        _task(2, "TBD"), _task(2, "TBD", done=True)
    )


def test_a_task_kept_in_a_read_only_placeholder_is_not_taken_by_its_twin_after_it() -> None:
    """A task inside a merged-cell table comes back with the table; the plain twin after it keeps its own id."""
    page = (
        f'<table><tbody><tr><td colspan="2"><ac:task-list>{_task(1, "TBD")}</ac:task-list></td></tr></tbody>'
        f"</table><ac:task-list>{_task(2, 'TBD')}</ac:task-list>"
    )
    markdown = to_markdown(page)
    assert markdown.startswith("```confluence table#1~")
    assert markdown.endswith("```\n\n- [ ] TBD\n")
    ticked = to_storage(markdown[: -len("[ ] TBD\n")] + "[x] TBD\n", page)
    assert ticked == page.replace(_task(2, "TBD"), _task(2, "TBD", done=True))


def test_a_task_list_beside_a_bullet_list_does_not_merge_with_it() -> None:
    """Adjacent bullet and task lists get different markers, so each stays its own list."""
    page = f"<ul><li>one</li></ul><ac:task-list>{_task(3, 'two')}</ac:task-list><ul><li>three</li></ul>"
    markdown = to_markdown(page)
    assert markdown == "- one\n\n* [ ] two\n\n- three\n"
    assert to_storage(markdown, page) == page


def test_a_task_whose_body_holds_blocks_falls_back_to_a_placeholder() -> None:
    """A task body with a paragraph and a list is not one GFM line; the round trip still keeps it."""
    page = f"<ac:task-list>{_task(1, '<p>a</p><ul><li>b</li></ul>')}</ac:task-list>"
    markdown = to_markdown(page)
    assert markdown.startswith("```confluence task-list#1")
    assert same_tree(to_storage(markdown, page), page)


def test_new_markdown_task_lists_nest_without_an_original() -> None:
    """Nested GFM task items written from scratch become a nested storage task list with fresh ids."""
    storage = to_storage("- [ ] a\n  - [x] b\n- [ ] c\n")
    assert storage == (
        "<ac:task-list>" + _task(1, "a") + "<ac:task-list>" + _task(2, "b", done=True) + "</ac:task-list>"
        + _task(3, "c") + "</ac:task-list>"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("storage", "markdown"),
    [
        (
            '<p>See <ac:link><ri:page ri:content-title="Rollback plan" /></ac:link>.</p>',
            "See [Rollback plan](<page:Rollback plan>).\n",
        ),
        (
            '<p><ac:link ac:anchor="steps"><ri:page ri:space-key="OPS" ri:content-title="Rollback plan" />'
            "</ac:link></p>",
            "[Rollback plan](<page:OPS/Rollback plan#steps>)\n",
        ),
        (
            '<p><ac:link><ri:attachment ri:filename="q3 report.pdf" /></ac:link></p>',
            "[q3 report.pdf](<attachment:q3 report.pdf>)\n",
        ),
        (
            '<p><ac:link><ri:page ri:content-title="Rollback plan" />'
            "<ac:plain-text-link-body><![CDATA[the plan]]></ac:plain-text-link-body></ac:link></p>",
            "[the plan](<page:Rollback plan>)\n",
        ),
    ],
)
def test_links_without_a_body_show_the_title_and_come_back_without_one(storage: str, markdown: str) -> None:
    """A body-less page or attachment link reads as its title or file name and round-trips exactly."""
    assert to_markdown(storage) == markdown
    assert to_storage(markdown, storage) == storage


def test_link_text_decides_whether_the_link_gets_a_body() -> None:
    """Text equal to the title is a body-less link; other text (or a body equal to the title) is kept as a body."""
    page = '<p><ac:link><ri:page ri:content-title="Rollback plan" /></ac:link></p>'
    renamed = to_storage("[How to roll back](<page:Rollback plan>)\n", page)
    assert renamed == (
        '<p><ac:link><ri:page ri:content-title="Rollback plan" />'
        "<ac:plain-text-link-body><![CDATA[How to roll back]]></ac:plain-text-link-body></ac:link></p>"
    )
    assert to_storage("[](<page:Rollback plan>)\n") == page
    explicit = renamed.replace("How to roll back", "Rollback plan")
    assert same_tree(to_storage(to_markdown(explicit), explicit), explicit)
