"""The listener's open-file reservation: raised to what the connection caps need, or a warning saying why not."""

from __future__ import annotations

import logging
import resource

import pytest

from confluence_mcp.server.listener import SPARE_DESCRIPTORS, reserve_descriptors
from confluence_mcp.settings import Settings

NEEDED = 1000 + 100 + SPARE_DESCRIPTORS
"""What the default caps need: server.max_connections + upstream.max_connections + the spare."""


def _limits(monkeypatch: pytest.MonkeyPatch, soft: int, hard: int) -> list[tuple[int, int]]:
    """Pretend the process has these limits; return the list of setrlimit calls."""
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(resource, "getrlimit", lambda which: (soft, hard))
    monkeypatch.setattr(resource, "setrlimit", lambda which, limits: calls.append(limits))
    return calls


@pytest.mark.parametrize(
    ("soft", "hard", "raised_to"),
    [
        (1024, 524288, NEEDED),
        (1024, resource.RLIM_INFINITY, NEEDED),
        (4096, 4096, None),
        (resource.RLIM_INFINITY, resource.RLIM_INFINITY, None),
    ],
    ids=["below-with-room", "below-unlimited-hard", "enough", "unlimited"],
)
def test_the_soft_limit_is_raised_to_what_the_caps_need(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, soft: int, hard: int, raised_to: int | None
) -> None:
    """A soft limit below the caps' need is raised to exactly that need; one already enough is left alone."""
    calls = _limits(monkeypatch, soft, hard)
    reserve_descriptors(Settings())
    assert calls == ([] if raised_to is None else [(raised_to, hard)])
    assert caplog.records == []


def test_a_hard_limit_below_the_need_raises_to_it_and_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Short of the need even at the hard limit, the soft limit goes to the hard one and a warning names both."""
    calls = _limits(monkeypatch, 256, 512)
    with caplog.at_level(logging.WARNING, logger="confluence_mcp.server"):
        reserve_descriptors(Settings())
    assert calls == [(512, 512)]
    (record,) = caplog.records
    assert "(512) is below" in record.getMessage()
    assert f"({NEEDED})" in record.getMessage()
    assert "server.max_connections" in record.getMessage()
