"""SECURITY.md names every limit in the settings with its default, and says how to report a vulnerability."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from confluence_mcp.settings import Settings

SECURITY = Path(__file__).resolve().parents[1] / "SECURITY.md"
NOT_LIMITS = {"server.port"}
"""Numeric settings that bound nothing."""


def _numeric_settings(model: type[BaseModel], prefix: str = "") -> list[tuple[str, int | float]]:
    """Return every int or float setting under ``model`` as (dotted name, default)."""
    found: list[tuple[str, int | float]] = []
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            found.extend(_numeric_settings(kind, f"{prefix}{name}."))
        elif kind in (int, float) and f"{prefix}{name}" not in NOT_LIMITS:
            found.append((f"{prefix}{name}", field.default))
    return found


LIMITS = _numeric_settings(Settings)


def test_the_settings_have_limits_to_check() -> None:
    """The walk finds the limits of every section (a typo in it would make the next test vacuous)."""
    sections = {name.split(".", 1)[0] for name, _ in LIMITS}
    assert sections == {"server", "upstream", "limits", "audit", "results", "ui"}
    assert len(LIMITS) >= 30


@pytest.mark.parametrize(("name", "default"), LIMITS, ids=[name for name, _ in LIMITS])
def test_every_limit_is_named_in_security_md_with_its_default(name: str, default: float) -> None:
    """A line of SECURITY.md names the setting as `section.key` and shows its default in parentheses."""
    shown = str(default) if isinstance(default, int) else f"{default:g}"
    lines = [line for line in SECURITY.read_text(encoding="utf-8").splitlines() if f"`{name}`" in line]
    assert lines, f"SECURITY.md does not name `{name}`"
    assert any(f"`{name}` ({shown})" in line for line in lines), f"`{name}` without its default {shown}"


def test_security_md_has_a_threat_model_and_a_reporting_route() -> None:
    """The sections the issue asks for exist: who can reach what, and how to report privately."""
    text = SECURITY.read_text(encoding="utf-8")
    assert "## Threat model: who can reach what" in text
    assert "## Reporting a vulnerability" in text
    for actor in ("anyone on the network", "an agent with an MCP URL", "an operator with an admin token"):
        assert actor in text
    for actor in ("Confluence itself", "a compromised replica"):
        assert actor in text
