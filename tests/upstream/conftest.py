"""Fixtures shared by the upstream tests: both event loops the product serves on."""

from __future__ import annotations

import importlib.util

import pytest

needs_uvloop = pytest.mark.skipif(importlib.util.find_spec("uvloop") is None, reason="uvloop is not installed")


@pytest.fixture(
    params=[
        pytest.param(("asyncio", {}), id="asyncio"),
        pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop", marks=needs_uvloop),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, object]]:
    """Run on asyncio, plain and with uvloop: our pool's timers and reads differ between the two."""
    backend: tuple[str, dict[str, object]] = request.param
    return backend
