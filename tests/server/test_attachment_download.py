"""confluence_attachments_download: the redirect to the media host followed without credentials, content by type."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import mcp.types as mt
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from confluence_mcp.simulator import SEED, Simulator
from confluence_mcp.simulator.state import Attachment
from tests.support.servers import serve_asgi
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.anyio

TOOL = "confluence_attachments_download"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _attach(sim: Simulator, ident: str, title: str, media_type: str, data: bytes, *, size: int | None = None) -> str:
    """Attach a file to the release checklist and return its id."""
    sim.state.attachments[ident] = Attachment(
        id=ident,
        container_id=SEED.release_checklist_id,
        container_kind="page",
        title=title,
        media_type=media_type,
        file_size=len(data) if size is None else size,
        comment="",
        file_id=f"file-{ident}",
        status="current",
        created_at="2025-01-15T09:30:00.000Z",
        author_id=SEED.agent_account_id,
        data=data,
    )
    return ident


@contextlib.asynccontextmanager
async def _media_stack(**upstream: Any) -> AsyncIterator[Stack]:
    """The stack with the simulator's media host on its own port, which upstream.media_hosts allows."""
    async with (
        running_stack(upstream={"media_hosts": ["127.0.0.1"], **upstream}) as stack,
        serve_asgi(stack.sim.media.app) as media_url,
    ):
        stack.sim.state.media_url = media_url
        stack.extra["media_url"] = media_url
        yield stack


def _assert_followed_without_credentials(stack: Stack, attachment_id: str, asked: str | None = None) -> None:
    """The site saw the metadata read and the download, with credentials; the media host saw one bare GET."""
    assert [r.path for r in stack.sim.requests] == [
        f"/wiki/api/v2/attachments/{asked or attachment_id}",
        f"/wiki/rest/api/content/{SEED.release_checklist_id}/child/attachment/{attachment_id}/download",
    ]
    assert all(r.headers["authorization"].startswith("Basic ") for r in stack.sim.requests)
    [media] = stack.sim.media.requests
    assert media.path == f"/__media/file/file-{attachment_id}/binary"
    assert "authorization" not in media.headers
    assert dict(media.query)["token"]


@pytest.mark.parametrize("transport", ["lean", "httpx"])
async def test_a_text_attachment_comes_back_as_text_and_no_credentials_reach_the_media_host(transport: str) -> None:
    """A text/plain file is one text item with its contents; the media host never sees an Authorization header."""
    async with _media_stack(transport=transport) as stack:
        ident = _attach(
            stack.sim, "att900001", "notes.txt", "text/plain; charset=utf-8", "Schritt 1: prüfen\n".encode()
        )
        result = await stack.call(TOOL, {"id": ident})
        assert result["isError"] is False, result
        assert result["content"] == [{"type": "text", "text": "Schritt 1: prüfen\n"}]
        _assert_followed_without_credentials(stack, ident)


async def test_an_image_comes_back_as_image_content() -> None:
    """A PNG is a short text item and an image item: base64 of the exact bytes, with its mimeType."""
    async with _media_stack() as stack:
        ident = _attach(stack.sim, "att900002", "dot.png", "image/png", PNG)
        result = await stack.call(TOOL, {"id": ident.removeprefix("att")})
        assert result["isError"] is False, result
        summary, image = result["content"]
        assert summary == {"type": "text", "text": f"dot.png (image/png, {len(PNG)} bytes), attachment {ident}."}
        assert image == {"type": "image", "data": base64.b64encode(PNG).decode(), "mimeType": "image/png"}
        _assert_followed_without_credentials(stack, ident, asked=ident.removeprefix("att"))


async def test_another_small_binary_comes_back_as_an_embedded_resource() -> None:
    """A PDF is an embedded resource: its blob, its mimeType, and the REST download URL as its uri."""
    async with _media_stack() as stack:
        data = b"%PDF-1.4\n\x00\x01\x02binary\xff"
        ident = _attach(stack.sim, "att900003", "spec.pdf", "application/pdf", data)
        result = await stack.call(TOOL, {"id": ident})
        assert result["isError"] is False, result
        _, item = result["content"]
        assert item["type"] == "resource"
        resource = item["resource"]
        assert base64.b64decode(resource["blob"]) == data
        assert resource["mimeType"] == "application/pdf"
        path = f"/wiki/rest/api/content/{SEED.release_checklist_id}/child/attachment/{ident}/download"
        assert resource["uri"] == stack.sim_url + path


