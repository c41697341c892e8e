"""The simulator's download redirect, its media host, and the 410 Gone it gives removed v1 endpoints."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from confluence_mcp.simulator import SEED, Simulator
from confluence_mcp.simulator.faults import GONE_MESSAGE
from tests.simulator.conftest import SITE

pytestmark = pytest.mark.anyio

DOWNLOAD = f"/wiki/rest/api/content/{SEED.release_checklist_id}/child/attachment/{SEED.attachment_id}/download"


async def test_the_v1_download_redirects_to_a_signed_media_url_that_serves_the_file(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    """302 to /__media/file/{fileId}/binary?token=…; without credentials that URL serves the file's bytes."""
    redirect = await client.get(DOWNLOAD)
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}" == SITE
    attachment = sim.state.attachments[SEED.attachment_id]
    assert location.path == f"/__media/file/{attachment.file_id}/binary"
    assert dict(parse_qsl(location.query))["name"] == "release-flow.png"
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as anonymous:
        served = await anonymous.get(redirect.headers["location"])
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/png"
        assert len(served.content) == attachment.file_size
        forged = await anonymous.get(f"{location.path}?token=0000")
        assert forged.status_code == 401
    assert [r.path for r in sim.media.requests] == [location.path, location.path]
    assert sim.requests[-1].path == DOWNLOAD  # media requests stay out of the site's log


async def test_the_media_url_follows_state_media_url_and_a_wrong_container_is_404(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    """A media host served elsewhere is where redirects point; the attachment must belong to the content named."""
    sim.state.media_url = "http://127.0.0.1:9"
    assert (await client.get(DOWNLOAD)).headers["location"].startswith("http://127.0.0.1:9/__media/file/")
    wrong = DOWNLOAD.replace(SEED.release_checklist_id, SEED.rollback_plan_id)
    assert (await client.get(wrong)).status_code == 404


async def test_remove_v1_answers_v1_content_endpoints_410_and_leaves_the_rest(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    """Content paths get 410 with Atlassian's GoneException text in the v1 shape; search and v2 still answer."""
    sim.faults.remove_v1()
    gone = await client.get(f"/wiki/rest/api/content/{SEED.release_checklist_id}/label")
    assert gone.status_code == 410
    assert gone.json()["message"] == GONE_MESSAGE
    assert (await client.get("/wiki/rest/api/search", params={"cql": "type=page"})).status_code == 200
    assert (await client.get(f"/wiki/api/v2/pages/{SEED.release_checklist_id}")).status_code == 200
