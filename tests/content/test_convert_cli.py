"""``confluence-mcp convert`` run as a subprocess: stdin or FILE in, stdout out, exit 2 with the reason on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from confluence_mcp.content import to_markdown, to_storage
from tests.content.corpus_files import CORPUS, same_tree

STORAGE = CORPUS / "storage" / "03-how-to-article.xhtml"


def convert(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh interpreter, as a user would."""
    command = [sys.executable, "-m", "confluence_mcp", "convert", *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60, check=False)


def test_storage_from_a_file_becomes_the_same_markdown_the_library_makes() -> None:
    """``--from storage --to markdown FILE`` prints exactly ``to_markdown`` of the file."""
    done = convert("--from", "storage", "--to", "markdown", str(STORAGE))
    assert done.returncode == 0, done.stderr
    assert done.stdout == to_markdown(STORAGE.read_text(encoding="utf-8"))
    assert done.stderr == ""


def test_markdown_on_stdin_with_an_original_file_round_trips(tmp_path: Path) -> None:
    """Markdown read from stdin, placeholders resolved with ``--original``, gives back the page's storage."""
    storage = STORAGE.read_text(encoding="utf-8")
    done = convert("--from", "markdown", "--to", "storage", "--original", str(STORAGE), stdin=to_markdown(storage))
    assert done.returncode == 0, done.stderr
    assert same_tree(done.stdout, storage)
    markdown_file = tmp_path / "page.md"
    markdown_file.write_text("# New page\n\n- [ ] first task\n", encoding="utf-8")
    from_file = convert("--from", "markdown", "--to", "storage", str(markdown_file))
    assert from_file.returncode == 0, from_file.stderr
    assert from_file.stdout == to_storage("# New page\n\n- [ ] first task\n") + "\n"


def test_a_refused_body_exits_2_with_the_reason_on_stderr() -> None:
    """Footnotes, unresolved placeholders and broken storage exit 2, print nothing on stdout, say why on stderr."""
    footnote = convert("--from", "markdown", "--to", "storage", stdin="Text[^1]\n\n[^1]: note\n")
    assert footnote.returncode == 2
    assert footnote.stdout == ""
    assert "Markdown line 1: a footnote reference cannot be written to Confluence" in footnote.stderr
    unresolved = convert("--from", "markdown", "--to", "storage", stdin="{{status#1}}\n")
    assert unresolved.returncode == 2
    assert "placeholder status#1 cannot be resolved" in unresolved.stderr
    broken = convert("--from", "storage", "--to", "markdown", stdin="<p>open")
    assert broken.returncode == 2
    assert "not well-formed XHTML" in broken.stderr
    assert "Traceback" not in broken.stderr + unresolved.stderr + footnote.stderr


def test_bad_flags_and_missing_files_exit_2_naming_the_problem(tmp_path: Path) -> None:
    """Same format on both sides, ``--original`` on the storage side and an unreadable file are refused by name."""
    same = convert("--from", "markdown", "--to", "markdown", stdin="x")
    assert same.returncode == 2
    assert "nothing to convert" in same.stderr
    original = convert("--from", "storage", "--to", "markdown", "--original", str(STORAGE), stdin="<p>x</p>")
    assert original.returncode == 2
    assert "--original applies to --from markdown only" in original.stderr
    missing = convert("--from", "storage", "--to", "markdown", str(tmp_path / "nope.xhtml"))
    assert missing.returncode == 2
    assert "cannot read FILE" in missing.stderr
