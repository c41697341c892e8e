"""The README's test command and .ci/run never drift apart."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_screen = "\n".join(text.splitlines()[:40])
    return re.findall(r"^```(?:bash|sh)?\n(.+?)\n```", first_screen, flags=re.MULTILINE | re.DOTALL)


def test_readme_first_screen_has_a_run_and_a_test_command() -> None:
    """The first screen of the README shows two one-line commands: run the server, run the tests."""
    commands = _readme_commands()
    assert any("serve" in c for c in commands), commands
    assert any("test" in c for c in commands), commands


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    """.ci/run contains the README's test command exactly as written."""
    test_command = next(c for c in _readme_commands() if "test" in c and "serve" not in c)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command.strip() in ci.splitlines()
