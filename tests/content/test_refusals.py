"""What storage cannot hold is refused by construct and line; a placeholder that names nothing is refused by name."""

from __future__ import annotations

import pytest

from confluence_mcp.content import to_markdown, to_storage
from confluence_mcp.error_answers import ToolErrorAnswer, answer_for
from confluence_mcp.errors import MarkdownRefused, PlaceholderUnresolved, StorageUnreadable
from tests.content.corpus_files import unhashed

PAGE = (
    '<p>Intro.</p><ac:structured-macro ac:name="info" ac:macro-id="m1">'
    '<ac:parameter ac:name="title">Note</ac:parameter>'
    "<ac:rich-text-body><p>Body.</p></ac:rich-text-body></ac:structured-macro>"
    '<p>Status <ac:structured-macro ac:name="status"><ac:parameter ac:name="title">Done</ac:parameter>'
    '</ac:structured-macro>.</p><ac:structured-macro ac:name="toc" />'
)


@pytest.mark.parametrize(
    ("markdown", "construct", "line"),
    [
        ("Intro.\n\nSee the note[^1].\n\n[^1]: The note.\n", "a footnote reference", 3),
        ("Intro.\n\n[^1]: An orphan definition.\n", "a footnote definition", 3),
        ("# T\n\n<div><p>unclosed\n\nafter\n", "raw HTML block", 3),
        ("One\n\ntwo <span>open and never closed\n", "inline raw HTML <span>", 3),
        ("```confluence\n```\n", "a ```confluence block", 1),
        ("a\n\n{{/status#1}} stray\n", "{{/status#1}}", 3),
        ("fine\nnot \x01 fine\n", "the character U+0001", 2),
        ("a lone \ud800 surrogate\n", "the character U+D800", 1),
    ],
)
def test_markdown_storage_cannot_hold_is_refused_naming_construct_and_line(
    markdown: str, construct: str, line: int
) -> None:
    """The error names the construct and its 1-based line, and is a tool error (an isError result)."""
    with pytest.raises(MarkdownRefused) as caught:
        to_storage(markdown, PAGE)
    assert caught.value.construct == construct
    assert caught.value.line == line
    assert f"Markdown line {line}: {construct}" in str(caught.value)
    assert answer_for(caught.value) == ToolErrorAnswer()


@pytest.mark.parametrize(
    ("markdown", "reference", "reason"),
    [
        ("{{jira#1}}\n", "jira#1", "the page has no jira element"),
        ("```confluence info#2\nBody.\n```\n", "info#2", "the page has 1 info element(s), not 2"),
        ("Text {{status#3}}.\n", "status#3", "the page has 1 status element(s), not 3"),
        ("```python code#1\nx\n```\n", "code#1", "the page has no code element"),
    ],
)
def test_a_reference_to_an_element_not_on_the_page_is_refused_by_name(
    markdown: str, reference: str, reason: str
) -> None:
    """Unknown kinds and numbers past the page's elements both name the reference; nothing is guessed."""
    with pytest.raises(PlaceholderUnresolved) as caught:
        to_storage(markdown, PAGE)
    assert caught.value.reference == reference
    assert reason in str(caught.value)
    assert answer_for(caught.value) == ToolErrorAnswer()


def test_a_reference_without_the_original_storage_is_refused() -> None:
    """Placeholders need the page they came from; without it the reference is unresolved, not dropped."""
    with pytest.raises(PlaceholderUnresolved, match="no original storage was given"):
        to_storage(to_markdown(PAGE))


def test_an_element_gone_from_the_current_page_is_refused() -> None:
    """Markdown read before a colleague removed the panel cannot bring the panel back silently."""
    markdown = to_markdown(PAGE)
    current = PAGE.replace(PAGE[PAGE.index('<ac:structured-macro ac:name="info"') : PAGE.index("<p>Status")], "")
    with pytest.raises(
        PlaceholderUnresolved, match=r"info#1~[0-9a-f]{4} cannot be resolved: the page has no info element"
    ):
        to_storage(markdown, current)


def test_read_only_words_of_a_placeholder_cannot_be_edited() -> None:
    """Changing a placeholder's parameters (they come from the page) is refused instead of ignored."""
    markdown = to_markdown(PAGE)
    with pytest.raises(
        MarkdownRefused, match=r"placeholder status#1~\w{4} .*read-only \(the page has: title=\"Done\"\)"
    ):
        to_storage(markdown.replace('title="Done"', 'title="Blocked"'), PAGE)
    with pytest.raises(MarkdownRefused, match="placeholder info#1"):
        to_storage(markdown.replace('title="Note"', 'title="Other"'), PAGE)
    assert to_storage(markdown.replace(' title="Done"', ""), PAGE) == to_storage(markdown, PAGE)


def test_the_preview_text_of_a_read_only_placeholder_cannot_be_edited() -> None:
    """A merged-cell table is shown as read-only text; editing that text is refused, keeping it as it was is not."""
    page = '<table><tbody><tr><th colspan="2">Wide</th></tr><tr><td>a</td><td>b</td></tr></tbody></table>'
    markdown = to_markdown(page)
    assert unhashed(markdown) == "```confluence table#1\nWide / a | b\n```\n"
    assert to_storage(markdown, page) == page
    with pytest.raises(MarkdownRefused, match="read-only preview"):
        to_storage(markdown.replace("a | b", "a | c"), page)


def test_storage_that_is_not_well_formed_is_refused_with_its_position() -> None:
    """A broken storage body (or original) names the parse error and where it is."""
    with pytest.raises(StorageUnreadable, match="mismatched tag at line 2, column 7"):
        to_markdown("<p>a</p>\n<p>b</b>c</p>")
    with pytest.raises(StorageUnreadable, match="at the end \\(an element is not closed\\)"):
        to_markdown("<p>a</p><p>b")
    with pytest.raises(StorageUnreadable, match="the original storage is not well-formed"):
        to_storage("text", "<p>")


def test_a_placeholder_finds_its_element_when_a_colleague_inserted_another_before_it() -> None:
    """The fingerprint after ``~`` follows the element: a new panel above ours does not take our panel's place."""
    markdown = to_markdown(PAGE)
    colleague = (
        '<ac:structured-macro ac:name="info" ac:macro-id="m0">'
        "<ac:rich-text-body><p>New.</p></ac:rich-text-body></ac:structured-macro>"
    )
    current = colleague + PAGE
    storage = to_storage(markdown.replace("Body.", "Body, edited."), current)
    assert 'ac:macro-id="m1"' in storage
    assert 'ac:macro-id="m0"' not in storage
    assert "<p>Body, edited.</p>" in storage


def test_a_placeholder_whose_element_was_changed_is_refused_not_replaced() -> None:
    """If the page's element no longer matches the fingerprint (a colleague edited the macro), nothing is guessed."""
    markdown = to_markdown(PAGE)
    changed = PAGE.replace(
        '<ac:structured-macro ac:name="toc" />', '<ac:structured-macro ac:name="toc" ac:macro-id="t2" />'
    )
    with pytest.raises(PlaceholderUnresolved, match="no toc element of the page matches it any more"):
        to_storage(markdown, changed)


def test_a_reference_typed_without_a_fingerprint_is_resolved_by_position() -> None:
    """An agent may write ``{{status#1}}`` by hand; it names the first status macro of the page."""
    storage = to_storage("Copied {{status#1}} here.\n", PAGE)
    assert storage == (
        '<p>Copied <ac:structured-macro ac:name="status"><ac:parameter ac:name="title">Done</ac:parameter>'
        "</ac:structured-macro> here.</p>"
    )
