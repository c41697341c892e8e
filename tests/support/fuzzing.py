"""The fuzz budget (small in the suite, larger on demand) and the health probe every fuzz example ends with."""

from __future__ import annotations

import os

import httpx
from hypothesis import HealthCheck, settings

__all__ = ["SCALE", "assert_alive", "budget"]

SCALE = float(os.environ.get("CONFLUENCE_MCP_FUZZ_SCALE", "1"))
"""Multiplies every example budget: ``CONFLUENCE_MCP_FUZZ_SCALE=50`` for a long run; the suite keeps 1."""


def budget(examples: int) -> settings:
    """Return hypothesis settings for ``examples`` examples (times SCALE), no deadline, no example database."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        database=None,
        derandomize=SCALE == 1,  # the suite's examples are the same every run; a long run explores
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


def assert_alive(client: httpx.Client) -> None:
    """Assert the server still answers its health probe."""
    response = client.get("/healthz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"