async def test_a_file_over_the_cap_is_answered_with_its_links_and_never_downloaded() -> None:
    """Over upstream.max_attachment_bytes by its metadata: nothing is downloaded; the answer says how to get it."""
    async with _media_stack(max_attachment_bytes=1000) as stack:
        result = await stack.call(TOOL, {"id": SEED.attachment_id})  # the seeded 48,213-byte PNG
        assert result["isError"] is False, result
        text = result["content"][0]["text"]
        assert text.startswith("Not downloaded: release-flow.png is 48,213 bytes, over this server's limit of 1,000")
        assert "upstream.max_attachment_bytes" in text
        structured = result["structuredContent"]
        assert structured["webuiLink"].startswith(f"{stack.sim_url}/wiki/pages/viewpageattachments.action")
        assert structured["webuiLink"] in text
        assert structured["downloadUrl"].endswith(f"/child/attachment/{SEED.attachment_id}/download")
        assert [r.path for r in stack.sim.requests] == [f"/wiki/api/v2/attachments/{SEED.attachment_id}"]
        assert stack.sim.media.requests == []


async def test_a_file_larger_than_its_metadata_said_is_still_capped() -> None:
    """When the bytes that arrive exceed the cap although the metadata said less, the links are answered."""
    async with _media_stack(max_attachment_bytes=1000) as stack:
        ident = _attach(stack.sim, "att900004", "big.txt", "text/plain", b"x" * 5000, size=10)
        result = await stack.call(TOOL, {"id": ident})
        assert result["isError"] is False, result
        assert result["content"][0]["text"].startswith("Not downloaded: big.txt is 5,000 bytes")
        assert "x" * 100 not in result["content"][0]["text"]


async def test_a_redirect_to_a_host_media_hosts_does_not_list_is_refused() -> None:
    """Confluence redirecting to another host (localhost here) is refused, naming the setting; nothing goes there."""
    async with _media_stack() as stack:
        port = stack.extra["media_url"].rsplit(":", 1)[1]
        stack.sim.state.media_url = f"http://localhost:{port}"
        result = await stack.call(TOOL, {"id": SEED.attachment_id})
        assert result["isError"] is True
        text = result["content"][0]["text"]
        assert "Refused to follow the download of release-flow.png to http://localhost" in text
        assert "upstream.media_hosts (127.0.0.1)" in text
        assert "token=" not in text  # the signed URL is a credential: never shown
        assert stack.sim.media.requests == []


async def test_a_media_host_that_cannot_be_reached_is_named_without_the_signed_url() -> None:
    """A connection failure at the media host says so and that reading is safe to retry; the token is not shown."""
    async with _media_stack() as stack:
        stack.sim.state.media_url = "http://127.0.0.1:1"  # nothing listens on port 1
        result = await stack.call(TOOL, {"id": SEED.attachment_id})
        assert result["isError"] is True
        text = result["content"][0]["text"]
        assert "The media host 127.0.0.1 failed for release-flow.png (UpstreamConnectionError)" in text
        assert "safe to retry" in text
        assert "token" not in text
        assert "/__media/" not in text


async def test_by_default_only_atlassians_media_host_is_followed(stack: Stack) -> None:
    """By default a redirect to the simulator's own /__media/ is refused: only api.media.atlassian.com is followed."""
    result = await stack.call(TOOL, {"id": SEED.attachment_id})
    assert result["isError"] is True
    assert "upstream.media_hosts (api.media.atlassian.com)" in result["content"][0]["text"]
    assert stack.sim.media.requests == []


async def test_a_missing_attachment_is_confluences_404_explained(stack: Stack) -> None:
    """An unknown id is the metadata read's 404, explained; no download is asked for."""
    result = await stack.call(TOOL, {"id": "att999999"})
    assert result["isError"] is True
    assert "Not found (HTTP 404)" in result["content"][0]["text"]
    assert len(stack.sim.requests) == 1


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_the_mcp_sdk_client_reads_image_and_resource_content_in_both_eras(mode: Any) -> None:
    """A real SDK client parses the download's image and embedded-resource items into its own types."""
    async with (
        _media_stack() as stack,
        httpx2.AsyncClient() as http,
        Client(streamable_http_client(stack.url(), http_client=http), mode=mode) as client,
    ):
        png = _attach(stack.sim, "att900005", "dot.png", "image/png", PNG)
        pdf = _attach(stack.sim, "att900006", "a.pdf", "application/pdf", b"%PDF-\x00")
        image = (await client.call_tool(TOOL, {"id": png})).content[1]
        assert isinstance(image, mt.ImageContent)
        assert (base64.b64decode(image.data), image.mime_type) == (PNG, "image/png")
        resource = (await client.call_tool(TOOL, {"id": pdf})).content[1]
        assert isinstance(resource, mt.EmbeddedResource)
        assert isinstance(resource.resource, mt.BlobResourceContents)
        assert base64.b64decode(resource.resource.blob) == b"%PDF-\x00"
