"""Generated documents (seeded, so reproducible) round trip too: nested inline marks, tricky text, odd Markdown."""

from __future__ import annotations

import random

import pytest

from confluence_mcp.content import to_markdown, to_storage
from confluence_mcp.errors import ConfluenceMcpError
from confluence_mcp.simulator.bodies import check_storage
from tests.content.corpus_files import same_tree

# Text that means something in Markdown, in entities, or to our placeholders.
_TEXT = (
    "alpha", "x_y", "*star*", "1. one", "# hash", "a|b", "{{x#1}}", "&amp;", "&lt;tag&gt;", "`tick`", "[br]",
    "  spaced  ", "_u_", "~~", "\\", "-", "+ plus", "> gt", "caf&eacute;", "&nbsp;", "http://x.y", "!", "",
)  # fmt: skip
_INLINE = (
    "<strong>{}</strong>", "<em>{}</em>", "<s>{}</s>", '<span style="color:red">{}</span>', "<u>{}</u>",
    '<a href="https://e.x/?a=1&amp;b=2">{}</a>', "<ac:inline-comment-marker ac:ref=\"r\">{}</ac:inline-comment-marker>",
)  # fmt: skip
_LEAVES = (
    "<code>{t}</code>", "<br />", '<ac:emoticon ac:name="smile" />',
    '<ac:link><ri:page ri:content-title="T{n}" /></ac:link>',
    '<ac:structured-macro ac:name="status"><ac:parameter ac:name="title">S{n}</ac:parameter></ac:structured-macro>',
    '<ac:link><ri:user ri:account-id="u{n}" /></ac:link>', '<time datetime="2024-0{n}-01" />',
)  # fmt: skip


def _inline(rng: random.Random, depth: int) -> str:
    out = []
    for _ in range(rng.randint(0, 4)):
        roll = rng.random()
        if depth > 2 or roll < 0.45:
            out.append(rng.choice(_TEXT) + rng.choice(("", " ")))
        elif roll < 0.75:
            out.append(rng.choice(_INLINE).format(_inline(rng, depth + 1)))
        else:
            out.append(rng.choice(_LEAVES).format(t=rng.choice(_TEXT[:5]), n=rng.randint(1, 3)))
    return "".join(out)


def _block(rng: random.Random, depth: int) -> str:
    roll = rng.random()
    if depth > 2 or roll < 0.3:
        return f"<p>{_inline(rng, 0)}</p>"
    if roll < 0.38:
        level = rng.randint(1, 6)
        return f"<h{level}>{_inline(rng, 0)}</h{level}>"
    if roll < 0.5:
        name = rng.choice(("ul", "ol"))
        items = "".join(
            f"<li>{_inline(rng, 0)}{_block(rng, depth + 1) if rng.random() < 0.3 else ''}</li>"
            for _ in range(rng.randint(1, 3))
        )
        return f"<{name}>{items}</{name}>"
    if roll < 0.6:
        name = rng.choice(("info", "note", "expand"))
        body = _blocks(rng, depth + 1)
        body = f"<ac:rich-text-body>{body}</ac:rich-text-body>"
        return f'<ac:structured-macro ac:name="{name}" ac:macro-id="m">{body}</ac:structured-macro>'
    if roll < 0.65:
        code = f"{rng.choice(_TEXT)}\n```\n{rng.choice(_TEXT)}"
        language = '<ac:parameter ac:name="language">py</ac:parameter>'
        body = f"{language}<ac:plain-text-body><![CDATA[{code}]]></ac:plain-text-body>"
        return f'<ac:structured-macro ac:name="code">{body}</ac:structured-macro>'
    if roll < 0.75:
        cells = ("th", "td", "td")[: rng.randint(1, 3)]
        rows = "".join("<tr>" + "".join(f"<{c}>{_inline(rng, 1)}</{c}>" for _ in range(2)) + "</tr>" for c in cells)
        return f"<table><tbody>{rows}</tbody></table>"
    if roll < 0.8:
        return f"<blockquote>{_blocks(rng, depth + 1)}</blockquote>"
    if roll < 0.85:
        return "<hr />"
    if roll < 0.9:
        task = f"<ac:task-id>{rng.randint(1, 9)}</ac:task-id><ac:task-status>incomplete</ac:task-status>"
        return f"<ac:task-list><ac:task>{task}<ac:task-body>{_inline(rng, 0)}</ac:task-body></ac:task></ac:task-list>"
    cell = f"<ac:layout-cell>{_blocks(rng, depth + 1)}</ac:layout-cell>"
    return f'<ac:layout><ac:layout-section ac:type="single">{cell}</ac:layout-section></ac:layout>'


def _blocks(rng: random.Random, depth: int) -> str:
    return "".join(_block(rng, depth) for _ in range(rng.randint(1, 4)))


@pytest.mark.parametrize("seed", range(0, 400, 20))
def test_generated_storage_round_trips_keeping_every_element(seed: int) -> None:
    """Twenty seeds, twenty documents each: every round trip keeps the tree, and reading it again is stable."""
    for offset in range(20):
        storage = _blocks(random.Random(seed + offset), 0)
        markdown = to_markdown(storage)
        back = to_storage(markdown, storage)
        assert same_tree(back, storage), (seed + offset, storage, markdown)
        check_storage(back)
        assert to_markdown(back) == markdown


_MARKDOWN = (
    "# h", "text *em* **st**", "- a", "  - b", "1. x", "- [ ] t", "- [x] d", "> q", "```py", "```", "code",
    "| a | b |", "|---|:-:|", "| 1 | 2 |", "---", "[l](page:A/B)", "![i](attachment:x.png)", "<br/>",
    "<span>x</span>", "<div>", "</div>", "{{status#1}}", "{{/status#1}}", "[^1]", "[^1]: n", "<!-- c -->",
    "    indented", "***", "Setext", "===", "a\\", "&copy; &bogus;", "`x`", "~~s~~", "[r][ref]",
    "[ref]: http://x", "<http://a.b>", "", "", "```confluence info#1", "```confluence", "* star", "2) two",
    "<p>para</p>", "<x:y>", "<?php ?>", "<![CDATA[x]]>",
)  # fmt: skip
_PAGE = (
    '<ac:structured-macro ac:name="info"><ac:rich-text-body><p>x</p></ac:rich-text-body></ac:structured-macro>'
    '<p><ac:structured-macro ac:name="status" /></p>'
)


@pytest.mark.parametrize("seed", range(0, 2000, 100))
def test_generated_markdown_is_written_or_refused_by_name_never_mangled(seed: int) -> None:
    """Random Markdown either becomes storage the simulator takes and that reads back stably, or is refused by us."""
    for offset in range(100):
        rng = random.Random(seed + offset)
        markdown = "\n".join(rng.choice(_MARKDOWN) for _ in range(rng.randint(1, 12)))
        try:
            storage = to_storage(markdown, _PAGE)
        except ConfluenceMcpError:
            continue
        check_storage(storage)
        again = to_markdown(storage)
        rewritten = to_storage(again, storage)
        assert same_tree(rewritten, storage), (seed + offset, markdown)
        assert to_markdown(rewritten) == again
