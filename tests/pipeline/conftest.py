"""Fixtures for the pipeline tests: the asyncio backend, the real catalog and a store of known MCP servers."""

from __future__ import annotations

import logging

import pytest

from confluence_mcp.openapi import default_documents, generate_tools
from confluence_mcp.pipeline.catalog import Catalog
from tests.pipeline.doubles import World, build_world


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio, the loop uvicorn serves on."""
    return "asyncio"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The catalog of our own tools, built once (it only caches views and validators)."""
    return Catalog(generate_tools(default_documents()))


@pytest.fixture
async def world(catalog: Catalog) -> World:
    """A fresh store with one account and an open, a read-only, a spaces-only and an expired MCP server."""
    return await build_world(catalog)


@pytest.fixture
def caplog_ours(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> pytest.LogCaptureFixture:
    """``caplog`` that also sees our loggers after a test elsewhere applied ``log_config`` (propagate=False)."""
    monkeypatch.setattr(logging.getLogger("confluence_mcp"), "propagate", True)
    return caplog
