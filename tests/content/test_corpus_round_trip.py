"""The corpus round trips: storage → Markdown → storage keeps every element; Markdown → storage is stable."""

from __future__ import annotations

from pathlib import Path

import pytest

from confluence_mcp.content import to_markdown, to_storage
from confluence_mcp.simulator.bodies import check_storage
from tests.content.corpus_files import MARKDOWN_DOCS, STORAGE_DOCS, same_tree, unhashed


def test_the_corpus_has_thirty_documents_of_each_kind() -> None:
    """At least 30 storage and 30 Markdown documents, each listed in SOURCES.md."""
    assert len(STORAGE_DOCS) >= 30
    assert len(MARKDOWN_DOCS) >= 30
    sources = (STORAGE_DOCS[0].parents[1] / "SOURCES.md").read_text(encoding="utf-8")
    assert [doc.name for doc in [*STORAGE_DOCS, *MARKDOWN_DOCS] if doc.name not in sources] == []


@pytest.mark.parametrize("path", STORAGE_DOCS, ids=lambda p: p.stem)
def test_storage_to_markdown_to_storage_keeps_every_element(path: Path) -> None:
    """The storage made from a document's Markdown (resolved against it) is the same tree; the simulator takes it."""
    storage = path.read_text(encoding="utf-8")
    markdown = to_markdown(storage)
    back = to_storage(markdown, storage)
    assert same_tree(back, storage)
    check_storage(back)
    assert to_markdown(back) == markdown


@pytest.mark.parametrize("path", MARKDOWN_DOCS, ids=lambda p: p.stem)
def test_markdown_to_storage_is_accepted_and_stable(path: Path) -> None:
    """Markdown becomes well-formed storage the simulator accepts; reading it back and writing again changes nothing."""
    storage = to_storage(path.read_text(encoding="utf-8"))
    check_storage(storage)
    markdown = to_markdown(storage)
    again = to_storage(markdown, storage)
    assert same_tree(again, storage)
    assert to_markdown(again) == markdown


def test_ordinary_constructs_become_ordinary_gfm() -> None:
    """Headings, emphasis, links, lists, plain tables, code, quotes, rules and images need no placeholder."""
    storage = (
        '<h2>Title</h2><p><strong>b</strong> <em>i</em> <s>s</s> <code>c</code> <a href="https://x.example/">x</a> '
        '<ac:link><ri:page ri:space-key="ENG" ri:content-title="Team home" /></ac:link> '
        '<ac:link><ri:attachment ri:filename="a b.pdf" /><ac:plain-text-link-body><![CDATA[spec]]>'
        "</ac:plain-text-link-body></ac:link></p><ol><li>one<ul><li>two</li></ul></li></ol>"
        "<table><tbody><tr><th>h</th></tr><tr><td>d</td></tr></tbody></table>"
        '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">sql</ac:parameter>'
        "<ac:plain-text-body><![CDATA[select 1;]]></ac:plain-text-body></ac:structured-macro>"
        '<blockquote><p>q</p></blockquote><hr /><ac:image><ri:attachment ri:filename="d.png" /></ac:image>'
        '<ac:image ac:alt="logo"><ri:url ri:value="https://x.example/l.png" /></ac:image>'
    )
    markdown = to_markdown(storage)
    assert unhashed(markdown) == (
        "## Title\n\n**b** *i* ~~s~~ `c` [x](https://x.example/) [Team home](<page:ENG/Team home>) "
        "[spec](<attachment:a b.pdf>)\n\n1. one\n   - two\n\n| h |\n|---|\n| d |\n\n```sql\nselect 1;\n```\n\n"
        "> q\n\n---\n\n![](attachment:d.png)\n\n![logo](https://x.example/l.png)\n"
    )
    assert "confluence" not in markdown
    assert same_tree(to_storage(markdown), storage)


def test_macros_and_inline_elements_become_short_placeholders_that_show_their_text() -> None:
    """A panel is a ```confluence block around its Markdown body; status, mention and date are inline references."""
    storage = (
        '<ac:structured-macro ac:name="info" ac:schema-version="1" ac:macro-id="0b7c4f1e-7d0a-4c83-9a5e-4d1f2e3c4b5a">'
        '<ac:parameter ac:name="title">Heads up</ac:parameter><ac:rich-text-body><p>Read <em>this</em>.</p>'
        '</ac:rich-text-body></ac:structured-macro><p>State <ac:structured-macro ac:name="status">'
        '<ac:parameter ac:name="title">Done</ac:parameter></ac:structured-macro> by '
        '<ac:link><ri:user ri:account-id="5b10ac8d82e05b22cc7d4ef5" /></ac:link> on <time datetime="2024-03-01" /></p>'
    )
    markdown = to_markdown(storage)
    assert unhashed(markdown) == (
        '```confluence info#1 title="Heads up"\nRead *this*.\n```\n\n'
        'State {{status#1 title="Done"}} by {{mention#1}} on {{time#1 datetime="2024-03-01"}}\n'
    )
    assert "macro-id" not in markdown
    assert same_tree(to_storage(markdown, storage), storage)


def test_the_measurement_script_reports_every_element_kept_and_markdown_at_most_sixty_percent() -> None:
    """``bench.content_corpus`` over the corpus: 100% of round trips keep every element; median size ≤ 0.60."""
    from bench.content_corpus import CORPUS, measure

    share, median, lost = measure(sorted(CORPUS.glob("*.xhtml")))
    assert lost == []
    assert share == 1.0
    assert median <= 0.60


def test_preformatted_text_keeps_its_spaces_and_line_breaks() -> None:
    """Whitespace inside <pre> counts: the element comes back exactly, not collapsed into one line."""
    storage = "<pre>line one\n    indented</pre>"
    markdown = to_markdown(storage)
    assert unhashed(markdown) == "```confluence pre#1 read-only\nline one indented\n```\n"
    assert to_storage(markdown, storage) == storage
    assert not same_tree("<pre>line one indented</pre>", storage)
