"""Converted Markdown is stored by the Confluence simulator over real HTTP and reads back as the same Markdown."""

from __future__ import annotations

import httpx
import pytest

from confluence_mcp.content import to_markdown, to_storage
from confluence_mcp.simulator import SEED, create_simulator
from tests.content.corpus_files import MARKDOWN_DOCS
from tests.support.servers import serve_asgi

V2 = "/wiki/api/v2"


@pytest.fixture
def anyio_backend() -> str:
    """Run on asyncio, the loop uvicorn serves on."""
    return "asyncio"


@pytest.mark.anyio
async def test_every_markdown_document_creates_a_page_that_reads_back_as_its_markdown() -> None:
    """POST each converted document as a page; GET its storage; converting that again gives the same Markdown."""
    simulator = create_simulator()
    async with (
        serve_asgi(simulator.app, lifespan="off") as url,
        httpx.AsyncClient(base_url=url, auth=simulator.auth) as client,
    ):
        for number, path in enumerate(MARKDOWN_DOCS):
            storage = to_storage(path.read_text(encoding="utf-8"))
            body = {"representation": "storage", "value": storage}
            created = await client.post(
                f"{V2}/pages", json={"spaceId": SEED.ops_space_id, "title": f"Corpus {number}", "body": body}
            )
            assert created.status_code == 200, (path.name, created.text)
            read = await client.get(f"{V2}/pages/{created.json()['id']}", params={"body-format": "storage"})
            stored = read.json()["body"]["storage"]["value"]
            assert to_markdown(stored) == to_markdown(storage), path.name
