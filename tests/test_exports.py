"""Each package's __all__ is small, sorted and importable."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "confluence_mcp",
    "confluence_mcp.admin",
    "confluence_mcp.atlassian",
    "confluence_mcp.cli",
    "confluence_mcp.openapi",
    "confluence_mcp.store",
    "confluence_mcp.simulator",
    "confluence_mcp.errors",
    "confluence_mcp.error_answers",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_every_name_exists(name: str) -> None:
    """__all__ is sorted, has no duplicates, and every listed name is an attribute."""
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported)
    assert len(set(exported)) == len(exported)
    for item in exported:
        assert hasattr(module, item), item


def test_store_package_does_not_import_redis() -> None:
    """The optional Redis backend is never imported by the store package itself."""
    module = importlib.import_module("confluence_mcp.store")
    assert "RedisStore" not in module.__all__
